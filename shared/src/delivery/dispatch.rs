//! The delivery engine: fans an event out to its targets, makes each delivery (signed,
//! logged), records the outcome, schedules retries and keeps endpoints' failure streaks.
//! The dispatcher function drives it from the queues; `/test`, log retries and
//! `/webhooks/simulate` call it directly.

use super::{DeliveryError, DeliveryResult, Engine};
use super::{
    configs::open_account_secrets,
    dynamic,
    follow_up::{self, Facts, FollowUp, Streak, Wait},
    lanes::{self, Turn},
    pacing,
};
use crate::webhooks::{
    DeliveryOrder, Dialect, Endpoint, LogStatus, OnExhausted, PayloadShape, SignatureScheme,
    WebhookLog,
    dialect::Delivery,
    log::{AttemptRecord, LanePlace, delivery_id},
    outbound::Attempt,
    retry::Next,
    signing::{asymmetric_signature, pushguard_signature, standard_signature_header},
    stats::{Cause, Recorder},
};
use crate::{
    Tenant, Timestamp,
    concurrency::join_all,
    events::{Event, EventStatus},
    ids::EventId,
    ids::{EndpointId, LogId},
    keyring::SecretContext,
    metrics,
    queue::Lane,
    secrets::SigningSecrets,
    store::{
        endpoints::{self, DisableRule},
        events,
        logs::{self, Created},
    },
};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use url::Url;

pub const USER_AGENT: &str = concat!("PushGuard-Webhooks/", env!("CARGO_PKG_VERSION"));

/// Where a delivery goes and what signs it.
#[derive(Clone, Debug)]
pub enum Target {
    Endpoint(Box<Endpoint>),
    /// A product's or payment's `webhook_url`, or a dynamic product's `dynamic_url`,
    /// signed with the account's secret.
    Url {
        url: Url,
        secrets: SigningSecrets,
        /// Whether its answer fulfils the order (a `dynamic_url`: see [`dynamic`]).
        fulfils: bool,
    },
}

impl Target {
    fn key(&self) -> String {
        match self {
            Target::Endpoint(endpoint) => endpoint.id.to_string(),
            Target::Url { url, .. } => url.to_string(),
        }
    }

    fn url(&self) -> &Url {
        match self {
            Target::Endpoint(endpoint) => endpoint.url.as_url(),
            Target::Url { url, .. } => url,
        }
    }

    /// Which queue its queued attempts go on: the slow one while its receiver is slow.
    fn lane(&self) -> Lane {
        match self {
            Target::Endpoint(endpoint) if endpoint.slow_since.is_some() => Lane::Slow,
            _ => Lane::Shared,
        }
    }

    fn endpoint_id(&self) -> Option<EndpointId> {
        match self {
            Target::Endpoint(endpoint) => Some(endpoint.id.clone()),
            Target::Url { .. } => None,
        }
    }

    /// What an exhausted delivery to it does to the next one of its resource.
    fn on_exhausted(&self) -> OnExhausted {
        match self {
            Target::Endpoint(endpoint) => endpoint.on_exhausted,
            Target::Url { .. } => OnExhausted::Skip,
        }
    }

    /// Whether it lists the resource of ordered delivery `log` as blocked.
    fn lists_blocked(&self, log: &WebhookLog) -> bool {
        match (self, &log.lane) {
            (Target::Endpoint(endpoint), Some(place)) => endpoint.blocked_keys.contains(&place.key),
            _ => false,
        }
    }

    /// Whether its body is its own (thin, or written in another dialect) rather than
    /// the event's object, which the other targets share.
    fn has_own_body(&self) -> bool {
        matches!(self, Target::Endpoint(endpoint)
            if endpoint.payload == PayloadShape::Thin || endpoint.dialect != Dialect::PushGuard)
    }

    /// Whether its answer fulfils the order delivered (a dynamic product's `dynamic_url`).
    fn fulfils(&self) -> bool {
        matches!(self, Target::Url { fulfils: true, .. })
    }

    /// How deliveries to it are signed: an endpoint's choice; a `webhook_url` with `v1`.
    fn scheme(&self) -> SignatureScheme {
        match self {
            Target::Endpoint(endpoint) => endpoint.signature_scheme,
            Target::Url { .. } => SignatureScheme::V1,
        }
    }

    /// Whether its deliveries carry the seed's body-only `X-PushGuard-Signature`: an
    /// endpoint's choice (on unless turned off); always for a `webhook_url`.
    fn legacy_signature(&self) -> bool {
        match self {
            Target::Endpoint(endpoint) => endpoint.legacy_signature,
            Target::Url { .. } => true,
        }
    }

    /// What it receives of an event: the object, or for a `thin` endpoint, which one,
    /// in the body its dialect writes.
    fn payload(&self, delivery: &Delivery<'_>) -> serde_json::Value {
        match self {
            Target::Endpoint(endpoint) if endpoint.payload == PayloadShape::Thin => {
                crate::webhooks::body::thin(
                    delivery.event_id.unwrap_or(delivery.id),
                    delivery.event_type,
                    delivery.created_at,
                    delivery.payload,
                )
            }
            Target::Endpoint(endpoint) => endpoint.dialect.body(delivery),
            Target::Url { .. } => delivery.payload.clone(),
        }
    }

    /// The dialect its deliveries are written in (a `webhook_url` speaks PushGuard's).
    fn dialect(&self) -> Dialect {
        match self {
            Target::Endpoint(endpoint) => endpoint.dialect,
            Target::Url { .. } => Dialect::PushGuard,
        }
    }

    /// The account's ed25519 keys, as of no earlier than `fresh_since`, when deliveries
    /// to it are signed with them.
    async fn asymmetric_keys(
        &self,
        engine: &Engine<'_>,
        tenant: &Tenant,
        fresh_since: Instant,
    ) -> DeliveryResult<Option<SigningSecrets>> {
        if !self.scheme().asymmetric() {
            return Ok(None);
        }
        let configs = engine.configs;
        configs
            .account_keys(engine.db, engine.keyring, tenant, fresh_since)
            .await
            .map(Some)
    }

    /// The secrets that sign deliveries to it, opened (an endpoint's are sealed).
    async fn secrets(
        &self,
        engine: &Engine<'_>,
        tenant: &Tenant,
    ) -> DeliveryResult<SigningSecrets> {
        match self {
            Target::Endpoint(endpoint) => {
                let context = SecretContext::endpoint(tenant, &endpoint.id);
                Ok(engine.keyring.open(&endpoint.secrets, &context).await?)
            }
            Target::Url { secrets, .. } => Ok(secrets.clone()),
        }
    }
}

/// Everything that should receive `event`: enabled endpoints subscribed to its type whose
/// filter matches, and the `webhook_url`s of its payment and product. Endpoints and the
/// account secret come from the delivery configuration as of no earlier than `fresh_since`.
pub async fn targets(
    engine: &Engine<'_>,
    tenant: &Tenant,
    event: &Event,
    fresh_since: Instant,
) -> DeliveryResult<Vec<Target>> {
    let configs = engine.configs;
    let mut targets: Vec<Target> = configs
        .endpoints(engine.db, tenant, fresh_since)
        .await?
        .iter()
        .filter(|endpoint| {
            let from_child = event.from_account.is_some();
            endpoint.wants(
                event.event_type.as_str(),
                &event.payload,
                from_child,
                engine.rules,
            )
        })
        .map(|endpoint| Target::Endpoint(Box::new(endpoint.clone())))
        .collect();
    let mut urls: Vec<Url> = event
        .webhook_urls
        .iter()
        .filter_map(|u| Url::parse(u).ok())
        .collect();
    urls.dedup();
    if !urls.is_empty() {
        let secrets = configs
            .account_secrets(engine.db, engine.keyring, tenant, fresh_since)
            .await?;
        let fulfils = dynamic::fulfils(event.event_type.as_str());
        targets.extend(urls.into_iter().map(|url| Target::Url {
            url,
            secrets: secrets.clone(),
            fulfils,
        }));
    }
    Ok(targets)
}

/// A message of the events queue: an event (this replay of it) to fan out.
pub struct Dispatch {
    pub tenant: Tenant,
    pub event_id: EventId,
    pub replay: u32,
    /// The event, when the message carried it.
    pub event: Option<Event>,
    /// When the batch holding the message arrived: the event was committed before.
    pub received: Instant,
    /// Whether SQS handed the message out before (an earlier run died or failed it):
    /// then its deliveries go on the due index, in case this run stops too and the
    /// message ends in the DLQ.
    pub redelivered: bool,
    /// Where its work is logged (the message's span).
    pub span: tracing::Span,
}

/// An event ready to fan out: its targets and a pending log for each.
struct FanOut {
    tenant: Tenant,
    /// When its batch arrived: what it loaded is as of no earlier.
    received: Instant,
    /// When the scheduler sweeps a delivery whose first attempt is not recorded by
    /// then: only for a redelivered message. A first run's deliveries have their
    /// message: if the run stops, SQS hands it out again.
    sweep_at: Option<Timestamp>,
    /// A first run of an unordered fan-out: each log is written once, with its first
    /// attempt's outcome, and the event is marked and its logs counted after them all
    /// (`logs::settle`). Otherwise the logs are created first, with the mark.
    write_once: bool,
    event: Event,
    replay: u32,
    targets: Vec<Target>,
    logs: Vec<WebhookLog>,
    /// The event before it in its resource's order, when an ordered endpoint receives
    /// it: its logs join their lanes only after that event's did.
    waits_for: Option<EventId>,
}

impl FanOut {
    /// What settling it marks and counts.
    fn settling(&self) -> logs::Settling<'_> {
        logs::Settling {
            tenant: &self.tenant,
            event: &self.event.id,
            replay: self.replay,
            logs: &self.logs,
        }
    }
}

/// When the scheduler sweeps a delivery put on the due index now, unless an attempt is
/// recorded first.
fn sweep_time(engine: &Engine<'_>) -> Timestamp {
    Timestamp::now().plus(engine.settings.retry_sweep_grace)
}

/// When a fan-out may create its logs.
enum Gate {
    Open,
    /// After the fan-out of this event of the same batch.
    After(EventId),
    /// Not in this run: the event before it is not dispatched yet.
    Later,
}

/// What became of a fan-out's logs.
enum Start {
    Created(DeliveryResult<Created>),
    Later,
}

/// Reads what a message does not carry and finds the event's targets: `None` if the
/// event is gone, superseded or done.
async fn prepare(engine: &Engine<'_>, dispatch: Dispatch) -> DeliveryResult<Option<FanOut>> {
    let Dispatch {
        tenant,
        event_id,
        replay,
        event,
        received,
        redelivered,
        ..
    } = dispatch;
    let sweep_at = redelivered.then(|| sweep_time(engine));
    let event = match event {
        Some(event) => event,
        None => match events::get(engine.db, &tenant, &event_id).await? {
            Some(event) => event,
            None => return Ok(None), // expired, or never committed
        },
    };
    if replay < event.replays
        || (event.status == EventStatus::Dispatched && replay == event.replays)
    {
        return Ok(None); // superseded by a replay, or already done
    }
    let retry_limit = engine.settings.retry_schedule.retry_limit();
    super::children::forward(engine, &tenant, &event, received).await?;
    let targets = targets(engine, &tenant, &event, received).await?;
    let place = match (event.ordering_key(), &event.sequence) {
        (Some(key), Some(sequence)) => Some(LanePlace {
            key: key.to_string(),
            sequence: sequence.number,
        }),
        _ => None,
    };
    let logs: Vec<WebhookLog> = targets
        .iter()
        .map(|target| {
            let key = target.key();
            let id = delivery_id(&event.id, replay, &key);
            let payload = target.payload(&Delivery {
                id: &id,
                event_id: Some(&event.id),
                event_type: event.event_type.as_str(),
                created_at: event.created_at,
                payload: &event.payload,
                mode: tenant.mode(),
                account_id: tenant.account_id().as_str(),
                endpoint_id: &key,
            });
            let mut log = WebhookLog::pending(
                id,
                target.endpoint_id(),
                target.url().to_string(),
                event.event_type.as_str(),
                Some(event.id.clone()),
                payload,
                target.dialect().retry_limit().unwrap_or(retry_limit),
            );
            if let Target::Endpoint(endpoint) = target
                && endpoint.ordering == DeliveryOrder::Resource
            {
                log.lane = place.clone();
            }
            log.account = event.from_account.as_ref().map(ToString::to_string);
            log
        })
        .collect();
    let ordered = logs.iter().any(|log| log.lane.is_some());
    let write_once = !redelivered && !ordered;
    let waits_for = event
        .sequence
        .as_ref()
        .and_then(|s| s.previous.clone())
        .filter(|_| ordered);
    Ok(Some(FanOut {
        tenant,
        received,
        sweep_at,
        write_once,
        event,
        replay,
        targets,
        logs,
        waits_for,
    }))
}

/// Handles the messages of one batch of the events queue, each message's outcome in
/// order. Safe to run twice: each delivery's log id is derived from the event and
/// target, so a second run finds the first run's logs.
///
/// The logs of every event in the batch, with the events' dispatched marks, are created
/// together in as few transactions as fit. A warm run (the messages carry their events,
/// the configuration is cached) reads one small item per tenant, writes once for the
/// batch's fan-outs, and once per attempt.
pub async fn dispatch_events(
    engine: &Engine<'_>,
    dispatches: Vec<Dispatch>,
    stats: &Recorder,
) -> Vec<DeliveryResult<()>> {
    let spans: Vec<tracing::Span> = dispatches.iter().map(|d| d.span.clone()).collect();
    let prepared = join_all(dispatches.into_iter().map(|dispatch| {
        let span = dispatch.span.clone();
        tracing::Instrument::instrument(prepare(engine, dispatch), span)
    }))
    .await;
    let created_first: Vec<&FanOut> = prepared
        .iter()
        .filter_map(|p| p.as_ref().ok()?.as_ref())
        .filter(|fan_out| !fan_out.write_once)
        .collect();
    let mut starts = create_in_order(engine, &created_first).await.into_iter();
    let mut work = Vec::new();
    for (prepared, span) in prepared.iter().zip(spans) {
        let outcome = match prepared {
            Ok(Some(fan_out)) if fan_out.write_once => {
                Some(deliver_all(engine, fan_out, Ok(None), stats))
            }
            Ok(Some(fan_out)) => match starts.next().expect("one start per fan-out") {
                Start::Created(created) => {
                    Some(deliver_all(engine, fan_out, created.map(Some), stats))
                }
                Start::Later => {
                    // Its queue message ends here; this one brings it back.
                    let (tenant, event) = (&fan_out.tenant, &fan_out.event);
                    metrics::count("FanOutsWaiting", &[], 1);
                    let delay = recheck_after(event.created_at, Timestamp::now());
                    engine.queues.dispatch_after(tenant, event, delay).await;
                    None
                }
            },
            _ => None,
        };
        work.push(tracing::Instrument::instrument(
            async move {
                match outcome {
                    Some(delivering) => delivering.await,
                    None => Ok(()),
                }
            },
            span,
        ));
    }
    let mut delivered = join_all(work).await;
    settle(engine, &prepared, &mut delivered).await;
    prepared
        .into_iter()
        .zip(delivered)
        .map(|(prepared, delivered)| prepared.map(drop).and(delivered))
        .collect()
}

/// Marks the events of the batch's write-once fan-outs whose deliveries were all made
/// or handed on, and counts their logs: together, in as few writes as fit. If that
/// fails, their messages fail too: SQS hands them out again, and the next run (which
/// finds their logs) settles them.
async fn settle(
    engine: &Engine<'_>,
    prepared: &[DeliveryResult<Option<FanOut>>],
    delivered: &mut [DeliveryResult<()>],
) {
    let done: Vec<(usize, &FanOut)> = prepared
        .iter()
        .enumerate()
        .filter_map(|(index, p)| Some((index, p.as_ref().ok()?.as_ref()?)))
        .filter(|(index, fan_out)| fan_out.write_once && delivered[*index].is_ok())
        .collect();
    if done.is_empty() {
        return;
    }
    let settling: Vec<logs::Settling> =
        done.iter().map(|(_, fan_out)| fan_out.settling()).collect();
    if let Err(error) = logs::settle(engine.db, &settling).await {
        tracing::warn!(%error, "fan-outs made but not settled; their messages come back");
        for (index, _) in done {
            let failed = crate::store::StoreError::internal(format!("settling: {error}"));
            delivered[index] = Err(failed.into());
        }
    }
}

/// How long an ordered event whose predecessor is not dispatched yet waits before it
/// looks again: a second at first, longer as it ages (a quarter of its age, at most a
/// minute), so an event held behind a stuck one costs little.
fn recheck_after(created_at: Timestamp, now: Timestamp) -> Duration {
    let age = Duration::from_millis((now.as_millis() - created_at.as_millis()).max(0) as u64);
    (age / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// Where fan-out `fan_out` may start: now, after another of the batch, or later.
async fn gate(engine: &Engine<'_>, fan_out: &FanOut, batch: &[&FanOut]) -> DeliveryResult<Gate> {
    let Some(previous) = &fan_out.waits_for else {
        return Ok(Gate::Open);
    };
    if batch.iter().any(|other| other.event.id == *previous) {
        return Ok(Gate::After(previous.clone()));
    }
    Ok(
        match events::get(engine.db, &fan_out.tenant, previous).await? {
            Some(before) if before.status == EventStatus::Pending => Gate::Later,
            _ => Gate::Open, // dispatched, or expired
        },
    )
}

/// Creates the logs of a batch's fan-outs in as few transactions as fit, in rounds: an
/// ordered event after the event before it when both are in the batch, so that a burst
/// of one resource's events fans out in one run, in order.
async fn create_in_order(engine: &Engine<'_>, ready: &[&FanOut]) -> Vec<Start> {
    let gates = join_all(ready.iter().map(|f| gate(engine, f, ready))).await;
    let mut starts: Vec<Option<Start>> = Vec::with_capacity(ready.len());
    let mut round = Vec::new();
    let mut after: Vec<(usize, EventId)> = Vec::new();
    for (index, gate) in gates.into_iter().enumerate() {
        match gate {
            Ok(Gate::Open) => {
                round.push(index);
                starts.push(None);
            }
            Ok(Gate::After(previous)) => {
                after.push((index, previous));
                starts.push(None);
            }
            Ok(Gate::Later) => starts.push(Some(Start::Later)),
            Err(error) => starts.push(Some(Start::Created(Err(error)))),
        }
    }
    while !round.is_empty() {
        let fan_outs: Vec<logs::FanOut> = round
            .iter()
            .map(|&index| logs::FanOut {
                tenant: &ready[index].tenant,
                logs: &ready[index].logs,
                retention_days: engine.retention_days,
                sweep_at: ready[index].sweep_at,
                event: Some((&ready[index].event.id, ready[index].replay)),
            })
            .collect();
        let created = logs::create_fan_outs(engine.db, &fan_outs).await;
        let mut done = Vec::new();
        for (&index, created) in round.iter().zip(created) {
            if matches!(created, Ok(Created::All)) {
                done.push(ready[index].event.id.clone());
            }
            starts[index] = Some(Start::Created(created.map_err(DeliveryError::from)));
        }
        let (next, waiting): (Vec<_>, Vec<_>) = after
            .into_iter()
            .partition(|(_, previous)| done.contains(previous));
        round = next.into_iter().map(|(index, _)| index).collect();
        after = waiting;
    }
    // The event before it did not fan out here (it was redelivered, or failed).
    for (index, _) in after {
        starts[index] = Some(Start::Later);
    }
    starts
        .into_iter()
        .map(|start| start.expect("every fan-out has a start"))
        .collect()
}

/// Makes the first attempt of each delivery of a fan-out whose logs `created` says
/// how it found (`None`: a write-once fan-out, whose logs are not written yet).
async fn deliver_all(
    engine: &Engine<'_>,
    fan_out: &FanOut,
    created: DeliveryResult<Option<Created>>,
    stats: &Recorder,
) -> DeliveryResult<()> {
    let created = created?;
    if created == Some(Created::Superseded) {
        return Ok(());
    }
    let unwritten = created.is_none();
    let grouping = Grouping::default();
    let tenant = &fan_out.tenant;
    let body = crate::webhooks::body::delivery_body(&fan_out.event.payload);
    let retention_days = engine.retention_days;
    // Only a redelivered message (the one with a sweep time) can follow a run that
    // grouped some of its deliveries.
    let made = match fan_out.sweep_at {
        Some(_) if created.is_some() => made_before(engine, fan_out).await?,
        _ => Vec::new(),
    };
    // Slow receivers' first attempts leave together for the slow queue, which checks
    // each delivery before it makes it.
    let (slow, shared): (Vec<_>, Vec<_>) = fan_out
        .targets
        .iter()
        .zip(&fan_out.logs)
        .filter(|(_, log)| !made.contains(&log.id))
        .partition(|(target, _)| admit(engine, tenant, Track::Shared, target) == Admit::Slow);
    if !slow.is_empty() {
        let logs: Vec<&WebhookLog> = slow.iter().map(|(_, log)| *log).collect();
        hand_to_slow_queue(engine, tenant, &logs, unwritten).await?;
    }
    let deliveries = shared.into_iter().map(|(target, log)| {
        let (body, grouping) = (&body, &grouping);
        async move {
            let own;
            let body = if target.has_own_body() {
                own = crate::webhooks::body::delivery_body(&log.payload);
                &own
            } else {
                body
            };
            let sweep_at = fan_out.sweep_at;
            let log = if created != Some(Created::Existing)
                || logs::put_new(engine.db, tenant, log, retention_days, sweep_at).await?
            {
                log.clone()
            } else {
                match logs::get(engine.db, tenant, &log.id).await? {
                    // Created by an earlier run that stopped before its first attempt:
                    // on the due index first, in case this run stops too.
                    Some(existing)
                        if existing.status == LogStatus::Pending && existing.attempts == 0 =>
                    {
                        let due = sweep_time(engine);
                        if !logs::defer(engine.db, tenant, &existing, due).await? {
                            return Ok(Attempted::Made(existing)); // attempted meanwhile
                        }
                        existing
                    }
                    _ => return Ok(Attempted::Made(log.clone())),
                }
            };
            let how = Attempting {
                count_errors: true,
                pace: Pace::Take,
                fresh_since: fan_out.received,
                track: Track::Shared,
                unwritten: unwritten.then_some(grouping),
            };
            attempt(engine, tenant, log, target, body, how, stats).await
        }
    });
    let results = join_all(deliveries).await;
    // What was delivered is written even if another delivery failed here: the
    // message's next run then finds it made, and sends it no second time.
    let grouped = grouping.take();
    if !grouped.is_empty() {
        let logs: Vec<&WebhookLog> = grouped.iter().collect();
        let payload = &fan_out.event.payload;
        logs::put_group(engine.db, tenant, &logs, payload, retention_days).await?;
    }
    let mut moved = Vec::new();
    for result in results {
        if let Attempted::Moved(log) = result? {
            moved.push(log);
        }
    }
    if !moved.is_empty() {
        let logs: Vec<&WebhookLog> = moved.iter().collect();
        hand_to_slow_queue(engine, tenant, &logs, unwritten).await?;
    }
    if created == Some(Created::Existing) {
        // Found made by an earlier run that did not settle them: counted here, all.
        logs::settle(engine.db, &[fan_out.settling()]).await?;
    }
    Ok(())
}

/// The deliveries of a redelivered fan-out that an earlier run made and kept in the
/// event's group (those of this replay: their ids say so), whose logs this run found or
/// created pending: each gets the outcome its group holds, instead of being sent again.
async fn made_before(engine: &Engine<'_>, fan_out: &FanOut) -> DeliveryResult<Vec<LogId>> {
    let (db, tenant) = (engine.db, &fan_out.tenant);
    let kept = logs::grouped_of(db, tenant, &fan_out.event.id).await?;
    let mut made = Vec::with_capacity(kept.len());
    for log in kept {
        if fan_out.logs.iter().any(|mine| mine.id == log.id) {
            logs::record(db, tenant, 0, &log, None).await?;
            made.push(log.id);
        }
    }
    Ok(made)
}

/// Hands a fan-out's deliveries to the slow queue unattempted, writing their logs
/// first (pending, uncounted) if they are not written yet: the slow queue's dispatcher
/// reads them.
async fn hand_to_slow_queue(
    engine: &Engine<'_>,
    tenant: &Tenant,
    logs: &[&WebhookLog],
    unwritten: bool,
) -> DeliveryResult<()> {
    if unwritten {
        let (db, retention_days) = (engine.db, engine.retention_days);
        let writes = logs
            .iter()
            .map(|log| logs::put_new(db, tenant, log, retention_days, None));
        for written in join_all(writes).await {
            written?;
        }
    }
    let ids: Vec<LogId> = logs.iter().map(|log| log.id.clone()).collect();
    to_slow_queue(engine, tenant, &ids).await
}

/// Handles one delivery of a message of the deliveries or the slow queue (`track`):
/// the next attempt of a delivery, or the first of one whose fan-out stopped before
/// making it (swept by the scheduler) or sent it to the slow queue. `slot_at`: the slot
/// of its paced endpoint it holds (Unix milliseconds), if it holds one. `redelivered`:
/// SQS handed the message out before; a first attempt then goes on the due index
/// before it is made, in case this run stops too and the message ends in the DLQ (a
/// retry is there already).
pub async fn retry_delivery(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log_id: &LogId,
    track: Track,
    slot_at: Option<i64>,
    redelivered: bool,
    stats: &Recorder,
) -> DeliveryResult<()> {
    let Some(log) = logs::get(engine.db, tenant, log_id).await? else {
        return Ok(());
    };
    let first_never_made = log.status == LogStatus::Pending && log.attempts == 0;
    if log.status != LogStatus::Retrying && !first_never_made {
        return Ok(()); // delivered meanwhile (a manual retry), or given up
    }
    if redelivered && first_never_made {
        let due = sweep_time(engine);
        if !logs::defer(engine.db, tenant, &log, due).await? {
            return Ok(()); // attempted meanwhile
        }
    }
    let how = Attempting {
        pace: slot_at.map_or(Pace::Take, Pace::Held),
        track,
        ..Attempting::now()
    };
    deliver_again(engine, tenant, log, how, stats)
        .await
        .map(drop)
}

/// Makes the next attempt of an existing delivery: queued retries, and manual ones
/// ([`Attempting::now`]).
pub async fn deliver_again(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: WebhookLog,
    how: Attempting<'_>,
    stats: &Recorder,
) -> DeliveryResult<WebhookLog> {
    let target = match &log.endpoint_id {
        Some(id) => match endpoints::get(engine.db, tenant, id).await? {
            Some(endpoint) if endpoint.enabled => Target::Endpoint(Box::new(endpoint)),
            found => {
                let reason = if found.is_some() {
                    "endpoint is disabled"
                } else {
                    "endpoint was deleted"
                };
                return give_up(engine, tenant, log, reason).await;
            }
        },
        None => Target::Url {
            url: Url::parse(&log.url).map_err(DeliveryError::broken)?,
            secrets: open_account_secrets(engine.db, engine.keyring, tenant).await?,
            fulfils: dynamic::fulfils(&log.event),
        },
    };
    let body = crate::webhooks::body::delivery_body(&log.payload);
    match attempt(engine, tenant, log, &target, &body, how, stats).await? {
        Attempted::Made(log) => Ok(log),
        Attempted::Moved(log) => {
            to_slow_queue(engine, tenant, std::slice::from_ref(&log.id)).await?;
            Ok(log)
        }
    }
}

/// Ends a delivery that can no longer be made.
async fn give_up(
    engine: &Engine<'_>,
    tenant: &Tenant,
    mut log: WebhookLog,
    reason: &str,
) -> DeliveryResult<WebhookLog> {
    let before = log.attempts;
    log.status = LogStatus::Failed;
    log.response = Some(reason.to_string());
    log.next_retry_at = None;
    log.updated_at = Timestamp::now();
    if logs::record(engine.db, tenant, before, &log, None).await? {
        // The endpoint is gone or off: its lanes drain rather than hold.
        Box::pin(lanes::ended(engine, tenant, &log, OnExhausted::Skip)).await?;
    }
    Ok(log)
}

/// The headers of a delivery of `body` as `log` to `target`, signed at `now` with
/// `secrets` (HMAC) and, when the target's scheme asks for them, the account's ed25519
/// `keys`.
pub fn delivery_headers(
    log: &WebhookLog,
    target: &Target,
    secrets: &SigningSecrets,
    keys: Option<&SigningSecrets>,
    body: &[u8],
    now: Timestamp,
) -> Vec<(String, String)> {
    let timestamp = now.as_epoch_seconds();
    let mut signatures = Vec::with_capacity(2);
    if target.scheme().hmac() {
        signatures.push(standard_signature_header(
            secrets.signing_at(now),
            &log.id,
            timestamp,
            body,
        ));
    }
    if let Some(keys) = keys {
        signatures.extend(
            keys.signing_at(now)
                .filter_map(|key| asymmetric_signature(key, &log.id, timestamp, body)),
        );
    }
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("user-agent".to_string(), USER_AGENT.to_string()),
        ("x-pushguard-event".to_string(), log.event.clone()),
        ("x-pushguard-webhook".to_string(), log.id.to_string()),
    ];
    if let Some(child) = &log.account {
        // A child account's event at its holding account's endpoint: whose it is.
        headers.push(("x-pushguard-account".to_string(), child.clone()));
    }
    if target.legacy_signature() {
        headers.push((
            "x-pushguard-signature".to_string(),
            pushguard_signature(&secrets.current, body),
        ));
    }
    headers.extend([
        ("webhook-id".to_string(), log.id.to_string()),
        ("webhook-timestamp".to_string(), timestamp.to_string()),
        ("webhook-signature".to_string(), signatures.join(" ")),
    ]);
    headers.extend(
        target
            .dialect()
            .headers(&log.id, &log.event, body, &secrets.current),
    );
    if let Target::Endpoint(endpoint) = target {
        headers.extend(
            endpoint
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
    }
    headers
}

/// `headers` as a log keeps them: the endpoint's own headers' values masked, since
/// they often carry the receiver's credentials, and every signature, since anyone who
/// may read logs could replay a delivery with it (`x-pushguard-signature` covers the
/// body alone). `webhook-signature` keeps its schemes (`v1,**** v1a,****`), which say
/// how a delivery was signed.
fn as_sent(headers: &[(String, String)], target: &Target) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let custom = matches!(target, Target::Endpoint(endpoint)
                if endpoint.headers.iter().any(|(own, _)| own == name));
            let value = if name == "webhook-signature" && !custom {
                masked_signatures(value)
            } else if custom
                || name == "x-pushguard-signature"
                || target.dialect().is_signature(name)
            {
                "****".to_string()
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect()
}

/// A `webhook-signature` header with each signature masked and its scheme kept.
fn masked_signatures(value: &str) -> String {
    value
        .split(' ')
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.split_once(',') {
            Some((scheme, _)) => format!("{scheme},****"),
            None => "****".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first-attempt successes of a fan-out whose logs are not written yet, left by its
/// attempts to be written together, in one item, once they are all made
/// (`logs::put_group`): five deliveries then cost one write, not five.
#[derive(Debug, Default)]
pub struct Grouping(std::sync::Mutex<Vec<WebhookLog>>);

impl Grouping {
    fn keep(&self, log: WebhookLog) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(log);
    }

    fn take(&self) -> Vec<WebhookLog> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// How an attempt is made.
#[derive(Clone, Copy, Debug)]
pub struct Attempting<'a> {
    /// Whether its outcome counts in the endpoint's failure streak and adapts its pace
    /// (not for test pings and simulations).
    pub count_errors: bool,
    /// How it keeps to a paced endpoint's rate.
    pub pace: Pace,
    /// The account's ed25519 keys are used as of no earlier than this.
    pub fresh_since: Instant,
    /// Where it runs, which decides what a slow receiver does to it.
    pub track: Track,
    /// Its log is not written yet (a first run's fan-out): the attempt's outcome is its
    /// first write (a first-attempt success joins the fan-out's [`Grouping`]), and a
    /// delivery that leaves unattempted writes it pending first.
    pub unwritten: Option<&'a Grouping>,
}

impl Attempting<'_> {
    /// A delivery the API was asked to make now: counted, not paced, made here.
    pub fn now() -> Self {
        Attempting {
            count_errors: true,
            pace: Pace::Skip,
            fresh_since: Instant::now(),
            track: Track::Direct,
            unwritten: None,
        }
    }
}

/// How an attempt keeps to its endpoint's rate, when the endpoint is paced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// It takes the next slot first, and waits for it on the queue.
    Take,
    /// It holds the slot at this time (Unix milliseconds): it goes, unless it came
    /// more than `pacing::LATE_MS` after it and another delivery took a slot after
    /// its own; then it takes a new slot, waited for here when it is near.
    Held(i64),
    /// It goes now: a person asked (a test ping, a manual retry).
    Skip,
}

/// Where an attempt runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// A dispatcher of the shared queues (events, deliveries), which every tenant's
    /// deliveries wait for: a slow endpoint's attempt is handed to the slow queue, and
    /// one its receiver leaves unanswered past `SLOW_RECEIVER_MS` is cut and moved there.
    Shared,
    /// A dispatcher of the slow queue: the receiver has the whole timeout.
    Slow,
    /// A request a person made (a test ping, a manual retry): made here and now.
    Direct,
}

/// What the admit stage does with an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Admit {
    /// Make it here.
    Here,
    /// Hand it to the slow queue, unattempted.
    Slow,
}

/// Whether an attempt on `track` to `target` is made here: not on the shared track when
/// the target's receiver is slow (an endpoint marked so, or a `webhook_url` this
/// instance found slow in the last minute) and a slow queue is configured.
fn admit(engine: &Engine<'_>, tenant: &Tenant, track: Track, target: &Target) -> Admit {
    let slow = match target {
        Target::Endpoint(_) => target.lane() == Lane::Slow,
        Target::Url { url, .. } => engine.configs.is_slow(tenant, url.as_str()),
    };
    match track {
        Track::Shared if slow && engine.queues.has_slow_lane() => Admit::Slow,
        _ => Admit::Here,
    }
}

/// How long an attempt on `track` may wait for its receiver before it is cut and moved
/// to the slow queue: only on the shared track, and only when that comes before the
/// delivery timeout (else the timeout ends it, as a failure).
pub fn cut_after(track: Track, slow_after: Duration, timeout: Duration) -> Option<Duration> {
    (track == Track::Shared && !slow_after.is_zero() && slow_after < timeout).then_some(slow_after)
}

/// How long a receiver stays slow at least, however quickly it answers meanwhile: one
/// quick answer in a slow spell does not bring its deliveries back.
pub const SLOW_AT_LEAST: Duration = Duration::from_secs(60);

/// Whether an answer on the slow track that took `duration` ends a slow mark set at
/// `since`: a quick answer (under half of `slow_after`) once the mark is old enough.
pub fn ends_slow_mark(
    since: Timestamp,
    now: Timestamp,
    duration: Duration,
    slow_after: Duration,
) -> bool {
    duration < slow_after / 2
        && now.as_millis() - since.as_millis() >= SLOW_AT_LEAST.as_millis() as i64
}

/// What became of an attempt.
enum Attempted {
    /// Made and recorded, or left for later (its turn, its slot), or found made.
    Made(WebhookLog),
    /// For the slow queue, unattempted: the caller sends it there.
    Moved(WebhookLog),
}

/// Makes one attempt of `log` to `target` in four stages: admit (its turn in an ordered
/// lane, its paced endpoint's slot, the slow queue for a slow receiver), send (sign and
/// post), record (the log's outcome, in one conditional write) and follow up (what
/// [`follow_up::plan`] decided: the retry, the lane, the endpoint's streak, pace and
/// slow mark).
async fn attempt(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: WebhookLog,
    target: &Target,
    body: &[u8],
    how: Attempting<'_>,
    stats: &Recorder,
) -> DeliveryResult<Attempted> {
    let log = match admission(engine, tenant, log, target, how).await? {
        Admission::Go(log) => log,
        Admission::Done(attempted) => return Ok(attempted),
    };
    let Some(sent) = send(engine, tenant, &log, target, body, how).await? else {
        return Ok(Attempted::Moved(log)); // cut: its receiver is slow
    };
    let endpoint = match target {
        Target::Endpoint(endpoint) => Some(endpoint.as_ref()),
        Target::Url { .. } => None,
    };
    if let Some(endpoint) = endpoint {
        stats.record(tenant, &endpoint.id, sent.at, &sent.outcome);
    }
    let facts = Facts {
        attempts: log.attempts + 1,
        retry_limit: log.retry_limit,
        counts: how.count_errors && endpoint.is_some(),
        failing: endpoint.is_some_and(|e| e.error_count > 0),
        slow_since: endpoint
            .and_then(|e| e.slow_since)
            .filter(|_| how.track == Track::Slow),
        now: Timestamp::now(),
    };
    let plan = follow_up::plan(&sent.outcome, &facts, engine.settings, rand::random());
    if target.fulfils()
        && sent.outcome.succeeded()
        && let Ok(answer) = dynamic::answer(&sent.outcome)
    {
        // Before the attempt is recorded: if this fails, the delivery is still due and
        // its next attempt fulfils the order.
        dynamic::fulfil(engine, tenant, &log, answer).await?;
    }
    let recorded = record(
        engine,
        tenant,
        log,
        target,
        &sent,
        &plan,
        facts.now,
        how.unwritten,
    );
    let log = match recorded.await? {
        Recording::Recorded(log) => log,
        Recording::Skipped(log) => return Ok(Attempted::Made(log)),
    };
    carry_out(
        engine,
        tenant,
        &log,
        target,
        &sent.outcome,
        &plan,
        facts.counts,
    )
    .await?;
    Ok(Attempted::Made(log))
}

/// The admit stage's verdict.
enum Admission {
    /// Make the attempt now.
    Go(WebhookLog),
    /// Not now: moved to the slow queue, or left for its turn or its slot.
    Done(Attempted),
}

async fn admission(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: WebhookLog,
    target: &Target,
    how: Attempting<'_>,
) -> DeliveryResult<Admission> {
    if admit(engine, tenant, how.track, target) == Admit::Slow {
        return Ok(Admission::Done(Attempted::Moved(log)));
    }
    if log.lane.is_some() {
        // Boxed: the lane's futures would make every caller's future deeper still.
        let listed = target.lists_blocked(&log);
        let on_exhausted = target.on_exhausted();
        match Box::pin(lanes::turn(engine, tenant, &log, on_exhausted, listed)).await? {
            Turn::Go => {}
            Turn::Wait => {
                let waiting = wait_turn(engine, tenant, log).await?;
                return Ok(Admission::Done(Attempted::Made(waiting)));
            }
            Turn::Taken => return Ok(Admission::Done(Attempted::Made(log))),
        }
    }
    if let Target::Endpoint(endpoint) = target
        && pacing::is_paced(endpoint)
    {
        let (db, rates) = (engine.db, engine.rates);
        let now = || Timestamp::now().as_millis();
        let slot = match how.pace {
            Pace::Skip => None,
            Pace::Held(slot) if pacing::on_time(slot, now()) => None,
            Pace::Take => Some(pacing::reserve(db, rates, tenant, endpoint).await?),
            // Late, but the last to take a slot: the pace moves with it.
            Pace::Held(slot) if pacing::go_late(db, tenant, endpoint, slot).await? => None,
            Pace::Held(_) => {
                // Late, with others' slots after it: going now could make more than the
                // rate in a second.
                metrics::count("DeliveriesLateForSlot", &[], 1);
                let slot = pacing::reserve(db, rates, tenant, endpoint).await?;
                if slot.wait <= pacing::WAIT_IN_PLACE {
                    tokio::time::sleep(slot.wait).await;
                    None
                } else {
                    Some(slot)
                }
            }
        };
        if let Some(slot) = slot.filter(|slot| !slot.wait.is_zero()) {
            if how.unwritten.is_some() {
                logs::put_new(db, tenant, &log, engine.retention_days, None).await?;
            }
            let deferred = defer(engine, tenant, log, target.lane(), slot).await?;
            return Ok(Admission::Done(Attempted::Made(deferred)));
        }
    }
    Ok(Admission::Go(log))
}

/// What the send stage brings back.
struct Sent {
    /// When the request went.
    at: Timestamp,
    /// The headers as sent.
    headers: Vec<(String, String)>,
    outcome: Attempt,
}

/// Signs and posts the delivery; `None` when a slow receiver's attempt on the shared
/// track was cut (its endpoint is marked slow meanwhile).
async fn send(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: &WebhookLog,
    target: &Target,
    body: &[u8],
    how: Attempting<'_>,
) -> DeliveryResult<Option<Sent>> {
    let at = Timestamp::now();
    let secrets = target.secrets(engine, tenant).await?;
    let keys = target
        .asymmetric_keys(engine, tenant, how.fresh_since)
        .await?;
    let headers = delivery_headers(log, target, &secrets, keys.as_ref(), body, at);
    let settings = engine.settings;
    let cut = cut_after(how.track, settings.slow_after, settings.timeout)
        .filter(|_| engine.queues.has_slow_lane());
    let mut outcome = {
        let post = engine.outbound.post(target.url(), &headers, body.to_vec());
        let mut post = std::pin::pin!(post);
        match cut {
            Some(limit) => match tokio::time::timeout(limit, &mut post).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    match target {
                        Target::Endpoint(endpoint) => mark_slow(engine, tenant, endpoint).await?,
                        // No mark to write: this instance remembers it for a while.
                        Target::Url { url, .. } => {
                            engine.configs.found_slow(tenant, url.as_str());
                        }
                    }
                    if log.lane.is_none() {
                        metrics::count("DeliveriesCut", &[], 1);
                        return Ok(None);
                    }
                    // An ordered delivery holds its lane's claim: it finishes here.
                    post.await
                }
            },
            None => post.await,
        }
    };
    outcome.unaccepted = outcome.status.is_some_and(|s| !target.dialect().accepts(s));
    if target.fulfils() {
        dynamic::judge(&mut outcome);
    }
    Ok(Some(Sent {
        at,
        headers,
        outcome,
    }))
}

/// What the record stage did.
enum Recording {
    /// The attempt is on the log: follow it up.
    Recorded(WebhookLog),
    /// Another worker recorded this attempt first, or the answer could not be stored
    /// and the delivery ended failed: nothing more to do.
    Skipped(WebhookLog),
}

/// Writes the attempt and its outcome on the log (one conditional write, on the
/// attempts it had), with its place on the due index. `unwritten`: the log is not
/// written yet, and this is its first write (unless another run wrote it meanwhile),
/// or its place in its fan-out's group.
#[allow(clippy::too_many_arguments)] // the stage's inputs, each used once
async fn record(
    engine: &Engine<'_>,
    tenant: &Tenant,
    mut log: WebhookLog,
    target: &Target,
    sent: &Sent,
    plan: &FollowUp,
    now: Timestamp,
    unwritten: Option<&Grouping>,
) -> DeliveryResult<Recording> {
    let before = log.attempts;
    let outcome = &sent.outcome;
    log.request_headers = as_sent(&sent.headers, target);
    log.remember(AttemptRecord {
        at: sent.at,
        response_code: outcome.status.unwrap_or(0),
        duration_ms: outcome.duration_ms,
        failure: Cause::of(outcome).map(|c| c.as_str().to_string()),
    });
    log.attempts += 1;
    log.response_code = outcome.status.unwrap_or(0);
    log.response = Some(outcome.body.clone());
    log.response_headers = outcome.headers.clone();
    log.duration_ms = outcome.duration_ms;
    log.updated_at = now;
    let due = plan.due(now, engine.settings.retry_sweep_grace);
    log.next_retry_at = due.map(|(at, _)| at);
    log.status = match plan.next {
        Next::Delivered => LogStatus::Succeeded,
        Next::Ended => LogStatus::Failed,
        Next::Retry(_) => LogStatus::Retrying,
    };
    let look_at = due.map(|(_, look_at)| look_at);
    let outcome = write_outcome(engine, tenant, before, &log, look_at, unwritten);
    match outcome.await {
        Ok(true) => Ok(Recording::Recorded(log)),
        Ok(false) => Ok(Recording::Skipped(log)),
        Err(error) if !error.is_retryable() => {
            // What the receiver answered cannot be stored (e.g. past the item size limit):
            // the delivery ends failed rather than being redelivered until it expires.
            tracing::warn!(log = %log.id, %error, "the attempt could not be recorded; ending the delivery as failed");
            log.status = LogStatus::Failed;
            log.response = Some("The receiver's response could not be recorded".into());
            log.response_headers.clear();
            log.next_retry_at = None;
            write_outcome(engine, tenant, before, &log, None, unwritten).await?;
            Box::pin(lanes::ended(engine, tenant, &log, target.on_exhausted())).await?;
            Ok(Recording::Skipped(log))
        }
        Err(error) => Err(error.into()),
    }
}

/// Writes `log` with its latest attempt, on the attempts it had before (`false` if
/// another worker recorded one meanwhile): the log's first write when it is not
/// written yet (`unwritten`, and no other run wrote it; a first-attempt success waits
/// for its fan-out's group instead), otherwise an update.
async fn write_outcome(
    engine: &Engine<'_>,
    tenant: &Tenant,
    before: u32,
    log: &WebhookLog,
    due: Option<Timestamp>,
    unwritten: Option<&Grouping>,
) -> Result<bool, crate::store::StoreError> {
    if let Some(grouping) = unwritten {
        if logs::may_join(log) {
            grouping.keep(log.clone());
            return Ok(true);
        }
        if logs::put_new(engine.db, tenant, log, engine.retention_days, due).await? {
            return Ok(true);
        }
    }
    logs::record(engine.db, tenant, before, log, due).await
}

/// The follow-up stage: carries out `plan` for the recorded `log`. `counts`: whether
/// the outcome counts for the endpoint (its pace and streak).
async fn carry_out(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: &WebhookLog,
    target: &Target,
    outcome: &Attempt,
    plan: &FollowUp,
    counts: bool,
) -> DeliveryResult<()> {
    record_metrics(log, plan);
    if plan.ends() {
        Box::pin(lanes::ended(engine, tenant, log, target.on_exhausted())).await?;
    }
    if let Some(Wait::Queued(delay)) = plan.wait {
        let queued = engine
            .queues
            .retry_on(target.lane(), tenant, &log.id, delay, None);
        if let Err(error) = queued.await {
            // The log is on the due index: the scheduler sweeps it once it is overdue.
            tracing::warn!(log = %log.id, %error, "retry not queued; the scheduler will sweep it");
        }
    }
    let (Target::Endpoint(endpoint), true) = (target, counts) else {
        return Ok(());
    };
    let db = engine.db;
    pacing::adapt(db, engine.rates, tenant, endpoint, outcome).await?;
    if plan.end_slow_mark && endpoints::set_slow(db, tenant, &endpoint.id, None).await? {
        engine.configs.forget_slow(tenant, endpoint.id.as_ref());
        tracing::info!(endpoint = %endpoint.id, "receiver answers quickly again: back on the shared queues");
        metrics::count("EndpointsSlow", &[("Change", "ended")], 1);
    }
    match plan.streak {
        Streak::Untouched => {}
        Streak::Reset => endpoints::record_success(db, tenant, &endpoint.id).await?,
        Streak::Failed { gone } => {
            let rule = DisableRule {
                after_failures: engine.settings.disable_after_failures,
                after: engine.settings.disable_after,
            };
            let now = Timestamp::now();
            if endpoints::record_failure(db, tenant, &endpoint.id, now, gone, rule).await? {
                tracing::info!(endpoint = %endpoint.id, gone, "endpoint disabled");
                let reason = if gone { "gone" } else { "failures" };
                metrics::count("EndpointsDisabled", &[("Reason", reason)], 1);
            }
        }
    }
    Ok(())
}

/// Hands deliveries (one event's at most) to the slow queue, unattempted: their logs
/// stay as they are (the slow queue's message is theirs now; if a run of it stops,
/// the next puts them on the due index).
async fn to_slow_queue(engine: &Engine<'_>, tenant: &Tenant, ids: &[LogId]) -> DeliveryResult<()> {
    let sent = engine.queues.slow_attempts(tenant, ids).await;
    sent.map_err(DeliveryError::broken)?;
    metrics::count("DeliveriesToSlowQueue", &[], ids.len() as u64);
    Ok(())
}

/// Marks an endpoint whose receiver left an attempt on the shared track unanswered
/// past `SLOW_RECEIVER_MS`: every dispatcher sends its next deliveries to the slow
/// queue. The attempt itself is then cut and moved there, unrecorded, for an attempt
/// with the whole timeout (the receiver may have begun to handle the cut request: the
/// next has the same `webhook-id`, for it to recognise), unless it is ordered.
async fn mark_slow(
    engine: &Engine<'_>,
    tenant: &Tenant,
    endpoint: &Endpoint,
) -> DeliveryResult<()> {
    if !engine.configs.found_slow(tenant, endpoint.id.as_ref()) {
        return Ok(()); // this instance wrote it, or saw it written
    }
    let marked = endpoints::set_slow(engine.db, tenant, &endpoint.id, Some(Timestamp::now())).await;
    let marked = marked.inspect_err(|_| engine.configs.forget_slow(tenant, endpoint.id.as_ref()));
    if marked? {
        tracing::info!(endpoint = %endpoint.id, "receiver is slow: its deliveries go through the slow queue");
        metrics::count("EndpointsSlow", &[("Change", "began")], 1);
    }
    Ok(())
}

/// Leaves an ordered delivery whose turn it is not, unattempted: the delivery before it
/// queues it when it ends; until then it is on the due index, in case that worker stops.
async fn wait_turn(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: WebhookLog,
) -> DeliveryResult<WebhookLog> {
    let due = sweep_time(engine);
    if logs::defer(engine.db, tenant, &log, due).await? {
        metrics::count("DeliveriesWaitingTurn", &[], 1);
    }
    Ok(log)
}

/// Puts a paced delivery back until its slot, unattempted: on the deliveries queue
/// with the slot's delay (beyond what SQS delays, on the due index for the scheduler),
/// and on the due index after it in case the message is lost.
async fn defer(
    engine: &Engine<'_>,
    tenant: &Tenant,
    log: WebhookLog,
    lane: Lane,
    slot: pacing::Slot,
) -> DeliveryResult<WebhookLog> {
    let (now, wait) = (Timestamp::now(), slot.wait);
    let queued = wait <= engine.settings.max_queue_delay;
    let due = if queued {
        now.plus(wait).plus(engine.settings.retry_sweep_grace)
    } else {
        now.plus(wait)
    };
    if !logs::defer(engine.db, tenant, &log, due).await? {
        return Ok(log); // attempted meanwhile
    }
    metrics::count("DeliveriesPaced", &[], 1);
    let slot_at = slot.at;
    if queued
        && let Err(error) = engine
            .queues
            .retry_in_slot(lane, tenant, &log.id, slot_at)
            .await
    {
        tracing::warn!(log = %log.id, %error, "paced delivery not queued; the scheduler will sweep it");
    }
    Ok(log)
}

/// What an attempt tells the operator: its outcome, how long the receiver took, how
/// long the first attempt came after the delivery was created, and the retry it left.
fn record_metrics(log: &WebhookLog, plan: &FollowUp) {
    let outcome = match log.status {
        LogStatus::Succeeded => "succeeded",
        LogStatus::Failed => "failed",
        LogStatus::Retrying => "retrying",
        LogStatus::Pending => "pending",
    };
    metrics::count("Deliveries", &[("Outcome", outcome)], 1);
    metrics::milliseconds("DeliveryDuration", &[], log.duration_ms);
    if log.attempts == 1 {
        let lag = log.updated_at.as_millis() - log.created_at.as_millis();
        metrics::milliseconds("DeliveryLag", &[], lag.max(0) as u64);
    }
    match plan.wait {
        Some(Wait::Parked(_)) => metrics::count("RetriesParked", &[], 1),
        Some(Wait::Queued(_)) => metrics::count("RetriesScheduled", &[], 1),
        None => {}
    }
}

/// One synchronous delivery with no retries that leaves the endpoint's failure streak
/// alone: `/test` pings and `/webhooks/simulate`. Logged like any delivery.
pub async fn deliver_once(
    engine: &Engine<'_>,
    tenant: &Tenant,
    target: &Target,
    event_type: &str,
    payload: serde_json::Value,
) -> DeliveryResult<WebhookLog> {
    let id = LogId::new();
    let payload = target.payload(&Delivery {
        id: &id,
        event_id: None,
        event_type,
        created_at: Timestamp::now(),
        payload: &payload,
        mode: tenant.mode(),
        account_id: tenant.account_id().as_str(),
        endpoint_id: &target.key(),
    });
    let log = WebhookLog::pending(
        id,
        target.endpoint_id(),
        target.url().to_string(),
        event_type,
        None,
        payload,
        0,
    );
    logs::create(engine.db, tenant, &log, engine.retention_days, None).await?;
    let body = crate::webhooks::body::delivery_body(&log.payload);
    let stats = Recorder::default();
    let how = Attempting {
        count_errors: false,
        ..Attempting::now()
    };
    let attempted = attempt(engine, tenant, log, target, &body, how, &stats).await;
    write_stats(engine, &stats).await;
    match attempted? {
        Attempted::Made(log) | Attempted::Moved(log) => Ok(log), // a direct one is not moved
    }
}

/// Adds what `stats` counted to the endpoints' hourly statistics: one write per
/// endpoint and hour. A write that fails loses those counts (logged and counted as the
/// `StatsLost` metric); the deliveries themselves are recorded on their logs.
pub async fn write_stats(engine: &Engine<'_>, stats: &Recorder) {
    let tallies = stats.take();
    let writes = tallies
        .iter()
        .map(|((tenant, endpoint, hour), tally)| async move {
            if let Err(error) =
                crate::store::stats::add(engine.db, tenant, endpoint, hour, tally).await
            {
                tracing::warn!(%endpoint, %hour, %error, "delivery statistics not written");
                metrics::count("StatsLost", &[], tally.attempts);
            }
        });
    join_all(writes).await;
}

/// What `/test` and `/webhooks/simulate` answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub delivered: bool,
    pub response_code: u16,
    pub response_time_ms: u64,
    pub log_id: String,
}

impl From<&WebhookLog> for TestResult {
    fn from(log: &WebhookLog) -> Self {
        TestResult {
            delivered: log.status == LogStatus::Succeeded,
            response_code: log.response_code,
            response_time_ms: log.duration_ms,
            log_id: log.id.to_string(),
        }
    }
}

/// The account's signing secrets as a target for `url` (simulations).
pub async fn account_target(
    engine: &Engine<'_>,
    tenant: &Tenant,
    url: Url,
) -> DeliveryResult<Target> {
    Ok(Target::Url {
        url,
        secrets: open_account_secrets(engine.db, engine.keyring, tenant).await?,
        fulfils: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_waiting_for_the_one_before_it_looks_again_less_often_as_it_ages() {
        let now = Timestamp::now();
        let ago = |ms: i64| Timestamp::from_millis(now.as_millis() - ms);
        assert_eq!(recheck_after(now, now), Duration::from_secs(1));
        assert_eq!(recheck_after(ago(2_000), now), Duration::from_secs(1));
        assert_eq!(recheck_after(ago(20_000), now), Duration::from_secs(5));
        assert_eq!(recheck_after(ago(3_600_000), now), Duration::from_secs(60));
    }

    #[test]
    fn only_the_shared_track_cuts_and_only_before_the_timeout() {
        let (second, timeout) = (Duration::from_secs(1), Duration::from_secs(15));
        assert_eq!(cut_after(Track::Shared, second, timeout), Some(second));
        assert_eq!(
            cut_after(Track::Slow, second, timeout),
            None,
            "the slow queue waits"
        );
        assert_eq!(
            cut_after(Track::Direct, second, timeout),
            None,
            "a person asked"
        );
        assert_eq!(
            cut_after(Track::Shared, Duration::ZERO, timeout),
            None,
            "turned off"
        );
        assert_eq!(
            cut_after(Track::Shared, timeout, timeout),
            None,
            "the timeout comes first: a failure, not a slow receiver"
        );
    }

    #[test]
    fn a_slow_mark_ends_with_a_quick_answer_once_it_is_a_minute_old() {
        let since = Timestamp::now();
        let later = |s: i64| Timestamp::from_millis(since.as_millis() + s * 1000);
        let slow_after = Duration::from_secs(1);
        let quick = Duration::from_millis(200);
        assert!(
            !ends_slow_mark(since, later(10), quick, slow_after),
            "too young"
        );
        assert!(ends_slow_mark(since, later(60), quick, slow_after));
        let middling = Duration::from_millis(700);
        assert!(
            !ends_slow_mark(since, later(600), middling, slow_after),
            "quick means under half the threshold, so a receiver near it does not flap"
        );
    }

    #[test]
    fn a_logged_webhook_signature_keeps_its_schemes_not_its_signatures() {
        assert_eq!(masked_signatures("v1,abc= v1a,def="), "v1,**** v1a,****");
        assert_eq!(masked_signatures("v1,abc="), "v1,****");
        assert_eq!(masked_signatures("garbage"), "****");
    }
}
