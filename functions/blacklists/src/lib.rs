//! Blacklists: customers (by email, IP address or range, country) refused at payment.
//!
//! `GET/POST /blacklists`, `GET/PUT/DELETE /blacklists/{id}`.

use axum::{
    Router,
    extract::{OriginalUri, Query, State},
    response::Response,
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiResult, AppState, Timestamp,
    auth::{Read, Scoped},
    commerce::{Blacklist, BlacklistType},
    crud::{self, Form, merge, text},
    error::Violations,
    http::nullable,
    ids::BlacklistId,
    openapi::string,
    pagination::PageParams,
    routes::Routes,
    store::resources::ListFilter,
};

/// Entries one tenant may have: payments screen against all of them.
pub const MAX_BLACKLISTS: u64 = 1_000;
const MAX_NOTE: usize = 1_000;

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    const ONE: &str = "/api/v2/blacklists/{id}";
    Routes::new("blacklists")
        .get("/api/v2/blacklists", list, |op| {
            op.summary("List blacklist entries")
                .returns_list::<Blacklist>("Entries, newest first")
                .query(
                    "blacklist_type",
                    "1 email, 2 IP or CIDR, 3 country",
                    string(),
                )
        })
        .post("/api/v2/blacklists", crud::create::<BlacklistInput>, |op| {
            op.summary("Blacklist an email, IP range or country")
                .body_example::<BlacklistInput>(serde_json::json!({
                    "blacklist_type": 1, "blocked_data": "fraud@example.com"
                }))
                .requiring(&["blacklist_type", "blocked_data"])
                .creates("/id")
                .returns::<Blacklist>(201, "The entry")
        })
        .get(ONE, crud::retrieve::<Blacklist>, |op| {
            op.summary("Retrieve an entry")
                .returns::<Blacklist>(200, "The entry")
        })
        .put(ONE, crud::update::<BlacklistInput>, |op| {
            op.summary("Update an entry")
                .body::<BlacklistInput>()
                .returns::<Blacklist>(200, "The entry")
        })
        .delete(ONE, crud::destroy::<Blacklist>, |op| {
            op.summary("Delete an entry")
        })
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    blacklist_type: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

async fn list(
    State(state): State<AppState>,
    tenant: Scoped<Read<Blacklist>>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let mut filter = ListFilter::default();
    if let Some(kind) = params.blacklist_type.as_deref() {
        let kind = kind
            .parse::<u64>()
            .map_err(|_| t!("Blacklist type must be 1, 2 or 3"))
            .and_then(BlacklistType::try_from)
            .map_err(shared::ApiError::invalid)?;
        filter = filter.equals_number("blacklist_type", kind as u64);
    }
    crud::list_filtered::<Blacklist>(&state, &tenant, &uri, &params.page, filter).await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BlacklistInput {
    blocked_data: Option<String>,
    blacklist_type: Option<u64>,
    #[serde(default, deserialize_with = "nullable")]
    note: Option<Option<String>>,
}

impl Form for BlacklistInput {
    type Resource = Blacklist;
    const MAX: Option<u64> = Some(MAX_BLACKLISTS);

    fn apply(self, current: Option<&Blacklist>, now: Timestamp) -> ApiResult<Blacklist> {
        let mut errors = Violations::new();
        let kind = match self.blacklist_type {
            Some(code) => errors.check(BlacklistType::try_from(code)),
            None => errors.require("Blacklist type", current.map(|c| c.blacklist_type)),
        };
        let data = errors.require(
            "Blocked data",
            merge(text(self.blocked_data), current.map(|c| &c.blocked_data)),
        );
        // Data of a refused type is not checked: only the type is reported.
        let blocked_data = match (data.peek(), kind.peek()) {
            (Some(data), Some(kind)) => errors.check(kind.normalise(data)),
            _ => data,
        };
        let note = merge(self.note.map(text), current.map(|c| &c.note)).flatten();
        errors.length("Note", note.as_deref(), 0, MAX_NOTE);
        let (kind, blocked_data) = errors.finish_with((kind, blocked_data))?;
        Ok(Blacklist {
            id: current
                .map(|c| c.id.clone())
                .unwrap_or_else(BlacklistId::new),
            blocked_data,
            blacklist_type: kind,
            note,
            created_at: current.map(|c| c.created_at).unwrap_or(now),
            updated_at: now,
        })
    }
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
