//! Products: what a merchant sells.
//!
//! `GET/POST /products`, `GET/PUT/DELETE /products/{id}`. Stock reaching 0 (by an
//! update here, or by a paid order) emits `product:out_of_stock`.
//!
//! Also the uploads products and categories attach (`POST /uploads`, see
//! `shared::uploads`) and the public address of their images (`GET /media/images/{id}`).

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::Value;
use shared::t;
use shared::{
    ApiError, ApiResult, AppState, Timestamp,
    auth::{Scoped, Write, groups},
    commerce::{
        Amount, Category, Currency, Gateway, Product, ProductType, Stock, media::Purpose,
        product::serials, product_event,
    },
    crud::{self, merge, text},
    error::{Checked, Violations},
    events::Event,
    http::{ApiJson, Client, nullable},
    ids::ProductId,
    ids::{PathId, kinds},
    routes::Routes,
    store::resources::{self, Change, ListFilter},
    uploads::{self, Attachments, Upload, UploadInput},
    webhooks::{EventType, WebhookUrl},
};

const MAX_TITLE: usize = 255;
const MAX_DESCRIPTION: usize = 10_000;
const MAX_NOTE: usize = 1_000;
const MAX_INFO: usize = 100_000;

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    const ONE: &str = "/api/v2/products/{id}";
    Routes::new("products")
        .get("/api/v2/products", crud::list::<Product>, |op| {
            op.summary("List products")
                .returns_list::<Product>("Products, newest first")
        })
        .post("/api/v2/products", create, |op| {
            op.summary("Create a product")
                .body_example::<ProductInput>(serde_json::json!({
                    "title": "Licence key", "price": "9.99", "currency": "USD",
                    "gateways": ["paypal", "bitcoin"]
                }))
                .requiring(&["title", "price", "currency", "gateways"])
                .creates("/id")
                .returns::<Product>(201, "The product")
        })
        .get(ONE, crud::retrieve::<Product>, |op| {
            op.summary("Retrieve a product")
                .returns::<Product>(200, "The product")
        })
        .put(ONE, update, |op| {
            op.summary("Update a product")
                .body::<ProductInput>()
                .returns::<Product>(200, "The product")
        })
        .delete(ONE, destroy, |op| op.summary("Delete a product"))
        .post("/api/v2/uploads", upload, |op| {
            op.summary("Upload an image or a file")
                .body_example::<UploadInput>(serde_json::json!({
                    "purpose": "image", "filename": "logo.png", "mime_type": "image/png",
                    "size": 3463
                }))
                .requiring(&["purpose", "filename", "mime_type", "size"])
                .returns::<Upload>(
                    201,
                    "Where to PUT the bytes, with the headers given; then attach the upload by \
                     its id as a product's image or file, or a category's image",
                )
        })
}

/// The public address of images (outside the API's conventions, like the payment page).
pub fn page_routes() -> Routes {
    Routes::new("products").get("/media/images/{id}", image, |op| {
        op.summary("An image, by the id of its upload (public)")
            .redirects("To a short-lived URL of the image's bytes")
    })
}

/// The public image addresses as served (the handler limits each client).
pub fn pages(state: AppState) -> Router {
    shared::http::public(page_routes().router(), state)
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state.clone()).merge(pages(state))
}

/// The body of create and update; every field optional so update can be partial.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ProductInput {
    title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    price: Option<Value>,
    currency: Option<String>,
    gateways: Option<Vec<String>>,
    product_type: Option<u64>,
    stock: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    info: Option<Option<String>>,
    stock_delimiter: Option<String>,
    private: Option<bool>,
    unlisted: Option<bool>,
    vpn_block: Option<bool>,
    paypal_email_delivery: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    seller_note: Option<Option<String>>,
    minimum_quantity: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    maximum_quantity: Option<Option<u32>>,
    theme: Option<u32>,
    crypto_confirmations: Option<u32>,
    max_risk_level: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    dynamic_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    webhook_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    custom: Option<Option<Value>>,
    /// An upload id (`upl_...`, purpose image) to attach, or null to remove the image.
    #[serde(default, deserialize_with = "nullable")]
    image: Option<Option<String>>,
    /// An upload id (`upl_...`, purpose file) to attach, or null to remove the file.
    #[serde(default, deserialize_with = "nullable")]
    file: Option<Option<String>>,
}

/// A URL field with webhook URL rules (https, a public host), named `field` in errors;
/// blank is none.
fn https_url(
    errors: &mut Violations,
    field: &str,
    value: Option<String>,
    allow_private: bool,
) -> Checked<Option<String>> {
    errors.check_given(text(value), |url| {
        WebhookUrl::parse_named(&url, field, allow_private).map(|url| url.as_url().to_string())
    })
}

/// The gateways named, each once; a name that is not a gateway is reported as such (and
/// not as a blank list too).
fn gateways(errors: &mut Violations, names: Vec<String>) -> Checked<Vec<Gateway>> {
    let parsed: Vec<Checked<Gateway>> = names.iter().map(|n| errors.check(n.parse())).collect();
    let mut gateways = Vec::new();
    for gateway in parsed.iter().filter_map(Checked::peek) {
        if !gateways.contains(gateway) {
            gateways.push(*gateway);
        }
    }
    let all_known = parsed.iter().all(|g| g.peek().is_some());
    Checked::valid(gateways).ensure(errors, |list| !list.is_empty() || !all_known, no_gateways)
}

fn no_gateways<T>(_: &T) -> String {
    t!("Gateways can't be blank (one or more of paypal, stripe, bitcoin, ethereum, litecoin)")
}

impl ProductInput {
    /// This input applied over `current` (none when creating), every problem listed.
    fn apply(
        self,
        current: Option<&Product>,
        allow_private: bool,
        now: Timestamp,
    ) -> ApiResult<Product> {
        let mut errors = Violations::new();
        let held = |field: fn(&Product) -> &Option<String>| current.map(field);
        let title = errors.text(
            "Title",
            merge(text(self.title), current.map(|c| &c.title)),
            2,
            MAX_TITLE,
        );
        let description = merge(self.description.map(text), held(|c| &c.description)).flatten();
        errors.length("Description", description.as_deref(), 0, MAX_DESCRIPTION);
        let price = match self.price {
            Some(value) => errors.check(Amount::from_json(&value).map_err(|e| t!("Price {e}", e))),
            None => errors.require("Price", current.map(|c| c.price.clone())),
        };
        let currency = match self.currency {
            Some(code) => errors.check(code.parse::<Currency>()),
            None => errors.require("Currency", current.map(|c| c.currency.clone())),
        };
        let gateways =
            match self.gateways {
                Some(names) => gateways(&mut errors, names),
                None => Checked::valid(current.map(|c| c.gateways.clone()).unwrap_or_default())
                    .ensure(&mut errors, |list| !list.is_empty(), no_gateways),
            };
        let product_type = match self.product_type {
            Some(code) => errors.check(ProductType::try_from(code)),
            None => Checked::valid(current.map_or(ProductType::File, |c| c.product_type)),
        };
        let stock_delimiter = merge(self.stock_delimiter, current.map(|c| &c.stock_delimiter))
            .unwrap_or_else(|| ",".into());
        if stock_delimiter.trim().is_empty() || stock_delimiter.chars().count() > 8 {
            errors.add(t!(
                "Stock delimiter must be 1 to 8 characters, not only spaces"
            ));
        }
        let info = merge(self.info.map(text), held(|c| &c.info)).flatten();
        errors.length("Info", info.as_deref(), 0, MAX_INFO);
        let stock = if product_type.peek() == Some(&ProductType::Serials) {
            if self.stock.is_some() {
                errors.add(t!(
                    "Stock of a serials product is the number of serials in info; set info instead"
                ));
            }
            let count = serials(info.as_deref().unwrap_or_default(), &stock_delimiter).count();
            Checked::valid(Stock::Count(count as u64))
        } else {
            match self.stock {
                Some(value) => errors.check(
                    serde_json::from_value::<Stock>(value)
                        .map_err(|_| t!("Stock must be \"∞\" or a non-negative integer")),
                ),
                None => Checked::valid(current.map_or(Stock::Unlimited, |c| c.stock)),
            }
        };
        let minimum_quantity =
            merge(self.minimum_quantity, current.map(|c| &c.minimum_quantity)).unwrap_or(1);
        if minimum_quantity == 0 {
            errors.add(t!("Minimum quantity must be at least 1"));
        }
        let maximum_quantity =
            merge(self.maximum_quantity, current.map(|c| &c.maximum_quantity)).flatten();
        if maximum_quantity.is_some_and(|max| max < minimum_quantity) {
            errors.add(t!(
                "Maximum quantity must not be less than the minimum quantity"
            ));
        }
        let max_risk_level =
            merge(self.max_risk_level, current.map(|c| &c.max_risk_level)).unwrap_or(30);
        if max_risk_level > 100 {
            errors.add(t!("Max risk level must be between 0 and 100"));
        }
        let crypto_confirmations = merge(
            self.crypto_confirmations,
            current.map(|c| &c.crypto_confirmations),
        )
        .unwrap_or(1);
        if !(1..=100).contains(&crypto_confirmations) {
            errors.add(t!("Crypto confirmations must be between 1 and 100"));
        }
        let seller_note = merge(self.seller_note.map(text), held(|c| &c.seller_note)).flatten();
        errors.length("Seller note", seller_note.as_deref(), 0, MAX_NOTE);
        let dynamic_url = match self.dynamic_url {
            Some(url) => https_url(&mut errors, "Dynamic url", url, allow_private),
            None => Checked::valid(current.and_then(|c| c.dynamic_url.clone())),
        };
        // Reported when none is held, not when the one given was refused.
        if product_type.peek() == Some(&ProductType::Dynamic) && dynamic_url.peek() == Some(&None) {
            errors.add(t!("Dynamic url can't be blank for a dynamic product"));
        }
        let webhook_url = match self.webhook_url {
            Some(url) => https_url(&mut errors, "Webhook url", url, allow_private),
            None => Checked::valid(current.and_then(|c| c.webhook_url.clone())),
        };
        let custom = match self.custom {
            Some(given) => errors.check(shared::validate::custom(given)),
            None => Checked::valid(
                current.map_or_else(|| Value::Object(Default::default()), |c| c.custom.clone()),
            ),
        };
        let flag = |given: Option<bool>, held: fn(&Product) -> bool| {
            given.or(current.map(held)).unwrap_or(false)
        };
        let (title, price, currency, gateways, product_type, stock, urls, custom) = errors
            .finish_with((
                title,
                price,
                currency,
                gateways,
                product_type,
                stock,
                (dynamic_url, webhook_url),
                custom,
            ))?;
        let (dynamic_url, webhook_url) = urls;
        Ok(Product {
            id: current.map(|c| c.id.clone()).unwrap_or_else(ProductId::new),
            title,
            description,
            stock,
            price,
            currency,
            product_type,
            gateways,
            private: flag(self.private, |c| c.private),
            unlisted: flag(self.unlisted, |c| c.unlisted),
            vpn_block: flag(self.vpn_block, |c| c.vpn_block),
            seller_note,
            maximum_quantity,
            minimum_quantity,
            stock_delimiter,
            stock_amount: None,
            image: current.and_then(|c| c.image.clone()),
            theme: merge(self.theme, current.map(|c| &c.theme)).unwrap_or(1),
            crypto_confirmations,
            max_risk_level,
            dynamic_url,
            info,
            file: current.and_then(|c| c.file.clone()),
            paypal_email_delivery: flag(self.paypal_email_delivery, |c| c.paypal_email_delivery),
            webhook_url,
            custom,
            created_at: current.map_or(now, |c| c.created_at),
            updated_at: now,
        })
    }
}

/// `product:out_of_stock` when this change empties the product's stock.
fn out_of_stock(before: Option<&Product>, after: &Product) -> Option<Event> {
    let emptied = match before {
        Some(before) => Product::ran_out(before, after),
        None => after.stock == Stock::Count(0),
    };
    emptied.then(|| product_event(EventType::ProductOutOfStock, after))
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Products>>,
    headers: HeaderMap,
    ApiJson(mut input): ApiJson<ProductInput>,
) -> ApiResult<Response> {
    let (image, file) = (input.image.take(), input.file.take());
    let mut product = input.apply(None, state.config.allow_private_targets, Timestamp::now())?;
    let base = shared::http::public_base(&state.config, &headers);
    let mut attachments = Attachments::new(&state, &tenant, base);
    let committed = async {
        attach(&mut attachments, &mut product, None, (image, file)).await?;
        let mut change = Change::new(&state.db, &tenant).create(&product, None)?;
        if let Some(event) = out_of_stock(None, &product) {
            change = change.emit(event);
        }
        change.commit(state.outbox()).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    attachments.settle(&committed).await;
    committed?;
    Ok(crud::created(&product))
}

async fn update(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Products>>,
    PathId(id): PathId<kinds::Product>,
    headers: HeaderMap,
    ApiJson(mut input): ApiJson<ProductInput>,
) -> ApiResult<Response> {
    let before = crud::find::<Product>(&state, &tenant, &id).await?;
    let (image, file) = (input.image.take(), input.file.take());
    let mut after = input.apply(
        Some(&before.value),
        state.config.allow_private_targets,
        Timestamp::now(),
    )?;
    let base = shared::http::public_base(&state.config, &headers);
    let mut attachments = Attachments::new(&state, &tenant, base);
    let committed = async {
        attach(
            &mut attachments,
            &mut after,
            Some(&before.value),
            (image, file),
        )
        .await?;
        let mut change = Change::new(&state.db, &tenant).update(&before, &after)?;
        if let Some(event) = out_of_stock(Some(&before.value), &after) {
            change = change.emit(event);
        }
        change.commit(state.outbox()).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    attachments.settle(&committed).await;
    committed?;
    Ok(Json(after).into_response())
}

/// Attaches the uploads a request names (`wanted`: its image and file) to `product`,
/// over `current`'s.
async fn attach(
    attachments: &mut Attachments<'_>,
    product: &mut Product,
    current: Option<&Product>,
    (image, file): (Option<Option<String>>, Option<Option<String>>),
) -> ApiResult<()> {
    let current_image = current.and_then(|c| c.image.as_ref());
    product.image = attachments
        .attach("Image", Purpose::Image, image, current_image)
        .await?;
    let current_file = current.and_then(|c| c.file.as_ref());
    product.file = attachments
        .attach("File", Purpose::File, file, current_file)
        .await?;
    Ok(())
}

/// `POST /uploads`.
async fn upload(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Products>>,
    ApiJson(input): ApiJson<UploadInput>,
) -> ApiResult<Response> {
    let upload = uploads::create(&state, &tenant, input).await?;
    Ok((StatusCode::CREATED, Json(upload)).into_response())
}

/// `GET /media/images/{id}`: public, limited per client like the payment page.
async fn image(
    State(state): State<AppState>,
    client: Client,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    if let Some(refused) = client.refused(&state) {
        let mut response = refused.refusal().into_response();
        refused.write_headers(response.headers_mut());
        return response;
    }
    match uploads::image_location(&state, &id).await {
        // Cached for less than the URL's own lifetime: never a redirect to an expired URL.
        Ok(location) => shared::http::redirect(&location, "public, max-age=300"),
        Err(error) => error.into_response(),
    }
}

/// Deletes the product and takes it out of every category that lists it, atomically.
async fn destroy(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Products>>,
    PathId(id): PathId<kinds::Product>,
) -> ApiResult<StatusCode> {
    let product = crud::find::<Product>(&state, &tenant, &id).await?;
    let listing = resources::all_matching::<Category>(
        &state.db,
        &tenant,
        ListFilter::default().contains("product_ids", &id),
    )
    .await?;
    let mut change = Change::new(&state.db, &tenant).delete(&product)?;
    let now = Timestamp::now();
    for category in &listing {
        let mut after = category.value.clone();
        after.product_ids.retain(|p| *p != *id);
        after.updated_at = now;
        change = change.update(category, &after)?;
    }
    let mut attachments = Attachments::new(&state, &tenant, String::new());
    attachments.release(&[&product.value.image, &product.value.file]);
    let committed = change.commit(state.outbox()).await;
    attachments.settle(&committed).await;
    committed?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(value: Value) -> ProductInput {
        serde_json::from_value(value).unwrap()
    }

    fn errors(result: ApiResult<Product>) -> Vec<String> {
        match result {
            Err(shared::ApiError::Validation(errors)) => errors,
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let errors =
            errors(input(Value::Object(Default::default())).apply(None, false, Timestamp::now()));
        assert_eq!(
            errors,
            [
                "Title can't be blank",
                "Price can't be blank",
                "Currency can't be blank",
                "Gateways can't be blank (one or more of paypal, stripe, bitcoin, ethereum, litecoin)"
            ]
        );
    }

    #[test]
    fn bad_values_are_each_named() {
        let errors = errors(
            input(json!({
                "title": "x", "price": "9.999999999", "currency": "DOLLARS",
                "gateways": ["paypal", "venmo"], "stock": -2, "product_type": 9,
                "minimum_quantity": 5, "maximum_quantity": 2, "webhook_url": "http://example.com"
            }))
            .apply(None, false, Timestamp::now()),
        );
        assert_eq!(errors.len(), 8, "{errors:?}");
        for part in [
            "Title is too short",
            "Price has more than 8",
            "ISO 4217",
            "venmo",
            "Product type",
            "Stock must",
            "Maximum quantity",
            "Webhook url must use https",
        ] {
            assert!(
                errors.iter().any(|e| e.contains(part)),
                "{part} missing from {errors:?}"
            );
        }
    }

    #[test]
    fn serial_products_count_their_serials() {
        let product = input(json!({
            "title": "Keys", "price": "9.99", "currency": "usd", "gateways": ["bitcoin"],
            "product_type": 2, "info": "A, B, C", "stock_delimiter": ","
        }))
        .apply(None, false, Timestamp::now())
        .unwrap();
        assert_eq!(product.stock, Stock::Count(3));
        assert_eq!(product.currency.as_str(), "USD");
        let refused =
            errors(input(json!({ "stock": 10 })).apply(Some(&product), false, Timestamp::now()));
        assert!(refused[0].contains("number of serials"), "{refused:?}");
    }

    #[test]
    fn updates_are_partial_and_stock_reaching_zero_is_an_event() {
        let before = input(json!({ "title": "Mug", "price": 12.5, "currency": "EUR", "gateways": ["paypal"], "stock": 2 }))
            .apply(None, false, Timestamp::now())
            .unwrap();
        assert_eq!(before.price.as_str(), "12.5");
        let after = input(json!({ "stock": 0 }))
            .apply(Some(&before), false, Timestamp::now())
            .unwrap();
        assert_eq!(
            (after.title.as_str(), after.id.as_str()),
            ("Mug", before.id.as_str())
        );
        let event = out_of_stock(Some(&before), &after).expect("stock reached zero");
        assert_eq!(event.event_type, "product:out_of_stock");
        assert!(
            out_of_stock(Some(&after), &after).is_none(),
            "already empty"
        );
    }
}
