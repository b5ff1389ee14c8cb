//! The `categories` Lambda function.

// One thread: an instance serves one invocation at a time on a fraction of a vCPU
// (256 MB), where a second worker thread only adds wake-ups (docs/architecture.md, "Benchmarks").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::Services::from_env().await?;
    lambda_http::run(categories::router(state)).await
}
