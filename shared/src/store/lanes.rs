//! Lanes in the requests table, `lane#<tenant partition>#<endpoint id>#<ordering key>`:
//! the deliveries of one resource's events to one ordered endpoint that are not done,
//! each an attribute `q<sequence, 20 digits><log id>` holding the log id, so the
//! smallest name is the one whose turn it is (the head). `blocked` names the head
//! entry when its delivery exhausted its retries and the endpoint blocks on that;
//! `claim` (`<entry>#<attempt>`, until `claim_until`, Unix ms) the attempt being made,
//! so that two workers woken for one delivery (the message the delivery before it
//! queued, and its own first run) do not both send it.
//!
//! An entry is added in the transaction that creates its log (so a log is never in
//! flight outside its lane) and removed when its delivery ends. Expired by TTL after
//! the logs' retention.

use super::paging::expiry_epoch;
use super::{Db, Item, StoreError, error::Sent, n, s};
use crate::{Tenant, Timestamp, ids::EndpointId, ids::LogId};
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};

/// One endpoint's lane for one ordering key.
#[derive(Clone, Copy, Debug)]
pub struct Lane<'a> {
    pub tenant: &'a Tenant,
    pub endpoint: &'a EndpointId,
    pub key: &'a str,
}

impl Lane<'_> {
    fn id(&self) -> String {
        format!(
            "lane#{}#{}#{}",
            self.tenant.partition(),
            self.endpoint,
            self.key
        )
    }
}

pub use crate::webhooks::log::lane_entry as entry;

/// A lane as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaneState {
    /// The entry whose turn it is, and its log.
    pub head: Option<(String, LogId)>,
    /// The head entry, when it holds the lane after exhausting its retries.
    pub blocked: Option<String>,
    /// How many deliveries are in the lane.
    pub len: usize,
    entries: Vec<String>,
}

impl LaneState {
    fn of(item: &Item) -> Self {
        let mut entries: Vec<(&String, LogId)> = item
            .iter()
            .filter(|(name, _)| name.starts_with('q'))
            .filter_map(|(name, value)| Some((name, LogId::parse(value.as_s().ok()?).ok()?)))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        LaneState {
            head: entries
                .first()
                .map(|(name, log)| ((*name).clone(), log.clone())),
            blocked: item.get("blocked").and_then(|v| v.as_s().ok()).cloned(),
            len: entries.len(),
            entries: entries.into_iter().map(|(name, _)| name.clone()).collect(),
        }
    }

    /// Whether `entry` is still in the lane.
    pub fn holds(&self, entry: &str) -> bool {
        self.entries.iter().any(|e| e == entry)
    }
}

/// The write that puts a delivery in its lane, for the transaction creating its log.
pub(crate) fn join_write(
    db: &Db,
    lane: &Lane<'_>,
    entry: &str,
    log: &LogId,
    retention_days: u32,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(&db.tables.requests)
        .key("id", s(lane.id()))
        .update_expression("SET #entry = :log, expires_at_epoch = :expires")
        .expression_attribute_names("#entry", entry)
        .expression_attribute_values(":log", s(log))
        .expression_attribute_values(
            ":expires",
            n(expiry_epoch(Timestamp::now(), retention_days + 1)),
        )
        .build()
        .map_err(StoreError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The lane as it is now (read consistently).
pub async fn read(db: &Db, lane: &Lane<'_>) -> Result<LaneState, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.tables.requests)
        .key("id", s(lane.id()))
        .consistent_read(true)
        .sent()
        .await?;
    Ok(out.item.as_ref().map(LaneState::of).unwrap_or_default())
}

/// What removing a delivery from its lane left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Left {
    /// The delivery whose turn it now is.
    pub next: Option<LogId>,
    /// Whether the removed delivery was holding the lane blocked.
    pub was_blocked: bool,
}

/// Takes `entry` (of delivery `log`) out of its lane, and its block with it: `None`
/// if it was not there (another worker took it out first).
pub async fn leave(
    db: &Db,
    lane: &Lane<'_>,
    entry: &str,
    log: &LogId,
) -> Result<Option<Left>, StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(lane.id()))
        .update_expression("REMOVE #entry, blocked, claim, claim_until")
        .condition_expression("#entry = :log")
        .expression_attribute_names("#entry", entry)
        .expression_attribute_values(":log", s(log))
        .return_values(ReturnValue::AllOld)
        .sent()
        .await;
    match result {
        Ok(out) => {
            let before = out
                .attributes
                .as_ref()
                .map(LaneState::of)
                .unwrap_or_default();
            let next = before
                .entries
                .iter()
                .find(|e| e.as_str() != entry)
                .and_then(|e| out.attributes.as_ref()?.get(e)?.as_s().ok())
                .and_then(|id| LogId::parse(id).ok());
            Ok(Some(Left {
                next,
                was_blocked: before.blocked.as_deref() == Some(entry),
            }))
        }
        Err(StoreError::ConditionFailed { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Takes attempt `attempt` of `entry` (of delivery `log`) until `until_ms`: `false` if
/// another worker holds it (or the entry is gone). Only the head is claimed.
pub async fn claim(
    db: &Db,
    lane: &Lane<'_>,
    entry: &str,
    log: &LogId,
    attempt: u32,
    now_ms: i64,
    until_ms: i64,
) -> Result<bool, StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(lane.id()))
        .update_expression("SET claim = :claim, claim_until = :until")
        .condition_expression(
            "#entry = :log AND (attribute_not_exists(claim) OR claim <> :claim OR claim_until < :now)",
        )
        .expression_attribute_names("#entry", entry)
        .expression_attribute_values(":log", s(log))
        .expression_attribute_values(":claim", s(format!("{entry}#{attempt}")))
        .expression_attribute_values(":until", n(until_ms))
        .expression_attribute_values(":now", n(now_ms))
        .sent()
        .await;
    super::conditional(result)
}

/// Holds the lane at `entry`, its head, whose delivery exhausted its retries: `false`
/// if the entry is no longer there.
pub async fn block(db: &Db, lane: &Lane<'_>, entry: &str, log: &LogId) -> Result<bool, StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.requests)
        .key("id", s(lane.id()))
        .update_expression("SET blocked = :entry")
        .condition_expression("#entry = :log")
        .expression_attribute_names("#entry", entry)
        .expression_attribute_values(":entry", s(entry))
        .expression_attribute_values(":log", s(log))
        .sent()
        .await;
    super::conditional(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_is_the_lowest_sequence_whatever_the_log_ids() {
        let early = LogId::new();
        let late = LogId::new();
        let mut item = Item::new();
        item.insert("id".into(), s("lane#x"));
        item.insert(entry(10, &early), s(&early));
        item.insert(entry(9, &late), s(&late));
        item.insert(entry(11, &late), s(&late));
        item.insert("blocked".into(), s(entry(9, &late)));
        item.insert("expires_at_epoch".into(), n(1));
        let lane = LaneState::of(&item);
        assert_eq!(lane.head, Some((entry(9, &late), late.clone())));
        assert_eq!(lane.len, 3);
        assert_eq!(lane.blocked, Some(entry(9, &late)));
        assert!(lane.holds(&entry(10, &early)));
        assert!(!lane.holds(&entry(12, &early)));
        // Numbers compare as numbers: 9 before 10 although "9" > "1".
        assert!(entry(9, &early) < entry(10, &early));
    }
}
