//! The dispatcher: consumes the events queue (fan-out of committed events) and the
//! deliveries queue (retries), answering each batch with only the messages that failed,
//! so SQS redelivers those alone and, past `maxReceiveCount`, parks them in the DLQ.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use shared::{
    Services,
    events::QueueMessage,
    webhooks::dispatch::{dispatch_event, retry_delivery},
};

/// Handles one batch; every message is processed concurrently.
pub async fn handle(state: &Services, batch: SqsEvent) -> SqsBatchResponse {
    let work = batch.records.into_iter().map(|record| async move {
        let id = record.message_id.unwrap_or_default();
        let outcome = match record
            .body
            .as_deref()
            .map(serde_json::from_str::<QueueMessage>)
        {
            Some(Ok(QueueMessage::Dispatch(message))) => dispatch_event(state, &message).await,
            Some(Ok(QueueMessage::Retry(message))) => retry_delivery(state, &message).await,
            // Unreadable now means unreadable forever: fail it so it ends in the DLQ.
            other => Err(shared::ApiError::internal(format!(
                "unreadable message: {other:?}"
            ))),
        };
        outcome.map_err(|error| {
            tracing::error!(message_id = %id, ?error, "message failed; SQS will redeliver it");
            id
        })
    });
    let mut response = SqsBatchResponse::default();
    for failed in futures::future::join_all(work)
        .await
        .into_iter()
        .filter_map(Result::err)
    {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = failed;
        response.batch_item_failures.push(failure);
    }
    response
}
