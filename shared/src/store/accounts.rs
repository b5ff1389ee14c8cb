//! The accounts table: key `id`. Holds accounts and, under `email#<email>`, a guard
//! item that keeps emails unique.

use super::{Db, Rejection, StoreError, Transaction, error::Sent, from_item, s, to_item};
use crate::{
    account::{Account, ApiKey},
    keyring::SealedSecrets,
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};

fn email_guard_id(email: &str) -> String {
    format!("email#{}", email.to_ascii_lowercase())
}

/// Creates an account and its first keys at once; 409 if the email already has one.
pub async fn create(db: &Db, account: &Account, keys: &[ApiKey]) -> Result<(), StoreError> {
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
    for key in keys {
        transaction = transaction.write(
            super::api_keys::put(db, key)?,
            Some(Rejection::Conflict("Key already exists".into())),
        );
    }
    transaction
        .write(
            put(to_item(account)?)?,
            Some(Rejection::Conflict("Account id already exists".into())),
        )
        .write(
            put(guard)?,
            Some(Rejection::Conflict(format!(
                "An account with email {} already exists",
                account.email
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
            Some(Rejection::Changed(
                "The account's webhook secret was rotated by another request at the same time; retry"
                    .into(),
            )),
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
            Some(Rejection::Changed(
                "The account's signing keys were changed by another request at the same time; retry"
                    .into(),
            )),
        )
        .write(super::endpoints::config_bump(db, &tenant)?, None)
        .commit(db)
        .await
}
