//! The hosted payment page. Public: the token in its URL is the only key, and the page
//! shows nothing a customer does not already know about their own payment.

use super::order_for;
use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};
use shared::http::Client;
use shared::language::Language;
use shared::ratelimit::Decision;
use shared::t;
use shared::{
    AppState, Tenant,
    commerce::{Order, OrderStatus, Product, media::StoredObject},
    store::resources,
    uploads,
};
use shared::{html, html::Html as Markup};
use std::sync::LazyLock;

/// Polls the status every 5 s and updates the page until the status is final.
const SCRIPT: &str = r#"(function(){var b=document.body,s=document.getElementById("status");function poll(){fetch(b.dataset.statusUrl,{headers:{Accept:"application/json"}}).then(function(r){return r.json()}).then(function(j){s.textContent=j.status_text;s.dataset.status=j.status;if(!j.final){setTimeout(poll,5000)}else{location.reload()}}).catch(function(){setTimeout(poll,10000)})}if(b.dataset.final!=="true"){setTimeout(poll,5000)}})();"#;

/// The page's Content-Security-Policy: only this script, no other origin.
static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'unsafe-inline'; connect-src 'self'; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ))
    .expect("a valid header")
});

/// What the customer reads as the payment's state.
fn status_text(order: &Order) -> String {
    if order.cancelled_at.is_some() {
        t!("Cancelled")
    } else if order.awaits_delivery() {
        t!("Paid: your purchase is being prepared")
    } else {
        order.status.describe_in(Language::current())
    }
}

/// Whether the page can stop polling: the status can no longer change, and what was
/// bought is there (a dynamic product's answer comes after the payment).
fn is_final(order: &Order) -> bool {
    order.cancelled_at.is_some()
        || (matches!(
            order.status,
            OrderStatus::Paid | OrderStatus::Refunded | OrderStatus::Chargeback
        ) && !order.awaits_delivery())
}

fn render(
    order: &Order,
    token: &str,
    mode: shared::Mode,
    problem: Option<&str>,
    download: Option<&StoredObject>,
) -> Markup {
    let done = order.status == OrderStatus::Paid;
    // A payment made without an email asks the customer for it before payment.
    let ask = if order.email.is_none() && order.cancelled_at.is_none() && !is_final(order) {
        let problem = problem.map_or_else(Markup::default, |p| {
            html!(r#"<p id="problem" role="alert">{problem}</p>"#, problem = p)
        });
        html!(
            r#"<form method="post" action="/pay/{token}" id="email-form">{problem}<p><label for="email">{label}</label><br><input type="email" id="email" name="email" required autocomplete="email" maxlength="254"></p><p><button type="submit">{go}</button></p></form>"#,
            token = token,
            problem = problem,
            label = t!("Your email, for the receipt and what you buy"),
            go = t!("Continue to payment"),
        )
    } else {
        Markup::default()
    };
    // A test payment must not pass for a real one, to the customer or in a screenshot.
    let test_mode = match mode {
        shared::Mode::Test => html!(
            r#"<p id="test-mode" role="note" style="background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .75rem;font-weight:600">{note}</p>"#,
            note = t!("Test mode: this is not a real payment, and no money moves.")
        ),
        shared::Mode::Live => Markup::default(),
    };
    // What was bought (serials, a dynamic product's answer), once paid: the customer's.
    let delivered = match (&order.delivered, done) {
        (Some(goods), true) => html!(
            r#"<h2>{yours}</h2><pre id="delivered" style="white-space:pre-wrap;word-break:break-all">{goods}</pre>"#,
            yours = t!("Your purchase"),
            goods = goods,
        ),
        _ => Markup::default(),
    };
    // A file product's file, for the customer who paid: a link that makes a short-lived one.
    let download = match (download, done) {
        (Some(file), true) => html!(
            r#"<p><a id="download" href="/pay/{token}/file">{verb} {name}</a> ({size} {bytes})</p>"#,
            token = token,
            verb = t!("Download"),
            bytes = t!("bytes"),
            name = file.metadata.filename,
            size = file.metadata.size,
        ),
        _ => Markup::default(),
    };
    let back = match (&order.return_url, done) {
        (Some(url), true) => html!(
            r#"<p><a href="{url}">{back}</a></p>"#,
            url = url,
            back = t!("Return to the shop")
        ),
        _ => Markup::default(),
    };
    html!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{title} · PushGuard Pay</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}}dl{{display:grid;grid-template-columns:auto 1fr;gap:.5rem 1rem}}dt{{color:#57606a}}#status{{font-weight:600}}</style>
</head><body data-status-url="/pay/{token}/status" data-final="{final_}">
{test_mode}<h1>{title}</h1>
<dl><dt>{amount}</dt><dd>{value} {currency}</dd><dt>{quantity_}</dt><dd>{quantity}</dd><dt>{gateway_}</dt><dd>{gateway}</dd><dt>{status_}</dt><dd id="status" data-status="{code}">{status}</dd><dt>{order_}</dt><dd>{id}</dd></dl>
{ask}{delivered}{download}{back}<noscript><p>{reload}</p></noscript>
<script>{script}</script>
</body></html>"#,
        title = order.title,
        token = token,
        final_ = is_final(order),
        test_mode = test_mode,
        ask = ask,
        delivered = delivered,
        download = download,
        back = back,
        script = Markup::trusted(SCRIPT),
        value = order.value.as_str(),
        currency = order.currency.as_str(),
        quantity = order.quantity,
        gateway = order.gateway.display_name(),
        code = order.status.code(),
        status = status_text(order),
        id = order.id,
        lang = Language::current().tag(),
        amount = t!("Amount"),
        quantity_ = t!("Quantity"),
        gateway_ = t!("Gateway"),
        status_ = t!("Status"),
        order_ = t!("Order"),
        reload = t!("Reload this page to see the latest status."),
    )
}

fn not_found() -> Response {
    plain_page(StatusCode::NOT_FOUND, &t!("This payment does not exist."))
}

/// Whether the page's visitor may see `token`'s payment: their own bucket in this
/// instance first (no store), then the token (one read: a made-up token costs no
/// write and answers 404), and only then the payment's own bucket, which every visitor
/// of one link shares; its decision goes out in the `RateLimit-*` headers. `Err` is the
/// answer to give instead.
async fn admit(
    state: &AppState,
    client: &Client,
    token: &str,
    missing: fn() -> Response,
) -> Result<(Order, Tenant, Option<Decision>), Response> {
    let limited = |decision: Decision| {
        let mut response = decision.refusal().into_response();
        decision.write_headers(response.headers_mut());
        response
    };
    if let Some(refused) = client.refused(state) {
        return Err(limited(refused));
    }
    let (order, tenant) = match order_for(state, token).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(missing()),
        Err(error) => return Err(error.into_response()),
    };
    let decision = state
        .limiter
        .page(&state.db, state.config.rate_limits.page, token)
        .await;
    match decision {
        Some(decision) if !decision.allowed => Err(limited(decision)),
        decision => Ok((order, tenant, decision)),
    }
}

/// `GET /pay/{token}`.
pub async fn show(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
) -> Response {
    let (order, tenant, decision) = match admit(&state, &client, &token, not_found).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let file = match bought_file(&state, &tenant, &order).await {
        Ok(file) => file,
        Err(error) => return error.into_response(),
    };
    let page = render(&order, &token, tenant.mode(), None, file.as_ref());
    let mut response = Html(page.into_string()).into_response();
    shared::http::page_headers(&mut response, &CSP);
    if let Some(decision) = decision {
        decision.write_headers(response.headers_mut());
    }
    response
}

/// The page's email form, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the form; `give_email` reads it
pub struct EmailForm {
    #[schema(format = Email)]
    email: String,
}

/// `POST /pay/{token}`: the customer's email, for a payment made without one (see
/// `super::give_email`); back to the page, which shows what became of the payment.
pub async fn give_email(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (order, tenant, decision) = match admit(&state, &client, &token, not_found).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let mode = tenant.mode();
    let email = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "email")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let mut response = match super::give_email(&state, &token, &email).await {
        Ok(refused) => {
            if let Some(reason) = refused {
                tracing::info!(order = %order.id, reason, "payment refused once its email was given");
            }
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(to) = HeaderValue::from_str(&format!("/pay/{token}")) {
                response.headers_mut().insert(header::LOCATION, to);
            }
            response
        }
        Err(shared::ApiError::Validation(problems)) => {
            let problem = problems.first().map(String::as_str);
            let page = render(&order, &token, mode, problem, None);
            (StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response()
        }
        Err(error @ shared::ApiError::Conflict(_)) => {
            let page = render(&order, &token, mode, None, None);
            (error.status(), Html(page.into_string())).into_response()
        }
        Err(error) => error.into_response(),
    };
    shared::http::page_headers(&mut response, &CSP);
    if let Some(decision) = decision {
        decision.write_headers(response.headers_mut());
    }
    response
}

/// The file of the product `order` bought, once it is paid (one read, of the product).
async fn bought_file(
    state: &AppState,
    tenant: &Tenant,
    order: &Order,
) -> shared::ApiResult<Option<StoredObject>> {
    if order.status != OrderStatus::Paid
        || order.cancelled_at.is_some()
        || !order.is_product_order()
    {
        return Ok(None);
    }
    let product = resources::resolve::<Product>(&state.db, tenant, &order.product_id).await?;
    Ok(product.and_then(|p| p.value.file))
}

/// An HTML answer with `status` and one sentence.
fn plain_page(status: StatusCode, text: &str) -> Response {
    let page = html!(
        "<!doctype html><html lang=\"{lang}\"><meta charset=\"utf-8\"><title>{text}</title><p>{text}</p>",
        text = text,
        lang = Language::current().tag()
    );
    let mut response = (status, Html(page.into_string())).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
    response
}

/// `GET /pay/{token}/file`: the file of a file product, for the customer who paid it and
/// no one else (the token is theirs; the order must be paid), through a download URL
/// that works for a few minutes.
pub async fn file(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
) -> Response {
    let (order, tenant, decision) = match admit(&state, &client, &token, not_found).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let mut response = if order.status != OrderStatus::Paid || order.cancelled_at.is_some() {
        plain_page(
            StatusCode::FORBIDDEN,
            &t!("The download is for the customer who paid: this payment is not complete."),
        )
    } else {
        match bought_file(&state, &tenant, &order).await {
            Ok(Some(file)) => match uploads::file_location(&state, &tenant, &file).await {
                Ok(location) => shared::http::redirect(&location, "no-store"),
                Err(error) => error.into_response(),
            },
            Ok(None) => plain_page(
                StatusCode::NOT_FOUND,
                &t!("This purchase has no file to download."),
            ),
            Err(error) => error.into_response(),
        }
    };
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Some(decision) = decision {
        decision.write_headers(response.headers_mut());
    }
    response
}

/// What the payment page polls.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PageStatus {
    /// The order's status code.
    status: u16,
    status_text: String,
    /// Whether the page shows all it will: the status can no longer change, and what
    /// was bought is there.
    #[serde(rename = "final")]
    is_final: bool,
}

/// `GET /pay/{token}/status`: what the page polls.
pub async fn status(
    State(state): State<AppState>,
    client: Client,
    Path(token): Path<String>,
) -> Response {
    let missing = || shared::ApiError::NotFound("Payment").into_response();
    let (order, _, decision) = match admit(&state, &client, &token, missing).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let mut response = Json(PageStatus {
        status: order.status.code(),
        status_text: status_text(&order).to_string(),
        is_final: is_final(&order),
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(decision) = decision {
        decision.write_headers(response.headers_mut());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_merchant_is_escaped() {
        let page = plain_page(StatusCode::OK, r#"<script>"a" & 'b'</script>"#);
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY].clone();
        assert_eq!(csp, *CSP);
        let order = crate::PaymentInput {
            title: Some("<b>Bold</b> & co".into()),
            gateway: Some("paypal".into()),
            value: Some(serde_json::json!("1.00")),
            currency: Some("USD".into()),
            ..Default::default()
        }
        .validate(None, false, shared::Timestamp::now())
        .unwrap()
        .order;
        let html = render(
            &order,
            "tok<en>",
            shared::Mode::Live,
            Some("<i>no</i>"),
            None,
        );
        let html = html.as_str();
        assert!(html.contains("<title>&lt;b&gt;Bold&lt;/b&gt; &amp; co · PushGuard Pay"));
        assert!(html.contains(r#"data-status-url="/pay/tok&lt;en&gt;/status""#));
        assert!(
            html.contains(&format!("<script>{SCRIPT}</script>")),
            "the script as it is"
        );
        assert!(!html.contains("<b>") && !html.contains("<i>"));
    }

    #[test]
    fn the_policy_allows_exactly_the_page_script() {
        let csp = CSP.to_str().unwrap();
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"));
        let hash = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
        assert_eq!(
            script_src,
            Some(format!("script-src 'sha256-{hash}'").as_str())
        );
    }
}
