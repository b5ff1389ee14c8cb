//! The `portal` Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::Services::from_env().await?;
    lambda_http::run(portal::router(state)).await
}
