//! Atomic multi-item writes. Each write may carry the error a client sees when its
//! condition fails, so uniqueness, quotas and optimistic locking read as domain errors.
//! This is also where an event joins the change that caused it (the outbox).

use super::{Db, failed};
use crate::ApiError;
use aws_sdk_dynamodb::{
    error::ProvideErrorMetadata, operation::transact_write_items::TransactWriteItemsError,
    types::TransactWriteItem,
};

#[derive(Default)]
pub(crate) struct Transaction {
    writes: Vec<TransactWriteItem>,
    on_condition_failed: Vec<Option<ApiError>>,
}

impl Transaction {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a write; `on_condition_failed` is returned if its condition is what failed.
    pub(crate) fn write(
        mut self,
        write: TransactWriteItem,
        on_condition_failed: Option<ApiError>,
    ) -> Self {
        self.writes.push(write);
        self.on_condition_failed.push(on_condition_failed);
        self
    }

    pub(crate) async fn commit(mut self, db: &Db) -> Result<(), ApiError> {
        let result = db
            .client
            .transact_write_items()
            .set_transact_items(Some(std::mem::take(&mut self.writes)))
            .send()
            .await;
        let Err(error) = result else { return Ok(()) };
        let reasons = error
            .as_service_error()
            .and_then(|e| match e {
                TransactWriteItemsError::TransactionCanceledException(canceled) => {
                    Some(canceled.cancellation_reasons().to_vec())
                }
                _ => None,
            })
            .unwrap_or_default();
        for (index, reason) in reasons.iter().enumerate() {
            match reason.code() {
                Some("ConditionalCheckFailed") => {
                    return Err(self
                        .on_condition_failed
                        .get_mut(index)
                        .and_then(Option::take)
                        .unwrap_or_else(|| {
                            ApiError::internal(format!(
                                "unexpected condition failure on write {index}"
                            ))
                        }));
                }
                Some("TransactionConflict") => {
                    return Err(ApiError::ConcurrentChange(
                        "The resource was changed by another request at the same time; retry"
                            .into(),
                    ));
                }
                _ => {}
            }
        }
        if error.code() == Some("TransactionCanceledException") && reasons.is_empty() {
            tracing::warn!("transaction canceled without reasons");
        }
        Err(failed(error))
    }
}
