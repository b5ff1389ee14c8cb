//! What the orders table holds beside orders: the tokens of hosted payment pages,
//! `pk = "paytoken#<sha256 of the token>"`, pointing at the tenant and order. Tokens are
//! stored hashed, like API keys: the table alone does not open anyone's payment page.

use super::{
    Db, Rejection, StoreError, get_keyed,
    resources::{Change, Stored, get},
};
use crate::t;
use crate::{Tenant, commerce::Order};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const TOKEN_SORT_KEY: &str = "paytoken";

/// A new payment page token: 32 random bytes, URL-safe base64.
pub fn new_payment_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_key(token: &str) -> String {
    format!("paytoken#{}", hex::encode(Sha256::digest(token.as_bytes())))
}

#[derive(Serialize, Deserialize)]
struct TokenItem {
    tenant: String,
    order_id: crate::ids::OrderId,
}

impl Change<'_> {
    /// Adds the page token of `order` to the change that creates it.
    pub fn with_payment_token(
        self,
        db: &Db,
        tenant: &Tenant,
        token: &str,
        order: &Order,
    ) -> Result<Self, StoreError> {
        let item = super::keyed_item(
            &token_key(token),
            TOKEN_SORT_KEY,
            &TokenItem {
                tenant: tenant.partition(),
                order_id: order.id.clone(),
            },
        )?;
        let put = Put::builder()
            .table_name(&db.tables.orders)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(StoreError::internal)?;
        Ok(self.write(
            TransactWriteItem::builder().put(put).build(),
            Some(Rejection::Conflict(t!("Payment token already exists"))),
        ))
    }
}

/// The order a payment page token opens, with its tenant.
pub async fn by_payment_token(
    db: &Db,
    token: &str,
) -> Result<Option<(Tenant, Stored<Order>)>, StoreError> {
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(None);
    }
    let Some(found) =
        get_keyed::<TokenItem>(db, &db.tables.orders, &token_key(token), TOKEN_SORT_KEY).await?
    else {
        return Ok(None);
    };
    let Some(tenant) = Tenant::from_partition(&found.tenant) else {
        return Err(StoreError::internal("bad tenant on a payment token"));
    };
    Ok(get::<Order>(db, &tenant, &found.order_id)
        .await?
        .map(|order| (tenant, order)))
}
