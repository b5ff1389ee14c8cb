//! Logging set-up shared by every binary.

use tracing_subscriber::{EnvFilter, util::SubscriberInitExt};

/// JSON logs without ANSI colours in Lambda (CloudWatch), readable logs elsewhere.
/// `RUST_LOG` overrides the default level (info).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    // A second init (tests, or serve embedding functions) keeps the first subscriber.
    if in_lambda {
        drop(lambda_lines(filter, std::io::stdout).try_init());
    } else {
        drop(tracing_subscriber::fmt().with_env_filter(filter).try_init());
    }
}

/// The log lines a function writes in Lambda, to `writer`: one JSON object per line,
/// without time (CloudWatch stamps each line) and with the runtime's invocation span
/// (its requestId) and ours (route, tenant, or the SQS message). The cost benchmark
/// counts them.
pub fn lambda_lines<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .json()
        .with_ansi(false)
        .without_time()
        .with_current_span(false)
        .with_span_list(true)
        .finish()
}

/// The function this process runs as (`AWS_LAMBDA_FUNCTION_NAME`; `local` under
/// `pushguard serve`), for the spans every log line carries.
pub fn function_name() -> &'static str {
    static NAME: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into())
    });
    &NAME
}

/// Readable logs captured per test (shown for a failing test), warnings and up unless
/// `RUST_LOG` says otherwise: what a test binary calls once.
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    drop(
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init(),
    );
}
