//! The merchant's resources (products, categories, orders, blacklists, rules, feedback,
//! queries): one table each, key (`pk` = tenant, `sk` = id), a `#count` item for exact
//! list totals, and a `revision` on every item so an update or delete applies only to
//! the version that was read (optimistic locking, never read-then-write).
//!
//! Writes are composed into a [`Change`]: the resources it creates, updates, deletes or
//! requires, and the events they cause, committed in one transaction (the outbox).

use super::{
    Db, Item, Rejection, StoreError, Transaction,
    counters::{Quota, read_total, total_write},
    from_item, keyed_item, n,
    paging::{Filter, Listing},
    s,
};
use crate::t;
use crate::{
    Tenant,
    commerce::{Blacklist, BlacklistRule, Category, Feedback, Order, Product, Query},
    config::Tables,
    events::Event,
    ids::{Id, Kind, kinds},
    pagination::{Page, PageRequest},
    scopes::Group,
};
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};
use serde::{Serialize, de::DeserializeOwned};

/// A resource kept in its own table, partitioned by tenant.
pub trait Resource: Serialize + DeserializeOwned + Send + Sync {
    /// Its kind of id, which names it ("Product not found") and says where its ids
    /// start.
    type Kind: Kind;
    /// The scope group that reads and writes it.
    const GROUP: Group;
    /// Whether a quota limits how many a tenant has (its total is then one item, which
    /// the quota's condition reads).
    const LIMITED: bool;
    fn table(tables: &Tables) -> &str;
    fn id(&self) -> &Id<Self::Kind>;
}

macro_rules! resource {
    ($type:ident, $table:ident, $group:ident) => {
        resource!($type, $table, $group, false);
    };
    ($type:ident, $table:ident, $group:ident, $limited:literal) => {
        impl crate::scopes::InGroup for $type {
            const GROUP: Group = Group::$group;
        }
        impl Resource for $type {
            type Kind = kinds::$type;
            const GROUP: Group = Group::$group;
            const LIMITED: bool = $limited;
            fn table(tables: &Tables) -> &str {
                &tables.$table
            }
            fn id(&self) -> &Id<kinds::$type> {
                &self.id
            }
        }
    };
}

resource!(Product, products, Products);
resource!(Category, categories, Categories);
resource!(Order, orders, Orders);
resource!(Blacklist, blacklists, Blacklists, true);
resource!(BlacklistRule, blacklist_rules, BlacklistRules, true);
resource!(Feedback, feedback, Feedback);
resource!(Query, queries, Queries);

/// A resource as read, with the revision an update must still find.
#[derive(Clone, Debug)]
pub struct Stored<R> {
    pub value: R,
    pub revision: u64,
}

fn stored<R: Resource>(mut item: Item) -> Result<Stored<R>, StoreError> {
    let revision = item
        .remove("revision")
        .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    Ok(Stored {
        value: from_item(item)?,
        revision,
    })
}

/// The resource with this id, if the tenant has it (ids of another kind are not looked up).
pub async fn get<R: Resource>(
    db: &Db,
    tenant: &Tenant,
    id: &Id<R::Kind>,
) -> Result<Option<Stored<R>>, StoreError> {
    super::get_item(db, R::table(&db.tables), &tenant.partition(), id)
        .await?
        .map(stored)
        .transpose()
}

/// The resource `text` names, if it is the id of one the tenant has: for ids a
/// client sends in a body (an order's product), which are checked, not trusted.
pub async fn resolve<R: Resource>(
    db: &Db,
    tenant: &Tenant,
    text: &str,
) -> Result<Option<Stored<R>>, StoreError> {
    match Id::<R::Kind>::parse(text) {
        Ok(id) => get(db, tenant, &id).await,
        Err(_) => Ok(None),
    }
}

/// Like [`get`], with a 404 naming the resource when it does not exist.
pub async fn find<R: Resource>(
    db: &Db,
    tenant: &Tenant,
    id: &Id<R::Kind>,
) -> Result<Stored<R>, StoreError> {
    get(db, tenant, id)
        .await?
        .ok_or(StoreError::Rejected(Rejection::NotFound(R::Kind::NAME)))
}

/// The ids among `ids` that the tenant has no resource for.
pub async fn missing<R: Resource>(
    db: &Db,
    tenant: &Tenant,
    ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let found =
        futures::future::try_join_all(ids.iter().map(|id| resolve::<R>(db, tenant, id))).await?;
    Ok(ids
        .iter()
        .zip(found)
        .filter(|(_, found)| found.is_none())
        .map(|(id, _)| id.clone())
        .collect())
}

fn listing<'a, R: Resource>(db: &'a Db, tenant: &Tenant, filter: Filter) -> Listing<'a> {
    Listing {
        table: R::table(&db.tables),
        index: None,
        partition_attribute: "pk",
        partition: tenant.partition(),
        sort_attribute: "sk",
        sort_prefix: R::Kind::PREFIX,
        sort_from: None,
        filter,
    }
}

/// One page of the tenant's resources, newest first; the total is exact.
pub async fn list<R: Resource>(
    db: &Db,
    tenant: &Tenant,
    filter: Filter,
    page: PageRequest,
) -> Result<Page<R>, StoreError> {
    let counter = if filter.is_empty() {
        Some(read_total(db, R::table(&db.tables), &tenant.partition()).await?)
    } else {
        None
    };
    listing::<R>(db, tenant, filter)
        .fetch(db, page, counter)
        .await
}

/// Every resource of the tenant that `filter` keeps, as stored (to change them).
pub async fn all_matching<R: Resource>(
    db: &Db,
    tenant: &Tenant,
    filter: Filter,
) -> Result<Vec<Stored<R>>, StoreError> {
    listing::<R>(db, tenant, filter)
        .all_items(db)
        .await?
        .into_iter()
        .map(stored)
        .collect()
}

/// Every resource of the tenant (for small sets: rules and blacklists when screening).
pub async fn all<R: Resource>(db: &Db, tenant: &Tenant) -> Result<Vec<R>, StoreError> {
    Ok(all_matching::<R>(db, tenant, Filter::default())
        .await?
        .into_iter()
        .map(|stored| stored.value)
        .collect())
}

pub use super::paging::Filter as ListFilter;

impl ListFilter {
    /// Items whose `attribute` equals `value`.
    fn equals(self, attribute: &str, value: aws_sdk_dynamodb::types::AttributeValue) -> Self {
        let index = self.len();
        self.clause(
            format!("#f{index} = :f{index}"),
            &[(&format!("#f{index}"), attribute)],
            vec![(&format!(":f{index}"), value)],
        )
    }

    /// Items whose number `attribute` equals `value`.
    pub fn equals_number(self, attribute: &str, value: u64) -> Self {
        self.equals(attribute, n(value))
    }

    /// Items whose string `attribute` equals `value`.
    pub fn equals_text(self, attribute: &str, value: &str) -> Self {
        self.equals(attribute, s(value))
    }

    /// Items whose list or string `attribute` contains `value`.
    pub fn contains(self, attribute: &str, value: &str) -> Self {
        let index = self.len();
        self.clause(
            format!("contains(#f{index}, :f{index})"),
            &[(&format!("#f{index}"), attribute)],
            vec![(&format!(":f{index}"), s(value))],
        )
    }
}

/// How a write of `R` counts: against its quota (`max` on creates) if it has one.
fn quota<R: Resource>(max: Option<u64>) -> Quota {
    if R::LIMITED || max.is_some() {
        Quota::Limited(max)
    } else {
        Quota::None
    }
}

/// Where committed events go: the events queue, and how long they are kept.
#[derive(Clone, Copy)]
pub struct Outbox<'a> {
    pub queues: &'a crate::queue::Queues,
    pub retention_days: u32,
}

/// A change to the tenant's data and the events it causes, all committed or none.
#[must_use = "a change does nothing until committed"]
pub struct Change<'a> {
    db: &'a Db,
    tenant: &'a Tenant,
    transaction: Transaction,
    events: Vec<Event>,
}

fn changed_concurrently(name: &str) -> Rejection {
    Rejection::Changed(t!(
        "The {kind} was changed by another request at the same time; retry",
        kind = name.to_lowercase()
    ))
}

impl<'a> Change<'a> {
    pub fn new(db: &'a Db, tenant: &'a Tenant) -> Self {
        Change {
            db,
            tenant,
            transaction: Transaction::new(),
            events: Vec::new(),
        }
    }

    fn versioned<R: Resource>(&self, value: &R, revision: u64) -> Result<Item, StoreError> {
        let mut item = keyed_item(&self.tenant.partition(), value.id(), value)?;
        item.insert("revision".into(), n(revision));
        Ok(item)
    }

    /// Creates `value`; with `max`, refuses to pass that many of its kind per tenant.
    pub fn create<R: Resource>(self, value: &R, max: Option<u64>) -> Result<Self, StoreError> {
        let duplicate = Rejection::Conflict(t!("{kind} id already exists", kind = R::Kind::NAME));
        self.create_unique(value, max, duplicate)
    }

    /// Like [`Change::create`], answering `duplicate` when the id exists already (for
    /// ids derived from something that may be used once, e.g. one feedback per order).
    pub fn create_unique<R: Resource>(
        mut self,
        value: &R,
        max: Option<u64>,
        duplicate: Rejection,
    ) -> Result<Self, StoreError> {
        let table = R::table(&self.db.tables);
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(self.versioned(value, 0)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(StoreError::internal)?;
        let limit = max.map(|max| {
            Rejection::Invalid(t!(
                "{kind} limit reached (maximum is {max} per account and mode)",
                kind = R::Kind::NAME,
                max
            ))
        });
        self.transaction = self
            .transaction
            .write(
                TransactWriteItem::builder().put(put).build(),
                Some(duplicate),
            )
            .write(
                total_write(table, &self.tenant.partition(), 1, quota::<R>(max))?,
                limit,
            );
        Ok(self)
    }

    /// Replaces `before` with `after`, if `before` is still the stored version.
    pub fn update<R: Resource>(
        mut self,
        before: &Stored<R>,
        after: &R,
    ) -> Result<Self, StoreError> {
        let put = Put::builder()
            .table_name(R::table(&self.db.tables))
            .set_item(Some(self.versioned(after, before.revision + 1)?))
            .condition_expression("revision = :rev")
            .expression_attribute_values(":rev", n(before.revision))
            .build()
            .map_err(StoreError::internal)?;
        self.transaction = self.transaction.write(
            TransactWriteItem::builder().put(put).build(),
            Some(changed_concurrently(R::Kind::NAME)),
        );
        Ok(self)
    }

    /// Deletes `before`, if it is still the stored version.
    pub fn delete<R: Resource>(mut self, before: &Stored<R>) -> Result<Self, StoreError> {
        let table = R::table(&self.db.tables);
        let delete = Delete::builder()
            .table_name(table)
            .key("pk", s(self.tenant.partition()))
            .key("sk", s(before.value.id()))
            .condition_expression("revision = :rev")
            .expression_attribute_values(":rev", n(before.revision))
            .build()
            .map_err(StoreError::internal)?;
        self.transaction = self
            .transaction
            .write(
                TransactWriteItem::builder().delete(delete).build(),
                Some(changed_concurrently(R::Kind::NAME)),
            )
            .write(
                total_write(table, &self.tenant.partition(), -1, quota::<R>(None))?,
                None,
            );
        Ok(self)
    }

    /// Requires the resource `id` to exist when the change commits (a reference).
    pub fn require<R: Resource>(mut self, id: &str) -> Result<Self, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(R::table(&self.db.tables))
            .key("pk", s(self.tenant.partition()))
            .key("sk", s(id))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(StoreError::internal)?;
        self.transaction = self.transaction.write(
            TransactWriteItem::builder().condition_check(check).build(),
            Some(Rejection::Invalid(t!(
                "{kind} {id:?} does not exist (it was deleted meanwhile)",
                kind = R::Kind::NAME,
                id
            ))),
        );
        Ok(self)
    }

    /// Adds a write built elsewhere in the store (e.g. a payment page token).
    pub(crate) fn write(
        mut self,
        write: TransactWriteItem,
        on_condition_failed: Option<Rejection>,
    ) -> Self {
        self.transaction = self.transaction.write(write, on_condition_failed);
        self
    }

    /// An event this change causes; it is committed with the change.
    pub fn emit(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }

    /// Commits the change and its events (each numbered in its resource's sequence),
    /// then hands the events to the dispatcher. Returns the committed events.
    pub async fn commit(self, outbox: Outbox<'_>) -> Result<Vec<Event>, StoreError> {
        let Change {
            db,
            tenant,
            transaction,
            mut events,
        } = self;
        let retention_days = outbox.retention_days;
        super::sequences::commit_with_events(db, tenant, transaction, &mut events, retention_days)
            .await?;
        for event in &events {
            outbox.queues.dispatch(tenant, event).await;
        }
        Ok(events)
    }
}
