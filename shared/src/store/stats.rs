//! Delivery statistics in the webhook logs table: one item per endpoint and hour, in a
//! partition of its own (`stats#<tenant>#<endpoint>`, so no list of logs meets them),
//! added to with `ADD` so that concurrent dispatchers never read before they write.

use super::{Db, Item, StoreError, error::Sent, n, s};
use crate::{
    Tenant, Timestamp,
    ids::EndpointId,
    webhooks::stats::{Cause, LATENCY_BUCKETS, Tally},
};

pub use crate::webhooks::stats::hour_of;
use std::collections::HashMap;

/// Hours are kept this long after they end: the longest period shown is 30 days.
const KEPT_DAYS: i64 = 32;

fn partition(tenant: &Tenant, endpoint: &EndpointId) -> String {
    format!("stats#{}#{endpoint}", tenant.partition())
}

fn failure_attribute(cause: Cause) -> String {
    format!("f_{}", cause.as_str())
}

fn latency_attribute(bucket: usize) -> String {
    format!("l{bucket:02}")
}

/// Adds `tally` to the endpoint's hour `hour` (as [`hour_of`] names it): one write.
pub async fn add(
    db: &Db,
    tenant: &Tenant,
    endpoint: &EndpointId,
    hour: &str,
    tally: &Tally,
) -> Result<(), StoreError> {
    let mut counts: Vec<(String, u64)> = vec![
        ("attempts".into(), tally.attempts),
        ("succeeded".into(), tally.succeeded),
    ];
    counts.extend(
        tally
            .failures
            .iter()
            .map(|(c, n)| (failure_attribute(*c), *n)),
    );
    counts.extend(
        tally
            .latency
            .iter()
            .map(|(b, n)| (latency_attribute(*b), *n)),
    );
    counts.retain(|(_, count)| *count > 0);
    if counts.is_empty() {
        return Ok(());
    }
    let adds: Vec<String> = (0..counts.len()).map(|i| format!("#a{i} :a{i}")).collect();
    let expires = Timestamp::parse(&format!("{hour}:00:00Z"))
        .unwrap_or_else(Timestamp::now)
        .as_epoch_seconds()
        + KEPT_DAYS * 86_400;
    let mut request = db
        .client
        .update_item()
        .table_name(&db.tables.webhook_logs)
        .key("pk", s(partition(tenant, endpoint)))
        .key("sk", s(hour))
        .update_expression(format!(
            "ADD {} SET expires_at_epoch = :expires",
            adds.join(", ")
        ))
        .expression_attribute_values(":expires", n(expires));
    for (i, (name, count)) in counts.into_iter().enumerate() {
        request = request
            .expression_attribute_names(format!("#a{i}"), name)
            .expression_attribute_values(format!(":a{i}"), n(count));
    }
    request.sent().await.map(drop)
}

fn count(item: &Item, name: &str) -> u64 {
    super::number(item, name).unwrap_or(0)
}

fn tally_of(item: &Item) -> Tally {
    Tally {
        attempts: count(item, "attempts"),
        succeeded: count(item, "succeeded"),
        failures: Cause::ALL
            .iter()
            .map(|c| (*c, count(item, &failure_attribute(*c))))
            .filter(|(_, n)| *n > 0)
            .collect(),
        latency: (0..LATENCY_BUCKETS)
            .map(|b| (b, count(item, &latency_attribute(b))))
            .filter(|(_, n)| *n > 0)
            .collect(),
    }
}

/// The endpoint's hours from `from` to `to` (inclusive, as [`hour_of`] names them) that
/// saw attempts: at most one item per hour, read by one query (paged past 1 MB).
pub async fn hours(
    db: &Db,
    tenant: &Tenant,
    endpoint: &EndpointId,
    from: &str,
    to: &str,
) -> Result<HashMap<String, Tally>, StoreError> {
    let mut hours = HashMap::new();
    let mut start = None;
    loop {
        let out = db
            .client
            .query()
            .table_name(&db.tables.webhook_logs)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(partition(tenant, endpoint)))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .set_exclusive_start_key(start)
            .sent()
            .await?;
        for item in out.items() {
            if let Some(hour) = item.get("sk").and_then(|v| v.as_s().ok()) {
                hours.insert(hour.clone(), tally_of(item));
            }
        }
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(hours);
        }
    }
}
