//! DynamoDB access, one module per table. Every function that reads or writes
//! tenant data takes a [`crate::Tenant`]; items are partitioned by it.

pub mod accounts;
pub mod api_keys;
mod counters;
pub mod endpoints;
pub mod error;
pub mod event_types;
pub mod events;
pub mod lanes;
pub mod logs;
pub mod media;
pub mod orders;
pub mod pacing;
mod paging;
pub mod portal;
pub mod requests;
pub mod resources;
mod sequences;
pub mod stats;
mod transaction;

use crate::config::Tables;
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use error::Sent;
use serde::{Serialize, de::DeserializeOwned};
use std::collections::HashMap;

pub use error::{Rejection, StoreError};
pub(crate) use transaction::Transaction;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The DynamoDB client and the physical table names.
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) client: Client,
    pub tables: Tables,
}

impl Db {
    pub fn new(client: Client, tables: Tables) -> Self {
        Db { client, tables }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(StoreError::internal)
}

/// `value` as an item with the table's key attributes added.
pub(crate) fn keyed_item<T: Serialize>(pk: &str, sk: &str, value: &T) -> Result<Item, StoreError> {
    let mut item = to_item(value)?;
    item.insert("pk".into(), s(pk));
    item.insert("sk".into(), s(sk));
    Ok(item)
}

pub(crate) fn to_value<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(StoreError::internal)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(StoreError::internal)
}

/// A number attribute of `item`, if it is there and reads as a `T`.
pub(crate) fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// The outcome of a conditional write: `Ok(false)` when its condition failed.
pub(crate) fn conditional<O>(result: Result<O, StoreError>) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(other) => Err(other),
    }
}

/// The item of a `pk`/`sk` table, read consistently.
pub(crate) async fn get_keyed<T: DeserializeOwned>(
    db: &Db,
    table: &str,
    pk: &str,
    sk: &str,
) -> Result<Option<T>, StoreError> {
    get_item(db, table, pk, sk)
        .await?
        .map(from_item)
        .transpose()
}

/// The raw item of a `pk`/`sk` table, read consistently.
pub(crate) async fn get_item(
    db: &Db,
    table: &str,
    pk: &str,
    sk: &str,
) -> Result<Option<Item>, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .consistent_read(true)
        .sent()
        .await?;
    Ok(out.item)
}
