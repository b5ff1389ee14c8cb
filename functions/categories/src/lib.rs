//! Categories: named groups of a merchant's products.
//!
//! `GET/POST /categories`, `GET/PUT/DELETE /categories/{id}`. Every id in `product_ids`
//! must be a product of the tenant, checked in the same transaction as the write.

use axum::{
    Json, Router,
    extract::State,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::Value;
use shared::{
    ApiResult, AppState, Tenant, Timestamp,
    auth::{Scoped, Write, groups},
    commerce::{Category, Product},
    crud::{self, text},
    error::Violations,
    http::ApiJson,
    ids::CategoryId,
    ids::{PathId, kinds},
    routes::Routes,
    store::resources::{self, Change},
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
        .delete(ONE, crud::destroy::<Category>, |op| {
            op.summary("Delete a category")
        })
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
            errors.add(format!(
                "Product ids has too many products (maximum is {MAX_PRODUCTS})"
            ));
        }
        for id in missing {
            errors.add(format!("Product {id:?} does not exist"));
        }
        errors.finish()?;
        Ok(Category {
            id: current
                .map(|c| c.id.clone())
                .unwrap_or_else(CategoryId::new),
            title: title.unwrap_or_default(),
            product_ids,
            image: Value::Null,
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
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<Response> {
    let missing = missing(&state, &tenant, &input).await?;
    let category = input.apply(None, &missing, Timestamp::now())?;
    let change = Change::new(&state.db, &tenant).create(&category, None)?;
    with_product_checks(change, &category)?
        .commit(state.outbox())
        .await?;
    Ok(crud::created(&category))
}

async fn update(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Categories>>,
    PathId(id): PathId<kinds::Category>,
    ApiJson(input): ApiJson<CategoryInput>,
) -> ApiResult<Response> {
    let before = crud::find::<Category>(&state, &tenant, &id).await?;
    let missing = missing(&state, &tenant, &input).await?;
    let after = input.apply(Some(&before.value), &missing, Timestamp::now())?;
    let change = Change::new(&state.db, &tenant).update(&before, &after)?;
    with_product_checks(change, &after)?
        .commit(state.outbox())
        .await?;
    Ok(Json(after).into_response())
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
