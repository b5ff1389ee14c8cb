//! Orders: created by payments, changed by the merchant.
//!
//! `GET /orders` (filters `status`, `product_id`, `email`), `GET /orders/{id}`,
//! `PUT /orders/{id}` `{status, delivered, custom}`. Every change emits `order:updated`;
//! becoming paid (100) also takes the product's stock, in the same transaction, never
//! below zero, and emits `order:paid` (and `product:out_of_stock` when it empties); a
//! dynamic product's order also calls its `dynamic_url` (`product:dynamic`), whose
//! answer the dispatcher writes as `delivered` (`shared::delivery::dynamic`).

use axum::{
    Json, Router,
    extract::{OriginalUri, Query, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::Value;
use shared::t;
use shared::{
    ApiError, ApiResult, AppState, Tenant, Timestamp,
    auth::{Read, Scoped, Write, groups},
    commerce::{Order, OrderStatus, Product, order_event, product_event},
    crud,
    crud::retrying,
    delivery::dynamic,
    error::{Checked, Violations},
    http::{ApiJson, nullable},
    ids::OrderId,
    ids::{PathId, kinds},
    openapi::string,
    pagination::PageParams,
    routes::Routes,
    store::resources::{self, Change, ListFilter, Stored},
    webhooks::EventType,
};

const MAX_DELIVERED: usize = 10_000;

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("orders")
        .get("/api/v2/orders", list, |op| {
            op.summary("List orders")
                .returns_list::<Order>("Orders, newest first")
                .query("status", "An order status code", string())
                .query("product_id", "Orders of this product", string())
                .query("email", "Orders of this customer", string())
        })
        .get("/api/v2/orders/{id}", crud::retrieve::<Order>, |op| {
            op.summary("Retrieve an order")
                .returns::<Order>(200, "The order")
        })
        .put("/api/v2/orders/{id}", update, |op| {
            op.summary("Update an order (e.g. mark it paid)")
                .body::<OrderInput>()
                .returns::<Order>(200, "The order")
        })
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    status: Option<String>,
    product_id: Option<String>,
    email: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

async fn list(
    State(state): State<AppState>,
    tenant: Scoped<Read<Order>>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let mut filter = ListFilter::default();
    if let Some(status) = params.status.as_deref() {
        let status = status
            .parse::<u64>()
            .ok()
            .and_then(OrderStatus::from_code)
            .ok_or_else(|| {
                ApiError::invalid(t!("Status must be one of 0, 51, 52, 53, 54, 55, 56, 100"))
            })?;
        filter = filter.equals_number("status", u64::from(status.code()));
    }
    if let Some(product_id) = params.product_id.as_deref().filter(|p| !p.is_empty()) {
        filter = filter.equals_text("product_id", product_id);
    }
    if let Some(email) = params.email.as_deref().filter(|e| !e.is_empty()) {
        filter = filter.equals_text("email", &email.to_ascii_lowercase());
    }
    crud::list_filtered::<Order>(&state, &tenant, &uri, &params.page, filter).await
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OrderInput {
    status: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    delivered: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    custom: Option<Option<Value>>,
}

impl OrderInput {
    /// The order with this input applied, or every reason it cannot be.
    fn apply(self, before: &Order, now: Timestamp) -> ApiResult<Order> {
        let mut errors = Violations::new();
        let status = match self.status {
            None => before.status,
            Some(code) => match OrderStatus::from_code(code) {
                Some(next) if before.status.may_become(next) => next,
                Some(next) => {
                    let language = shared::language::Language::current();
                    errors.add(t!(
                        "Status cannot change from {from} ({from_name}) to {to} ({to_name})",
                        from = before.status.code(),
                        from_name = before.status.describe_in(language),
                        to = next.code(),
                        to_name = next.describe_in(language)
                    ));
                    before.status
                }
                None => {
                    errors.add(t!("Status must be one of 0, 51, 52, 53, 54, 55, 56, 100"));
                    before.status
                }
            },
        };
        let delivered = match self.delivered {
            Some(text) => text.filter(|t| !t.is_empty()),
            None => before.delivered.clone(),
        };
        errors.length("Delivered", delivered.as_deref(), 0, MAX_DELIVERED);
        let custom = match self.custom {
            None => Checked::valid(before.custom.clone()),
            Some(given) => errors.check(shared::validate::custom(given)),
        };
        let custom = errors.finish_with(custom)?;
        Ok(Order {
            status,
            delivered,
            custom,
            updated_at: now,
            ..before.clone()
        })
    }
}

fn unchanged(before: &Order, after: &Order) -> bool {
    Order {
        updated_at: before.updated_at,
        ..after.clone()
    } == *before
}

async fn update(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Orders>>,
    PathId(id): PathId<kinds::Order>,
    ApiJson(input): ApiJson<OrderInput>,
) -> ApiResult<Response> {
    // Paying races other payments for the same stock: on a conflict, read again and retry.
    let order = retrying(|| change_order(&state, &tenant, &id, input.clone())).await?;
    Ok(Json(order).into_response())
}

/// One attempt at applying `input` to the order as it is now.
async fn change_order(
    state: &AppState,
    tenant: &Tenant,
    id: &OrderId,
    input: OrderInput,
) -> ApiResult<Order> {
    let before = crud::find::<Order>(state, tenant, id).await?;
    if before.value.cancelled_at.is_some() {
        return Err(ApiError::Conflict(t!(
            "The payment of this order was cancelled; the order can no longer change"
        )));
    }
    let now = Timestamp::now();
    let mut after = input.apply(&before.value, now)?;
    if unchanged(&before.value, &after) {
        return Ok(before.value);
    }
    let product: Option<Stored<Product>> = if before.value.is_product_order() {
        resources::resolve(&state.db, tenant, &before.value.product_id).await?
    } else {
        None
    };
    let mut change = Change::new(&state.db, tenant);
    let paying = after.status == OrderStatus::Paid && before.value.status != OrderStatus::Paid;
    if paying && before.value.email.is_none() {
        return Err(ApiError::Conflict(t!(
            "The customer has not given an email yet: the payment page asks for it before payment"
        )));
    }
    let mut paid_events = Vec::new();
    if paying {
        after.paid_at = Some(now);
        if before.value.is_product_order() {
            let Some(product) = &product else {
                return Err(ApiError::Conflict(t!(
                    "The product {id} of this order no longer exists; its stock cannot be taken",
                    id = before.value.product_id
                )));
            };
            let Some((mut taken, delivered)) = product.value.take(before.value.quantity) else {
                return Err(ApiError::Conflict(t!(
                    "Not enough stock: {wanted} wanted, {left} left",
                    wanted = before.value.quantity,
                    left = serde_json::to_string(&product.value.stock).unwrap_or_default()
                )));
            };
            taken.updated_at = now;
            if delivered.is_some() {
                after.delivered = delivered;
            }
            if Product::ran_out(&product.value, &taken) {
                paid_events.push(product_event(EventType::ProductOutOfStock, &taken));
            }
            change = change.update(product, &taken)?;
            paid_events.extend(dynamic::call(&mut after, &product.value));
        }
    }
    let product = product.as_ref().map(|p| &p.value);
    change =
        change
            .update(&before, &after)?
            .emit(order_event(EventType::OrderUpdated, &after, product));
    if paying {
        change = change.emit(order_event(EventType::OrderPaid, &after, product));
    }
    if before.value.delivered.is_none() && after.delivered.is_some() {
        change = change.emit(order_event(EventType::OrderCompleted, &after, product));
    }
    for event in paid_events {
        change = change.emit(event);
    }
    change.commit(state.outbox()).await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(status: OrderStatus) -> Order {
        serde_json::from_value(json!({
            "id": "ord_01J0000000000000000000000A", "title": "T", "product_id": "pay",
            "product_title": null, "email": "a@b.co", "ip_address": null, "country_code": null,
            "user_agent": null, "value": "10", "quantity": 1, "currency": "USD", "gateway": "PayPal",
            "risk_level": 0, "status": status.code(), "delivered": null, "crypto_value": null,
            "crypto_address": null, "crypto_channel": null, "crypto_received": 0,
            "crypto_confirmations": 0, "referral": null, "usd_value": "10", "exchange_rate": "1.0",
            "coupon_id": null, "custom": {}, "return_url": null, "webhook_url": null,
            "white_label": false, "cancelled_at": null, "paid_at": null,
            "created_at": "2026-11-22T00:00:00.000+00:00", "updated_at": "2026-11-22T00:00:00.000+00:00"
        }))
        .unwrap()
    }

    #[test]
    fn unknown_statuses_and_forbidden_moves_are_refused() {
        let input = OrderInput {
            status: Some(7),
            custom: Some(Some(json!([1]))),
            ..Default::default()
        };
        match input.apply(&order(OrderStatus::NotPaid), Timestamp::now()) {
            Err(ApiError::Validation(errors)) => assert_eq!(errors.len(), 2, "{errors:?}"),
            other => panic!("{other:?}"),
        }
        let back = OrderInput {
            status: Some(0),
            ..Default::default()
        };
        match back.apply(&order(OrderStatus::Paid), Timestamp::now()) {
            Err(ApiError::Validation(errors)) => {
                assert_eq!(
                    errors,
                    ["Status cannot change from 100 (Successful and completed) to 0 (Not paid)"]
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn setting_what_is_already_set_changes_nothing() {
        let before = order(OrderStatus::Paid);
        let same = OrderInput {
            status: Some(100),
            ..Default::default()
        }
        .apply(&before, Timestamp::now())
        .unwrap();
        assert!(unchanged(&before, &same));
        let delivered = OrderInput {
            delivered: Some(Some("key".into())),
            ..Default::default()
        }
        .apply(&before, Timestamp::now())
        .unwrap();
        assert!(!unchanged(&before, &delivered));
    }
}
