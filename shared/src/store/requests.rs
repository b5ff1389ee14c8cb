//! The requests table: short-lived state of API requests, one item per `id`, each
//! expired by TTL (`expires_at_epoch`).
//!
//! - `sig#<signature>`: a signed request already seen (the replay cache);
//! - `idem#<tenant>#<sha256 of the Idempotency-Key>`: an idempotent request, from its
//!   claim to its stored response;
//! - `rate#<class>#<subject>`: a rate-limit bucket, as its theoretical arrival time;
//! - `vel#<tenant>#<what>#<sha256 of the value>#<hour>`: how many payments one IP address
//!   or email made in one hour (an order's risk level).

use super::{Db, Item, StoreError, error::Sent, n, s};
use crate::Timestamp;
use aws_sdk_dynamodb::{
    operation::update_item::UpdateItemError,
    types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem},
};
use std::time::Duration;

/// Records a request signature; `false` if it was seen before (a replay).
pub async fn claim_signature(
    db: &Db,
    signature: &str,
    forget_after: Timestamp,
) -> Result<bool, StoreError> {
    let result = db
        .client
        .put_item()
        .table_name(&db.tables.requests)
        .item("id", s(format!("sig#{signature}")))
        .item("expires_at_epoch", n(forget_after.as_epoch_seconds() + 1))
        .condition_expression("attribute_not_exists(id)")
        .sent()
        .await;
    super::conditional(result)
}

/// Counts one more sighting of `id` (a `vel#` item, forgotten after `forget_after`):
/// the count so far, this one included. A retried call may count one twice: the count
/// feeds a risk level, which an extra sighting only raises.
pub async fn count_sighting(db: &Db, id: &str, forget_after: Timestamp) -> Result<u64, StoreError> {
    let updated = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(id))
        .update_expression("ADD seen :one SET expires_at_epoch = :expires")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":expires", n(forget_after.as_epoch_seconds() + 1))
        .return_values(ReturnValue::UpdatedNew)
        .sent()
        .await?;
    Ok(updated
        .attributes()
        .and_then(|item| super::number(item, "seen"))
        .unwrap_or(1))
}

/// Where an idempotent request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A request holds the key and has changed nothing yet.
    Running,
    /// Its change committed; its response is not recorded yet.
    Committed,
    /// Its response is recorded.
    Complete,
}

impl Progress {
    fn as_str(self) -> &'static str {
        match self {
            Progress::Running => "running",
            Progress::Committed => "committed",
            Progress::Complete => "complete",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Progress::Running, Progress::Committed, Progress::Complete]
            .into_iter()
            .find(|p| p.as_str() == text)
    }
}

/// The record of an Idempotency-Key someone else holds or held.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub progress: Progress,
    /// Until when the request that holds it may still be running.
    pub lease_until: Timestamp,
    /// The response, sealed by whoever made the request.
    pub response: Option<Vec<u8>>,
}

/// The outcome of claiming an Idempotency-Key.
#[derive(Debug)]
pub enum Claim {
    /// This request holds the key now, under `token`.
    Held,
    /// Another request holds it or held it.
    Taken(IdempotencyRecord),
}

/// Claims an idempotency record for a request: it is created, or taken over when it
/// expired, or when the request that held it for the same `fingerprint` ran out of its
/// lease without changing anything (it crashed or timed out).
pub async fn claim_idempotency(
    db: &Db,
    id: &str,
    fingerprint: &str,
    token: &str,
    lease: Duration,
    keep: Duration,
) -> Result<Claim, StoreError> {
    // The record can expire between a failed claim and the read that explains it.
    for _ in 0..3 {
        let now = Timestamp::now();
        let claimed = db
            .client
            .put_item()
            .table_name(&db.tables.requests)
            .item("id", s(id))
            .item("fingerprint", s(fingerprint))
            .item("progress", s(Progress::Running.as_str()))
            .item("token", s(token))
            .item("lease_until", n(now.plus(lease).as_millis()))
            .item("expires_at_epoch", n(now.plus(keep).as_epoch_seconds()))
            .condition_expression(
                "attribute_not_exists(id) OR expires_at_epoch < :now \
                 OR (progress = :running AND lease_until < :now_ms AND fingerprint = :fingerprint)",
            )
            .expression_attribute_values(":now", n(now.as_epoch_seconds()))
            .expression_attribute_values(":now_ms", n(now.as_millis()))
            .expression_attribute_values(":running", s(Progress::Running.as_str()))
            .expression_attribute_values(":fingerprint", s(fingerprint))
            .sent()
            .await;
        if super::conditional(claimed)? {
            return Ok(Claim::Held);
        }
        let item = db
            .client
            .get_item()
            .table_name(&db.tables.requests)
            .key("id", s(id))
            .consistent_read(true)
            .sent()
            .await?
            .item;
        if let Some(record) = item.and_then(|item| idempotency_record(&item, now)) {
            return Ok(Claim::Taken(record));
        }
    }
    Err(StoreError::Transient {
        operation: "PutItem",
        code: None,
        cause: "an idempotency record kept changing while it was claimed".into(),
    })
}

/// A live record from its item; `None` when it expired.
fn idempotency_record(item: &Item, now: Timestamp) -> Option<IdempotencyRecord> {
    let number = |name: &str| super::number::<i64>(item, name);
    if number("expires_at_epoch")? < now.as_epoch_seconds() {
        return None;
    }
    Some(IdempotencyRecord {
        fingerprint: item.get("fingerprint")?.as_s().ok()?.clone(),
        progress: Progress::parse(item.get("progress")?.as_s().ok()?)?,
        lease_until: Timestamp::from_millis(number("lease_until")?),
        response: item
            .get("sealed_response")
            .and_then(|v| v.as_b().ok())
            .map(|blob| blob.as_ref().to_vec()),
    })
}

/// The write a transaction adds to mark the record of the request it runs in as
/// committed. It fails when the request no longer holds the key.
pub(crate) fn mark_committed(db: &Db, id: &str, token: &str) -> TransactWriteItem {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&db.tables.requests)
        .key("id", s(id))
        .update_expression("SET progress = :committed")
        .condition_expression("#token = :token")
        .expression_attribute_names("#token", "token")
        .expression_attribute_values(":committed", s(Progress::Committed.as_str()))
        .expression_attribute_values(":token", s(token))
        .build()
        .expect("id, update and table are set");
    TransactWriteItem::builder().update(update).build()
}

/// Records the sealed response of the request holding the key; `false` if it no
/// longer does.
pub async fn complete_idempotency(
    db: &Db,
    id: &str,
    token: &str,
    sealed_response: Vec<u8>,
) -> Result<bool, StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(id))
        .update_expression("SET progress = :complete, sealed_response = :response REMOVE #token")
        .condition_expression("#token = :token")
        .expression_attribute_names("#token", "token")
        .expression_attribute_values(":complete", s(Progress::Complete.as_str()))
        .expression_attribute_values(":response", AttributeValue::B(sealed_response.into()))
        .expression_attribute_values(":token", s(token))
        .sent()
        .await;
    super::conditional(result)
}

/// Frees the key of a request that changed nothing, so it can be sent again.
pub async fn release_idempotency(db: &Db, id: &str, token: &str) -> Result<bool, StoreError> {
    let result = db
        .client
        .delete_item()
        .table_name(&db.tables.requests)
        .key("id", s(id))
        .condition_expression("#token = :token AND progress = :running")
        .expression_attribute_names("#token", "token")
        .expression_attribute_values(":token", s(token))
        .expression_attribute_values(":running", s(Progress::Running.as_str()))
        .sent()
        .await;
    super::conditional(result)
}

/// What a rate-limit bucket answered a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// `tokens` were taken; the bucket's theoretical arrival time is now `tat` (ms).
    Granted { tokens: u32, tat: i64 },
    /// Not that many tokens are left; the bucket's arrival time is `tat` (ms).
    Refused { tat: i64 },
}

/// Takes `tokens` from a GCRA bucket refilled one token per `interval_ms` and `burst`
/// deep, in one conditional write: its state is one number, the theoretical arrival
/// time (TAT): the bucket is full when it is in the past, and `tokens` fit while
/// `max(TAT, now) + tokens × interval ≤ now + burst × interval`.
pub async fn lease_tokens(
    db: &Db,
    id: &str,
    now_ms: i64,
    tokens: u32,
    interval_ms: f64,
    burst: u32,
) -> Result<Lease, StoreError> {
    let cost = (f64::from(tokens) * interval_ms).ceil() as i64;
    let latest = now_ms + (f64::from(burst.saturating_sub(tokens)) * interval_ms).floor() as i64;
    let full_after_ms = (f64::from(burst) * interval_ms).ceil() as i64;
    // A bucket untouched for longer than it takes to refill is full: let TTL remove it.
    let expires = n((now_ms + full_after_ms) / 1000 + 60);
    let request = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(id))
        .update_expression(
            "SET tat = if_not_exists(tat, :now) + :cost, expires_at_epoch = :expires",
        )
        .condition_expression("attribute_not_exists(tat) OR (tat >= :now AND tat <= :latest)")
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":cost", n(cost))
        .expression_attribute_values(":latest", n(latest))
        .expression_attribute_values(":expires", expires.clone())
        .return_values(ReturnValue::UpdatedNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let restart = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(id))
        .update_expression("SET tat = :tat, expires_at_epoch = :expires")
        .condition_expression("attribute_not_exists(tat) OR tat < :now")
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":tat", n(now_ms + cost))
        .expression_attribute_values(":expires", expires)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let tat_of = |item: Option<&Item>| item.and_then(|item| super::number::<i64>(item, "tat"));
    // Each step fails only because another instance moved the bucket meanwhile.
    for _ in 0..4 {
        match send_lease(request.clone()).await? {
            Ok(updated) => {
                let tat = tat_of(updated.as_ref()).unwrap_or(now_ms + cost);
                return Ok(Lease::Granted { tokens, tat });
            }
            Err(old) => match tat_of(old.as_ref()) {
                Some(tat) if tat > latest => return Ok(Lease::Refused { tat }),
                Some(tat) if tat >= now_ms => continue,
                // The bucket refilled completely since it was last used: start again.
                _ => {
                    if send_lease(restart.clone()).await?.is_ok() {
                        let tat = now_ms + cost;
                        return Ok(Lease::Granted { tokens, tat });
                    }
                }
            },
        }
    }
    Err(StoreError::Transient {
        operation: "UpdateItem",
        code: None,
        cause: "a rate-limit bucket kept changing while it was leased".into(),
    })
}

/// Sends a conditional bucket update, retrying what passes: `Ok(Ok(new values))` when
/// it applied, `Ok(Err(old item))` when its condition failed.
async fn send_lease(
    request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
) -> Result<Result<Option<Item>, Option<Item>>, StoreError> {
    let mut retry = 0;
    loop {
        match request.clone().send().await {
            Ok(output) => return Ok(Ok(output.attributes)),
            Err(error) => {
                if let Some(UpdateItemError::ConditionalCheckFailedException(failed)) =
                    error.as_service_error()
                {
                    return Ok(Err(failed.item.clone()));
                }
                let error = StoreError::from_sdk("UpdateItem", error);
                if !error.is_retryable() || retry >= super::error::RETRIES {
                    return Err(error);
                }
                retry += 1;
                tokio::time::sleep(super::error::backoff(retry)).await;
            }
        }
    }
}

/// The Idempotency-Key a request holds while it runs: every transaction it commits
/// also marks the key's record committed, in the same write, so a change and the
/// record of it are never apart.
#[derive(Debug)]
pub struct HeldKey {
    id: String,
    token: String,
    committed: std::sync::atomic::AtomicBool,
}

impl HeldKey {
    pub fn new(id: String, token: String) -> std::sync::Arc<Self> {
        std::sync::Arc::new(HeldKey {
            id,
            token,
            committed: Default::default(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether a transaction of the request committed.
    pub fn committed(&self) -> bool {
        self.committed.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn mark_committed(&self) {
        self.committed
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Runs `work` (the request's handler) holding this key.
    pub async fn hold<F: std::future::Future>(self: std::sync::Arc<Self>, work: F) -> F::Output {
        HELD.scope(self, work).await
    }

    /// The key held by the request running now, if any.
    pub(crate) fn current() -> Option<std::sync::Arc<Self>> {
        HELD.try_with(std::sync::Arc::clone).ok()
    }
}

tokio::task_local! {
    static HELD: std::sync::Arc<HeldKey>;
}
