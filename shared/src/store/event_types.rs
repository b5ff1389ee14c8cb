//! Custom event types a tenant registered, kept in the events table under
//! `type#<name>` in the tenant's partition.

use super::{
    Db, Rejection, StoreError,
    error::Sent,
    keyed_item,
    paging::{Filter, Listing},
    s,
};
use crate::t;
use crate::{
    Tenant, Timestamp,
    pagination::{Page, PageRequest},
};
use serde::{Deserialize, Serialize};

const TYPE_PREFIX: &str = "type#";

/// A registered custom event type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = EventTypeDefinition)]
pub struct EventTypeRecord {
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
}

fn key(name: &str) -> String {
    format!("{TYPE_PREFIX}{name}")
}

/// Registers a type; 409 if the tenant already has it.
pub async fn create(db: &Db, tenant: &Tenant, record: &EventTypeRecord) -> Result<(), StoreError> {
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
        .sent()
        .await;
    result.map(drop).map_err(|e| {
        e.or_rejection(Rejection::Conflict(t!(
            "Event type {name} is already registered",
            name = record.name
        )))
    })
}

/// Which of `names` the tenant registered: one `BatchGetItem` per 100 names (keys only),
/// not a read each.
pub async fn registered(
    db: &Db,
    tenant: &Tenant,
    names: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    use aws_sdk_dynamodb::types::KeysAndAttributes;
    let partition = tenant.partition();
    let mut found = std::collections::HashSet::new();
    for chunk in names.chunks(100) {
        let keys = chunk
            .iter()
            .map(|name| {
                [
                    ("pk".to_string(), s(&partition)),
                    ("sk".to_string(), s(key(name))),
                ]
                .into()
            })
            .collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .projection_expression("sk")
                .consistent_read(true)
                .build()
                .map_err(StoreError::internal)?,
        );
        // Keys DynamoDB leaves unprocessed (throttling) are asked for again.
        for _ in 0..5 {
            let Some(wanted) = request.take() else { break };
            let out = db
                .client
                .batch_get_item()
                .request_items(&db.tables.events, wanted)
                .sent()
                .await?;
            for item in out
                .responses
                .and_then(|mut tables| tables.remove(&db.tables.events))
                .unwrap_or_default()
            {
                if let Some(name) = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|sk| sk.strip_prefix(TYPE_PREFIX))
                {
                    found.insert(name.to_string());
                }
            }
            request = out
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&db.tables.events));
        }
        if request.is_some() {
            return Err(StoreError::Transient {
                operation: "BatchGetItem",
                code: None,
                cause: "keys left unprocessed".into(),
            });
        }
    }
    Ok(found)
}

pub async fn get(
    db: &Db,
    tenant: &Tenant,
    name: &str,
) -> Result<Option<EventTypeRecord>, StoreError> {
    super::get_keyed(db, &db.tables.events, &tenant.partition(), &key(name)).await
}

/// Registered types, by name (reverse order, as every list here is newest-key first).
pub async fn list(
    db: &Db,
    tenant: &Tenant,
    page: PageRequest,
) -> Result<Page<EventTypeRecord>, StoreError> {
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
pub async fn delete(db: &Db, tenant: &Tenant, name: &str) -> Result<bool, StoreError> {
    let result = db
        .client
        .delete_item()
        .table_name(&db.tables.events)
        .key("pk", s(tenant.partition()))
        .key("sk", s(key(name)))
        .condition_expression("attribute_exists(pk)")
        .sent()
        .await;
    super::conditional(result)
}
