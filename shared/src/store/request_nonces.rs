//! The replay cache of signed requests: key `signature`, expired by TTL.

use super::{Db, failed, is_condition_failure, n, s};
use crate::{ApiError, Timestamp};

/// Records a request signature; `false` if it was seen before (a replay).
pub async fn claim(db: &Db, signature: &str, forget_after: Timestamp) -> Result<bool, ApiError> {
    let result = db
        .client
        .put_item()
        .table_name(&db.tables.request_nonces)
        .item("signature", s(signature))
        .item("expires_at_epoch", n(forget_after.as_epoch_seconds() + 1))
        .condition_expression("attribute_not_exists(signature)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(failed(e)),
    }
}
