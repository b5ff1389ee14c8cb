//! The dispatcher: consumes the events queue (fan-out of committed events), the
//! deliveries queue (retries) and the slow queue (slow receivers' attempts), answering
//! each batch with only the messages that failed, so SQS redelivers those alone and,
//! past `maxReceiveCount`, parks them in the DLQ.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::FutureExt;
use shared::{
    Services, Tenant,
    delivery::{
        DeliveryError, Engine,
        dispatch::{Dispatch, Track, dispatch_events, retry_delivery, write_stats},
        pacing,
    },
    ids::LogId,
    queue::Message,
    webhooks::stats::Recorder,
};
use std::time::Instant;
use tracing::Instrument;

/// Handles one batch. Its fan-outs are created together, then every delivery and
/// retry runs concurrently, each in its message's span.
pub async fn handle(state: &Services, batch: SqsEvent) -> SqsBatchResponse {
    let engine = &state.engine();
    // Every event in the batch was committed before this.
    let received = Instant::now();
    // The batch's attempts, written as one statistics update per endpoint and hour.
    let stats = Recorder::default();
    let stats = &stats;
    let mut dispatches = Vec::new();
    let mut others = Vec::new();
    for record in batch.records {
        let redelivered = redelivered(&record);
        let id = record.message_id.unwrap_or_default();
        let span = tracing::info_span!(
            "message",
            function = shared::telemetry::function_name(),
            message_id = %id
        );
        match record.body.as_deref().map(Message::read) {
            Some(Ok(Message::Dispatch {
                tenant,
                event_id,
                replay,
                event,
            })) => dispatches.push((
                id,
                Dispatch {
                    tenant,
                    event_id,
                    replay,
                    event: event.map(|event| *event),
                    received,
                    redelivered,
                    span,
                },
            )),
            Some(Ok(Message::Retry {
                tenant,
                log_id,
                slot_at,
            })) => {
                let log_ids = vec![log_id];
                let message = Handed {
                    track: Track::Shared,
                    slot_at,
                    redelivered,
                };
                let attempts = attempts(engine, tenant, log_ids, message, stats);
                others.push((id, attempts.instrument(span).boxed()));
            }
            Some(Ok(Message::Slow {
                tenant,
                log_ids,
                slot_at,
            })) => {
                let message = Handed {
                    track: Track::Slow,
                    slot_at,
                    redelivered,
                };
                let attempts = attempts(engine, tenant, log_ids, message, stats);
                others.push((id, attempts.instrument(span).boxed()));
            }
            // Unreadable now means unreadable forever: fail it so it ends in the DLQ.
            other => {
                let error = DeliveryError::broken(format!("unreadable message: {other:?}"));
                others.push((id, futures::future::ready(Err(error)).boxed()));
            }
        }
    }
    let (dispatch_ids, dispatches): (Vec<String>, Vec<Dispatch>) = dispatches.into_iter().unzip();
    let (other_ids, others): (Vec<String>, Vec<_>) = others.into_iter().unzip();
    let (dispatched, others) = futures::join!(
        dispatch_events(engine, dispatches, stats),
        shared::concurrency::join_all(others)
    );
    write_stats(engine, stats).await;
    shared::metrics::flush(&state.config.metrics_namespace);
    let mut response = SqsBatchResponse::default();
    let outcomes = dispatch_ids
        .into_iter()
        .zip(dispatched)
        .chain(other_ids.into_iter().zip(others));
    for (id, outcome) in outcomes {
        if let Err(error) = outcome {
            tracing::error!(message_id = %id, ?error, "message failed; SQS will redeliver it");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Whether SQS handed `record` out before (`ApproximateReceiveCount` above 1, which
/// Lambda's SQS event source always sets).
fn redelivered(record: &SqsMessage) -> bool {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse::<u32>().ok())
        .is_some_and(|count| count > 1)
}

/// How a message of the deliveries or the slow queue came.
struct Handed {
    track: Track,
    /// The slot of its paced endpoint it holds, if it holds one.
    slot_at: Option<i64>,
    redelivered: bool,
}

/// The next attempts of the deliveries of a message of the deliveries or the slow
/// queue, on its track, after the slot the message holds (if it holds one).
async fn attempts(
    engine: &Engine<'_>,
    tenant: Tenant,
    log_ids: Vec<LogId>,
    message: Handed,
    stats: &Recorder,
) -> Result<(), DeliveryError> {
    let Handed {
        track,
        slot_at,
        redelivered,
    } = message;
    if let Some(slot_at) = slot_at {
        wait_for_slot(slot_at).await;
    }
    let attempts = log_ids
        .iter()
        .map(|log_id| retry_delivery(engine, &tenant, log_id, track, slot_at, redelivered, stats));
    let attempted = shared::concurrency::join_all(attempts).await;
    attempted
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map(drop)
}

/// Waits for a paced delivery's slot: its message comes up to a second early (SQS
/// delays by whole seconds). Never more than `pacing::WAIT_IN_PLACE`, whatever it says.
async fn wait_for_slot(slot_at: i64) {
    let early = slot_at - shared::Timestamp::now().as_millis();
    if early > 0 {
        let wait = std::time::Duration::from_millis(early as u64).min(pacing::WAIT_IN_PLACE);
        tokio::time::sleep(wait).await;
    }
}
