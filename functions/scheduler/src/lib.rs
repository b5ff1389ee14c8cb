//! The scheduler, run every minute by EventBridge: re-enqueues retries that are due
//! (parked ones, and queued ones whose message was lost or dead-lettered), and re-sends
//! events still pending after a grace period (their queue message was
//! lost between commit and enqueue), so nothing committed is ever lost.

use serde::Serialize;
use shared::{
    Services, Timestamp,
    delivery::DeliveryResult,
    store::{events, logs},
};
use std::time::Duration;

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub retries_enqueued: usize,
    pub events_resent: usize,
}

/// Items taken per shard and run; the next run takes the rest.
const BATCH: i32 = 500;

pub async fn run(state: &Services) -> DeliveryResult<Summary> {
    let mut summary = Summary::default();
    let now = Timestamp::now();
    let lease_until = now.plus(state.config.delivery.retry_sweep_grace);
    for shard in 0..logs::DUE_SHARDS {
        for retry in logs::due(&state.db, shard, now, BATCH).await? {
            // Lease first: of two overlapping runs, only one enqueues; if the enqueue
            // fails, the lease runs out and a later run sends it.
            if logs::lease(&state.db, &retry, lease_until).await? {
                match state
                    .queues
                    .retry(&retry.tenant, &retry.log_id, Duration::ZERO)
                    .await
                {
                    Ok(()) => summary.retries_enqueued += 1,
                    Err(error) => {
                        tracing::warn!(log = %retry.log_id, %error, "re-enqueue failed; a later run retries it");
                    }
                }
            }
        }
    }
    let grace = state.config.pending_event_grace;
    let before = Timestamp::from_millis(now.as_millis() - grace.as_millis() as i64);
    for shard in 0..events::PENDING_SHARDS {
        for pending in events::pending_before(&state.db, shard, before, BATCH).await? {
            state
                .queues
                .redispatch(&pending.tenant, &pending.event_id, pending.replay)
                .await;
            summary.events_resent += 1;
        }
    }
    if summary != Summary::default() {
        tracing::info!(?summary, "scheduler run");
    }
    shared::metrics::count("EventsRecovered", &[], summary.events_resent as u64);
    shared::metrics::count("RetriesRecovered", &[], summary.retries_enqueued as u64);
    shared::metrics::flush(&state.config.metrics_namespace);
    Ok(summary)
}
