//! Metrics in CloudWatch Embedded Metric Format: log lines CloudWatch turns into
//! metrics, so recording one costs no API call.
//!
//! Code records as it goes ([`count`], [`milliseconds`]); each invocation (an HTTP
//! request, an SQS batch, a scheduler run) ends with [`flush`], which writes one line
//! per metric and dimension set: counts summed, durations as their values (for
//! percentiles). The namespace is `METRICS_NAMESPACE` (the template sets
//! `PushGuard/<stack name>`; [`crate::Config::metrics_namespace`]). In Lambda the lines go to stdout, where CloudWatch reads
//! them; elsewhere they are kept in memory, the last [`KEPT`] of them, for tests
//! ([`recent`]).

use serde_json::{Map, Value, json};
use std::{
    collections::BTreeMap,
    sync::{LazyLock, Mutex},
};

/// Lines kept in memory outside Lambda.
pub const KEPT: usize = 10_000;
/// EMF takes at most 100 values per metric and line.
const VALUES_PER_LINE: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

type Key = (&'static str, Unit, Vec<(&'static str, String)>);

#[derive(Default)]
struct Recorder {
    pending: BTreeMap<Key, Vec<f64>>,
    kept: std::collections::VecDeque<String>,
}

static RECORDER: LazyLock<Mutex<Recorder>> = LazyLock::new(Default::default);

fn record(name: &'static str, unit: Unit, dimensions: &[(&'static str, &str)], value: f64) {
    let dimensions = dimensions
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect();
    let mut recorder = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    recorder
        .pending
        .entry((name, unit, dimensions))
        .or_default()
        .push(value);
}

/// Adds `n` to a count.
pub fn count(name: &'static str, dimensions: &[(&'static str, &str)], n: u64) {
    record(name, Unit::Count, dimensions, n as f64);
}

/// Records a duration.
pub fn milliseconds(name: &'static str, dimensions: &[(&'static str, &str)], ms: u64) {
    record(name, Unit::Milliseconds, dimensions, ms as f64);
}

/// Writes what was recorded since the last flush, under `namespace`.
pub fn flush(namespace: &str) {
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let pending = {
        let mut recorder = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut recorder.pending)
    };
    if pending.is_empty() {
        return;
    }
    let now = crate::Timestamp::now().as_millis();
    let mut lines = Vec::new();
    for ((name, unit, dimensions), values) in pending {
        let chunks: Vec<Value> = match unit {
            Unit::Count => vec![json!(values.iter().sum::<f64>())],
            Unit::Milliseconds => values
                .chunks(VALUES_PER_LINE)
                .map(|chunk| json!(chunk))
                .collect(),
        };
        for value in chunks {
            lines.push(line(namespace, now, name, unit, &dimensions, value));
        }
    }
    if in_lambda {
        for line in &lines {
            println!("{line}");
        }
    } else {
        let mut recorder = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
        for line in lines {
            if recorder.kept.len() >= KEPT {
                recorder.kept.pop_front();
            }
            recorder.kept.push_back(line);
        }
    }
}

fn line(
    namespace: &str,
    timestamp: i64,
    name: &str,
    unit: Unit,
    dimensions: &[(&'static str, String)],
    value: Value,
) -> String {
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    let mut body = Map::new();
    body.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [names],
                "Metrics": [{ "Name": name, "Unit": unit.as_str() }],
            }],
        }),
    );
    for (key, value) in dimensions {
        body.insert((*key).to_string(), json!(value));
    }
    body.insert(name.to_string(), value);
    Value::Object(body).to_string()
}

/// The lines flushed outside Lambda, oldest first (what tests read).
pub fn recent() -> Vec<String> {
    let recorder = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    recorder.kept.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_embedded_metric_format() {
        let text = line(
            "PushGuard/test",
            1_700_000_000_000,
            "Deliveries",
            Unit::Count,
            &[("Outcome", "succeeded".into())],
            json!(3.0),
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let directive = &parsed["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "PushGuard/test");
        assert_eq!(directive["Dimensions"], json!([["Outcome"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "Deliveries", "Unit": "Count" }])
        );
        assert_eq!(parsed["Outcome"], "succeeded");
        assert_eq!(parsed["Deliveries"], 3.0);
        assert_eq!(parsed["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }
}
