//! Ordered delivery per resource (`ordering: resource`).
//!
//! Every event with an ordering key (the resource's id, or a published event's
//! `ordering_key`) is numbered in commit order when it commits (`store::sequences`),
//! and knows the event before it. The dispatcher fans an ordered event out only once
//! the event before it is dispatched, so the deliveries of one resource join their
//! endpoint's lane (`store::lanes`) in commit order, each in the transaction creating
//! its log. A delivery goes only when it is its lane's head; when it ends the next one
//! is queued at once. Every waiting delivery is also on the due index, so a worker
//! that stops between the end of one delivery and the queueing of the next delays the
//! lane by at most the sweep grace, never holds it.

use super::{DeliveryResult, Engine};
use crate::webhooks::{LogStatus, OnExhausted, WebhookLog};
use crate::{
    ApiError, ApiResult, Tenant,
    ids::EndpointId,
    metrics,
    store::{
        endpoints,
        lanes::{self, Lane},
        logs,
    },
};
use std::time::Duration;

/// Whether a delivery may be attempted now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// Its turn, and this worker holds the attempt.
    Go,
    /// Another delivery of its resource goes first (or holds the lane blocked).
    Wait,
    /// Its turn, but another worker is making this attempt.
    Taken,
}

/// `log`'s lane and its entry in it, when it is an ordered delivery.
fn lane_of<'a>(tenant: &'a Tenant, log: &'a WebhookLog) -> Option<(Lane<'a>, String)> {
    let place = log.lane.as_ref()?;
    let endpoint = log.endpoint_id.as_ref()?;
    let lane = Lane {
        tenant,
        endpoint,
        key: &place.key,
    };
    Some((lane, place.entry(&log.id)))
}

/// How long a claimed attempt is held beyond the delivery timeout, before another
/// worker may make it (the one that claimed it stopped).
const CLAIM_MARGIN: Duration = Duration::from_secs(30);

/// Whether it is `log`'s turn in its lane, claiming the attempt when it is. A head
/// whose delivery already ended is dealt with on the way as its own worker does right
/// after ending it (that worker may have stopped in between, or not got there yet):
/// taken out, or with `block` after a failure, holding the lane. `listed`: whether the
/// endpoint (as cached) lists this resource as blocked; a blocked lane it does not
/// list (the blocking worker stopped in between) is listed again.
pub async fn turn(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: &WebhookLog,
    on_exhausted: OnExhausted,
    listed: bool,
) -> DeliveryResult<Turn> {
    let Some((lane, entry)) = lane_of(tenant, log) else {
        return Ok(Turn::Go);
    };
    let db = engine.db;
    for _ in 0..4 {
        let now = lanes::read(db, &lane).await?;
        // Out of the lane: skipped or released (nothing is before it any more), or
        // just delivered by another worker, which recorded it before taking it out.
        let holds = now.holds(&entry);
        let Some((head, head_log)) = now.head.filter(|_| holds) else {
            let unchanged = logs::get(db, tenant, &log.id)
                .await?
                .is_some_and(|stored| stored.attempts == log.attempts);
            return Ok(if unchanged { Turn::Go } else { Turn::Taken });
        };
        if head == entry {
            let now = crate::Timestamp::now().as_millis();
            let hold = engine.settings.timeout + CLAIM_MARGIN;
            let until = now + hold.as_millis() as i64;
            let claimed = lanes::claim(db, &lane, &entry, &log.id, log.attempts, now, until);
            return Ok(if claimed.await? {
                Turn::Go
            } else {
                Turn::Taken
            });
        }
        if now.blocked.as_deref() == Some(head.as_str()) {
            if !listed {
                endpoints::mark_blocked(db, tenant, lane.endpoint, lane.key, true).await?;
            }
            return Ok(Turn::Wait);
        }
        match logs::get(db, tenant, &head_log).await? {
            Some(before) if !before.status.is_final() => return Ok(Turn::Wait),
            Some(before)
                if before.status == LogStatus::Failed && on_exhausted == OnExhausted::Block =>
            {
                block(engine, tenant, &lane, &head, &head_log).await?;
                return Ok(Turn::Wait);
            }
            _ => {
                let left = lanes::leave(db, &lane, &head, &head_log).await?;
                if let Some(next) = left.and_then(|left| left.next)
                    && next != log.id
                {
                    queue_next(engine, tenant, &next).await;
                }
            }
        }
    }
    Ok(Turn::Wait)
}

/// After `log`'s delivery ended (delivered, or failed for good): the next delivery of
/// its resource is queued, or with `block` after a failure the resource waits.
pub async fn ended(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: &WebhookLog,
    on_exhausted: OnExhausted,
) -> DeliveryResult<()> {
    let Some((lane, entry)) = lane_of(tenant, log) else {
        return Ok(());
    };
    let db = engine.db;
    if log.status == LogStatus::Failed && on_exhausted == OnExhausted::Block {
        return block(engine, tenant, &lane, &entry, &log.id).await;
    }
    if let Some(left) = lanes::leave(db, &lane, &entry, &log.id).await? {
        if left.was_blocked {
            endpoints::mark_blocked(db, tenant, lane.endpoint, lane.key, false).await?;
        }
        if let Some(next) = left.next {
            queue_next(engine, tenant, &next).await;
        }
    }
    Ok(())
}

/// Holds `lane` at `entry`, whose delivery `log` exhausted its retries, and lists the
/// resource on the endpoint. Idempotent: the delivery's worker and a later delivery
/// that finds it may both do it.
async fn block(
    engine: &Engine<'_>,
    tenant: &Tenant,
    lane: &Lane<'_>,
    entry: &str,
    log: &crate::ids::LogId,
) -> DeliveryResult<()> {
    let db = engine.db;
    if lanes::block(db, lane, entry, log).await? {
        endpoints::mark_blocked(db, tenant, lane.endpoint, lane.key, true).await?;
        tracing::info!(%log, endpoint = %lane.endpoint, "resource blocked on its endpoint");
        metrics::count("ResourcesBlocked", &[], 1);
    }
    Ok(())
}

async fn queue_next(engine: &Engine<'_>, tenant: &Tenant, next: &crate::ids::LogId) {
    if let Err(error) = engine.queues.retry(tenant, next, Duration::ZERO).await {
        // It is on the due index: the scheduler sweeps it.
        tracing::warn!(log = %next, %error, "next ordered delivery not queued; the scheduler will sweep it");
    }
}

/// Releases the resources `keys` (all blocked ones when `None`) on `endpoint`: each
/// blocked delivery is taken out of its lane (it stays failed, retryable) and the next
/// one goes. Returns the keys released.
pub async fn unblock(
    engine: &Engine<'_>,
    tenant: &Tenant,
    endpoint: &EndpointId,
    blocked: &[String],
    key: Option<&str>,
) -> ApiResult<Vec<String>> {
    let keys: Vec<&String> = match key {
        Some(key) => {
            let found: Vec<&String> = blocked.iter().filter(|k| k.as_str() == key).collect();
            if found.is_empty() {
                return Err(ApiError::NotFound("Blocked resource"));
            }
            found
        }
        None => blocked.iter().collect(),
    };
    let db = engine.db;
    let mut released = Vec::new();
    for key in keys {
        let lane = Lane {
            tenant,
            endpoint,
            key,
        };
        let now = lanes::read(db, &lane).await?;
        if let (Some(blocked), Some((head, head_log))) = (&now.blocked, &now.head)
            && blocked == head
            && let Some(left) = lanes::leave(db, &lane, head, head_log).await?
            && let Some(next) = left.next
        {
            queue_next(engine, tenant, &next).await;
        }
        endpoints::mark_blocked(db, tenant, endpoint, key, false).await?;
        released.push(key.clone());
    }
    Ok(released)
}
