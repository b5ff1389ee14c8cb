//! Pace items in the requests table, `pace#<tenant partition>#<endpoint id>`: when the
//! next delivery to a paced endpoint may go (`next_at`, Unix milliseconds), the latest
//! slot taken (`last_at`), and while
//! its receiver pushes back, the rate it is paced at (`rate_milli`, deliveries per
//! 1000 s), why (`reason`), when it last went down (`decreased_at`) and when it last
//! changed either way (`changed_at`). Expired by TTL a week after the last write.

use super::{Db, Item, StoreError, error::Sent, n, number, s};
use crate::{Tenant, ids::EndpointId};
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

const KEEP_SECONDS: i64 = 7 * 86_400;

fn key(tenant: &Tenant, endpoint: &EndpointId) -> String {
    format!("pace#{}#{endpoint}", tenant.partition())
}

fn expires(now_ms: i64) -> aws_sdk_dynamodb::types::AttributeValue {
    n(now_ms / 1000 + KEEP_SECONDS)
}

/// An endpoint's pace as stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pace {
    pub next_at: i64,
    /// The adapted rate (deliveries per second) while the receiver pushes back.
    pub rate: Option<f64>,
    pub reason: Option<String>,
    pub changed_at: Option<i64>,
}

impl Pace {
    fn of(item: &Item) -> Self {
        Pace {
            next_at: number(item, "next_at").unwrap_or(0),
            rate: number::<i64>(item, "rate_milli").map(|milli| milli as f64 / 1000.0),
            reason: item.get("reason").and_then(|v| v.as_s().ok()).cloned(),
            changed_at: number(item, "changed_at"),
        }
    }
}

fn milli(rate: f64) -> i64 {
    (rate * 1000.0).round() as i64
}

/// Takes the endpoint's next slot, `interval_ms` after the one before: when it may
/// send (now, or later), and the pace as it now stands. One write when the endpoint is
/// under its rate, two when a delivery has to wait.
pub async fn reserve(
    db: &Db,
    tenant: &Tenant,
    endpoint: &EndpointId,
    interval_ms: i64,
    now_ms: i64,
) -> Result<(i64, Pace), StoreError> {
    let id = key(tenant, endpoint);
    for _ in 0..4 {
        let free = db
            .client
            .update_item()
            .table_name(&db.tables.requests)
            .key("id", s(&id))
            .update_expression("SET next_at = :next, last_at = :now, expires_at_epoch = :expires")
            .condition_expression("attribute_not_exists(next_at) OR next_at <= :now")
            .expression_attribute_values(":next", n(now_ms + interval_ms))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":expires", expires(now_ms))
            .return_values(ReturnValue::AllNew)
            .sent()
            .await;
        match free {
            Ok(out) => {
                let pace = out.attributes.as_ref().map(Pace::of).unwrap_or_default();
                return Ok((now_ms, pace));
            }
            Err(StoreError::ConditionFailed { .. }) => {}
            Err(error) => return Err(error),
        }
        // Busy: take the slot after the last one taken.
        let queued = db
            .client
            .update_item()
            .table_name(&db.tables.requests)
            .key("id", s(&id))
            .update_expression(
                "SET last_at = next_at, next_at = next_at + :interval, expires_at_epoch = :expires",
            )
            .condition_expression("next_at > :now")
            .expression_attribute_values(":interval", n(interval_ms))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":expires", expires(now_ms))
            .return_values(ReturnValue::AllNew)
            .sent()
            .await;
        match queued {
            Ok(out) => {
                let pace = out.attributes.as_ref().map(Pace::of).unwrap_or_default();
                return Ok((pace.next_at - interval_ms, pace));
            }
            Err(StoreError::ConditionFailed { .. }) => {} // freed meanwhile: again
            Err(error) => return Err(error),
        }
    }
    Err(StoreError::internal("the pace item kept moving"))
}

/// Moves the latest slot taken, `slot_ms`, to `now_ms`, and the next one by as much:
/// `false` when `slot_ms` is no longer the latest (another delivery took a slot after
/// it, or a push-back's hold moved the pace), and nothing changes.
pub async fn slide(
    db: &Db,
    tenant: &Tenant,
    endpoint: &EndpointId,
    slot_ms: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let slid = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(key(tenant, endpoint)))
        .update_expression(
            "SET next_at = next_at + :delta, last_at = :now, expires_at_epoch = :expires",
        )
        .condition_expression("last_at = :slot")
        .expression_attribute_values(":delta", n((now_ms - slot_ms).max(0)))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":slot", n(slot_ms))
        .expression_attribute_values(":expires", expires(now_ms))
        .sent()
        .await;
    match slid {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

/// The endpoint's pace, if it has one.
pub async fn get(
    db: &Db,
    tenant: &Tenant,
    endpoint: &EndpointId,
) -> Result<Option<Pace>, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.tables.requests)
        .key("id", s(key(tenant, endpoint)))
        .consistent_read(true)
        .sent()
        .await?;
    Ok(out.item.as_ref().map(Pace::of))
}

/// Sets the adapted rate to `rate` for `reason`, unless it went down less than
/// `settle_ms` ago (one decrease per burst of push-backs, not one per failed
/// delivery; a recent increase does not stand in the way). `false` when it did not.
pub async fn slow_down(
    db: &Db,
    tenant: &Tenant,
    endpoint: &EndpointId,
    rate: f64,
    reason: &str,
    now_ms: i64,
    settle_ms: i64,
) -> Result<bool, StoreError> {
    let expression = "SET rate_milli = :rate, reason = :reason, changed_at = :now, decreased_at = :now, \
                      expires_at_epoch = :expires";
    let request = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(key(tenant, endpoint)))
        .condition_expression("attribute_not_exists(decreased_at) OR decreased_at <= :settled")
        .expression_attribute_values(":rate", n(milli(rate)))
        .expression_attribute_values(":reason", s(reason))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":settled", n(now_ms - settle_ms))
        .expression_attribute_values(":expires", expires(now_ms))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None);
    super::conditional(request.update_expression(expression).sent().await)
}

/// Gives no slot before `resume_at` (a receiver's `Retry-After`), unless the next one
/// is later already.
pub async fn hold_until(
    db: &Db,
    tenant: &Tenant,
    endpoint: &EndpointId,
    resume_at: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let request = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(key(tenant, endpoint)))
        .update_expression("SET next_at = :resume, expires_at_epoch = :expires")
        .condition_expression("attribute_not_exists(next_at) OR next_at < :resume")
        .expression_attribute_values(":resume", n(resume_at))
        .expression_attribute_values(":expires", expires(now_ms));
    super::conditional(request.sent().await)
}

/// Raises the adapted rate from `from` to `to` (or, `None`, ends the adaptation: the
/// endpoint is back at its own rate), unless it changed less than `settle_ms` ago or
/// is no longer `from`. `false` when it did not.
pub async fn speed_up(
    db: &Db,
    tenant: &Tenant,
    endpoint: &EndpointId,
    from: f64,
    to: Option<f64>,
    now_ms: i64,
    settle_ms: i64,
) -> Result<bool, StoreError> {
    let mut request = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(key(tenant, endpoint)))
        .condition_expression("rate_milli = :from AND changed_at <= :settled")
        .expression_attribute_values(":from", n(milli(from)))
        .expression_attribute_values(":settled", n(now_ms - settle_ms))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":expires", expires(now_ms));
    request = match to {
        Some(rate) => request
            .update_expression(
                "SET rate_milli = :rate, changed_at = :now, expires_at_epoch = :expires",
            )
            .expression_attribute_values(":rate", n(milli(rate))),
        None => request.update_expression(
            "SET changed_at = :now, expires_at_epoch = :expires REMOVE rate_milli, reason",
        ),
    };
    super::conditional(request.sent().await)
}
