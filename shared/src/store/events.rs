//! The events table: key (`pk` = tenant, `sk` = event id), per-day counters, and the
//! sparse `pending` index (`pending_shard`, `pending_since`) holding only events not
//! yet dispatched, which the scheduler re-sends if their queue message was lost.

use super::{
    Db, Item, Rejection, StoreError, Transaction,
    counters::{day_write, read_days},
    error::Sent,
    keyed_item, n,
    paging::{Filter, Listing, day_of, expiry_epoch, window_start},
    s,
};
use crate::t;
use crate::{
    Tenant, Timestamp,
    events::{Event, EventStatus},
    ids::EventId,
    pagination::{Page, PageRequest},
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use sha2::{Digest, Sha256};

pub const PENDING_INDEX: &str = "pending";
/// The pending index is spread over this many partitions.
pub const PENDING_SHARDS: u8 = 4;

fn pending_shard(event_id: &str) -> String {
    format!(
        "p{}",
        Sha256::digest(event_id.as_bytes())[0] % PENDING_SHARDS
    )
}

fn with_pending(mut item: Item, event: &Event) -> Item {
    item.insert("pending_shard".into(), s(pending_shard(&event.id)));
    item.insert("pending_since".into(), s(Timestamp::now().to_string()));
    item
}

impl Transaction {
    /// Adds `events` to this transaction: the outbox. They commit with the change that
    /// caused them, or not at all. Send them with [`enqueue`] after the commit.
    pub(crate) fn with_events(
        mut self,
        db: &Db,
        tenant: &Tenant,
        events: &[Event],
        retention_days: u32,
    ) -> Result<Self, StoreError> {
        let partition = tenant.partition();
        for event in events {
            let mut item = with_pending(keyed_item(&partition, &event.id, event)?, event);
            item.insert(
                "expires_at_epoch".into(),
                n(expiry_epoch(event.created_at, retention_days)),
            );
            let put = Put::builder()
                .table_name(&db.tables.events)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(StoreError::internal)?;
            self = self.write(
                TransactWriteItem::builder().put(put).build(),
                Some(Rejection::Conflict(t!("Event id already exists"))),
            );
        }
        // One counter write per day: a transaction may touch an item only once.
        let mut days: Vec<(String, Timestamp, u64)> = Vec::new();
        for event in events {
            let day = day_of(event.created_at);
            match days.iter_mut().find(|(d, _, _)| *d == day) {
                Some((_, _, count)) => *count += 1,
                None => days.push((day, event.created_at, 1)),
            }
        }
        for (_, at, count) in days {
            self = self.write(day_write(&db.tables.events, &partition, at, count)?, None);
        }
        Ok(self)
    }
}

/// Records a published event (`POST /events`): the event alone is the change. It is
/// numbered in its ordering key's sequence.
pub async fn create(
    db: &Db,
    tenant: &Tenant,
    event: &mut Event,
    retention_days: u32,
) -> Result<(), StoreError> {
    let events = std::slice::from_mut(event);
    super::sequences::commit_with_events(db, tenant, Transaction::new(), events, retention_days)
        .await
}

pub async fn get(db: &Db, tenant: &Tenant, id: &EventId) -> Result<Option<Event>, StoreError> {
    super::get_keyed(db, &db.tables.events, &tenant.partition(), id).await
}

/// Events of the retention window, newest first; `event_type` narrows.
pub async fn list(
    db: &Db,
    tenant: &Tenant,
    event_type: Option<&str>,
    page: PageRequest,
    retention_days: u32,
) -> Result<Page<Event>, StoreError> {
    let from = window_start(Timestamp::now(), retention_days);
    let mut filter = Filter::default();
    if let Some(event_type) = event_type {
        filter = filter.clause(
            "#type = :type",
            &[("#type", "type")],
            vec![(":type", s(event_type))],
        );
    }
    let listing = Listing {
        table: &db.tables.events,
        index: None,
        partition_attribute: "pk",
        partition: tenant.partition(),
        sort_attribute: "sk",
        sort_prefix: EventId::PREFIX,
        sort_from: Some(EventId::lowest_at(from)),
        filter,
    };
    let counter = if listing.filter.is_empty() {
        Some(read_days(db, &db.tables.events, &tenant.partition(), from).await?)
    } else {
        None
    };
    listing.fetch(db, page, counter).await
}

/// Marking a replay of an event dispatched takes it off the pending index and says its
/// logs are counted (`counted_replay`: the write that marks it counts them, the only
/// one that does); the condition fails if a newer replay started meanwhile (it stays
/// pending) or the event is gone.
const MARK_DISPATCHED: &str = "SET #status = :dispatched, dispatched_at = :now, counted_replay = :replay \
     REMOVE pending_shard, pending_since";
const STILL_THIS_REPLAY: &str = "attribute_exists(pk) AND replays = :replay";
/// ... and, for a write that counts logs made apart from it, that nobody counted them.
const NOT_COUNTED: &str = "attribute_exists(pk) AND replays = :replay \
     AND (attribute_not_exists(counted_replay) OR counted_replay <> :replay)";

/// The mark as a write of the transaction that creates the event's logs and counts them.
pub(crate) fn dispatched_write(
    db: &Db,
    tenant: &Tenant,
    id: &EventId,
    replay: u32,
) -> Result<TransactWriteItem, StoreError> {
    mark_write(db, tenant, id, replay, STILL_THIS_REPLAY)
}

/// The mark as a write of the transaction that counts logs made before it: it fails
/// (`Rejection::Changed`) if they were counted already, or a newer replay started.
pub(crate) fn counting_write(
    db: &Db,
    tenant: &Tenant,
    id: &EventId,
    replay: u32,
) -> Result<TransactWriteItem, StoreError> {
    mark_write(db, tenant, id, replay, NOT_COUNTED)
}

fn mark_write(
    db: &Db,
    tenant: &Tenant,
    id: &EventId,
    replay: u32,
    condition: &str,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(&db.tables.events)
        .key("pk", s(tenant.partition()))
        .key("sk", s(id))
        .update_expression(MARK_DISPATCHED)
        .condition_expression(condition)
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":dispatched", s("dispatched"))
        .expression_attribute_values(":now", s(Timestamp::now().to_string()))
        .expression_attribute_values(":replay", n(replay))
        .build()
        .map_err(StoreError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The mark on its own, for an event whose logs were counted already: nothing if a
/// newer replay started or the event is gone.
pub async fn mark_dispatched(
    db: &Db,
    tenant: &Tenant,
    id: &EventId,
    replay: u32,
) -> Result<(), StoreError> {
    let superseded = Rejection::Changed("superseded".into());
    let marked = Transaction::new()
        .write(dispatched_write(db, tenant, id, replay)?, Some(superseded))
        .commit(db)
        .await;
    match marked {
        Ok(()) | Err(StoreError::Rejected(Rejection::Changed(_))) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Starts a replay: the event is pending again under a new replay number.
///
/// A transaction, so that a request holding an `Idempotency-Key` marks it in the same
/// write: a crash after the replay and before the response cannot replay it twice.
pub async fn start_replay(
    db: &Db,
    tenant: &Tenant,
    id: &EventId,
) -> Result<Option<Event>, StoreError> {
    let update = Update::builder()
        .table_name(&db.tables.events)
        .key("pk", s(tenant.partition()))
        .key("sk", s(id))
        .update_expression("SET #status = :pending, pending_shard = :shard, pending_since = :since ADD replays :one REMOVE dispatched_at")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":pending", s("pending"))
        .expression_attribute_values(":shard", s(pending_shard(id)))
        .expression_attribute_values(":since", s(Timestamp::now().to_string()))
        .expression_attribute_values(":one", n(1))
        .build()
        .map_err(StoreError::internal)?;
    let replayed = Transaction::new()
        .write(
            TransactWriteItem::builder().update(update).build(),
            Some(Rejection::NotFound("Event")),
        )
        .commit(db)
        .await;
    match replayed {
        Ok(()) => get(db, tenant, id).await,
        Err(StoreError::Rejected(Rejection::NotFound(_))) => Ok(None),
        Err(e) => Err(e),
    }
}

/// An event committed but not yet dispatched (this replay of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEvent {
    pub tenant: Tenant,
    pub event_id: EventId,
    pub replay: u32,
}

/// Events of one shard of the pending index committed before `before`, oldest first.
pub async fn pending_before(
    db: &Db,
    shard: u8,
    before: Timestamp,
    limit: i32,
) -> Result<Vec<PendingEvent>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.tables.events)
        .index_name(PENDING_INDEX)
        .key_condition_expression("pending_shard = :shard AND pending_since < :before")
        .expression_attribute_values(":shard", s(format!("p{shard}")))
        .expression_attribute_values(":before", s(before.to_string()))
        .limit(limit)
        .sent()
        .await?;
    Ok(out
        .items()
        .iter()
        .filter_map(|item| {
            let tenant = Tenant::from_partition(item.get("pk")?.as_s().ok()?)?;
            let event: Event = serde_dynamo::from_item(item.clone()).ok()?;
            (event.status == EventStatus::Pending).then_some(PendingEvent {
                tenant,
                event_id: event.id,
                replay: event.replays,
            })
        })
        .collect())
}
