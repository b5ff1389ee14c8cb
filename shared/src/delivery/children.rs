//! Events of child accounts at their holding account's endpoints.
//!
//! A holding account's endpoint may receive its children's events too
//! (`events_from: ["children"]`). When a child's event fans out and the holding account
//! has an endpoint that wants it, the event is forwarded: committed again in the
//! holding account's tenant, under the same id, naming the child (`from_account`), and
//! fanned out there like any of its events. Its deliveries, logs, retries and pace are
//! the holding account's, and each names the child in `X-PushGuard-Account`.
//!
//! The copy keeps the event's id, which is unique: a redelivered message, or a replay
//! of the child's event, finds it already there and forwards nothing twice.

use super::{DeliveryResult, Engine};
use crate::{
    Tenant,
    events::{Event, EventStatus},
    store::{
        Rejection, StoreError,
        resources::{Change, Outbox},
    },
};
use std::time::Instant;

/// Forwards `event` (of `tenant`) to the holding account of `tenant`'s account, if it
/// has one with an endpoint that wants it. Costs one cached read per account and
/// instance; the forward itself is one more event in the holding account.
pub async fn forward(
    engine: &Engine<'_>,
    tenant: &Tenant,
    event: &Event,
    fresh_since: Instant,
) -> DeliveryResult<()> {
    if event.from_account.is_some() {
        return Ok(()); // a copy already (holding accounts have no parents)
    }
    let Some(parent) = engine
        .configs
        .parent_of(engine.db, tenant.account_id())
        .await?
    else {
        return Ok(());
    };
    let holding = Tenant::new(parent, tenant.mode());
    let endpoints = engine
        .configs
        .endpoints(engine.db, &holding, fresh_since)
        .await?;
    let wanted = endpoints.iter().any(|endpoint| {
        endpoint.wants(
            event.event_type.as_str(),
            &event.payload,
            true,
            engine.rules,
        )
    });
    if !wanted {
        return Ok(());
    }
    let copy = Event {
        status: EventStatus::Pending,
        // A product's or payment's own URLs are the child's, served by the child's event.
        webhook_urls: Vec::new(),
        replays: 0,
        dispatched_at: None,
        sequence: None,
        from_account: Some(tenant.account_id().clone()),
        ..event.clone()
    };
    let outbox = Outbox {
        queues: engine.queues,
        retention_days: engine.retention_days,
    };
    match Change::new(engine.db, &holding)
        .emit(copy)
        .commit(outbox)
        .await
    {
        Ok(_) => {
            crate::metrics::count("EventsForwardedToHolding", &[], 1);
            Ok(())
        }
        // Forwarded before: a redelivered message, or a replay of the child's event.
        Err(StoreError::Rejected(Rejection::Conflict(_))) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
