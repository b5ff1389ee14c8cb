//! Portal sessions in their own table (only the portal function reads or writes it):
//! key `id` (the session id a link's token names), and the `by_tenant` index
//! (`tenant`, `id`) for listing and revoking a tenant's links. Expired by TTL at the
//! session's end, and refused past it before DynamoDB gets round to deleting it.

use super::{
    Db, Rejection, StoreError, Transaction,
    error::Sent,
    from_item, n,
    paging::{Filter, Listing},
    s, to_item,
};
use crate::t;
use crate::{
    Tenant, Timestamp,
    ids::PortalSessionId,
    pagination::{Page, PageRequest},
    portal::{ListedSession, PortalSession},
};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

pub const BY_TENANT_INDEX: &str = "by_tenant";

/// Stores a new session. A transaction, so that a request holding an
/// `Idempotency-Key` marks it in the same write: a crash before the response cannot
/// make a second link.
pub async fn create(db: &Db, session: &PortalSession) -> Result<(), StoreError> {
    let mut item = to_item(session)?;
    item.insert(
        "expires_at_epoch".into(),
        n(session.expires_at.as_epoch_seconds() + 1),
    );
    let put = Put::builder()
        .table_name(&db.tables.portal_sessions)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(id)")
        .build()
        .map_err(StoreError::internal)?;
    Transaction::new()
        .write(
            TransactWriteItem::builder().put(put).build(),
            Some(Rejection::Conflict(t!("Portal session already exists"))),
        )
        .commit(db)
        .await
}

/// The session `id`, if it was made and not revoked (it may have expired: check).
pub async fn get(db: &Db, id: &PortalSessionId) -> Result<Option<PortalSession>, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.tables.portal_sessions)
        .key("id", s(id))
        .consistent_read(true)
        .sent()
        .await?;
    out.item
        .map(|mut item| {
            item.remove("expires_at_epoch");
            from_item(item)
        })
        .transpose()
}

fn listing<'a>(db: &'a Db, tenant: &Tenant, now: Timestamp) -> Listing<'a> {
    Listing {
        table: &db.tables.portal_sessions,
        index: Some(BY_TENANT_INDEX),
        partition_attribute: "tenant",
        partition: tenant.partition(),
        sort_attribute: "id",
        sort_prefix: PortalSessionId::PREFIX,
        sort_from: None,
        // Expired sessions wait for TTL; they are no one's business meanwhile.
        filter: Filter::default().clause(
            "#ends > :now",
            &[("#ends", "expires_at_epoch")],
            vec![(":now", n(now.as_epoch_seconds()))],
        ),
    }
}

/// Trades session `id`'s link for a cookie whose token hashes to `cookie_hash`: once
/// (`false` when the link was opened already, or the session is gone).
pub async fn open_link(
    db: &Db,
    id: &PortalSessionId,
    cookie_hash: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.tables.portal_sessions)
        .key("id", s(id))
        .update_expression("SET cookie_hash = :cookie, opened_at = :now")
        .condition_expression("attribute_exists(id) AND attribute_not_exists(opened_at)")
        .expression_attribute_values(":cookie", s(cookie_hash))
        .expression_attribute_values(":now", s(now.to_string()))
        .sent()
        .await;
    super::conditional(result)
}

/// `tenant`'s sessions that have not expired, newest first.
pub async fn list(
    db: &Db,
    tenant: &Tenant,
    page: PageRequest,
) -> Result<Page<ListedSession>, StoreError> {
    listing(db, tenant, Timestamp::now())
        .fetch(db, page, None)
        .await
}

/// Revokes `tenant`'s session `id`; `false` if the tenant has no such session.
pub async fn revoke(db: &Db, tenant: &Tenant, id: &PortalSessionId) -> Result<bool, StoreError> {
    let result = db
        .client
        .delete_item()
        .table_name(&db.tables.portal_sessions)
        .key("id", s(id))
        .condition_expression("tenant = :tenant")
        .expression_attribute_values(":tenant", s(tenant.partition()))
        .sent()
        .await;
    super::conditional(result)
}

/// Revokes every session of `tenant` (expired ones too); how many there were.
pub async fn revoke_all(db: &Db, tenant: &Tenant) -> Result<usize, StoreError> {
    let mut listing = listing(db, tenant, Timestamp::now());
    listing.filter = Filter::default();
    let mut revoked = 0;
    for item in listing.all_items(db).await? {
        let Some(id) = item.get("id").and_then(|v| v.as_s().ok()) else {
            continue;
        };
        let id: PortalSessionId = id.parse().map_err(StoreError::internal)?;
        if revoke(db, tenant, &id).await? {
            revoked += 1;
        }
    }
    Ok(revoked)
}
