//! The API keys table: key `key_hash` (what authentication looks up), and the
//! `by_account` index (`account_id`, `id`) for listing and managing an account's keys.

use super::{
    Db, Rejection, StoreError, Transaction,
    error::Sent,
    from_item,
    paging::{Filter, Listing},
    s, to_item,
};
use crate::t;
use crate::{
    Mode, Timestamp,
    account::ApiKey,
    ids::{AccountId, ApiKeyId},
    pagination::{Page, PageRequest},
};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

pub const BY_ACCOUNT_INDEX: &str = "by_account";

/// The key with this hash, read consistently (a key works as soon as it is created).
pub async fn find_by_hash(db: &Db, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.tables.api_keys)
        .key("key_hash", s(key_hash))
        .consistent_read(true)
        .sent()
        .await?;
    out.item.map(from_item).transpose()
}

/// Whether the key with this hash still exists, and when it ends (a rolled key in its
/// grace period): one strongly consistent read of two small attributes, so a key
/// revoked or rolled a moment ago is seen as such by every warm function.
pub async fn standing(db: &Db, key_hash: &str) -> Result<Option<Standing>, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.tables.api_keys)
        .key("key_hash", s(key_hash))
        .projection_expression("key_hash, expires_at")
        .consistent_read(true)
        .sent()
        .await?;
    out.item.map(from_item).transpose()
}

/// What [`standing`] reads of a key.
#[derive(Debug, serde::Deserialize)]
pub struct Standing {
    /// Set once the key was rolled with a grace period.
    pub expires_at: Option<Timestamp>,
}

pub(crate) fn put(db: &Db, key: &ApiKey) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(&db.tables.api_keys)
                .set_item(Some(to_item(key)?))
                .condition_expression("attribute_not_exists(key_hash)")
                .build()
                .map_err(StoreError::internal)?,
        )
        .build())
}

pub async fn create(db: &Db, key: &ApiKey) -> Result<(), StoreError> {
    Transaction::new()
        .write(
            put(db, key)?,
            Some(Rejection::Conflict(t!("Key already exists"))),
        )
        .commit(db)
        .await
}

fn listing<'a>(db: &'a Db, account_id: &str, sort_prefix: &'a str, filter: Filter) -> Listing<'a> {
    Listing {
        table: &db.tables.api_keys,
        index: Some(BY_ACCOUNT_INDEX),
        partition_attribute: "account_id",
        partition: account_id.to_string(),
        sort_attribute: "id",
        sort_prefix,
        sort_from: None,
        filter,
    }
}

/// An account's current keys (rolled-out ones hidden), newest first; `mode` narrows.
pub async fn list(
    db: &Db,
    account_id: &str,
    mode: Option<Mode>,
    page: PageRequest,
) -> Result<Page<ApiKey>, StoreError> {
    let mut filter = Filter::default().clause(
        "#superseded <> :true",
        &[("#superseded", "superseded")],
        vec![(":true", aws_sdk_dynamodb::types::AttributeValue::Bool(true))],
    );
    if let Some(mode) = mode {
        filter = filter.clause(
            "#mode = :mode",
            &[("#mode", "mode")],
            vec![(":mode", s(mode.as_str()))],
        );
    }
    listing(db, account_id, ApiKeyId::PREFIX, filter)
        .fetch(db, page, None)
        .await
}

/// Every stored item of one key id: one, or two while a rolled key is in its grace period.
pub async fn versions(
    db: &Db,
    account_id: &AccountId,
    key_id: &ApiKeyId,
) -> Result<Vec<ApiKey>, StoreError> {
    let out = db
        .client
        .query()
        .table_name(&db.tables.api_keys)
        .index_name(BY_ACCOUNT_INDEX)
        .key_condition_expression("account_id = :a AND id = :i")
        .expression_attribute_values(":a", s(account_id))
        .expression_attribute_values(":i", s(key_id))
        .sent()
        .await?;
    out.items
        .unwrap_or_default()
        .into_iter()
        .map(from_item)
        .collect()
}

fn delete(db: &Db, key: &ApiKey) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .delete(
            Delete::builder()
                .table_name(&db.tables.api_keys)
                .key("key_hash", s(&key.key_hash))
                .condition_expression("attribute_exists(key_hash)")
                .build()
                .map_err(StoreError::internal)?,
        )
        .build())
}

/// Deletes every version of a key at once.
pub async fn revoke(db: &Db, versions: &[ApiKey]) -> Result<(), StoreError> {
    let mut transaction = Transaction::new();
    for key in versions {
        transaction = transaction.write(delete(db, key)?, Some(Rejection::NotFound("API key")));
    }
    transaction.commit(db).await
}

/// Replaces `old` by `new` atomically. The old key is deleted, or with `expires_at`
/// kept working until then; rolling the same key twice at once fails for one of them.
pub async fn roll(
    db: &Db,
    old: &ApiKey,
    new: &ApiKey,
    expires_at: Option<Timestamp>,
) -> Result<(), StoreError> {
    let conflict = || Rejection::Conflict(t!("The key was changed by another request; retry"));
    let retire = match expires_at {
        None => delete(db, old)?,
        Some(at) => TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(&db.tables.api_keys)
                    .key("key_hash", s(&old.key_hash))
                    .update_expression(
                        "SET superseded = :true, expires_at = :at, expires_at_epoch = :epoch",
                    )
                    .condition_expression("attribute_exists(key_hash) AND superseded = :false")
                    .expression_attribute_values(
                        ":true",
                        aws_sdk_dynamodb::types::AttributeValue::Bool(true),
                    )
                    .expression_attribute_values(
                        ":false",
                        aws_sdk_dynamodb::types::AttributeValue::Bool(false),
                    )
                    .expression_attribute_values(":at", s(at.to_string()))
                    .expression_attribute_values(":epoch", super::n(at.as_epoch_seconds()))
                    .build()
                    .map_err(StoreError::internal)?,
            )
            .build(),
    };
    Transaction::new()
        .write(retire, Some(conflict()))
        .write(put(db, new)?, Some(conflict()))
        .commit(db)
        .await
}
