//! Payments: a customer's checkout. Creating one screens the customer against the
//! tenant's blacklist rules and blacklists, then creates the order (`order:created`)
//! and its hosted payment page.
//!
//! `POST /payments` → `{url}`, or with `white_label` the order itself with `url`;
//! `DELETE /payments/{id}` cancels an unpaid one; `GET /pay/{token}` is the public page
//! and `GET /pay/{token}/status` the JSON it polls for live status.

mod page;

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::t;
use shared::{
    ApiError, ApiResult, AppState, Tenant, Timestamp,
    auth::{Scoped, Write, groups},
    commerce::{
        Amount, Blacklist, BlacklistRule, Currency, Customer, Gateway, Order, OrderStatus, Product,
        Verdict, blacklist::screen, order::PAY_PRODUCT_ID, order_event, risk,
    },
    crud::{self, text},
    error::{Checked, Violations},
    http::ApiJson,
    ids::OrderId,
    ids::{PathId, kinds},
    routes::Routes,
    store::{
        orders::{by_payment_token, new_payment_token},
        resources::{self, Change, Stored},
    },
    validate::{is_country_code, is_valid_email},
    webhooks::{EventType, WebhookUrl},
};
use std::net::IpAddr;

const MAX_TITLE: usize = 255;
const MAX_QUANTITY: u32 = 10_000;
const MAX_USER_AGENT: usize = 512;

/// The API's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("payments")
        .post("/api/v2/payments", create, |op| {
            op.summary("Create a payment: an order and its hosted page")
                .body_example::<PaymentInput>(serde_json::json!({
                    "title": "Consulting", "gateway": "paypal", "value": "25.00",
                    "currency": "USD", "email": "customer@example.com"
                }))
                .requiring(&["title", "gateway", "value", "currency"])
                .creates_under("/id", &["/api/v2/payments", "/api/v2/orders"])
                .returns::<PaymentCreated>(
                    201,
                    "The page's url (with white_label, the order and its url)",
                )
        })
        .delete("/api/v2/payments/{id}", cancel, |op| {
            op.summary("Cancel an unpaid payment")
        })
}

/// The public payment page's routes: no API key, HTML, so outside the API's conventions.
pub fn page_routes() -> Routes {
    Routes::new("payments")
        .get("/pay/{token}", page::show, |op| {
            op.summary("The hosted payment page").html("The page")
        })
        .post("/pay/{token}", page::give_email, |op| {
            op.summary("The customer's email, for a payment made without one")
                .form::<page::EmailForm>()
                .html("The page again, with what is wrong in the email")
        })
        .get("/pay/{token}/status", page::status, |op| {
            op.summary("What the payment page polls")
                .returns::<page::PageStatus>(200, "The payment's status")
        })
        .get("/pay/{token}/file", page::file, |op| {
            op.summary("The file the customer bought, once paid")
                .redirects("To a download URL that works for five minutes")
                // An HTML page says why: not paid yet (403), nothing to download (404).
                .errors(&[403])
        })
}

/// The payment page as served (each handler limits its visitor, then its token).
pub fn pages(state: AppState) -> Router {
    shared::http::public(page_routes().router(), state)
}

/// What creating a payment answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct PaymentCreated {
    /// The hosted payment page.
    url: String,
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state.clone()).merge(pages(state))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PaymentInput {
    title: Option<String>,
    gateway: Option<String>,
    value: Option<Value>,
    currency: Option<String>,
    quantity: Option<u32>,
    email: Option<String>,
    ip_address: Option<String>,
    country_code: Option<String>,
    user_agent: Option<String>,
    return_url: Option<String>,
    white_label: Option<bool>,
    webhook_url: Option<String>,
    custom: Option<Value>,
    product_id: Option<String>,
}

/// A validated payment, before screening.
struct Checkout {
    order: Order,
    customer: Customer,
    product: Option<Stored<Product>>,
}

impl PaymentInput {
    /// Every problem with this payment at once. `product` is what `product_id` names,
    /// if the tenant has it.
    fn validate(
        self,
        product: Option<Stored<Product>>,
        allow_private: bool,
        now: Timestamp,
    ) -> ApiResult<Checkout> {
        let mut errors = Violations::new();
        let buying = product.as_ref().map(|p| &p.value);
        if self.product_id.is_some() && buying.is_none() {
            errors.add(t!(
                "Product {id:?} does not exist",
                id = self.product_id.as_deref().unwrap_or_default()
            ));
        }
        let title = errors.text(
            "Title",
            text(self.title).or(buying.map(|p| p.title.clone())),
            2,
            MAX_TITLE,
        );
        let gateway = match self.gateway.as_deref() {
            None => errors.require("Gateway", None),
            Some(name) => errors.check(name.parse::<Gateway>()),
        };
        let gateway = match buying {
            Some(product) => gateway.ensure(
                &mut errors,
                |gateway| product.gateways.contains(gateway),
                |gateway| {
                    t!(
                        "Gateway {gateway} is not accepted for this product",
                        gateway = gateway.as_str()
                    )
                },
            ),
            None => gateway,
        };
        let quantity = self.quantity.unwrap_or(1);
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            errors.add(t!(
                "Quantity must be between 1 and {max}",
                max = MAX_QUANTITY
            ));
        }
        let (value, currency) = match buying {
            Some(product) => {
                if self.value.is_some() || self.currency.is_some() {
                    errors.add(t!("Value and currency come from the product's price; leave them out when buying a product"));
                }
                if quantity < product.minimum_quantity
                    || product.maximum_quantity.is_some_and(|max| quantity > max)
                {
                    errors.add(match product.maximum_quantity {
                        Some(max) => t!(
                            "Quantity must be between {min} and {max} for this product",
                            min = product.minimum_quantity,
                            max
                        ),
                        None => t!(
                            "Quantity must be at least {min} for this product",
                            min = product.minimum_quantity
                        ),
                    });
                }
                if !product.stock.covers(quantity) {
                    errors.add(t!("Not enough stock for this quantity"));
                }
                (
                    Checked::valid(product.price.times(quantity)),
                    Checked::valid(product.currency.clone()),
                )
            }
            None => {
                let value = match self.value {
                    None => errors.require("Value", None),
                    Some(value) => errors.check(match Amount::from_json(&value) {
                        Ok(amount) if amount.is_zero() => Err(t!("Value must be greater than 0")),
                        Ok(amount) => Ok(amount),
                        Err(e) => Err(t!("Value {e}", e)),
                    }),
                };
                let currency = match self.currency.as_deref() {
                    None => errors.require("Currency", None),
                    Some(code) => errors.check(code.parse::<Currency>()),
                };
                (value, currency)
            }
        };
        // Optional, as in the seed's example: the payment page then asks the customer.
        let email = text(self.email).map(|e| e.to_ascii_lowercase());
        if email.as_deref().is_some_and(|email| !is_valid_email(email)) {
            errors.add(t!("Email is not a valid email address"));
        }
        let ip = errors.check_given(text(self.ip_address), |ip| {
            ip.parse::<IpAddr>()
                .map(shared::validate::canonical_ip)
                .map_err(|_| t!("Ip address {ip:?} is not an IP address", ip))
        });
        let country = errors.check_given(text(self.country_code), |code| {
            if is_country_code(&code) {
                Ok(code.to_ascii_uppercase())
            } else {
                Err(t!(
                    "Country code {code:?} is not a two-letter country code",
                    code
                ))
            }
        });
        let user_agent = text(self.user_agent);
        errors.length("User agent", user_agent.as_deref(), 0, MAX_USER_AGENT);
        let return_url =
            errors.check_given(text(self.return_url), |url| match url::Url::parse(&url) {
                Ok(parsed) if matches!(parsed.scheme(), "https" | "http") => Ok(parsed.to_string()),
                _ => Err(t!("Return url must be an absolute http(s) URL")),
            });
        let webhook_url = errors.check_given(text(self.webhook_url), |url| {
            WebhookUrl::parse_named(&url, "Webhook url", allow_private)
                .map(|url| url.as_url().to_string())
        });
        let custom = errors.check(shared::validate::custom(self.custom));
        let (title, gateway, value, currency, customer, urls, custom) = errors.finish_with((
            title,
            gateway,
            value,
            currency,
            (ip, country),
            (return_url, webhook_url),
            custom,
        ))?;
        let ((ip, country), (return_url, webhook_url)) = (customer, urls);
        let usd = currency.as_str() == "USD";
        let order = Order {
            id: OrderId::new(),
            title,
            product_id: buying.map_or(PAY_PRODUCT_ID.to_string(), |p| p.id.to_string()),
            product_title: buying.map(|p| p.title.clone()),
            email: email.clone(),
            ip_address: ip.map(|ip| ip.to_string()),
            country_code: country.clone(),
            user_agent,
            usd_value: usd.then(|| value.clone()),
            exchange_rate: usd.then(|| "1.0".to_string()),
            value,
            quantity,
            currency,
            gateway,
            risk_level: 0,
            status: OrderStatus::NotPaid,
            delivered: None,
            delivery_log_id: None,
            crypto_value: None,
            crypto_address: None,
            crypto_channel: None,
            crypto_received: 0,
            crypto_confirmations: 0,
            referral: None,
            coupon_id: None,
            custom,
            return_url,
            webhook_url,
            white_label: self.white_label.unwrap_or(false),
            cancelled_at: None,
            paid_at: None,
            created_at: now,
            updated_at: now,
        };
        Ok(Checkout {
            order,
            customer: Customer { email, ip, country },
            product,
        })
    }
}

/// What rules see of the order: `order.value` is a number so `order.value > 100` works.
fn rule_context(order: &Order, customer: &Customer) -> Value {
    customer.context(json!({
        "title": order.title,
        "value": order.value.approximate(),
        "currency": order.currency.as_str(),
        "quantity": order.quantity,
        "gateway": order.gateway.as_str(),
        "product_id": order.product_id,
    }))
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Payments>>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PaymentInput>,
) -> ApiResult<Response> {
    let product = match input.product_id.as_deref() {
        Some(id) => resources::resolve::<Product>(&state.db, &tenant, id).await?,
        None => None,
    };
    let Checkout {
        mut order,
        customer,
        product,
    } = input.validate(
        product,
        state.config.allow_private_targets,
        Timestamp::now(),
    )?;
    let verdict = screening(&state, &tenant, &order, &customer).await?;
    let recent = recent_payments(&state, &tenant, customer.ip, customer.email.as_deref()).await;
    if let Some(reason) = judge(&mut order, &customer, verdict, product.as_ref(), recent) {
        return Err(ApiError::Refused(reason));
    }
    let token = new_payment_token();
    let event = order_event(
        EventType::OrderCreated,
        &order,
        product.as_ref().map(|p| &p.value),
    );
    Change::new(&state.db, &tenant)
        .create(&order, None)?
        .with_payment_token(&state.db, &tenant, &token, &order)?
        .emit(event)
        .commit(state.outbox())
        .await?;
    let url = format!(
        "{}/pay/{token}",
        shared::http::public_base(&state.config, &headers)
    );
    let body = if order.white_label {
        let mut raw = serde_json::to_value(&order).map_err(ApiError::internal)?;
        raw["url"] = Value::String(url);
        // The seed's white-label answer has it; PushGuard watches no blockchain, so it
        // is null like the crypto_* fields.
        raw["confirmations_needed"] = Value::Null;
        raw
    } else {
        json!({ "url": url })
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// What screening and the risk level make of `order`: the reason it is refused, or
/// `None` with its `risk_level` set and, when a `flag` rule matched or the level is
/// above the product's `max_risk_level`, its status high risk (52). A product with
/// `vpn_block` refuses an IP in a hosting or VPN network.
fn judge(
    order: &mut Order,
    customer: &Customer,
    verdict: Verdict,
    product: Option<&Stored<Product>>,
    recent: u64,
) -> Option<String> {
    let flagged_by = match verdict {
        Verdict::Block(reason) => return Some(reason),
        Verdict::Accept { flagged_by } => flagged_by,
    };
    let risk = risk::assess(customer, flagged_by.is_some(), recent);
    order.risk_level = risk.level;
    let product = product.map(|p| &p.value);
    if product.is_some_and(|p| p.vpn_block) && risk.hosting {
        return Some(t!(
            "The payment was blocked: the customer's IP address is in a hosting or VPN network"
        ));
    }
    let above = product.is_some_and(|p| risk.level > p.max_risk_level);
    if flagged_by.is_some() || above {
        tracing::info!(
            order = %order.id,
            rule = flagged_by.as_deref().unwrap_or("-"),
            risk = risk.level,
            reasons = ?risk.reasons,
            "payment flagged as high risk"
        );
        order.status = OrderStatus::HighRisk;
    }
    None
}

/// How many payments this IP address and this email made in the tenant this hour, this
/// one included (the larger; one UpdateItem each, on items forgotten after two hours,
/// which name them by hash). 0 in test mode, where a developer pays from one address all
/// day, and when the store could not count: the risk level is then lower, and the
/// payment never refused for it.
async fn recent_payments(
    state: &AppState,
    tenant: &Tenant,
    ip: Option<IpAddr>,
    email: Option<&str>,
) -> u64 {
    if tenant.mode() == shared::Mode::Test {
        return 0;
    }
    let hour = Timestamp::now().as_epoch_seconds() / 3600;
    let forget_after = Timestamp::from_millis((hour + 2) * 3_600_000);
    let mut most = 0;
    for (what, value) in [
        ("ip", ip.map(|ip| ip.to_string())),
        ("email", email.map(str::to_string)),
    ] {
        let Some(value) = value else { continue };
        let id = format!(
            "vel#{}#{what}#{}#{hour}",
            tenant.partition(),
            hex::encode(Sha256::digest(value.as_bytes()))
        );
        match shared::store::requests::count_sighting(&state.db, &id, forget_after).await {
            Ok(seen) => most = most.max(seen),
            Err(error) => tracing::warn!(%error, what, "payments not counted for the risk level"),
        }
    }
    most
}

/// The tenant's rules and blacklists against this customer.
async fn screening(
    state: &AppState,
    tenant: &Tenant,
    order: &Order,
    customer: &Customer,
) -> ApiResult<Verdict> {
    let (rules, blacklists) = futures::try_join!(
        resources::all::<BlacklistRule>(&state.db, tenant),
        resources::all::<Blacklist>(&state.db, tenant),
    )?;
    let context = rule_context(order, customer);
    Ok(screen(
        &rules,
        &blacklists,
        customer,
        &context,
        &state.rules,
    ))
}

/// Cancels an unpaid payment: its page stops offering payment and its order can no
/// longer change. Cancelling twice is fine; a paid order cannot be cancelled.
async fn cancel(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Payments>>,
    PathId(id): PathId<kinds::Order>,
) -> ApiResult<StatusCode> {
    let before = crud::find::<Order>(&state, &tenant, &id).await?;
    if before.value.cancelled_at.is_some() {
        return Ok(StatusCode::NO_CONTENT);
    }
    if matches!(
        before.value.status,
        OrderStatus::Paid | OrderStatus::Refunded | OrderStatus::Chargeback
    ) {
        return Err(ApiError::Conflict(t!(
            "The order is paid; refund it instead of cancelling the payment"
        )));
    }
    let now = Timestamp::now();
    let after = Order {
        cancelled_at: Some(now),
        updated_at: now,
        ..before.value.clone()
    };
    updated(&state, &tenant, &before, &after, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Writes `after` over `before` with its `order:updated`, in one transaction (the
/// product, which the event carries, read unless given).
async fn updated(
    state: &AppState,
    tenant: &Tenant,
    before: &Stored<Order>,
    after: &Order,
    product: Option<Option<Stored<Product>>>,
) -> ApiResult<()> {
    let product = match product {
        Some(product) => product,
        None if after.is_product_order() => {
            resources::resolve::<Product>(&state.db, tenant, &after.product_id).await?
        }
        None => None,
    };
    Change::new(&state.db, tenant)
        .update(before, after)?
        .emit(order_event(
            EventType::OrderUpdated,
            after,
            product.as_ref().map(|p| &p.value),
        ))
        .commit(state.outbox())
        .await?;
    Ok(())
}

/// `email`, which the customer gave on the page of `token`'s payment (made without one),
/// screened as a payment is, now that email blacklists and rules can see it: refused,
/// the payment is cancelled (the reason comes back, for the merchant's log); flagged,
/// the order is high risk. Either way `order:updated` tells the merchant.
async fn give_email(state: &AppState, token: &str, email: &str) -> ApiResult<Option<String>> {
    let email = email.trim().to_ascii_lowercase();
    if !is_valid_email(&email) {
        return Err(ApiError::invalid(t!("Email is not a valid email address")));
    }
    let (tenant, before) = by_payment_token(&state.db, token)
        .await?
        .ok_or(ApiError::NotFound("Payment"))?;
    if before.value.email.is_some() {
        return Err(ApiError::Conflict(t!("The payment has an email already")));
    }
    if before.value.cancelled_at.is_some() || before.value.status != OrderStatus::NotPaid {
        return Err(ApiError::Conflict(t!(
            "The payment can no longer change: it was cancelled or paid"
        )));
    }
    let customer = Customer {
        email: Some(email.clone()),
        ip: before
            .value
            .ip_address
            .as_deref()
            .and_then(|ip| ip.parse().ok()),
        country: before.value.country_code.clone(),
    };
    let now = Timestamp::now();
    let mut after = Order {
        email: Some(email),
        updated_at: now,
        ..before.value.clone()
    };
    let product = if after.is_product_order() {
        resources::resolve::<Product>(&state.db, &tenant, &after.product_id).await?
    } else {
        None
    };
    let verdict = screening(state, &tenant, &after, &customer).await?;
    // The IP was counted when the payment was made; the email is new.
    let recent = recent_payments(state, &tenant, None, customer.email.as_deref()).await;
    let refused = judge(&mut after, &customer, verdict, product.as_ref(), recent);
    if refused.is_some() {
        after.cancelled_at = Some(now);
    }
    updated(state, &tenant, &before, &after, Some(product)).await?;
    Ok(refused)
}

/// The order a page token opens, and the mode it was made in.
async fn order_for(state: &AppState, token: &str) -> ApiResult<Option<(Order, Tenant)>> {
    Ok(by_payment_token(&state.db, token)
        .await?
        .map(|(tenant, order)| (order.value, tenant)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(input: PaymentInput) -> Vec<String> {
        match input.validate(None, false, Timestamp::now()) {
            Err(ApiError::Validation(errors)) => errors,
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("expected errors"),
        }
    }

    #[test]
    fn an_empty_payment_lists_every_missing_field() {
        assert_eq!(
            errors(PaymentInput::default()),
            [
                "Title can't be blank",
                "Gateway can't be blank",
                "Value can't be blank",
                "Currency can't be blank"
            ]
        );
    }

    #[test]
    fn malformed_customer_details_are_each_reported() {
        let errors = errors(PaymentInput {
            title: Some("Pay".into()),
            gateway: Some("bitcoin".into()),
            value: Some(json!(0)),
            currency: Some("USD".into()),
            email: Some("nobody".into()),
            ip_address: Some("999.1.1.1".into()),
            country_code: Some("USA".into()),
            return_url: Some("javascript:alert(1)".into()),
            custom: Some(json!("x")),
            ..Default::default()
        });
        assert_eq!(errors.len(), 6, "{errors:?}");
    }

    #[test]
    fn a_valid_payment_becomes_an_unpaid_order() {
        let checkout = PaymentInput {
            title: Some("Consulting".into()),
            gateway: Some("PayPal".into()),
            value: Some(json!(10.5)),
            currency: Some("usd".into()),
            email: Some("Ann@Example.com".into()),
            ip_address: Some("41.117.222.111".into()),
            country_code: Some("us".into()),
            ..Default::default()
        }
        .validate(None, false, Timestamp::now())
        .unwrap();
        let order = checkout.order;
        assert_eq!(
            (
                order.product_id.as_str(),
                order.gateway.display_name(),
                order.value.as_str()
            ),
            ("pay", "PayPal", "10.5")
        );
        assert_eq!(
            (order.email.as_deref(), order.country_code.as_deref()),
            (Some("ann@example.com"), Some("US"))
        );
        assert_eq!(order.usd_value.as_ref().map(Amount::as_str), Some("10.5"));
        let context = rule_context(&order, &checkout.customer);
        assert_eq!(context["customer"]["email_domain"], "example.com");
        assert_eq!(context["order"]["value"], 10.5);
    }

    /// The seed's own example: no email (the payment page asks the customer for it), a
    /// gateway as the seed writes it, a number for the value, a return URL.
    #[test]
    fn the_seeds_payment_example_needs_no_email() {
        let checkout = PaymentInput {
            title: Some("PushGuard Pay Example".into()),
            gateway: Some("Bitcoin".into()),
            value: Some(json!(10.00)),
            currency: Some("USD".into()),
            return_url: Some("https://website.com/return".into()),
            ..Default::default()
        }
        .validate(None, false, Timestamp::now())
        .unwrap();
        assert_eq!(checkout.order.email, None);
        assert_eq!(checkout.order.gateway, Gateway::Bitcoin);
        let context = rule_context(&checkout.order, &checkout.customer);
        assert_eq!(context["customer"]["email"], Value::Null);
    }
}
