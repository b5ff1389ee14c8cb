//! The reference for cold starts (`make bench-coldstart`): the smallest `lambda_http`
//! function, built with the same profile as PushGuard's.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(lambda_http::service_fn(
        |_: lambda_http::Request| async move {
            Ok::<_, lambda_http::Error>(lambda_http::Response::new("hello".to_string()))
        },
    ))
    .await
}
