//! The `dispatcher` Lambda function (SQS, ReportBatchItemFailures).
// The delivery engine's futures (fan-out, lanes, pacing, retries) nest deeper than
// the default limit lets rustc lay out the handler's future.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

// One thread: an instance serves one invocation at a time on a fraction of a vCPU
// (256 MB), where a second worker thread only adds wake-ups (docs/architecture.md, "Benchmarks").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = shared::Services::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move { Ok::<_, Error>(dispatcher::handle(&state, event.payload).await) }
    }))
    .await
}
