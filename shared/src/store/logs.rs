//! The webhook logs table: key (`pk` = tenant, `sk` = log id), per-day counters, and
//! the sparse `due` index (`due_shard`, `due_at`) holding only retries parked for
//! longer than the deliveries queue can delay them.

use super::{
    Db, Transaction, failed, keyed_item, n,
    paging::{
        Filter, Listing, day_counter_write, expiry_epoch, first_id_at, sum_day_counters,
        window_start,
    },
    s, to_value,
};
use crate::{
    ApiError, Tenant, Timestamp,
    events::RetryMessage,
    pagination::{Page, PageRequest},
    webhooks::{LogStatus, WebhookLog},
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

pub const DUE_INDEX: &str = "due";
/// The due index is spread over this many partitions.
pub const DUE_SHARDS: u8 = 4;
const LOG_PREFIX: &str = "log_";

fn due_shard(log_id: &str) -> String {
    format!(
        "d{}",
        log_id.bytes().map(u32::from).sum::<u32>() % u32::from(DUE_SHARDS)
    )
}

/// Creates a log unless it exists (an SQS redelivery finds the first one): `true` if created.
pub async fn create(
    db: &Db,
    tenant: &Tenant,
    log: &WebhookLog,
    retention_days: u32,
) -> Result<bool, ApiError> {
    let partition = tenant.partition();
    let mut item = keyed_item(&partition, &log.id, log)?;
    item.insert(
        "expires_at_epoch".into(),
        n(expiry_epoch(log.created_at, retention_days)),
    );
    let put = Put::builder()
        .table_name(&db.tables.webhook_logs)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(ApiError::internal)?;
    let exists = ApiError::Conflict("log exists".into());
    let result = Transaction::new()
        .write(TransactWriteItem::builder().put(put).build(), Some(exists))
        .write(
            day_counter_write(&db.tables.webhook_logs, &partition, log.created_at, 1)?,
            None,
        )
        .commit(db)
        .await;
    match result {
        Ok(()) => Ok(true),
        Err(ApiError::Conflict(message)) if message == "log exists" => Ok(false),
        Err(other) => Err(other),
    }
}

pub async fn get(db: &Db, tenant: &Tenant, id: &str) -> Result<Option<WebhookLog>, ApiError> {
    if !id.starts_with(LOG_PREFIX) || id.len() > 64 {
        return Ok(None);
    }
    super::get_keyed(db, &db.tables.webhook_logs, &tenant.partition(), id).await
}

/// Stores the outcome of an attempt, if no other attempt was recorded meanwhile
/// (`false` then). A retry due beyond the queue's reach is parked on the due index.
pub async fn record(
    db: &Db,
    tenant: &Tenant,
    attempts_before: u32,
    log: &WebhookLog,
    park: bool,
) -> Result<bool, ApiError> {
    let parking = if park {
        "SET due_shard = :shard, due_at = :due"
    } else {
        "REMOVE due_shard, due_at SET"
    };
    let fields = "#status = :status, response_code = :code, #response = :response, response_headers = :headers, \
                  duration_ms = :duration, attempts = :attempts, next_retry_at = :next, updated_at = :updated";
    let expression = if park {
        format!("{parking}, {fields}")
    } else {
        format!("{parking} {fields}")
    };
    let mut request = db
        .client
        .update_item()
        .table_name(&db.tables.webhook_logs)
        .key("pk", s(tenant.partition()))
        .key("sk", s(&log.id))
        .update_expression(expression)
        .condition_expression("attribute_exists(pk) AND attempts = :before")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#response", "response")
        .expression_attribute_values(":status", to_value(&log.status)?)
        .expression_attribute_values(":code", n(log.response_code))
        .expression_attribute_values(":response", to_value(&log.response)?)
        .expression_attribute_values(":headers", to_value(&log.response_headers)?)
        .expression_attribute_values(":duration", n(log.duration_ms))
        .expression_attribute_values(":attempts", n(log.attempts))
        .expression_attribute_values(":next", to_value(&log.next_retry_at)?)
        .expression_attribute_values(":updated", to_value(&log.updated_at)?)
        .expression_attribute_values(":before", n(attempts_before));
    if park {
        let due = log
            .next_retry_at
            .ok_or_else(|| ApiError::internal("parking a log without next_retry_at"))?;
        request = request
            .expression_attribute_values(":shard", s(due_shard(&log.id)))
            .expression_attribute_values(":due", s(due.to_string()));
    }
    super::conditional(request.send().await)
}

/// Narrows a list of logs.
#[derive(Debug, Default)]
pub struct LogFilter {
    pub endpoint_id: Option<String>,
    pub event: Option<String>,
    pub status: Option<LogStatus>,
    /// Created at or after.
    pub since: Option<Timestamp>,
}

fn listing<'a>(
    db: &'a Db,
    tenant: &Tenant,
    filter: &LogFilter,
    retention_days: u32,
) -> Result<Listing<'a>, ApiError> {
    let mut conditions = Filter::default();
    if let Some(endpoint_id) = &filter.endpoint_id {
        conditions = conditions.clause(
            "endpoint_id = :endpoint",
            &[],
            vec![(":endpoint", s(endpoint_id))],
        );
    }
    if let Some(event) = &filter.event {
        conditions = conditions.clause(
            "#event = :event",
            &[("#event", "event")],
            vec![(":event", s(event))],
        );
    }
    if let Some(status) = filter.status {
        conditions = conditions.clause(
            "#status = :status",
            &[("#status", "status")],
            vec![(":status", to_value(&status)?)],
        );
    }
    let window = window_start(Timestamp::now(), retention_days);
    let from = filter.since.map_or(window, |since| since.max(window));
    Ok(Listing {
        table: &db.tables.webhook_logs,
        index: None,
        partition_attribute: "pk",
        partition: tenant.partition(),
        sort_attribute: "sk",
        sort_prefix: LOG_PREFIX,
        sort_from: Some(first_id_at(LOG_PREFIX, from)),
        filter: conditions,
    })
}

/// Logs of the retention window, newest first.
pub async fn list(
    db: &Db,
    tenant: &Tenant,
    filter: &LogFilter,
    page: PageRequest,
    retention_days: u32,
) -> Result<Page<WebhookLog>, ApiError> {
    let listing = listing(db, tenant, filter, retention_days)?;
    let counter = if listing.filter.is_empty() && filter.since.is_none() {
        let from = window_start(Timestamp::now(), retention_days);
        Some(sum_day_counters(db, &db.tables.webhook_logs, &tenant.partition(), from).await?)
    } else {
        None
    };
    listing.fetch(db, page, counter).await
}

/// Every log matching `filter` (for `/recover`), at most `limit`.
pub async fn all(
    db: &Db,
    tenant: &Tenant,
    filter: &LogFilter,
    retention_days: u32,
    limit: u32,
) -> Result<Vec<WebhookLog>, ApiError> {
    let listing = listing(db, tenant, filter, retention_days)?;
    listing
        .page(
            db,
            PageRequest {
                page: 1,
                per_page: limit,
            },
        )
        .await
}

/// Parked retries of one shard due by `now`.
pub async fn due(
    db: &Db,
    shard: u8,
    now: Timestamp,
    limit: i32,
) -> Result<Vec<RetryMessage>, ApiError> {
    let out = db
        .client
        .query()
        .table_name(&db.tables.webhook_logs)
        .index_name(DUE_INDEX)
        .key_condition_expression("due_shard = :shard AND due_at <= :now")
        .expression_attribute_values(":shard", s(format!("d{shard}")))
        .expression_attribute_values(":now", s(now.to_string()))
        .limit(limit)
        .send()
        .await
        .map_err(failed)?;
    Ok(out
        .items()
        .iter()
        .filter_map(|item| {
            Some(RetryMessage {
                tenant: item.get("pk")?.as_s().ok()?.clone(),
                log_id: item.get("sk")?.as_s().ok()?.clone(),
            })
        })
        .collect())
}

/// Takes a parked retry off the due index; `false` if another scheduler run already did.
pub async fn unpark(db: &Db, tenant: &Tenant, log_id: &str) -> Result<bool, ApiError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.webhook_logs)
        .key("pk", s(tenant.partition()))
        .key("sk", s(log_id))
        .update_expression("REMOVE due_shard, due_at")
        .condition_expression("attribute_exists(due_shard)")
        .send()
        .await;
    super::conditional(result)
}

/// Puts a failed delivery back in line (for `/recover` and manual retries): status
/// retrying, one more attempt allowed beyond what it had.
pub async fn requeue(db: &Db, tenant: &Tenant, log: &WebhookLog) -> Result<bool, ApiError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.webhook_logs)
        .key("pk", s(tenant.partition()))
        .key("sk", s(&log.id))
        .update_expression("SET #status = :retrying, retry_limit = :limit, next_retry_at = :now, updated_at = :now")
        .condition_expression("#status = :failed AND attempts = :attempts")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":retrying", to_value(&LogStatus::Retrying)?)
        .expression_attribute_values(":failed", to_value(&LogStatus::Failed)?)
        .expression_attribute_values(":limit", n(log.attempts.max(log.retry_limit)))
        .expression_attribute_values(":now", to_value(&Timestamp::now())?)
        .expression_attribute_values(":attempts", n(log.attempts))
        .send()
        .await;
    super::conditional(result)
}
