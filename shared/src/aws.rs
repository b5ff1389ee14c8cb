//! AWS SDK configuration, built once per cold start.

use aws_config::{
    BehaviorVersion, ConfigLoader, Region, SdkConfig,
    stalled_stream_protection::StalledStreamProtectionConfig, timeout::TimeoutConfig,
};
use aws_sdk_dynamodb::config::Credentials;
use std::time::Duration;

/// How long one attempt of an AWS call may take before it is abandoned and retried.
/// DynamoDB, SQS and KMS answer in milliseconds, and no call of ours waits on purpose
/// (the functions never long-poll SQS): this bounds a connection that stalls.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The same bound against the emulator, which can take seconds to answer while a whole
/// test suite runs on it (moto uses one core). A timed-out write may still land and its
/// retry then meet its own condition, so locally only a real stall should end one.
pub const EMULATOR_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// What every SDK configuration shares: the TLS client of [`crate::tls`], and timeouts
/// instead of stalled-stream protection.
///
/// That protection wraps every request in a throughput check whose timer fires every
/// 100 ms for as long as the response takes, and each firing wakes the task holding the
/// call: a dispatcher batch with a hundred calls in flight was woken thousands of
/// times a second, repolling them all, while doing nothing. Its use is streaming
/// bodies (S3 downloads); our requests and responses are a few kilobytes, so one timer
/// per attempt ([`ATTEMPT_TIMEOUT`]) guards a stalled connection just as well.
fn defaults(attempt_timeout: Duration) -> ConfigLoader {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(3_100)) // the SDK's default
        .operation_attempt_timeout(attempt_timeout)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(crate::tls::aws_http_client())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .timeout_config(timeouts)
}

/// The standard chain: region, credentials and `AWS_ENDPOINT_URL` from the environment.
///
/// In Lambda the role's credentials are always in the environment, so the function
/// reads them there instead of building the whole chain, whose web-identity provider
/// alone makes an STS client (a sixth of a cold start's work).
pub async fn from_env() -> SdkConfig {
    let loader = defaults(ATTEMPT_TIMEOUT);
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
        && std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    let loader = if in_lambda {
        loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
    } else {
        loader
    };
    loader.load().await
}

/// An emulator at `endpoint` (moto locally and in tests): fixed region and dummy keys.
/// moto is not thread-safe under concurrent transactions (it deep-copies tables while
/// other requests change them) and answers some with a 500, which the SDK retries as
/// transient; a larger retry budget absorbs that locally.
pub async fn for_emulator(endpoint: &str) -> SdkConfig {
    let retries = aws_config::retry::RetryConfig::standard()
        .with_max_attempts(10)
        .with_initial_backoff(Duration::from_millis(20));
    defaults(EMULATOR_ATTEMPT_TIMEOUT)
        .retry_config(retries)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing", "testing", None, None, "emulator",
        ))
        .load()
        .await
}

/// A function of the local stack: the configuration it has in Lambda, but for the
/// endpoint (the strict layer), the emulator's attempt timeout, and credentials naming
/// the function (its role, for IAM).
pub async fn for_local_function(endpoint: &str, function: &str, secret: &str) -> SdkConfig {
    defaults(EMULATOR_ATTEMPT_TIMEOUT)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(function, secret, None, None, "local-role"))
        .load()
        .await
}

/// Counts the AWS calls a process makes, by caller (a function's logical id, or the
/// local event source) and `Service.Operation`: how benchmarks measure what each
/// delivery costs.
#[derive(Debug, Default)]
pub struct CallCounter {
    counts: std::sync::Mutex<std::collections::BTreeMap<(String, String), u64>>,
}

impl CallCounter {
    fn counts(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<(String, String), u64>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls so far by every caller, by `Service.Operation`.
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, u64> {
        self.snapshot_where(|_| true)
    }

    /// Calls so far by one caller, by `Service.Operation`.
    pub fn snapshot_of(&self, caller: &str) -> std::collections::BTreeMap<String, u64> {
        self.snapshot_where(|c| c == caller)
    }

    fn snapshot_where(
        &self,
        keep: impl Fn(&str) -> bool,
    ) -> std::collections::BTreeMap<String, u64> {
        let mut snapshot = std::collections::BTreeMap::new();
        for ((caller, operation), n) in self.counts().iter() {
            if keep(caller) {
                *snapshot.entry(operation.clone()).or_default() += n;
            }
        }
        snapshot
    }

    /// Calls so far to one service (`DynamoDB`, `SQS`).
    pub fn total(&self, service: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(name, _)| name.split('.').next() == Some(service))
            .map(|(_, n)| n)
            .sum()
    }

    /// An interceptor counting `caller`'s calls, for any SDK client's config.
    pub fn interceptor(
        self: &std::sync::Arc<Self>,
        caller: &str,
    ) -> aws_smithy_runtime_api::client::interceptors::SharedInterceptor {
        aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(Counting(
            self.clone(),
            caller.to_string(),
        ))
    }
}

#[derive(Debug)]
struct Counting(std::sync::Arc<CallCounter>, String);

impl aws_smithy_runtime_api::client::interceptors::Intercept for Counting {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    // Once per attempt that reaches the wire; by then the operation's metadata is loaded.
    fn read_before_transmit(
        &self,
        _: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let name = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| format!("{}.{}", m.service(), m.name()))
            .unwrap_or_else(|| "unknown".into());
        *self.0.counts().entry((self.1.clone(), name)).or_default() += 1;
        Ok(())
    }
}
