//! Blacklists: customers (by email, IP address or range, country) refused at payment.
//!
//! `GET/POST /blacklists`, `GET/PUT/DELETE /blacklists/{id}`.

use axum::{
    Json, Router,
    extract::{OriginalUri, Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use shared::{
    ApiResult, AppState, Timestamp,
    auth::{Access, Auth, Group},
    commerce::{Blacklist, BlacklistType},
    crud::{self, text},
    error::Violations,
    http::{ApiJson, nullable},
    ids::new_id,
    pagination::PageParams,
    store::resources::{Change, ListFilter},
};

/// Entries one tenant may have: payments screen against all of them.
pub const MAX_BLACKLISTS: u64 = 1_000;
const MAX_NOTE: usize = 1_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/blacklists", get(list).post(create))
        .route(
            "/api/v2/blacklists/{id}",
            get(retrieve).put(update).delete(destroy),
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes(), state)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    blacklist_type: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let mut filter = ListFilter::default();
    if let Some(kind) = params.blacklist_type.as_deref() {
        let kind = kind
            .parse::<u64>()
            .map_err(|_| "Blacklist type must be 1, 2 or 3".to_string())
            .and_then(BlacklistType::try_from)
            .map_err(shared::ApiError::invalid)?;
        filter = filter.equals_number("blacklist_type", kind as u64);
    }
    crud::list::<Blacklist>(
        &state,
        &principal,
        Group::Blacklists,
        &uri,
        &params.page,
        filter,
    )
    .await
}

async fn retrieve(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    crud::retrieve::<Blacklist>(&state, &principal, Group::Blacklists, &id).await
}

async fn destroy(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    crud::destroy::<Blacklist>(&state, &principal, Group::Blacklists, &id).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlacklistInput {
    blocked_data: Option<String>,
    blacklist_type: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    note: Option<Option<String>>,
}

impl BlacklistInput {
    fn apply(self, current: Option<&Blacklist>, now: Timestamp) -> ApiResult<Blacklist> {
        let mut errors = Violations::new();
        let kind = match (self.blacklist_type, current) {
            (Some(code), _) => BlacklistType::try_from(code)
                .map_err(|e| errors.add(e))
                .ok(),
            (None, Some(c)) => Some(c.blacklist_type),
            (None, None) => {
                errors.add("Blacklist type can't be blank");
                None
            }
        };
        let data = text(self.blocked_data).or(current.map(|c| c.blocked_data.clone()));
        let blocked_data = match (data, kind) {
            (None, _) => {
                errors.add("Blocked data can't be blank");
                None
            }
            (Some(data), Some(kind)) => kind.normalise(&data).map_err(|e| errors.add(e)).ok(),
            (Some(_), None) => None,
        };
        let note = match self.note {
            Some(note) => text(note),
            None => current.and_then(|c| c.note.clone()),
        };
        if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
            errors.add(format!(
                "Note is too long (maximum is {MAX_NOTE} characters)"
            ));
        }
        errors.finish()?;
        let (Some(kind), Some(blocked_data)) = (kind, blocked_data) else {
            unreachable!("reported above");
        };
        Ok(Blacklist {
            id: current
                .map(|c| c.id.clone())
                .unwrap_or_else(|| new_id("bl")),
            blocked_data,
            blacklist_type: kind,
            note,
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
}

async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(input): ApiJson<BlacklistInput>,
) -> ApiResult<Response> {
    let tenant = principal.authorize(Access::write(Group::Blacklists))?;
    let blacklist = input.apply(None, Timestamp::now())?;
    Change::new(&state.db, &tenant)
        .create(&blacklist, Some(MAX_BLACKLISTS))?
        .commit(&state)
        .await?;
    Ok(crud::created(&blacklist))
}

async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<BlacklistInput>,
) -> ApiResult<Response> {
    let tenant = principal.authorize(Access::write(Group::Blacklists))?;
    let before = crud::find::<Blacklist>(&state, &tenant, &id).await?;
    let after = input.apply(Some(&before.value), Timestamp::now())?;
    Change::new(&state.db, &tenant)
        .update(&before, &after)?
        .commit(&state)
        .await?;
    Ok(Json(after).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_data_must_fit_its_type() {
        let input = BlacklistInput {
            blocked_data: Some("not-an-ip".into()),
            blacklist_type: Some(2),
            note: None,
        };
        match input.apply(None, Timestamp::now()) {
            Err(shared::ApiError::Validation(errors)) => {
                assert_eq!(
                    errors,
                    ["Blocked data \"not-an-ip\" is not an IP address or CIDR range"]
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn changing_the_type_revalidates_the_data() {
        let email = BlacklistInput {
            blocked_data: Some("Ann@Example.com".into()),
            blacklist_type: Some(1),
            note: Some(Some("fraud".into())),
        }
        .apply(None, Timestamp::now())
        .unwrap();
        assert_eq!(email.blocked_data, "ann@example.com");
        let to_country = BlacklistInput {
            blacklist_type: Some(3),
            ..Default::default()
        };
        assert!(to_country.apply(Some(&email), Timestamp::now()).is_err());
    }
}
