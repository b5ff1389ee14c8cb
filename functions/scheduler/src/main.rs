//! The `scheduler` Lambda function (EventBridge schedule, every minute).

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let state = shared::Services::from_env().await?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let state = state.clone();
        async move { Ok::<_, Error>(scheduler::run(&state).await?) }
    }))
    .await
}
