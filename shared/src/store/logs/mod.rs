//! The webhook logs table: key (`pk` = tenant, `sk` = log id, or `log_<event ulid>_~`
//! for the group holding an event's first-attempt successes, see [`group`]),
//! per-day counters, and
//! the sparse `due` index (`due_shard`, `due_at`) holding the deliveries the scheduler
//! must look at by a time: retries parked for longer than the deliveries queue can
//! delay them, and until their attempt is recorded, queued retries, deliveries waiting
//! for their slot or turn, and those of a message SQS handed out before (swept if that
//! message ends in the DLQ). A first run's new deliveries are not on it: their message
//! brings them back if the run stops.

mod group;
mod reading;

use group::Group;
pub use group::may_join;

use super::{
    Db, Rejection, StoreError, Transaction,
    counters::{day_write, read_days},
    error::Sent,
    keyed_item, n,
    paging::{expiry_epoch, window_start},
    s, to_value,
};
use crate::{
    Tenant, Timestamp,
    ids::EventId,
    ids::LogId,
    pagination::{Page, PageRequest},
    webhooks::{LogStatus, WebhookLog},
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use std::collections::BTreeMap;

pub const DUE_INDEX: &str = "due";
/// The due index is spread over this many partitions.
pub const DUE_SHARDS: u8 = 16;

fn due_shard(log_id: &str) -> String {
    format!(
        "d{}",
        log_id.bytes().map(u32::from).sum::<u32>() % u32::from(DUE_SHARDS)
    )
}

/// The logs of one fan-out a transaction creates at most, with its day counts ...
const LOGS_PER_TRANSACTION: usize = 96;
/// ... and their size at most (DynamoDB takes 4 MB per transaction).
const BYTES_PER_TRANSACTION: usize = 3 * 1024 * 1024;

/// What creating a fan-out's logs found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// Every log is new, and the event (if given) is marked dispatched.
    All,
    /// A log existed already (an SQS redelivery of the same event): the caller creates
    /// them one by one with [`create`] and marks the event itself.
    Existing,
    /// The event was replayed since (or has expired): nothing was written.
    Superseded,
}

/// The fan-out of one event (or a single delivery).
pub struct FanOut<'a> {
    pub tenant: &'a Tenant,
    pub logs: &'a [WebhookLog],
    pub retention_days: u32,
    /// When the scheduler sweeps a log still pending (its first attempt never recorded,
    /// e.g. the function died), re-sending it as a retry. `None` leaves it to the caller.
    pub sweep_at: Option<Timestamp>,
    /// The event (id, replay) these logs deliver, marked dispatched with the first batch.
    pub event: Option<(&'a EventId, u32)>,
}

impl FanOut<'_> {
    /// Each log's size as a transaction counts it (a log holds its payload).
    /// The writes each log takes in a transaction: its put, and its lane's if ordered.
    fn writes(&self) -> Vec<usize> {
        self.logs
            .iter()
            .map(|log| 1 + usize::from(log.lane.is_some()))
            .collect()
    }

    fn sizes(&self) -> Vec<usize> {
        self.logs
            .iter()
            .map(|log| serde_json::to_vec(log).map_or(0, |v| v.len()) + 512)
            .collect()
    }
}

/// A transaction being filled with fan-outs: their logs, their events' marks, and one
/// day-count write per partition and day (a transaction may touch an item only once).
#[derive(Default)]
struct Pack {
    transaction: Transaction,
    per_day: BTreeMap<(String, String), (Timestamp, u64)>,
}

impl Pack {
    /// Adds `logs` of `fan_out` and, if given, its event's mark.
    fn add(
        mut self,
        db: &Db,
        fan_out: &FanOut<'_>,
        logs: &[WebhookLog],
        event: Option<(&EventId, u32)>,
    ) -> Result<Self, StoreError> {
        let partition = fan_out.tenant.partition();
        // First, so that a superseded event is what a cancellation reports.
        if let Some((event_id, replay)) = event {
            self.transaction = self.transaction.write(
                super::events::dispatched_write(db, fan_out.tenant, event_id, replay)?,
                Some(Rejection::Changed("superseded".into())),
            );
        }
        for log in logs {
            let mut item = keyed_item(&partition, &log.id, log)?;
            item.insert(
                "expires_at_epoch".into(),
                n(expiry_epoch(log.created_at, fan_out.retention_days)),
            );
            if let Some(sweep_at) = fan_out.sweep_at {
                item.insert("due_shard".into(), s(due_shard(&log.id)));
                item.insert("due_at".into(), s(sweep_at.to_string()));
            }
            let put = Put::builder()
                .table_name(&db.tables.webhook_logs)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(StoreError::internal)?;
            let exists = Rejection::Conflict(LOG_EXISTS.into());
            self.transaction = self
                .transaction
                .write(TransactWriteItem::builder().put(put).build(), Some(exists));
            // An ordered delivery joins its lane with its log, never apart from it.
            if let (Some(place), Some(endpoint)) = (&log.lane, &log.endpoint_id) {
                let lane = super::lanes::Lane {
                    tenant: fan_out.tenant,
                    endpoint,
                    key: &place.key,
                };
                let entry = place.entry(&log.id);
                let join =
                    super::lanes::join_write(db, &lane, &entry, &log.id, fan_out.retention_days)?;
                self.transaction = self.transaction.write(join, None);
            }
            let day = super::paging::day_of(log.created_at);
            self.per_day
                .entry((partition.clone(), day))
                .or_insert((log.created_at, 0))
                .1 += 1;
        }
        Ok(self)
    }

    /// Commits it: `Existing` or `Superseded` if a condition failed (nothing written).
    async fn commit(self, db: &Db) -> Result<Created, StoreError> {
        let mut transaction = self.transaction;
        for ((partition, _), (at, count)) in self.per_day {
            transaction = transaction.write(
                day_write(&db.tables.webhook_logs, &partition, at, count)?,
                None,
            );
        }
        match transaction.commit(db).await {
            Ok(()) => Ok(Created::All),
            Err(StoreError::Rejected(Rejection::Conflict(message))) if message == LOG_EXISTS => {
                Ok(Created::Existing)
            }
            Err(StoreError::Rejected(Rejection::Changed(_))) => Ok(Created::Superseded),
            Err(other) => Err(other),
        }
    }
}

const LOG_EXISTS: &str = "log exists";

/// Creates the logs of one fan-out: one transaction per [`LOGS_PER_TRANSACTION`] logs
/// with one day-count write per day, instead of one transaction (and one counter
/// write, all contending) per log. The first one also marks the event dispatched, so
/// a first-attempt fan-out costs one write beyond its attempts' own.
pub async fn create_all(db: &Db, fan_out: &FanOut<'_>) -> Result<Created, StoreError> {
    let mut event = fan_out.event;
    let mut bounds = pack_bounds(&fan_out.writes(), &fan_out.sizes());
    if bounds.is_empty() && event.is_some() {
        bounds.push((0, 0)); // no target: the event is marked all the same
    }
    for (from, to) in bounds {
        let pack = Pack::default().add(db, fan_out, &fan_out.logs[from..to], event.take())?;
        match pack.commit(db).await? {
            Created::All => {}
            other => return Ok(other),
        }
    }
    Ok(Created::All)
}

/// Creates the fan-outs of several events (a dispatcher's batch) in as few
/// transactions as fit, each event whole in one: one write and one day-count write for
/// up to [`LOGS_PER_TRANSACTION`] logs of many events. A transaction cancelled by a
/// condition (a redelivered or superseded event among them) wrote nothing; its events
/// are then created one by one, each finding its own outcome.
pub async fn create_fan_outs(db: &Db, fan_outs: &[FanOut<'_>]) -> Vec<Result<Created, StoreError>> {
    let mut outcomes: Vec<Option<Result<Created, StoreError>>> =
        fan_outs.iter().map(|_| None).collect();
    let sizes: Vec<usize> = fan_outs
        .iter()
        .map(|fan_out| fan_out.sizes().iter().sum::<usize>())
        .collect();
    // An event's logs (with their lanes) and its mark count as one item each; a day
    // count per event at most.
    let items: Vec<usize> = fan_outs
        .iter()
        .map(|f| f.writes().iter().sum::<usize>() + 2)
        .collect();
    for (from, to) in pack_bounds(&items, &sizes) {
        let together = &fan_outs[from..to];
        if together.len() > 1 {
            let mut pack = Pack::default();
            let mut built = Ok(());
            for fan_out in together {
                match pack.add(db, fan_out, fan_out.logs, fan_out.event) {
                    Ok(next) => pack = next,
                    Err(error) => {
                        built = Err(error);
                        pack = Pack::default();
                        break;
                    }
                }
            }
            if built.is_ok() && matches!(pack.commit(db).await, Ok(Created::All)) {
                for outcome in &mut outcomes[from..to] {
                    *outcome = Some(Ok(Created::All));
                }
                continue;
            }
        }
        for (index, fan_out) in together.iter().enumerate() {
            outcomes[from + index] = Some(create_all(db, fan_out).await);
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every fan-out has an outcome"))
        .collect()
}

/// Splits fan-outs of these item counts and sizes into consecutive groups that fit one
/// transaction ([`LOGS_PER_TRANSACTION`] items, [`BYTES_PER_TRANSACTION`] bytes); one
/// too large for that goes alone (and is split by [`create_all`]).
fn pack_bounds(items: &[usize], sizes: &[usize]) -> Vec<(usize, usize)> {
    let mut bounds = Vec::new();
    let (mut start, mut count, mut bytes) = (0, 0, 0);
    for (index, (&n, &size)) in items.iter().zip(sizes).enumerate() {
        let full = count + n > LOGS_PER_TRANSACTION || bytes + size > BYTES_PER_TRANSACTION;
        if index > start && full {
            bounds.push((start, index));
            (start, count, bytes) = (index, 0, 0);
        }
        count += n;
        bytes += size;
    }
    if start < items.len() {
        bounds.push((start, items.len()));
    }
    bounds
}

/// Splits items of these sizes into consecutive batches of at most
/// [`LOGS_PER_TRANSACTION`] items and [`BYTES_PER_TRANSACTION`] bytes (an item larger
/// than that goes alone): `(from, to)` index ranges.
#[cfg(test)]
fn batch_bounds(sizes: &[usize]) -> Vec<(usize, usize)> {
    pack_bounds(&vec![1; sizes.len()], sizes)
}

/// Creates a log unless it exists (an SQS redelivery finds the first one): `true` if created.
pub async fn create(
    db: &Db,
    tenant: &Tenant,
    log: &WebhookLog,
    retention_days: u32,
    sweep_at: Option<Timestamp>,
) -> Result<bool, StoreError> {
    let fan_out = FanOut {
        tenant,
        logs: std::slice::from_ref(log),
        retention_days,
        sweep_at,
        event: None,
    };
    Ok(create_all(db, &fan_out).await? == Created::All)
}

/// Writes a delivery's log where there is none (`false` if there is: another run made
/// it), without counting it: a fan-out's logs made apart from its event's mark are
/// counted together when it is settled ([`settle`]). A first run writes each log once,
/// after its first attempt, outcome and all; one handed to a queue unattempted goes in
/// pending. `due`: its place on the due index, if it needs one.
pub async fn put_new(
    db: &Db,
    tenant: &Tenant,
    log: &WebhookLog,
    retention_days: u32,
    due: Option<Timestamp>,
) -> Result<bool, StoreError> {
    let expires = expiry_epoch(log.created_at, retention_days);
    put_new_expiring(db, tenant, log, expires, due).await
}

async fn put_new_expiring(
    db: &Db,
    tenant: &Tenant,
    log: &WebhookLog,
    expires_at_epoch: i64,
    due: Option<Timestamp>,
) -> Result<bool, StoreError> {
    let mut item = keyed_item(&tenant.partition(), &log.id, log)?;
    item.insert("expires_at_epoch".into(), n(expires_at_epoch));
    if let Some(due) = due {
        item.insert("due_shard".into(), s(due_shard(&log.id)));
        item.insert("due_at".into(), s(due.to_string()));
    }
    let result = db
        .client
        .put_item()
        .table_name(&db.tables.webhook_logs)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .sent()
        .await;
    super::conditional(result)
}

/// A fan-out whose logs all exist: its event's replay, to mark dispatched, and its logs,
/// to count.
pub struct Settling<'a> {
    pub tenant: &'a Tenant,
    pub event: &'a EventId,
    pub replay: u32,
    pub logs: &'a [WebhookLog],
}

/// The events a transaction settles at most (each a mark, with a day count per tenant).
const SETTLED_PER_TRANSACTION: usize = 40;

/// Settles fan-outs whose logs were made apart from their events' marks: marks each
/// event dispatched and counts its logs by day, in as few transactions as fit. An
/// event's logs are counted once, by the write that marks it counted for its replay
/// (this one, or the transaction that created them with it): an event counted already
/// is only marked. One replayed since (or gone) is not marked, but the logs this replay
/// made are there, so they are counted on their own.
pub async fn settle(db: &Db, fan_outs: &[Settling<'_>]) -> Result<(), StoreError> {
    for chunk in fan_outs.chunks(SETTLED_PER_TRANSACTION) {
        if chunk.len() > 1 && settle_together(db, chunk, true).await.is_ok() {
            continue;
        }
        for fan_out in chunk {
            match settle_together(db, std::slice::from_ref(fan_out), true).await {
                Ok(()) => {}
                Err(StoreError::Rejected(_)) => {
                    let (tenant, id, replay) = (fan_out.tenant, fan_out.event, fan_out.replay);
                    match super::events::get(db, tenant, id).await? {
                        Some(event) if event.replays == replay => {
                            super::events::mark_dispatched(db, tenant, id, replay).await?;
                        }
                        _ => settle_together(db, std::slice::from_ref(fan_out), false).await?,
                    }
                }
                Err(other) => return Err(other),
            }
        }
    }
    Ok(())
}

/// One transaction: each fan-out's mark (`marks`) and its logs' day counts.
async fn settle_together(
    db: &Db,
    fan_outs: &[Settling<'_>],
    marks: bool,
) -> Result<(), StoreError> {
    if !marks && fan_outs.iter().all(|fan_out| fan_out.logs.is_empty()) {
        return Ok(()); // nothing to write
    }
    let mut transaction = Transaction::new();
    let mut per_day: BTreeMap<(String, String), (Timestamp, u64)> = BTreeMap::new();
    for fan_out in fan_outs {
        if marks {
            let (tenant, id, replay) = (fan_out.tenant, fan_out.event, fan_out.replay);
            let mark = super::events::counting_write(db, tenant, id, replay)?;
            transaction = transaction.write(mark, Some(Rejection::Changed("counted".into())));
        }
        let partition = fan_out.tenant.partition();
        for log in fan_out.logs {
            let day = super::paging::day_of(log.created_at);
            per_day
                .entry((partition.clone(), day))
                .or_insert((log.created_at, 0))
                .1 += 1;
        }
    }
    for ((partition, _), (at, count)) in per_day {
        transaction = transaction.write(
            day_write(&db.tables.webhook_logs, &partition, at, count)?,
            None,
        );
    }
    transaction.commit(db).await
}

/// Writes a fan-out's first-attempt successes (each one [`may_join`]) in one item, their
/// group, uncounted (like [`put_new`]: [`settle`] counts them); `payload` is the body
/// most of them carried. The rest of what could not join it (past the size a group
/// keeps, or a group another run wrote first) gets items of its own.
pub async fn put_group(
    db: &Db,
    tenant: &Tenant,
    logs: &[&WebhookLog],
    payload: &serde_json::Value,
    retention_days: u32,
) -> Result<(), StoreError> {
    let (mut joining, mut alone) = (Vec::new(), Vec::new());
    let mut size = 0;
    for log in logs {
        size += serde_json::to_vec(log).map_or(usize::MAX, |bytes| bytes.len());
        match group::may_join(log) && size <= GROUP_BYTES {
            true => joining.push(*log),
            false => alone.push(*log),
        }
    }
    if let (Some(first), Some(group)) = (joining.first(), Group::of(&joining, payload))
        && let Some((sort_key, _)) = group::place_of(&first.id)
    {
        let mut item = keyed_item(&tenant.partition(), &sort_key, &group)?;
        let expires = expiry_epoch(first.created_at, retention_days);
        item.insert("expires_at_epoch".into(), n(expires));
        let put = db
            .client
            .put_item()
            .table_name(&db.tables.webhook_logs)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .sent()
            .await;
        if !super::conditional(put)? {
            // Another run's group (a replay's, a duplicate message's): these go alone.
            alone.extend(joining);
        }
    }
    let writes = alone
        .into_iter()
        .map(|log| put_new(db, tenant, log, retention_days, None));
    for written in crate::concurrency::join_all(writes).await {
        written?;
    }
    Ok(())
}

/// The bytes of logs a group holds at most (DynamoDB's items hold 400 KB).
const GROUP_BYTES: usize = 256 * 1024;

/// A delivery as its event's group holds it, with the group's expiry: `None` if the
/// group does not hold it (or there is none).
async fn grouped(
    db: &Db,
    tenant: &Tenant,
    id: &LogId,
) -> Result<Option<(WebhookLog, i64)>, StoreError> {
    let Some((sort_key, name)) = group::place_of(id) else {
        return Ok(None);
    };
    let partition = tenant.partition();
    let item = super::get_item(db, &db.tables.webhook_logs, &partition, &sort_key);
    let Some(item) = item.await? else {
        return Ok(None);
    };
    let expires = super::number(&item, "expires_at_epoch").unwrap_or(0);
    let group: Group = super::from_item(item)?;
    Ok(group.log(&sort_key, name).map(|log| (log, expires)))
}

/// The logs `event`'s group holds (of the replay whose run wrote it).
pub async fn grouped_of(
    db: &Db,
    tenant: &Tenant,
    event: &EventId,
) -> Result<Vec<WebhookLog>, StoreError> {
    let any_delivery = crate::webhooks::log::delivery_id(event, 0, "");
    let Some((sort_key, _)) = group::place_of(&any_delivery) else {
        return Ok(Vec::new());
    };
    let table = &db.tables.webhook_logs;
    let group: Option<Group> = super::get_keyed(db, table, &tenant.partition(), &sort_key).await?;
    Ok(group.map(|group| group.logs(&sort_key)).unwrap_or_default())
}

/// A delivery's log: its own item, or else its entry in its fan-out's group.
pub async fn get(db: &Db, tenant: &Tenant, id: &LogId) -> Result<Option<WebhookLog>, StoreError> {
    let table = &db.tables.webhook_logs;
    if let Some(log) = super::get_keyed(db, table, &tenant.partition(), id).await? {
        return Ok(Some(log));
    }
    Ok(grouped(db, tenant, id).await?.map(|(log, _)| log))
}

/// Stores the outcome of an attempt, if no other attempt was recorded meanwhile
/// (`false` then). A retrying delivery stays on the due index until `due`, when the
/// scheduler re-sends it unless an attempt was recorded before: so a retry whose queue
/// message is lost is never stuck.
pub async fn record(
    db: &Db,
    tenant: &Tenant,
    attempts_before: u32,
    log: &WebhookLog,
    due: Option<Timestamp>,
) -> Result<bool, StoreError> {
    let fields = "#status = :status, response_code = :code, #response = :response, response_headers = :headers, \
                  duration_ms = :duration, attempts = :attempts, next_retry_at = :next, updated_at = :updated, \
                  request_headers = :sent, history = :history";
    let expression = match due {
        Some(_) => format!("SET due_shard = :shard, due_at = :due, {fields}"),
        None => format!("REMOVE due_shard, due_at SET {fields}"),
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
        .expression_attribute_values(":sent", to_value(&log.request_headers)?)
        .expression_attribute_values(":history", to_value(&log.history)?)
        .expression_attribute_values(":before", n(attempts_before));
    if let Some(due) = due {
        request = request
            .expression_attribute_values(":shard", s(due_shard(&log.id)))
            .expression_attribute_values(":due", s(due.to_string()));
    }
    if super::conditional(request.sent().await)? {
        return Ok(true);
    }
    // A delivery kept in its fan-out's group has no item of its own: its next attempt
    // makes one, which wins over the entry from then on.
    match grouped(db, tenant, &log.id).await? {
        Some((kept, expires)) if kept.attempts == attempts_before => {
            put_new_expiring(db, tenant, log, expires, due).await
        }
        _ => Ok(false),
    }
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

/// What a list of logs reads: the tenant's logs of the retention window (from `since`).
fn scope<'a>(
    db: &'a Db,
    tenant: &Tenant,
    filter: &'a LogFilter,
    retention_days: u32,
) -> reading::Scope<'a> {
    let window = window_start(Timestamp::now(), retention_days);
    let from = filter.since.map_or(window, |since| since.max(window));
    reading::Scope {
        db,
        partition: tenant.partition(),
        from: LogId::lowest_at(from),
        filter,
    }
}

impl LogFilter {
    fn is_empty(&self) -> bool {
        self.endpoint_id.is_none()
            && self.event.is_none()
            && self.status.is_none()
            && self.since.is_none()
    }
}

/// Logs of the retention window, newest first.
pub async fn list(
    db: &Db,
    tenant: &Tenant,
    filter: &LogFilter,
    page: PageRequest,
    retention_days: u32,
) -> Result<Page<WebhookLog>, StoreError> {
    let scope = scope(db, tenant, filter, retention_days);
    if let Some(cursor) = &page.cursor {
        let (items, links) = reading::cursor_page(&scope, cursor, page.per_page).await?;
        return Ok(Page {
            items,
            total: 0,
            exact: false,
            request: page,
            cursors: Some(links),
        });
    }
    let (total, exact) = if filter.is_empty() {
        let from = window_start(Timestamp::now(), retention_days);
        let counted = read_days(db, &db.tables.webhook_logs, &tenant.partition(), from).await?;
        (counted, true)
    } else {
        reading::count(&scope).await?
    };
    let items = if exact && page.offset() >= total {
        Vec::new()
    } else {
        reading::page(&scope, &page).await?
    };
    Ok(Page {
        items,
        total,
        exact,
        request: page,
        cursors: None,
    })
}

/// Every log matching `filter` (for `/recover`), at most `limit`.
pub async fn all(
    db: &Db,
    tenant: &Tenant,
    filter: &LogFilter,
    retention_days: u32,
    limit: u32,
) -> Result<Vec<WebhookLog>, StoreError> {
    let scope = scope(db, tenant, filter, retention_days);
    reading::page(&scope, &PageRequest::first(limit)).await
}

/// A retry the scheduler found due, with the due instant it was found under.
#[derive(Clone, Debug)]
pub struct DueRetry {
    pub tenant: Tenant,
    pub log_id: LogId,
    pub due_at: String,
}

/// Retries of one shard due by `now`: parked ones whose time has come, and queued ones
/// whose message never ran.
pub async fn due(
    db: &Db,
    shard: u8,
    now: Timestamp,
    limit: i32,
) -> Result<Vec<DueRetry>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.tables.webhook_logs)
        .index_name(DUE_INDEX)
        .key_condition_expression("due_shard = :shard AND due_at <= :now")
        .expression_attribute_values(":shard", s(format!("d{shard}")))
        .expression_attribute_values(":now", s(now.to_string()))
        .limit(limit)
        .sent()
        .await?;
    Ok(out
        .items()
        .iter()
        .filter_map(|item| {
            Some(DueRetry {
                tenant: Tenant::from_partition(item.get("pk")?.as_s().ok()?)?,
                log_id: LogId::parse(item.get("sk")?.as_s().ok()?).ok()?,
                due_at: item.get("due_at")?.as_s().ok()?.clone(),
            })
        })
        .collect())
}

/// Leases a due retry to this scheduler run until `until`: `false` if another run took
/// it, or an attempt was recorded meanwhile. If the re-send fails, the lease runs out
/// and a later run takes it again.
pub async fn lease(db: &Db, retry: &DueRetry, until: Timestamp) -> Result<bool, StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.webhook_logs)
        .key("pk", s(retry.tenant.partition()))
        .key("sk", s(&retry.log_id))
        .update_expression("SET due_at = :until")
        .condition_expression("due_at = :seen")
        .expression_attribute_values(":until", s(until.to_string()))
        .expression_attribute_values(":seen", s(&retry.due_at))
        .sent()
        .await;
    super::conditional(result)
}

/// Puts a delivery not attempted yet (again) on the due index by `due`: one that waits
/// for its slot or turn, or whose message was handed out before; `false` if an attempt
/// was recorded meanwhile.
pub async fn defer(
    db: &Db,
    tenant: &Tenant,
    log: &WebhookLog,
    due: Timestamp,
) -> Result<bool, StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.webhook_logs)
        .key("pk", s(tenant.partition()))
        .key("sk", s(&log.id))
        .update_expression("SET due_shard = :shard, due_at = :due")
        .condition_expression("attempts = :attempts AND #status IN (:pending, :retrying)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":pending", to_value(&LogStatus::Pending)?)
        .expression_attribute_values(":retrying", to_value(&LogStatus::Retrying)?)
        .expression_attribute_values(":attempts", n(log.attempts))
        .expression_attribute_values(":shard", s(due_shard(&log.id)))
        .expression_attribute_values(":due", s(due.to_string()))
        .sent()
        .await;
    super::conditional(result)
}

/// Puts a failed delivery back in line (for `/recover`): status retrying, one more
/// attempt allowed beyond what it had, and on the due index by `sweep_at` in case its
/// queue message is lost.
pub async fn requeue(
    db: &Db,
    tenant: &Tenant,
    log: &WebhookLog,
    sweep_at: Timestamp,
) -> Result<bool, StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.webhook_logs)
        .key("pk", s(tenant.partition()))
        .key("sk", s(&log.id))
        .update_expression("SET #status = :retrying, retry_limit = :limit, next_retry_at = :now, updated_at = :now, due_shard = :shard, due_at = :sweep")
        .condition_expression("#status = :failed AND attempts = :attempts")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":retrying", to_value(&LogStatus::Retrying)?)
        .expression_attribute_values(":failed", to_value(&LogStatus::Failed)?)
        .expression_attribute_values(":limit", n(log.attempts.max(log.retry_limit)))
        .expression_attribute_values(":now", to_value(&Timestamp::now())?)
        .expression_attribute_values(":attempts", n(log.attempts))
        .expression_attribute_values(":shard", s(due_shard(&log.id)))
        .expression_attribute_values(":sweep", s(sweep_at.to_string()))
        .sent()
        .await;
    super::conditional(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_out_batches_stay_within_a_transactions_count_and_size() {
        assert_eq!(batch_bounds(&[]), vec![]);
        assert_eq!(batch_bounds(&[1_000; 5]), vec![(0, 5)]);
        assert_eq!(
            batch_bounds(&[1_000; 200]),
            vec![(0, 96), (96, 192), (192, 200)]
        );
        let mb = 1024 * 1024;
        assert_eq!(batch_bounds(&[mb; 7]), vec![(0, 3), (3, 6), (6, 7)]);
        assert_eq!(
            batch_bounds(&[5 * mb, 10]),
            vec![(0, 1), (1, 2)],
            "too big goes alone"
        );
    }

    #[test]
    fn a_batch_of_fan_outs_packs_whole_events_into_as_few_transactions_as_fit() {
        // Ten events of one log each (plus mark and day count): one transaction.
        assert_eq!(pack_bounds(&[3; 10], &[2_000; 10]), vec![(0, 10)]);
        // Ten events to ten endpoints: 12 items each, 8 per transaction.
        assert_eq!(pack_bounds(&[12; 10], &[20_000; 10]), vec![(0, 8), (8, 10)]);
        // An event too large for one transaction goes alone (create_all splits it).
        assert_eq!(
            pack_bounds(&[3, 150, 3], &[1_000, 300_000, 1_000]),
            vec![(0, 1), (1, 2), (2, 3)]
        );
        let mb = 1024 * 1024;
        assert_eq!(pack_bounds(&[3; 4], &[mb; 4]), vec![(0, 3), (3, 4)]);
    }
}
