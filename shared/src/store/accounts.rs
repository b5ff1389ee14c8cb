//! The accounts table: key `id`. Holds accounts and, under `email#<email>`, a guard
//! item that keeps emails unique. Child accounts carry `parent_id`, which the sparse
//! `by_parent` index lists them by; a holding account counts its children
//! (`children`), so their number is bounded in the write that adds one.

use super::{Db, Rejection, StoreError, Transaction, error::Sent, from_item, s, to_item};
use crate::t;
use crate::{
    account::{Account, ApiKey},
    keyring::SealedSecrets,
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

fn email_guard_id(email: &str) -> String {
    format!("email#{}", email.to_ascii_lowercase())
}

const BY_PARENT_INDEX: &str = "by_parent";

/// Creates an account and its first keys at once; 409 if the email already has one.
pub async fn create(db: &Db, account: &Account, keys: &[ApiKey]) -> Result<(), StoreError> {
    create_with(db, account, keys, None).await
}

/// Creates `child` (whose `parent_id` is set) with no keys, and counts it on its
/// parent, at once: refused if the parent is itself a child, closed, or has `max`
/// children already.
pub async fn create_child(db: &Db, child: &Account, max: u32) -> Result<(), StoreError> {
    let parent = child
        .parent_id
        .as_ref()
        .ok_or_else(|| StoreError::internal("a child account needs its parent"))?;
    let count = Update::builder()
        .table_name(&db.tables.accounts)
        .key("id", s(parent))
        .update_expression("SET children = if_not_exists(children, :zero) + :one")
        .condition_expression(
            "attribute_exists(id) AND attribute_not_exists(parent_id) \
             AND attribute_not_exists(closed_at) \
             AND (attribute_not_exists(children) OR children < :max)",
        )
        .expression_attribute_values(":zero", super::n(0))
        .expression_attribute_values(":one", super::n(1))
        .expression_attribute_values(":max", super::n(max))
        .build()
        .map_err(StoreError::internal)?;
    let refusal = Rejection::Invalid(t!(
        "A child account cannot have children of its own, and an account has at most {max} children",
        max
    ));
    create_with(
        db,
        child,
        &[],
        Some((TransactWriteItem::builder().update(count).build(), refusal)),
    )
    .await
}

async fn create_with(
    db: &Db,
    account: &Account,
    keys: &[ApiKey],
    also: Option<(TransactWriteItem, Rejection)>,
) -> Result<(), StoreError> {
    let table = &db.tables.accounts;
    let put = |item| -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(id)")
                    .build()
                    .map_err(StoreError::internal)?,
            )
            .build())
    };
    let mut guard = std::collections::HashMap::new();
    guard.insert("id".to_string(), s(email_guard_id(&account.email)));
    guard.insert("account_id".to_string(), s(&account.id));
    let mut transaction = Transaction::new();
    if let Some((write, refusal)) = also {
        transaction = transaction.write(write, Some(refusal));
    }
    for key in keys {
        transaction = transaction.write(
            super::api_keys::put(db, key)?,
            Some(Rejection::Conflict(t!("Key already exists"))),
        );
    }
    transaction
        .write(
            put(to_item(account)?)?,
            Some(Rejection::Conflict(t!("Account id already exists"))),
        )
        .write(
            put(guard)?,
            Some(Rejection::Conflict(t!(
                "An account with email {email} already exists",
                email = account.email
            ))),
        )
        .commit(db)
        .await
}

pub async fn get(db: &Db, id: &crate::ids::AccountId) -> Result<Option<Account>, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.tables.accounts)
        .key("id", s(id))
        .consistent_read(true)
        .sent()
        .await?;
    out.item.map(from_item).transpose()
}

/// `parent`'s child accounts, newest first, a page at a time.
pub async fn children(
    db: &Db,
    parent: &crate::ids::AccountId,
    page: crate::pagination::PageRequest,
) -> Result<crate::pagination::Page<Account>, StoreError> {
    super::paging::Listing {
        table: &db.tables.accounts,
        index: Some(BY_PARENT_INDEX),
        partition_attribute: "parent_id",
        partition: parent.to_string(),
        sort_attribute: "id",
        sort_prefix: crate::ids::AccountId::PREFIX,
        sort_from: None,
        filter: super::paging::Filter::default(),
    }
    .fetch(db, page, None)
    .await
}

/// Closes `parent`'s child `child`: `false` if it is not theirs or already closed.
pub async fn close_child(
    db: &Db,
    parent: &crate::ids::AccountId,
    child: &crate::ids::AccountId,
    at: crate::Timestamp,
) -> Result<bool, StoreError> {
    let closed = db
        .client
        .update_item()
        .table_name(&db.tables.accounts)
        .key("id", s(child))
        .update_expression("SET closed_at = :at")
        .condition_expression("parent_id = :parent AND attribute_not_exists(closed_at)")
        .expression_attribute_values(":parent", s(parent))
        .expression_attribute_values(":at", super::to_value(&at)?)
        .sent()
        .await;
    match closed {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(other) => Err(other),
    }
}

/// The account that owns `email`, if any.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<Account>, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.tables.accounts)
        .key("id", s(email_guard_id(email)))
        .consistent_read(true)
        .sent()
        .await?;
    let Some(account_id) = out.item.and_then(|item| {
        let text = item.get("account_id")?.as_s().ok()?;
        crate::ids::AccountId::parse(text).ok()
    }) else {
        return Ok(None);
    };
    get(db, &account_id).await
}

/// Stores new sealed webhook secrets for one mode of an account, if they are still
/// `before` (two rotations at once would otherwise lose one).
pub async fn set_webhook_secret(
    db: &Db,
    account_id: &crate::ids::AccountId,
    mode: crate::Mode,
    before: &SealedSecrets,
    secrets: &SealedSecrets,
) -> Result<(), StoreError> {
    let update = Update::builder()
        .table_name(&db.tables.accounts)
        .key("id", s(account_id))
        .update_expression("SET #f = :v")
        .condition_expression("attribute_exists(id) AND #f = :before")
        .expression_attribute_names("#f", format!("webhook_secret_{mode}"))
        .expression_attribute_values(":before", s(before.as_str()))
        .expression_attribute_values(":v", super::to_value(secrets)?)
        .build()
        .map_err(StoreError::internal)?;
    // The dispatcher keeps the secrets it opened until this version moves.
    let tenant = crate::Tenant::new(account_id.clone(), mode);
    Transaction::new()
        .write(
            TransactWriteItem::builder().update(update).build(),
            Some(Rejection::Changed(t!(
                "The account's webhook secret was rotated by another request at the same time; retry"
            ))),
        )
        .write(super::endpoints::config_bump(db, &tenant)?, None)
        .commit(db)
        .await
}

/// Sets the account's ed25519 signing keys of `mode` (sealed) and their public halves,
/// if the sealed keys are still `before` (`None`: the account has none yet); moves the
/// tenant's delivery configuration version, so dispatchers sign with the new ones.
pub async fn set_signing_keys(
    db: &Db,
    account_id: &crate::ids::AccountId,
    mode: crate::Mode,
    before: Option<&SealedSecrets>,
    sealed: &SealedSecrets,
    published: &crate::secrets::SigningSecrets,
) -> Result<(), StoreError> {
    let mut update = Update::builder()
        .table_name(&db.tables.accounts)
        .key("id", s(account_id))
        .update_expression("SET #keys = :keys, #public = :public")
        .expression_attribute_names("#keys", format!("signing_keys_{mode}"))
        .expression_attribute_names("#public", format!("public_keys_{mode}"))
        .expression_attribute_values(":keys", super::to_value(sealed)?)
        .expression_attribute_values(":public", super::to_value(published)?);
    update = match before {
        Some(before) => update
            .condition_expression("attribute_exists(id) AND #keys = :before")
            .expression_attribute_values(":before", s(before.as_str())),
        None => update.condition_expression("attribute_exists(id) AND attribute_not_exists(#keys)"),
    };
    let update = update.build().map_err(StoreError::internal)?;
    let tenant = crate::Tenant::new(account_id.clone(), mode);
    Transaction::new()
        .write(
            TransactWriteItem::builder().update(update).build(),
            Some(Rejection::Changed(t!(
                "The account's signing keys were changed by another request at the same time; retry"
            ))),
        )
        .write(super::endpoints::config_bump(db, &tenant)?, None)
        .commit(db)
        .await
}
