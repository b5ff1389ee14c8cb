//! Timestamps as the API shows them: RFC 3339, milliseconds, explicit offset
//! (`2019-12-17T17:54:02.667+00:00`). Stored the same way, so they sort as strings.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, time::Duration};

/// A point in time, always UTC, with millisecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The current time, truncated to milliseconds so it round-trips through storage.
    pub fn now() -> Self {
        Self::from_millis(Utc::now().timestamp_millis())
    }

    pub fn from_millis(millis: i64) -> Self {
        Timestamp(DateTime::from_timestamp_millis(millis).unwrap_or_default())
    }

    pub fn as_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// Seconds since the epoch, as DynamoDB's TTL wants them.
    pub fn as_epoch_seconds(&self) -> i64 {
        self.0.timestamp()
    }

    pub fn plus(&self, duration: Duration) -> Self {
        Self::from_millis(self.as_millis().saturating_add(duration.as_millis() as i64))
    }

    pub fn minus(&self, duration: Duration) -> Self {
        Self::from_millis(self.as_millis().saturating_sub(duration.as_millis() as i64))
    }

    /// Parses any RFC 3339 timestamp (client input).
    pub fn parse(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| Self::from_millis(t.timestamp_millis()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, false))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_milliseconds_and_an_explicit_offset() {
        let t = Timestamp::from_millis(1_576_605_242_667);
        assert_eq!(t.to_string(), "2019-12-17T17:54:02.667+00:00");
    }

    #[test]
    fn round_trips_through_json_and_accepts_other_offsets() {
        let t = Timestamp::from_millis(1_576_605_242_667);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert_eq!(
            Timestamp::parse("2019-12-17T18:54:02.667+01:00"),
            Some(t),
            "the same instant in another offset"
        );
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn string_order_is_time_order() {
        let a = Timestamp::from_millis(999);
        let b = Timestamp::from_millis(1_000);
        assert!(a.to_string() < b.to_string());
    }
}
