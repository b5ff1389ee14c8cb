use crate::t;
use crate::{
    Timestamp,
    ids::EventId,
    ids::{EndpointId, LogId},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogStatus {
    /// Created; the first attempt has not finished.
    Pending,
    /// An attempt failed and another is scheduled (`next_retry_at`).
    Retrying,
    Succeeded,
    /// Retries are exhausted, the receiver answered 410, or the endpoint went away.
    Failed,
}

impl LogStatus {
    /// Whether the delivery has ended: delivered, or failed with no retry left.
    pub fn is_final(self) -> bool {
        matches!(self, LogStatus::Succeeded | LogStatus::Failed)
    }
}

impl std::str::FromStr for LogStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(LogStatus::Pending),
            "retrying" => Ok(LogStatus::Retrying),
            "succeeded" => Ok(LogStatus::Succeeded),
            "failed" => Ok(LogStatus::Failed),
            _ => Err(t!(
                "Status must be one of pending, retrying, succeeded, failed; got {s:?}",
                s
            )),
        }
    }
}

/// One delivery of one event to one target, with the outcome of its latest attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookLog {
    pub id: LogId,
    /// The endpoint delivered to; `None` for a product's or payment's `webhook_url`
    /// (and simulations), which the account's webhook secret signs.
    pub endpoint_id: Option<EndpointId>,
    /// The target as stored (credentials included); views mask it.
    pub url: String,
    pub event: String,
    pub event_id: Option<EventId>,
    pub payload: Value,
    pub status: LogStatus,
    /// 0 until an attempt got a response.
    pub response_code: u16,
    pub response: Option<String>,
    pub response_headers: BTreeMap<String, String>,
    pub duration_ms: u64,
    /// Attempts made so far; the API shows `retries` = attempts after the first.
    pub attempts: u32,
    pub retry_limit: u32,
    pub next_retry_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The headers of the latest attempt as sent, custom headers' values masked.
    #[serde(default)]
    pub request_headers: BTreeMap<String, String>,
    /// The latest attempts, oldest first (at most [`MAX_HISTORY`]).
    #[serde(default)]
    pub history: Vec<AttemptRecord>,
    /// For an endpoint with ordered delivery: the lane it waits its turn in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<LanePlace>,
    /// The child account whose event it delivers to its holding account's endpoint
    /// (`events_from: children`): every attempt names it in `X-PushGuard-Account`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// A delivery's place among the deliveries of one resource to one ordered endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanePlace {
    /// The resource's id, or the published event's `ordering_key`.
    pub key: String,
    /// The event's number among that resource's events (commit order).
    pub sequence: u64,
}

impl LanePlace {
    /// Its entry in the lane (see `store::lanes`).
    pub fn entry(&self, log: &LogId) -> String {
        lane_entry(self.sequence, log)
    }
}

/// A delivery's entry in its lane: after every delivery of a lower sequence number.
pub fn lane_entry(sequence: u64, log: &LogId) -> String {
    format!("q{sequence:020}{log}")
}

/// How many attempts a log remembers (the default schedule makes at most 9).
pub const MAX_HISTORY: usize = 20;

/// One attempt of a delivery: when, how long, what came back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttemptRecord {
    /// When it was sent.
    pub at: Timestamp,
    /// 0 when no response arrived.
    pub response_code: u16,
    pub duration_ms: u64,
    /// Why it failed (`timeout`, `connection`, `refused`, `3xx`, `4xx`, `5xx`); absent
    /// when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl WebhookLog {
    /// Remembers an attempt, forgetting the oldest beyond [`MAX_HISTORY`].
    pub fn remember(&mut self, attempt: AttemptRecord) {
        self.history.push(attempt);
        let excess = self.history.len().saturating_sub(MAX_HISTORY);
        self.history.drain(..excess);
    }
}

/// A log as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookLogView<'a> {
    pub id: &'a str,
    pub endpoint_id: Option<&'a str>,
    pub url: String,
    pub event: &'a str,
    pub event_id: Option<&'a str>,
    pub payload: &'a Value,
    pub status: LogStatus,
    pub response_code: u16,
    pub response: Option<&'a str>,
    pub response_headers: &'a BTreeMap<String, String>,
    pub duration_ms: u64,
    pub retries: u32,
    pub retry_limit: u32,
    pub next_retry_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The headers of the latest attempt as sent (custom headers' values masked).
    pub request_headers: &'a BTreeMap<String, String>,
    /// The latest attempts, oldest first (at most 20).
    pub history: &'a [AttemptRecord],
    /// For an ordered endpoint: the resource whose events it is delivered in order with.
    pub ordering_key: Option<&'a str>,
    /// The event's number among that resource's events.
    pub sequence: Option<u64>,
    /// The child account whose event it delivers (an endpoint receiving `children`).
    pub account: Option<&'a str>,
}

impl WebhookLog {
    /// A pending delivery of `event` (type, id, payload) to `url`.
    pub fn pending(
        id: LogId,
        endpoint_id: Option<EndpointId>,
        url: String,
        event: &str,
        event_id: Option<EventId>,
        payload: Value,
        retry_limit: u32,
    ) -> Self {
        let now = Timestamp::now();
        WebhookLog {
            id,
            endpoint_id,
            url,
            event: event.to_string(),
            event_id,
            payload,
            status: LogStatus::Pending,
            response_code: 0,
            response: None,
            response_headers: BTreeMap::new(),
            duration_ms: 0,
            attempts: 0,
            retry_limit,
            next_retry_at: None,
            created_at: now,
            updated_at: now,
            request_headers: BTreeMap::new(),
            history: Vec::new(),
            lane: None,
            account: None,
        }
    }

    pub fn view(&self) -> WebhookLogView<'_> {
        let url = url::Url::parse(&self.url)
            .map(|u| super::url::mask(&u))
            .unwrap_or_else(|_| self.url.clone());
        WebhookLogView {
            id: &self.id,
            endpoint_id: self.endpoint_id.as_deref(),
            url,
            event: &self.event,
            event_id: self.event_id.as_deref(),
            payload: &self.payload,
            status: self.status,
            response_code: self.response_code,
            response: self.response.as_deref(),
            response_headers: &self.response_headers,
            duration_ms: self.duration_ms,
            retries: self.attempts.saturating_sub(1),
            retry_limit: self.retry_limit,
            next_retry_at: self.next_retry_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            request_headers: &self.request_headers,
            history: &self.history,
            ordering_key: self.lane.as_ref().map(|l| l.key.as_str()),
            sequence: self.lane.as_ref().map(|l| l.sequence),
            account: self.account.as_deref(),
        }
    }
}

/// The id of the delivery of one event (one replay of it) to one target. Derived, so
/// a redelivered queue message finds the log it already created instead of a new one;
/// it starts with the event's ULID, so logs sort by event time.
pub fn delivery_id(event_id: &EventId, replay: u32, target: &str) -> LogId {
    let time_part = event_id.unprefixed();
    let digest = Sha256::digest(format!("{replay}\n{target}").as_bytes());
    LogId::derived(format!("log_{time_part}_{}", &hex::encode(digest)[..12]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_remembers_its_latest_attempts() {
        let mut log = WebhookLog::pending(
            LogId::new(),
            None,
            "https://example.com".into(),
            "order:paid",
            None,
            Value::Null,
            30,
        );
        for code in 0..25u16 {
            log.remember(AttemptRecord {
                at: Timestamp::now(),
                response_code: code,
                duration_ms: 1,
                failure: None,
            });
        }
        assert_eq!(log.history.len(), MAX_HISTORY);
        assert_eq!(
            log.history[0].response_code, 5,
            "the oldest five are forgotten"
        );
        assert_eq!(log.history[MAX_HISTORY - 1].response_code, 24);
    }

    #[test]
    fn delivery_ids_are_stable_per_target_and_replay() {
        let event: EventId = "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let a = delivery_id(&event, 0, "ep_1");
        assert_eq!(a, delivery_id(&event, 0, "ep_1"));
        assert_ne!(a, delivery_id(&event, 1, "ep_1"));
        assert_ne!(a, delivery_id(&event, 0, "ep_2"));
        assert!(a.starts_with("log_01ARZ3NDEKTSV4RRFFQ69G5FAV_"));
        assert_eq!(LogId::parse(&a), Ok(a.clone()), "a delivery id is a log id");
        assert!(LogId::parse("log_01ARZ3NDEKTSV4RRFFQ69G5FAV_../../x").is_err());
    }

    #[test]
    fn views_mask_credentials_and_count_retries() {
        let mut log = WebhookLog::pending(
            LogId::new(),
            None,
            "https://u:p@example.com/x".into(),
            "order:paid",
            None,
            Value::Null,
            10,
        );
        log.attempts = 3;
        let view = log.view();
        assert_eq!(view.url, "https://****:****@example.com/x");
        assert_eq!(view.retries, 2);
    }
}
