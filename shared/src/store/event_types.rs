//! Custom event types a tenant registered, kept in the events table under
//! `type#<name>` in the tenant's partition.

use super::{
    Db, failed, is_condition_failure, keyed_item,
    paging::{Filter, Listing},
    s,
};
use crate::{
    ApiError, Tenant, Timestamp,
    pagination::{Page, PageRequest},
};
use serde::{Deserialize, Serialize};

const TYPE_PREFIX: &str = "type#";

/// A registered custom event type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeRecord {
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
}

fn key(name: &str) -> String {
    format!("{TYPE_PREFIX}{name}")
}

/// Registers a type; 409 if the tenant already has it.
pub async fn create(db: &Db, tenant: &Tenant, record: &EventTypeRecord) -> Result<(), ApiError> {
    let result = db
        .client
        .put_item()
        .table_name(&db.tables.events)
        .set_item(Some(keyed_item(
            &tenant.partition(),
            &key(&record.name),
            record,
        )?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_condition_failure(&e) => Err(ApiError::Conflict(format!(
            "Event type {} is already registered",
            record.name
        ))),
        Err(e) => Err(failed(e)),
    }
}

pub async fn get(
    db: &Db,
    tenant: &Tenant,
    name: &str,
) -> Result<Option<EventTypeRecord>, ApiError> {
    super::get_keyed(db, &db.tables.events, &tenant.partition(), &key(name)).await
}

/// Registered types, by name (reverse order, as every list here is newest-key first).
pub async fn list(
    db: &Db,
    tenant: &Tenant,
    page: PageRequest,
) -> Result<Page<EventTypeRecord>, ApiError> {
    Listing {
        table: &db.tables.events,
        index: None,
        partition_attribute: "pk",
        partition: tenant.partition(),
        sort_attribute: "sk",
        sort_prefix: TYPE_PREFIX,
        sort_from: None,
        filter: Filter::default(),
    }
    .fetch(db, page, None)
    .await
}

/// Removes a type; `false` if it was not registered.
pub async fn delete(db: &Db, tenant: &Tenant, name: &str) -> Result<bool, ApiError> {
    let result = db
        .client
        .delete_item()
        .table_name(&db.tables.events)
        .key("pk", s(tenant.partition()))
        .key("sk", s(key(name)))
        .condition_expression("attribute_exists(pk)")
        .send()
        .await;
    super::conditional(result)
}
