//! The `scheduler` Lambda function (EventBridge schedule, every minute).

use lambda_runtime::{Error, LambdaEvent, service_fn};

// One thread: an instance serves one invocation at a time on a fraction of a vCPU
// (256 MB), where a second worker thread only adds wake-ups (docs/architecture.md, "Benchmarks").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = shared::Services::from_env().await?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let state = state.clone();
        async move { Ok::<_, Error>(scheduler::run(&state).await?) }
    }))
    .await
}
