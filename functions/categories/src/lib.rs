//! Categories: named groups of a merchant's products.
//!
//! `GET/POST /categories`, `GET/PUT/DELETE /categories/{id}`. Every id in `product_ids`
//! must be a product of the tenant, checked in the same transaction as the write.

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiError, ApiResult, AppState, Tenant, Timestamp,
    auth::{Scoped, Write, groups},
    commerce::{Category, Product, media::Purpose},
    crud::{self, text},
    error::Violations,
    http::{ApiJson, nullable},
    ids::CategoryId,
    ids::{PathId, kinds},
    routes::Routes,
    store::resources::{self, Change},
    uploads::Attachments,
};

const MAX_TITLE: usize = 255;
/// A transaction holds 100 writes; the category and its product checks must fit.
pub const MAX_PRODUCTS: usize = 90;

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    const ONE: &str = "/api/v2/categories/{id}";
    Routes::new("categories")
        .get("/api/v2/categories", crud::list::<Category>, |op| {
            op.summary("List categories")
                .returns_list::<Category>("Categories, newest first")
        })
        .post("/api/v2/categories", create, |op| {
            op.summary("Create a category")
                .body::<CategoryInput>()
                .requiring(&["title"])
                .creates("/id")
                .returns::<Category>(201, "The category")
        })
        .get(ONE, crud::retrieve::<Category>, |op| {
            op.summary("Retrieve a category")
                .returns::<Category>(200, "The category")
        })
        .put(ONE, update, |op| {
            op.summary("Update a category")
                .body::<CategoryInput>()
                .returns::<Category>(200, "The category")
        })
        .delete(ONE, destroy, |op| op.summary("Delete a category"))
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CategoryInput {
    title: Option<String>,
    product_ids: Option<Vec<String>>,
    unlisted: Option<bool>,
    /// An upload id (`upl_...`, purpose image) to attach, or null to remove the image.
    #[serde(default, deserialize_with = "nullable")]
    image: Option<Option<String>>,
}

impl CategoryInput {
    /// This input over `current`; `missing` are the product ids the tenant does not have.
    fn apply(
        self,
        current: Option<&Category>,
        missing: &[String],
        now: Timestamp,
    ) -> ApiResult<Category> {
        let mut errors = Violations::new();
        let title = text(self.title).or(current.map(|c| c.title.clone()));
        errors.length("Title", title.as_deref(), 1, MAX_TITLE);
        let mut product_ids = self
            .product_ids
            .or(current.map(|c| c.product_ids.clone()))
            .unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        product_ids.retain(|id| seen.insert(id.clone()));
        if product_ids.len() > MAX_PRODUCTS {
            errors.add(t!(
                "Product ids has too many products (maximum is {max})",
                max = MAX_PRODUCTS
            ));
        }
        for id in missing {
            errors.add(t!("Product {id:?} does not exist", id));
        }
        errors.finish()?;
        Ok(Category {
            id: current
                .map(|c| c.id.clone())
                .unwrap_or_else(CategoryId::new),
            title: title.unwrap_or_default(),
            product_ids,
            image: current.and_then(|c| c.image.clone()),
            unlisted: self
                .unlisted
                .or(current.map(|c| c.unlisted))
                .unwrap_or(false),
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
}

/// The products of `input` the tenant does not have (none looked up past the cap).
async fn missing(
    state: &AppState,
    tenant: &Tenant,
    input: &CategoryInput,
) -> ApiResult<Vec<String>> {
    match &input.product_ids {
        Some(ids) if ids.len() <= MAX_PRODUCTS => {
            Ok(resources::missing::<Product>(&state.db, tenant, ids).await?)
        }
        _ => Ok(Vec::new()),
    }
}

/// The write, with a check that each product still exists when it commits.
fn with_product_checks<'a>(mut change: Change<'a>, category: &Category) -> ApiResult<Change<'a>> {
    for id in &category.product_ids {
        change = change.require::<Product>(id)?;
    }
    Ok(change)
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Categories>>,
    headers: HeaderMap,
    ApiJson(mut input): ApiJson<CategoryInput>,
) -> ApiResult<Response> {
    let image = input.image.take();
    let missing = missing(&state, &tenant, &input).await?;
    let mut category = input.apply(None, &missing, Timestamp::now())?;
    let base = shared::http::public_base(&state.config, &headers);
    let mut attachments = Attachments::new(&state, &tenant, base);
    let committed = async {
        category.image = attachments
            .attach("Image", Purpose::Image, image, None)
            .await?;
        let change = Change::new(&state.db, &tenant).create(&category, None)?;
        with_product_checks(change, &category)?
            .commit(state.outbox())
            .await?;
        Ok::<_, ApiError>(())
    }
    .await;
    attachments.settle(&committed).await;
    committed?;
    Ok(crud::created(&category))
}

async fn update(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Categories>>,
    PathId(id): PathId<kinds::Category>,
    headers: HeaderMap,
    ApiJson(mut input): ApiJson<CategoryInput>,
) -> ApiResult<Response> {
    let before = crud::find::<Category>(&state, &tenant, &id).await?;
    let image = input.image.take();
    let missing = missing(&state, &tenant, &input).await?;
    let mut after = input.apply(Some(&before.value), &missing, Timestamp::now())?;
    let base = shared::http::public_base(&state.config, &headers);
    let mut attachments = Attachments::new(&state, &tenant, base);
    let committed = async {
        let current = before.value.image.as_ref();
        after.image = attachments
            .attach("Image", Purpose::Image, image, current)
            .await?;
        let change = Change::new(&state.db, &tenant).update(&before, &after)?;
        with_product_checks(change, &after)?
            .commit(state.outbox())
            .await?;
        Ok::<_, ApiError>(())
    }
    .await;
    attachments.settle(&committed).await;
    committed?;
    Ok(Json(after).into_response())
}

/// Deletes the category, and its image once the deletion committed.
async fn destroy(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Categories>>,
    PathId(id): PathId<kinds::Category>,
) -> ApiResult<StatusCode> {
    let found = crud::find::<Category>(&state, &tenant, &id).await?;
    let mut attachments = Attachments::new(&state, &tenant, String::new());
    attachments.release(&[&found.value.image]);
    let committed = Change::new(&state.db, &tenant)
        .delete(&found)?
        .commit(state.outbox())
        .await;
    attachments.settle(&committed).await;
    committed?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_products_and_a_blank_title_are_all_reported() {
        let input = CategoryInput {
            product_ids: Some(vec!["prd_a".into(), "prd_b".into(), "prd_a".into()]),
            ..Default::default()
        };
        let missing = ["prd_a".to_string(), "prd_b".to_string()];
        match input.apply(None, &missing, Timestamp::now()) {
            Err(shared::ApiError::Validation(errors)) => assert_eq!(
                errors,
                [
                    "Title can't be blank",
                    "Product \"prd_a\" does not exist",
                    "Product \"prd_b\" does not exist"
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_product_ids_are_kept_once() {
        let input = CategoryInput {
            title: Some(" Games ".into()),
            product_ids: Some(vec!["prd_a".into(), "prd_a".into()]),
            unlisted: Some(true),
            image: None,
        };
        let category = input.apply(None, &[], Timestamp::now()).unwrap();
        assert_eq!(
            (
                category.title.as_str(),
                category.product_ids.len(),
                category.unlisted
            ),
            ("Games", 1, true)
        );
    }
}
