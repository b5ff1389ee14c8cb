//! The `dispatcher` Lambda function (SQS, ReportBatchItemFailures).

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = shared::Services::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move { Ok::<_, Error>(dispatcher::handle(&state, event.payload).await) }
    }))
    .await
}
