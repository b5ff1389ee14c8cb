//! Ordering keys' sequences, in the events table (`sk` = `seq#<key>`): the number of
//! the last event committed under each key and its id. An event takes the next number
//! in the transaction that commits it, on the condition that the sequence is still as
//! read, so numbers follow commit order without gaps: what ordered delivery needs to
//! know which event comes next (`delivery::lanes`).
//!
//! Only a tenant with an ordered endpoint numbers its events: a sequence costs a read
//! and two write units per event, which nobody else needs. The count of those endpoints
//! (`sk` = `#ordered`, beside the sequences) moves in the transaction that creates,
//! changes or deletes one, and a commit reads it first, consistently.

use super::{
    Db, Item, Rejection, StoreError, Transaction,
    error::{RETRIES, backoff},
    get_item, n,
    paging::expiry_epoch,
    s,
};
use crate::{
    Tenant, Timestamp,
    events::{Event, Sequence},
    ids::EventId,
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use std::collections::BTreeMap;

const PREFIX: &str = "seq#";
/// The item counting the tenant's endpoints that deliver in order.
const ORDERED: &str = "#ordered";
/// What a cancelled commit says when only a sequence moved (another event of the same
/// key committed first): the caller numbers its events again and retries.
const MOVED: &str = "an ordering key's sequence moved";

/// A key's sequence as read: its last number and event (none yet: 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Last {
    number: u64,
    event: Option<EventId>,
}

fn last_of(item: Option<Item>) -> Last {
    let Some(item) = item else {
        return Last::default();
    };
    Last {
        number: super::number(&item, "number").unwrap_or(0),
        event: item
            .get("last")
            .and_then(|v| v.as_s().ok())
            .and_then(|v| EventId::parse(v).ok()),
    }
}

/// The write that moves the count of `tenant`'s ordered endpoints by `delta`, in the
/// transaction that makes (`1`), unmakes (`-1`) or deletes (`-1`) one.
pub(crate) fn ordered_endpoints_write(
    db: &Db,
    tenant: &Tenant,
    delta: i64,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(&db.tables.events)
        .key("pk", s(tenant.partition()))
        .key("sk", s(ORDERED))
        .update_expression("ADD endpoints :delta")
        .expression_attribute_values(":delta", n(delta))
        .build()
        .map_err(StoreError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Whether any endpoint of `tenant` delivers in order, read consistently: an endpoint
/// made ordered before this read sees every event committed after it numbered.
async fn ordering_in_use(db: &Db, tenant: &Tenant) -> Result<bool, StoreError> {
    let item = get_item(db, &db.tables.events, &tenant.partition(), ORDERED).await?;
    Ok(ordered_count(item.as_ref()) > 0)
}

fn ordered_count(item: Option<&Item>) -> i64 {
    item.and_then(|item| super::number(item, "endpoints"))
        .unwrap_or(0)
}

/// Numbers `events` after the sequences of their keys as they are now, and returns the
/// writes that move those sequences on (one per key, conditional on what was read).
/// Without an ordered endpoint, events are not numbered and nothing is written.
async fn number(
    db: &Db,
    tenant: &Tenant,
    events: &mut [Event],
    retention_days: u32,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let keyed = events.iter().any(|event| event.ordering_key().is_some());
    if !keyed || !ordering_in_use(db, tenant).await? {
        for event in events.iter_mut() {
            event.sequence = None;
        }
        return Ok(Vec::new());
    }
    let keys: Vec<String> = {
        let mut keys: Vec<String> = events
            .iter()
            .filter_map(|e| e.ordering_key().map(str::to_string))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let partition = tenant.partition();
    let reads = keys.iter().map(|key| {
        let sk = format!("{PREFIX}{key}");
        let partition = &partition;
        async move { get_item(db, &db.tables.events, partition, &sk).await }
    });
    let mut sequences: BTreeMap<String, (Last, Last)> = BTreeMap::new();
    for (key, read) in keys.iter().zip(crate::concurrency::join_all(reads).await) {
        let read = last_of(read?);
        sequences.insert(key.clone(), (read.clone(), read));
    }
    for event in events.iter_mut() {
        let Some(key) = event.ordering_key().map(str::to_string) else {
            event.sequence = None;
            continue;
        };
        let (_, last) = sequences.get_mut(&key).expect("every key was read");
        event.sequence = Some(Sequence {
            number: last.number + 1,
            previous: last.event.clone(),
        });
        *last = Last {
            number: last.number + 1,
            event: Some(event.id.clone()),
        };
    }
    let expires = expiry_epoch(Timestamp::now(), retention_days + 1);
    let mut writes = Vec::with_capacity(sequences.len());
    for (key, (read, last)) in sequences {
        let mut item = Item::new();
        item.insert("pk".into(), s(&partition));
        item.insert("sk".into(), s(format!("{PREFIX}{key}")));
        item.insert("number".into(), n(last.number));
        if let Some(event) = &last.event {
            item.insert("last".into(), s(event));
        }
        item.insert("expires_at_epoch".into(), n(expires));
        let mut put = Put::builder()
            .table_name(&db.tables.events)
            .set_item(Some(item));
        put = if read.number == 0 {
            put.condition_expression("attribute_not_exists(pk) OR #number = :zero")
                .expression_attribute_values(":zero", n(0))
        } else {
            put.condition_expression("#number = :read")
                .expression_attribute_values(":read", n(read.number))
        };
        let put = put
            .expression_attribute_names("#number", "number")
            .build()
            .map_err(StoreError::internal)?;
        writes.push(TransactWriteItem::builder().put(put).build());
    }
    Ok(writes)
}

/// Commits `transaction` with `events` (the outbox), each numbered in its ordering
/// key's sequence. When another event of one of those keys committed in between, the
/// events are numbered again and the commit retried: that conflict is not the client's.
pub(crate) async fn commit_with_events(
    db: &Db,
    tenant: &Tenant,
    transaction: Transaction,
    events: &mut [Event],
    retention_days: u32,
) -> Result<(), StoreError> {
    let mut retry = 0;
    loop {
        let moves = number(db, tenant, events, retention_days).await?;
        let mut attempt = transaction
            .clone()
            .with_events(db, tenant, events, retention_days)?;
        for write in moves {
            attempt = attempt.write(write, Some(Rejection::Changed(MOVED.into())));
        }
        match attempt.commit(db).await {
            Err(StoreError::Rejected(Rejection::Changed(why))) if why == MOVED => {
                if retry >= RETRIES {
                    return Err(StoreError::Transient {
                        operation: "TransactWriteItems",
                        code: None,
                        cause: "an ordering key's sequence kept moving".into(),
                    });
                }
                retry += 1;
                tokio::time::sleep(backoff(retry)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_not_yet_written_starts_at_zero() {
        assert_eq!(last_of(None), Last::default());
        let mut item = Item::new();
        item.insert("number".into(), n(7));
        item.insert("last".into(), s("evt_01J0000000000000000000000A"));
        let last = last_of(Some(item));
        assert_eq!(last.number, 7);
    }

    #[test]
    fn a_tenant_orders_while_it_counts_an_ordered_endpoint() {
        assert_eq!(ordered_count(None), 0, "never had one");
        let mut item = Item::new();
        item.insert("endpoints".into(), n(2));
        assert_eq!(ordered_count(Some(&item)), 2);
        item.insert("endpoints".into(), n(0));
        assert_eq!(ordered_count(Some(&item)), 0, "had some, deleted them");
    }
}
