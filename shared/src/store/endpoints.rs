//! The endpoints table: key (`pk` = tenant, `sk`). Holds endpoints (`ep_...`), one
//! URL guard per endpoint (`url#<identity>`, keeps URLs unique per tenant) and the
//! tenant's counter (`#count`: exact list totals, and the quota, enforced atomically)
//! and the serial that numbers endpoints of dialects with integer ids (`#serial`).

use super::{
    Db, Rejection, StoreError, Transaction,
    counters::{Quota, read_total, total_write},
    error::Sent,
    from_item, keyed_item, n,
    paging::{Filter, Listing},
    s, to_value,
};
use crate::t;
use crate::{
    Tenant, Timestamp,
    ids::EndpointId,
    keyring::SealedSecrets,
    pagination::{Page, PageRequest},
    webhooks::{DeliveryOrder, Endpoint, EventSelector, WebhookUrl},
};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};

fn url_guard_key(url: &WebhookUrl) -> String {
    format!("url#{}", url.identity())
}

fn duplicate_url() -> Rejection {
    Rejection::Conflict(t!("An endpoint with this URL already exists"))
}

fn changed_concurrently() -> Rejection {
    Rejection::Changed(t!(
        "The endpoint was changed by another request at the same time; retry"
    ))
}

fn put_new(table: &str, item: super::Item, key: &str) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression(format!("attribute_not_exists({key})"))
                .build()
                .map_err(StoreError::internal)?,
        )
        .build())
}

/// The tenant's delivery configuration version: every change to what the dispatcher
/// sends where, or signs with (an endpoint's URL, events, filter, headers, state and
/// secrets; the account's webhook secret), moves it in the same transaction. A warm
/// dispatcher keeps the endpoint list and secrets it loaded and reads only this.
const CONFIG: &str = "#config";

/// The write that moves the tenant's delivery configuration version.
pub(crate) fn config_bump(db: &Db, tenant: &Tenant) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(&db.tables.endpoints)
        .key("pk", s(tenant.partition()))
        .key("sk", s(CONFIG))
        .update_expression("ADD version :one")
        .expression_attribute_values(":one", n(1))
        .build()
        .map_err(StoreError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The tenant's delivery configuration version, read consistently (0 before any change).
pub async fn config_version(db: &Db, tenant: &Tenant) -> Result<u64, StoreError> {
    let item = super::get_item(db, &db.tables.endpoints, &tenant.partition(), CONFIG).await?;
    Ok(item
        .as_ref()
        .and_then(|item| super::number(item, "version"))
        .unwrap_or(0))
}

fn delete_key(
    table: &str,
    pk: &str,
    sk: &str,
    condition: Option<(&str, u64)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut delete = Delete::builder()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s(sk));
    if let Some((expression, revision)) = condition {
        delete = delete
            .condition_expression(expression)
            .expression_attribute_values(":rev", n(revision));
    }
    Ok(TransactWriteItem::builder()
        .delete(delete.build().map_err(StoreError::internal)?)
        .build())
}

fn url_guard(tenant: &Tenant, endpoint: &Endpoint) -> super::Item {
    let mut guard = super::Item::new();
    guard.insert("pk".into(), s(tenant.partition()));
    guard.insert("sk".into(), s(url_guard_key(&endpoint.url)));
    guard.insert("endpoint_id".into(), s(&endpoint.id));
    guard
}

/// The URL as responses show it (credentials masked): what the `url` filter searches,
/// so a filter cannot probe a password that no response reveals.
const URL_SHOWN: &str = "url_shown";

fn endpoint_item(partition: &str, endpoint: &Endpoint) -> Result<super::Item, StoreError> {
    let mut item = keyed_item(partition, &endpoint.id, endpoint)?;
    item.insert(URL_SHOWN.into(), s(endpoint.url.masked()));
    Ok(item)
}

/// Saves a new endpoint: 409 for a URL the tenant already uses, 400 past `max`.
pub async fn create(
    db: &Db,
    tenant: &Tenant,
    endpoint: &Endpoint,
    max: u32,
) -> Result<(), StoreError> {
    let table = &db.tables.endpoints;
    let partition = tenant.partition();
    Transaction::new()
        .write(
            put_new(table, endpoint_item(&partition, endpoint)?, "pk")?,
            Some(Rejection::Conflict(t!("Endpoint id already exists"))),
        )
        .write(
            put_new(table, url_guard(tenant, endpoint), "pk")?,
            Some(duplicate_url()),
        )
        .write(
            total_write(table, &partition, 1, Quota::Limited(Some(u64::from(max))))?,
            Some(Rejection::Invalid(t!(
                "Endpoints limit reached (maximum is {max} per account and mode)",
                max
            ))),
        )
        .write(config_bump(db, tenant)?, None)
        .with_ordered(db, tenant, ordered(endpoint))?
        .commit(db)
        .await
}

/// What an endpoint adds to its tenant's count of ordered endpoints.
fn ordered(endpoint: &Endpoint) -> i64 {
    i64::from(endpoint.ordering == DeliveryOrder::Resource)
}

impl Transaction {
    /// Moves the tenant's count of ordered endpoints by `delta`, if it moves: what tells
    /// a commit whether to number its events (`store::sequences`).
    fn with_ordered(self, db: &Db, tenant: &Tenant, delta: i64) -> Result<Self, StoreError> {
        if delta == 0 {
            return Ok(self);
        }
        let write = super::sequences::ordered_endpoints_write(db, tenant, delta)?;
        Ok(self.write(write, None))
    }
}

pub async fn get(
    db: &Db,
    tenant: &Tenant,
    id: &EndpointId,
) -> Result<Option<Endpoint>, StoreError> {
    super::get_keyed(db, &db.tables.endpoints, &tenant.partition(), id).await
}

/// Narrows a list of endpoints.
#[derive(Debug, Default)]
pub struct EndpointFilter {
    /// URL contains this text.
    pub url: Option<String>,
    pub enabled: Option<bool>,
    /// Subscribed to this selector (endpoints with `*` match every event type).
    pub event: Option<EventSelector>,
}

pub async fn list(
    db: &Db,
    tenant: &Tenant,
    filter: &EndpointFilter,
    page: PageRequest,
) -> Result<Page<Endpoint>, StoreError> {
    let mut conditions = Filter::default();
    if let Some(url) = &filter.url {
        conditions = conditions.clause(
            "contains(#shown, :url)",
            &[("#shown", URL_SHOWN)],
            vec![(":url", s(url))],
        );
    }
    if let Some(enabled) = filter.enabled {
        conditions = conditions.clause(
            "#enabled = :enabled",
            &[("#enabled", "enabled")],
            vec![(":enabled", AttributeValue::Bool(enabled))],
        );
    }
    if let Some(event) = &filter.event {
        conditions = conditions.clause(
            "(contains(#events, :event) OR contains(#events, :all))",
            &[("#events", "events")],
            vec![
                (":event", s(event.to_string())),
                (":all", s(EventSelector::All.to_string())),
            ],
        );
    }
    let listing = listing(db, tenant, conditions);
    let counter = if listing_is_unfiltered(filter) {
        Some(read_total(db, &db.tables.endpoints, &tenant.partition()).await?)
    } else {
        None
    };
    listing.fetch(db, page, counter).await
}

/// The tenant's endpoints that `filter` keeps.
fn listing<'a>(db: &'a Db, tenant: &Tenant, filter: Filter) -> Listing<'a> {
    Listing {
        table: &db.tables.endpoints,
        index: None,
        partition_attribute: "pk",
        partition: tenant.partition(),
        sort_attribute: "sk",
        sort_prefix: EndpointId::PREFIX,
        sort_from: None,
        filter,
    }
}

fn listing_is_unfiltered(filter: &EndpointFilter) -> bool {
    filter.url.is_none() && filter.enabled.is_none() && filter.event.is_none()
}

/// Writes the client-editable fields of `after` over `before`, atomically moving the
/// URL guard when the URL changed. 409 if the endpoint changed since `before` was read.
pub async fn update(
    db: &Db,
    tenant: &Tenant,
    before: &Endpoint,
    after: &Endpoint,
) -> Result<(), StoreError> {
    let table = &db.tables.endpoints;
    let partition = tenant.partition();
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(&partition))
        .key("sk", s(&before.id))
        .update_expression(
            "SET #url = :url, #shown = :shown, description = :description, enabled = :enabled, events = :events, \
             #filter = :filter, headers = :headers, signature_scheme = :scheme, legacy_signature = :legacy, \
             #payload = :payload, \
             rate_limit = :rate_limit, ordering = :ordering, on_exhausted = :on_exhausted, \
             events_from = :events_from, updated_at = :updated_at ADD revision :one",
        )
        .condition_expression("revision = :rev")
        .expression_attribute_names("#url", "url")
        .expression_attribute_names("#shown", URL_SHOWN)
        .expression_attribute_names("#filter", "filter")
        .expression_attribute_names("#payload", "payload")
        .expression_attribute_values(":scheme", to_value(&after.signature_scheme)?)
        .expression_attribute_values(":legacy", AttributeValue::Bool(after.legacy_signature))
        .expression_attribute_values(":events_from", to_value(&after.events_from)?)
        .expression_attribute_values(":payload", to_value(&after.payload)?)
        .expression_attribute_values(":rate_limit", to_value(&after.rate_limit)?)
        .expression_attribute_values(":ordering", to_value(&after.ordering)?)
        .expression_attribute_values(":on_exhausted", to_value(&after.on_exhausted)?)
        .expression_attribute_values(":url", to_value(&after.url)?)
        .expression_attribute_values(":shown", s(after.url.masked()))
        .expression_attribute_values(":description", to_value(&after.description)?)
        .expression_attribute_values(":enabled", AttributeValue::Bool(after.enabled))
        .expression_attribute_values(":events", to_value(&after.events)?)
        .expression_attribute_values(":filter", to_value(&after.filter)?)
        .expression_attribute_values(":headers", to_value(&after.headers)?)
        .expression_attribute_values(":updated_at", to_value(&after.updated_at)?)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":rev", n(before.revision))
        .build()
        .map_err(StoreError::internal)?;
    let mut transaction = Transaction::new()
        .write(
            TransactWriteItem::builder().update(update).build(),
            Some(changed_concurrently()),
        )
        .write(config_bump(db, tenant)?, None)
        .with_ordered(db, tenant, ordered(after) - ordered(before))?;
    if before.url.identity() != after.url.identity() {
        transaction = transaction
            .write(
                delete_key(table, &partition, &url_guard_key(&before.url), None)?,
                None,
            )
            .write(
                put_new(table, url_guard(tenant, after), "pk")?,
                Some(duplicate_url()),
            );
    }
    transaction.commit(db).await
}

/// Enables or disables an endpoint. Enabling clears the error counters and the block.
pub async fn set_enabled(
    db: &Db,
    tenant: &Tenant,
    id: &EndpointId,
    enabled: bool,
    now: Timestamp,
) -> Result<Option<Endpoint>, StoreError> {
    // Each bumps the revision, so a PUT of the version read before does not undo it.
    let expression = if enabled {
        "SET enabled = :enabled, updated_at = :now, error_count = :zero, blocked_by_error_count = :false \
         REMOVE error_first_at, error_last_at ADD revision :one"
    } else {
        "SET enabled = :enabled, updated_at = :now ADD revision :one"
    };
    let mut update = Update::builder()
        .table_name(&db.tables.endpoints)
        .key("pk", s(tenant.partition()))
        .key("sk", s(id))
        .update_expression(expression)
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":enabled", AttributeValue::Bool(enabled))
        .expression_attribute_values(":now", to_value(&now)?)
        .expression_attribute_values(":one", n(1));
    if enabled {
        update = update
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":false", AttributeValue::Bool(false));
    }
    let committed = Transaction::new()
        .write(
            TransactWriteItem::builder()
                .update(update.build().map_err(StoreError::internal)?)
                .build(),
            Some(Rejection::NotFound("Endpoint")),
        )
        .write(config_bump(db, tenant)?, None)
        .commit(db)
        .await;
    match committed {
        Ok(()) => get(db, tenant, id).await,
        Err(StoreError::Rejected(Rejection::NotFound(_))) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Marks endpoint `id` as paced by the dispatcher (`Some`) or no longer (`None`), and
/// moves the delivery configuration version so every dispatcher sees it. `false` when
/// it already was (another dispatcher got there first), or the endpoint is gone.
pub async fn set_throttled(
    db: &Db,
    tenant: &Tenant,
    id: &EndpointId,
    throttled: Option<&crate::webhooks::Throttled>,
) -> Result<bool, StoreError> {
    let value = throttled.map(to_value).transpose()?;
    set_mark(db, tenant, id, "throttled", value).await
}

/// Marks the endpoint's receiver slow since `since` (`Some`), or no longer slow
/// (`None`); moves the delivery configuration, so every dispatcher routes it at its next
/// batch. `false` when it already was as asked (or is gone): only the first writes.
pub async fn set_slow(
    db: &Db,
    tenant: &Tenant,
    id: &EndpointId,
    since: Option<Timestamp>,
) -> Result<bool, StoreError> {
    let value = since.as_ref().map(to_value).transpose()?;
    set_mark(db, tenant, id, "slow_since", value).await
}

/// Sets the dispatcher's mark `attribute` on the endpoint (`Some`) or removes it, if it
/// is not so already, and moves the delivery configuration with it.
async fn set_mark(
    db: &Db,
    tenant: &Tenant,
    id: &EndpointId,
    attribute: &'static str,
    value: Option<AttributeValue>,
) -> Result<bool, StoreError> {
    let update = Update::builder()
        .table_name(&db.tables.endpoints)
        .key("pk", s(tenant.partition()))
        .key("sk", s(id))
        .expression_attribute_names("#mark", attribute);
    let update = match value {
        Some(value) => update
            .update_expression("SET #mark = :mark")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#mark)")
            .expression_attribute_values(":mark", value),
        None => update
            .update_expression("REMOVE #mark")
            .condition_expression("attribute_exists(pk) AND attribute_exists(#mark)"),
    };
    let committed = Transaction::new()
        .write(
            TransactWriteItem::builder()
                .update(update.build().map_err(StoreError::internal)?)
                .build(),
            Some(Rejection::NotFound("Endpoint")),
        )
        .write(config_bump(db, tenant)?, None)
        .commit(db)
        .await;
    match committed {
        Ok(()) => Ok(true),
        Err(StoreError::Rejected(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Lists (`true`) or unlists the ordering key `key` among those an exhausted delivery
/// holds on endpoint `id`. A set of its own, so no other write of the endpoint undoes
/// it and the delivery configuration does not move (dispatchers read lanes for this).
pub async fn mark_blocked(
    db: &Db,
    tenant: &Tenant,
    id: &EndpointId,
    key: &str,
    blocked: bool,
) -> Result<(), StoreError> {
    let expression = if blocked {
        "ADD blocked_keys :key"
    } else {
        "DELETE blocked_keys :key"
    };
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.endpoints)
        .key("pk", s(tenant.partition()))
        .key("sk", s(id))
        .update_expression(expression)
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":key", AttributeValue::Ss(vec![key.to_string()]))
        .sent()
        .await;
    super::conditional(result).map(drop)
}

/// Stores rotated secrets, if the endpoint is still as read.
pub async fn set_secrets(
    db: &Db,
    tenant: &Tenant,
    before: &Endpoint,
    secrets: &SealedSecrets,
    now: Timestamp,
) -> Result<(), StoreError> {
    let update = Update::builder()
        .table_name(&db.tables.endpoints)
        .key("pk", s(tenant.partition()))
        .key("sk", s(&before.id))
        .update_expression("SET secrets = :secrets, updated_at = :now ADD revision :one")
        .condition_expression("revision = :rev")
        .expression_attribute_values(":secrets", to_value(secrets)?)
        .expression_attribute_values(":now", to_value(&now)?)
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":rev", n(before.revision))
        .build()
        .map_err(StoreError::internal)?;
    Transaction::new()
        .write(
            TransactWriteItem::builder().update(update).build(),
            Some(changed_concurrently()),
        )
        .write(config_bump(db, tenant)?, None)
        .commit(db)
        .await
}

/// Deletes an endpoint with its URL guard and counts it out, if it is still as read.
pub async fn delete(db: &Db, tenant: &Tenant, endpoint: &Endpoint) -> Result<(), StoreError> {
    let table = &db.tables.endpoints;
    let partition = tenant.partition();
    Transaction::new()
        .write(
            delete_key(
                table,
                &partition,
                &endpoint.id,
                Some(("revision = :rev", endpoint.revision)),
            )?,
            Some(changed_concurrently()),
        )
        .write(
            delete_key(table, &partition, &url_guard_key(&endpoint.url), None)?,
            None,
        )
        .write(
            total_write(table, &partition, -1, Quota::Limited(None))?,
            None,
        )
        .write(config_bump(db, tenant)?, None)
        .with_ordered(db, tenant, -ordered(endpoint))?
        .commit(db)
        .await
}

/// The item that hands out endpoint numbers, one tenant's: it only counts up.
const SERIAL: &str = "#serial";

/// The tenant's next endpoint number (1, 2, ...): one write that adds to the serial
/// item and reads the sum back, so two creates never get the same number. A create that
/// fails afterwards leaves its number unused; numbers are never reused.
pub async fn next_number(db: &Db, tenant: &Tenant) -> Result<u64, StoreError> {
    let out = db
        .client
        .update_item()
        .table_name(&db.tables.endpoints)
        .key("pk", s(tenant.partition()))
        .key("sk", s(SERIAL))
        .update_expression("ADD #n :one")
        .expression_attribute_names("#n", "number")
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::UpdatedNew)
        .sent()
        .await?;
    out.attributes
        .as_ref()
        .and_then(|item| super::number(item, "number"))
        .ok_or_else(|| StoreError::internal("the serial item returned no number"))
}

/// Every endpoint of a tenant (the quota keeps this small): the dispatcher's fan-out.
pub async fn all(db: &Db, tenant: &Tenant) -> Result<Vec<Endpoint>, StoreError> {
    listing(db, tenant, Filter::default())
        .all_items(db)
        .await?
        .into_iter()
        .map(from_item)
        .collect()
}

/// A delivery succeeded: the failure streak is over (written only if there was one).
/// The end of a streak moves the configuration version, so dispatchers that loaded
/// the endpoint while it was failing stop trying to end it again.
pub async fn record_success(db: &Db, tenant: &Tenant, id: &EndpointId) -> Result<(), StoreError> {
    let update = Update::builder()
        .table_name(&db.tables.endpoints)
        .key("pk", s(tenant.partition()))
        .key("sk", s(id))
        .update_expression("SET error_count = :zero REMOVE error_first_at, error_last_at")
        .condition_expression("attribute_exists(pk) AND error_count > :zero")
        .expression_attribute_values(":zero", n(0))
        .build()
        .map_err(StoreError::internal)?;
    let committed = Transaction::new()
        .write(
            TransactWriteItem::builder().update(update).build(),
            Some(Rejection::Changed("no streak".into())),
        )
        .write(config_bump(db, tenant)?, None)
        .commit(db)
        .await;
    match committed {
        Ok(()) | Err(StoreError::Rejected(Rejection::Changed(_))) => Ok(()),
        Err(e) => Err(e),
    }
}

/// When consecutive failures disable an endpoint.
#[derive(Clone, Copy, Debug)]
pub struct DisableRule {
    pub after_failures: u32,
    pub after: std::time::Duration,
}

/// Counts a failed attempt. `gone` (410) disables the endpoint at once; otherwise it is
/// disabled and marked blocked once the streak reaches the rule's count and duration.
/// Returns whether this call disabled it.
pub async fn record_failure(
    db: &Db,
    tenant: &Tenant,
    id: &EndpointId,
    now: Timestamp,
    gone: bool,
    rule: DisableRule,
) -> Result<bool, StoreError> {
    if gone {
        // 410: disabled at once, with the streak counted.
        let update = Update::builder()
            .table_name(&db.tables.endpoints)
            .key("pk", s(tenant.partition()))
            .key("sk", s(id))
            .update_expression(
                "SET error_last_at = :now, error_first_at = if_not_exists(error_first_at, :now), enabled = :false \
                 ADD error_count :one, revision :one",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", to_value(&now)?)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .build()
            .map_err(StoreError::internal)?;
        return disabled(db, tenant, update).await;
    }
    let counted = db
        .client
        .update_item()
        .table_name(&db.tables.endpoints)
        .key("pk", s(tenant.partition()))
        .key("sk", s(id))
        .update_expression(
            "SET error_last_at = :now, error_first_at = if_not_exists(error_first_at, :now) ADD error_count :one",
        )
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":now", to_value(&now)?)
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::AllNew)
        .sent()
        .await;
    let endpoint: Endpoint = match counted {
        Ok(out) => match out.attributes {
            Some(item) => from_item(item)?,
            None => return Ok(false),
        },
        Err(StoreError::ConditionFailed { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    if endpoint.error_count == 1 {
        // A streak starts: dispatchers that loaded the endpoint before must learn of it
        // to end it on the next success. Only a hint (they reload within MAX_AGE anyway),
        // so it is not worth a transaction on every failure.
        let bumped = Transaction::new()
            .write(config_bump(db, tenant)?, None)
            .commit(db)
            .await;
        if let Err(error) = bumped {
            tracing::warn!(endpoint = %id, %error, "the configuration version did not move");
        }
    }
    let streak = endpoint
        .error_first_at
        .map(|first| now.as_millis() - first.as_millis())
        .unwrap_or_default();
    let due = endpoint.enabled
        && endpoint.error_count >= rule.after_failures
        && streak >= rule.after.as_millis() as i64;
    if !due {
        return Ok(false);
    }
    let update = Update::builder()
        .table_name(&db.tables.endpoints)
        .key("pk", s(tenant.partition()))
        .key("sk", s(id))
        .update_expression(
            "SET enabled = :false, blocked_by_error_count = :true, updated_at = :now ADD revision :one",
        )
        .condition_expression("enabled = :true AND error_count >= :count")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":true", AttributeValue::Bool(true))
        .expression_attribute_values(":now", to_value(&now)?)
        .expression_attribute_values(":count", n(rule.after_failures))
        .build()
        .map_err(StoreError::internal)?;
    disabled(db, tenant, update).await
}

/// Applies `update`, which disables an endpoint, with the configuration version it
/// moves: `false` if its condition failed (gone, or disabled by another call).
async fn disabled(db: &Db, tenant: &Tenant, update: Update) -> Result<bool, StoreError> {
    let committed = Transaction::new()
        .write(
            TransactWriteItem::builder().update(update).build(),
            Some(changed_concurrently()),
        )
        .write(config_bump(db, tenant)?, None)
        .commit(db)
        .await;
    match committed {
        Ok(()) => Ok(true),
        Err(StoreError::Rejected(Rejection::Changed(_))) => Ok(false),
        Err(e) => Err(e),
    }
}
