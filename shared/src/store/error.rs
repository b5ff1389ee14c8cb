//! What can go wrong in the store, and how calls survive what DynamoDB does under load.
//!
//! A store call either succeeds, is [`Rejected`](StoreError::Rejected) for a reason the
//! caller's request caused (a duplicate, a limit, a version that moved on), or fails in
//! DynamoDB. Failures DynamoDB itself calls temporary (a transaction conflict, throttling,
//! a server error, a dropped connection) are retried here with jittered exponential
//! backoff; only when they outlast the retries do they reach the caller, as
//! [`Transient`](StoreError::Transient), which a client sees as 503 with `Retry-After`.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::time::Duration;

/// The reason a write's condition gives the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// It exists already (a unique id, URL, email): 409.
    #[error("{0}")]
    Conflict(String),
    /// It would pass a limit, or needs something that is gone: 400.
    #[error("{0}")]
    Invalid(String),
    /// What it applies to is gone: 404.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// What it applies to changed since it was read: read again and retry (409 if that
    /// keeps happening).
    #[error("{0}")]
    Changed(String),
}

/// An error of the store. Keeps the operation and the cause, and says whether trying
/// again may help ([`StoreError::is_retryable`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Rejected(Rejection),
    /// A conditional write whose condition failed, not yet given a meaning by its caller.
    #[error("{operation}: the condition failed")]
    ConditionFailed { operation: &'static str },
    /// DynamoDB or SQS could not do it now, and still could not after retries.
    #[error("{operation} (retryable): {cause}")]
    Transient {
        operation: &'static str,
        code: Option<String>,
        cause: String,
    },
    /// Anything retrying will not mend: access denied, an invalid request, a malformed item.
    #[error("{operation}: {cause}")]
    Failed {
        operation: &'static str,
        code: Option<String>,
        cause: String,
    },
}

/// Codes DynamoDB and SQS answer for a request that may succeed if sent again.
const RETRYABLE_CODES: &[&str] = &[
    "TransactionConflictException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Cancellation reasons of a transaction that may commit if sent again.
pub(crate) const RETRYABLE_REASONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

impl StoreError {
    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Transient { .. })
    }

    /// Counts a retry of this error in the `StoreRetries` metric, by reason: conflicts,
    /// throttling, or anything else transient.
    pub(crate) fn count_retry(&self) {
        let reason = match self {
            StoreError::Transient { code, cause, .. } => {
                let text = format!("{code:?} {cause}");
                if text.contains("Conflict") {
                    "conflict"
                } else if text.contains("Throttl")
                    || text.contains("ProvisionedThroughput")
                    || text.contains("RequestLimit")
                {
                    "throttling"
                } else {
                    "transient"
                }
            }
            _ => return,
        };
        crate::metrics::count("StoreRetries", &[("Reason", reason)], 1);
    }

    /// A failure that is not DynamoDB's (serialising an item, a malformed stored value).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        StoreError::Failed {
            operation: "store",
            code: None,
            cause: cause.to_string(),
        }
    }

    /// An SDK error, classified.
    pub fn from_sdk<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let code = error.code().map(str::to_string);
        let transport = matches!(
            error,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        );
        let server = error
            .raw_response()
            .is_some_and(|response| response.status().is_server_error());
        match code.as_deref() {
            Some("ConditionalCheckFailedException") => StoreError::ConditionFailed { operation },
            Some(c) if RETRYABLE_CODES.contains(&c) => StoreError::Transient {
                operation,
                code,
                cause: DisplayErrorContext(&error).to_string(),
            },
            _ if transport || server => StoreError::Transient {
                operation,
                code,
                cause: DisplayErrorContext(&error).to_string(),
            },
            _ => StoreError::Failed {
                operation,
                code,
                cause: DisplayErrorContext(&error).to_string(),
            },
        }
    }

    /// The error for a failed condition: `rejection` when given, else the condition failure.
    pub(crate) fn or_rejection(self, rejection: Rejection) -> Self {
        match self {
            StoreError::ConditionFailed { .. } => StoreError::Rejected(rejection),
            other => other,
        }
    }
}

impl From<Rejection> for StoreError {
    fn from(rejection: Rejection) -> Self {
        StoreError::Rejected(rejection)
    }
}

/// How many times a retryable failure is tried again before it reaches the caller.
pub(crate) const RETRIES: u32 = 9;

/// The pause before retry `retry` (1-based): full jitter over an exponential ceiling
/// from 20 ms to 1 s, so contenders spread out instead of colliding again.
pub(crate) fn backoff(retry: u32) -> Duration {
    let ceiling = (20u64 << retry.min(6)).min(1_000);
    Duration::from_millis(rand::random_range(ceiling / 4..=ceiling))
}

/// Sends a request until it succeeds, fails for good, or runs out of retries.
pub(crate) async fn retrying<T, E, F, Fut>(
    operation: &'static str,
    mut send: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut retry = 0;
    loop {
        match send().await {
            Ok(output) => return Ok(output),
            Err(error) => {
                let error = StoreError::from_sdk(operation, error);
                if !error.is_retryable() || retry >= RETRIES {
                    return Err(error);
                }
                retry += 1;
                error.count_retry();
                tracing::debug!(%error, retry, "retrying");
                tokio::time::sleep(backoff(retry)).await;
            }
        }
    }
}

/// `.sent()`: a request sent with [`retrying`].
pub(crate) trait Sent {
    type Output;
    fn sent(self) -> impl std::future::Future<Output = Result<Self::Output, StoreError>> + Send;
}

macro_rules! sent {
    ($($builder:path => $output:path, $operation:literal;)*) => {$(
        impl Sent for $builder {
            type Output = $output;
            async fn sent(self) -> Result<Self::Output, StoreError> {
                retrying($operation, || self.clone().send()).await
            }
        }
    )*};
}

sent! {
    operation::get_item::builders::GetItemFluentBuilder => operation::get_item::GetItemOutput, "GetItem";
    operation::put_item::builders::PutItemFluentBuilder => operation::put_item::PutItemOutput, "PutItem";
    operation::update_item::builders::UpdateItemFluentBuilder => operation::update_item::UpdateItemOutput, "UpdateItem";
    operation::delete_item::builders::DeleteItemFluentBuilder => operation::delete_item::DeleteItemOutput, "DeleteItem";
    operation::query::builders::QueryFluentBuilder => operation::query::QueryOutput, "Query";
    operation::batch_get_item::builders::BatchGetItemFluentBuilder => operation::batch_get_item::BatchGetItemOutput, "BatchGetItem";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_second_and_is_jittered() {
        for retry in 1..=RETRIES {
            let pause = backoff(retry);
            assert!(pause <= Duration::from_secs(1), "{pause:?}");
            assert!(pause >= Duration::from_millis(10), "{pause:?}");
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| backoff(6)).collect();
        assert!(spread.len() > 5, "retries of contenders spread out");
    }

    #[test]
    fn conflicts_throttles_and_server_errors_are_retryable_the_rest_is_not() {
        let transient = StoreError::Transient {
            operation: "PutItem",
            code: Some("TransactionConflictException".into()),
            cause: "x".into(),
        };
        assert!(transient.is_retryable());
        assert!(!StoreError::internal("bad item").is_retryable());
        assert!(!StoreError::Rejected(Rejection::Conflict("dup".into())).is_retryable());
        for code in [
            "TransactionConflictException",
            "ProvisionedThroughputExceededException",
            "InternalServerError",
        ] {
            assert!(RETRYABLE_CODES.contains(&code));
        }
        assert!(!RETRYABLE_CODES.contains(&"AccessDeniedException"));
        assert!(!RETRYABLE_REASONS.contains(&"ConditionalCheckFailed"));
    }
}
