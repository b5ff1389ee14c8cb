//! Portal sessions in the requests table: `portal#<session id>`, expired by TTL at the
//! session's end (and refused past it before DynamoDB gets round to deleting it).

use super::{Db, StoreError, error::Sent, from_item, n, s, to_item};
use crate::{Tenant, ids::PortalSessionId, portal::PortalSession};

fn key(id: &PortalSessionId) -> String {
    format!("portal#{id}")
}

/// Stores a new session.
pub async fn create(db: &Db, session: &PortalSession) -> Result<(), StoreError> {
    let mut item = to_item(session)?;
    // The table's key is `id`; the session's own id is kept beside it.
    if let Some(id) = item.remove("id") {
        item.insert("session_id".into(), id);
    }
    item.insert("id".into(), s(key(&session.id)));
    item.insert(
        "expires_at_epoch".into(),
        n(session.expires_at.as_epoch_seconds() + 1),
    );
    db.client
        .put_item()
        .table_name(&db.tables.requests)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(id)")
        .sent()
        .await
        .map(drop)
}

/// The session `id`, if it was made and not revoked (it may have expired: check).
pub async fn get(db: &Db, id: &PortalSessionId) -> Result<Option<PortalSession>, StoreError> {
    let out = db
        .client
        .get_item()
        .table_name(&db.tables.requests)
        .key("id", s(key(id)))
        .consistent_read(true)
        .sent()
        .await?;
    out.item
        .map(|mut item| {
            item.remove("expires_at_epoch");
            if let Some(id) = item.remove("session_id") {
                item.insert("id".into(), id);
            }
            from_item(item)
        })
        .transpose()
}

/// Revokes `tenant`'s session `id`; `false` if the tenant has no such session.
pub async fn revoke(db: &Db, tenant: &Tenant, id: &PortalSessionId) -> Result<bool, StoreError> {
    let result = db
        .client
        .delete_item()
        .table_name(&db.tables.requests)
        .key("id", s(key(id)))
        .condition_expression("tenant = :tenant")
        .expression_attribute_values(":tenant", s(tenant.partition()))
        .sent()
        .await;
    super::conditional(result)
}
