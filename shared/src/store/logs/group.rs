//! A fan-out's deliveries that succeeded at their first attempt, kept together in one
//! item of the logs table instead of one item each.
//!
//! Five deliveries of an event then cost one write of 2-3 KB instead of five of about
//! 1 KB, and hold half the bytes: what they share (the event, its payload, most request
//! headers) is stored once (`docs/costs.md`). An event's group sits beside its own logs,
//! at `log_<event ulid>_~`, so a listing reads both together, and a delivery's id names
//! its group (one read finds it). The first run to write it owns it: the successes of
//! another (a replay's, or a duplicate message's) get items of their own. A delivery
//! that needs more than its first attempt (a retry, a manual one) gets an item of its
//! own too, which wins over its entry here wherever both exist.

use crate::{
    Timestamp,
    ids::{EndpointId, EventId, LogId},
    webhooks::{LogStatus, WebhookLog, log::AttemptRecord},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What sorts a group after every log of its event (their ids end in hex digits).
pub(crate) const MARK: char = '~';

/// Stands for the delivery's own id in a stored request header (`webhook-id`,
/// `x-pushguard-webhook`): a control character, which no header value contains.
const OWN_ID: &str = "\u{1}id";

/// A response (body and headers) larger than this keeps its delivery out of a group:
/// a group stays a few KB however its receivers answer.
const MAX_ANSWER: usize = 1024;

/// Where a delivery would be kept in a group: its event's group's sort key
/// (`log_<ulid>_~`) and its entry's name. `None` for a log that is no event's delivery
/// (a test ping's id has no suffix).
pub(crate) fn place_of(id: &LogId) -> Option<(String, &str)> {
    let (event, entry) = id.rsplit_once('_')?;
    (event.len() > LogId::PREFIX.len() + 1).then(|| (format!("{event}_{MARK}"), entry))
}

/// Whether a sort key is a group's.
pub(crate) fn is_group(sort_key: &str) -> bool {
    sort_key.ends_with(MARK)
}

/// Whether `log` may be kept in its fan-out's group: an event's delivery that succeeded
/// at its first attempt, outside any lane, with a small answer.
pub fn may_join(log: &WebhookLog) -> bool {
    let answer = log.response.as_ref().map_or(0, String::len)
        + log
            .response_headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum::<usize>();
    log.status == LogStatus::Succeeded
        && log.attempts == 1
        && log.history.len() == 1
        && log.lane.is_none()
        && log.event_id.is_some()
        && place_of(&log.id).is_some()
        && answer <= MAX_ANSWER
}

/// The stored group: what its deliveries share, and each one's own part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Group {
    pub event: String,
    pub event_id: EventId,
    /// The body most of them carried (the event's object).
    pub payload: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The request headers every entry was sent with ([`OWN_ID`] for its own id).
    pub sent: BTreeMap<String, String>,
    /// By the end of each delivery's id (after the event's prefix).
    pub entries: BTreeMap<String, Entry>,
}

/// One delivery of a group: what its log does not share with the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<EndpointId>,
    pub url: String,
    pub code: u16,
    pub response: String,
    pub response_headers: BTreeMap<String, String>,
    /// Its request headers beyond the group's `sent`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sent: BTreeMap<String, String>,
    pub duration_ms: u64,
    pub retry_limit: u32,
    /// Unix milliseconds: when the log was made, its attempt sent, its outcome written.
    pub created: i64,
    pub sent_at: i64,
    pub updated: i64,
    /// Its body, when it is not the group's (a thin endpoint's, another dialect's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

/// A log's request headers with its own id written as [`OWN_ID`].
fn headers_of(log: &WebhookLog) -> BTreeMap<String, String> {
    log.request_headers
        .iter()
        .map(|(name, value)| {
            let value = if *value == *log.id {
                OWN_ID.to_string()
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect()
}

impl Group {
    /// The group of `logs` (each one [`may_join`], all of one event) with `payload` as
    /// their shared body; `None` when there is none to make.
    pub fn of(logs: &[&WebhookLog], payload: &Value) -> Option<Group> {
        let first = logs.first()?;
        let headers: Vec<BTreeMap<String, String>> = logs.iter().map(|l| headers_of(l)).collect();
        let mut sent = headers[0].clone();
        sent.retain(|name, value| headers.iter().all(|h| h.get(name) == Some(value)));
        let entries = logs
            .iter()
            .zip(headers)
            .filter_map(|(log, mut own)| {
                let (_, name) = place_of(&log.id)?;
                own.retain(|header, _| !sent.contains_key(header));
                let attempt = log.history.first()?;
                let entry = Entry {
                    endpoint_id: log.endpoint_id.clone(),
                    url: log.url.clone(),
                    code: log.response_code,
                    response: log.response.clone().unwrap_or_default(),
                    response_headers: log.response_headers.clone(),
                    sent: own,
                    duration_ms: log.duration_ms,
                    retry_limit: log.retry_limit,
                    created: log.created_at.as_millis(),
                    sent_at: attempt.at.as_millis(),
                    updated: log.updated_at.as_millis(),
                    payload: (log.payload != *payload).then(|| log.payload.clone()),
                };
                Some((name.to_string(), entry))
            })
            .collect();
        Some(Group {
            event: first.event.clone(),
            event_id: first.event_id.clone()?,
            payload: payload.clone(),
            account: first.account.clone(),
            sent,
            entries,
        })
    }

    /// The log of entry `name`, as it was written, for the group at `sort_key`.
    pub fn log(&self, sort_key: &str, name: &str) -> Option<WebhookLog> {
        let entry = self.entries.get(name)?;
        let (event_prefix, _) = sort_key.rsplit_once(MARK)?;
        let id = LogId::parse(&format!("{event_prefix}{name}")).ok()?;
        let request_headers = self
            .sent
            .iter()
            .chain(&entry.sent)
            .map(|(header, value)| {
                let value = if value == OWN_ID {
                    id.to_string()
                } else {
                    value.clone()
                };
                (header.clone(), value)
            })
            .collect();
        let sent_at = Timestamp::from_millis(entry.sent_at);
        Some(WebhookLog {
            endpoint_id: entry.endpoint_id.clone(),
            url: entry.url.clone(),
            event: self.event.clone(),
            event_id: Some(self.event_id.clone()),
            payload: entry
                .payload
                .clone()
                .unwrap_or_else(|| self.payload.clone()),
            status: LogStatus::Succeeded,
            response_code: entry.code,
            response: Some(entry.response.clone()),
            response_headers: entry.response_headers.clone(),
            duration_ms: entry.duration_ms,
            attempts: 1,
            retry_limit: entry.retry_limit,
            next_retry_at: None,
            created_at: Timestamp::from_millis(entry.created),
            updated_at: Timestamp::from_millis(entry.updated),
            request_headers,
            history: vec![AttemptRecord {
                at: sent_at,
                response_code: entry.code,
                duration_ms: entry.duration_ms,
                failure: None,
            }],
            lane: None,
            account: self.account.clone(),
            id,
        })
    }

    /// Every log of the group at `sort_key`.
    pub fn logs(&self, sort_key: &str) -> Vec<WebhookLog> {
        self.entries
            .keys()
            .filter_map(|name| self.log(sort_key, name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::log::delivery_id;
    use serde_json::json;

    fn delivered(event: &EventId, target: &str, payload: Value) -> WebhookLog {
        let id = delivery_id(event, 0, target);
        let mut log = WebhookLog::pending(
            id.clone(),
            Some(EndpointId::parse(target).unwrap()),
            format!("https://example.com/{target}"),
            "order:paid",
            Some(event.clone()),
            payload,
            10,
        );
        let at = Timestamp::from_millis(1_796_616_646_123);
        log.created_at = Timestamp::from_millis(1_796_616_646_100);
        log.updated_at = Timestamp::from_millis(1_796_616_646_140);
        log.status = LogStatus::Succeeded;
        log.attempts = 1;
        log.response_code = 200;
        log.response = Some("{\"received\":true}".into());
        log.response_headers = BTreeMap::from([("content-type".into(), "text/plain".into())]);
        log.duration_ms = 17;
        log.remember(AttemptRecord {
            at,
            response_code: 200,
            duration_ms: 17,
            failure: None,
        });
        log.request_headers = BTreeMap::from([
            ("content-type".into(), "application/json".into()),
            ("webhook-id".into(), id.to_string()),
            ("webhook-signature".into(), "v1,****".into()),
            ("x-team".into(), format!("**** {target}")),
        ]);
        log
    }

    #[test]
    fn a_group_gives_back_each_log_as_it_was_written() {
        let event: EventId = "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let payload = json!({ "id": "ord_1", "total": "10.00" });
        let thin = json!({ "id": "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV", "type": "order:paid" });
        let logs = [
            delivered(&event, "ep_01ARZ3NDEKTSV4RRFFQ69G5FA1", payload.clone()),
            delivered(&event, "ep_01ARZ3NDEKTSV4RRFFQ69G5FA2", thin),
            delivered(&event, "ep_01ARZ3NDEKTSV4RRFFQ69G5FA3", payload.clone()),
        ];
        assert!(logs.iter().all(may_join));
        let group = Group::of(&logs.iter().collect::<Vec<_>>(), &payload).unwrap();
        assert_eq!(group.entries.len(), 3);
        assert!(
            group.sent.contains_key("webhook-id") && !group.sent.contains_key("x-team"),
            "what all share is kept once: {:?}",
            group.sent
        );
        let (sort_key, _) = place_of(&logs[0].id).unwrap();
        assert!(is_group(&sort_key));
        assert_eq!(
            place_of(&logs[1].id).unwrap().0,
            sort_key,
            "one group an event"
        );
        assert!(
            !is_group(&logs[0].id),
            "a delivery's own item is not a group"
        );
        assert!(
            *logs[0].id < *sort_key,
            "a group sorts after its event's logs"
        );
        let stored: Group = serde_json::from_value(serde_json::to_value(&group).unwrap()).unwrap();
        let mut back = stored.logs(&sort_key);
        back.sort_by(|a, b| a.id.cmp(&b.id));
        let mut written = logs.to_vec();
        written.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(back, written);
    }

    #[test]
    fn only_a_small_first_attempt_success_of_an_event_joins_a_group() {
        let event: EventId = "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let log = delivered(&event, "ep_01ARZ3NDEKTSV4RRFFQ69G5FA1", Value::Null);
        assert!(may_join(&log));
        let mut retried = log.clone();
        retried.attempts = 2;
        let mut large = log.clone();
        large.response = Some("x".repeat(MAX_ANSWER));
        let mut failed = log.clone();
        failed.status = LogStatus::Failed;
        let mut ping = log.clone();
        ping.id = LogId::new();
        for (other, why) in [
            (retried, "a retry"),
            (large, "a large answer"),
            (failed, "a failure"),
            (ping, "no event"),
        ] {
            assert!(!may_join(&other), "{why}");
        }
    }
}
