//! The dispatcher: consumes the events queue (fan-out of committed events) and the
//! deliveries queue (retries), answering each batch with only the messages that failed,
//! so SQS redelivers those alone and, past `maxReceiveCount`, parks them in the DLQ.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use shared::{
    Services,
    queue::Message,
    webhooks::dispatch::{Dispatch, dispatch_event, retry_delivery},
};
use std::time::Instant;

/// Handles one batch; every message is processed concurrently.
pub async fn handle(state: &Services, batch: SqsEvent) -> SqsBatchResponse {
    // Every event in the batch was committed before this.
    let received = Instant::now();
    let work = batch.records.into_iter().map(|record| {
        let id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!(
            "message",
            function = shared::telemetry::function_name(),
            message_id = %id
        );
        tracing::Instrument::instrument(message(state, record, received), span)
    });
    let mut response = SqsBatchResponse::default();
    let outcomes = futures::future::join_all(work).await;
    shared::metrics::flush(&state.config.metrics_namespace);
    for failed in outcomes.into_iter().filter_map(Result::err) {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = failed;
        response.batch_item_failures.push(failure);
    }
    response
}

/// One message of a batch: its id when it failed.
async fn message(
    state: &Services,
    record: aws_lambda_events::event::sqs::SqsMessage,
    received: Instant,
) -> Result<(), String> {
    let id = record.message_id.unwrap_or_default();
    let outcome = match record.body.as_deref().map(Message::read) {
        Some(Ok(Message::Dispatch {
            tenant,
            event_id,
            replay,
            event,
        })) => {
            let dispatch = Dispatch {
                tenant,
                event_id,
                replay,
                event: event.map(|event| *event),
                received,
            };
            dispatch_event(state, dispatch).await
        }
        Some(Ok(Message::Retry { tenant, log_id })) => {
            retry_delivery(state, &tenant, &log_id).await
        }
        // Unreadable now means unreadable forever: fail it so it ends in the DLQ.
        other => Err(shared::ApiError::internal(format!(
            "unreadable message: {other:?}"
        ))),
    };
    outcome.map_err(|error| {
        tracing::error!(?error, "message failed; SQS will redeliver it");
        id
    })
}
