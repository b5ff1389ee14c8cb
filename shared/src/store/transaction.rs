//! Atomic multi-item writes. Each write may carry the [`Rejection`] a client sees when
//! its condition fails, so uniqueness, quotas and optimistic locking read as domain
//! errors. A transaction cancelled only by what passes (a conflict with another one in
//! flight, throttling) is sent again. This is also where an event joins the change that
//! caused it (the outbox), and where a request's Idempotency-Key is marked as used by
//! the change it made (see [`super::requests::HeldKey`]).

use super::{
    Db,
    error::{RETRIES, RETRYABLE_REASONS, Rejection, StoreError, backoff},
};
use crate::t;
use aws_sdk_dynamodb::{
    operation::transact_write_items::TransactWriteItemsError, types::TransactWriteItem,
};

/// DynamoDB's limit of writes in one transaction.
const MAX_WRITES: usize = 100;

#[derive(Clone, Default)]
pub(crate) struct Transaction {
    writes: Vec<TransactWriteItem>,
    on_condition_failed: Vec<Option<Rejection>>,
}

impl Transaction {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a write; `on_condition_failed` is returned if its condition is what failed.
    pub(crate) fn write(
        mut self,
        write: TransactWriteItem,
        on_condition_failed: Option<Rejection>,
    ) -> Self {
        self.writes.push(write);
        self.on_condition_failed.push(on_condition_failed);
        self
    }

    pub(crate) async fn commit(mut self, db: &Db) -> Result<(), StoreError> {
        let held = super::requests::HeldKey::current().filter(|_| self.writes.len() < MAX_WRITES);
        if let Some(held) = &held {
            self = self.write(
                super::requests::mark_committed(db, held.id(), held.token()),
                Some(Rejection::Conflict(t!(
                    "Another request with this Idempotency-Key is in progress"
                ))),
            );
        }
        let mut request = db
            .client
            .transact_write_items()
            .set_transact_items(Some(self.writes.clone()));
        let mut retry = 0;
        loop {
            let Err(error) = request.clone().send().await else {
                if let Some(held) = &held {
                    held.mark_committed();
                }
                return Ok(());
            };
            let reasons: Vec<Option<String>> = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            if let Some(index) = reasons
                .iter()
                .position(|code| code.as_deref() == Some("ConditionalCheckFailed"))
            {
                return Err(
                    match self
                        .on_condition_failed
                        .get_mut(index)
                        .and_then(Option::take)
                    {
                        Some(rejection) => StoreError::Rejected(rejection),
                        None => StoreError::internal(format!(
                            "unexpected condition failure on write {index}"
                        )),
                    },
                );
            }
            let error = if reasons.is_empty() {
                StoreError::from_sdk("TransactWriteItems", error)
            } else if reasons
                .iter()
                .flatten()
                .any(|code| RETRYABLE_REASONS.contains(&code.as_str()))
            {
                StoreError::Transient {
                    operation: "TransactWriteItems",
                    code: Some("TransactionCanceledException".into()),
                    cause: format!("cancelled: {reasons:?}"),
                }
            } else {
                StoreError::Failed {
                    operation: "TransactWriteItems",
                    code: Some("TransactionCanceledException".into()),
                    cause: format!("cancelled: {reasons:?}"),
                }
            };
            if !error.is_retryable() || retry >= RETRIES {
                return Err(error);
            }
            retry += 1;
            error.count_retry();
            tracing::debug!(%error, retry, "retrying a transaction");
            tokio::time::sleep(backoff(retry)).await;
            // A conflict on a count's shard is not met again on the same shard.
            let writes = self.writes.iter().map(super::counters::on_another_shard);
            request = request.set_transact_items(Some(writes.collect()));
        }
    }
}
