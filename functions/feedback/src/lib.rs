//! Feedback on orders and customers' queries, with the merchant's replies.
//!
//! `GET/POST /feedback`, `GET /feedback/{id}`, `PUT /feedback/{id}` `{reply}`;
//! `GET/POST /queries`, `GET /queries/{id}`, `PUT /queries/{id}` `{status}`,
//! `POST /queries/{id}/reply` `{message}`. Events: `feedback:created`,
//! `feedback:updated`, `query:created`, `query:updated`, `query:replied`.

use axum::{
    Json, Router,
    extract::{OriginalUri, Query as QueryString, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiError, ApiResult, AppState, Timestamp,
    auth::{Read, Scoped, Write, groups},
    commerce::{
        Feedback, Order, Query, QueryStatus, event,
        support::{QueryMessage, Sentiment},
    },
    crud::{self, text},
    error::{Checked, Violations},
    http::ApiJson,
    ids::QueryId,
    ids::{PathId, kinds},
    openapi::string,
    pagination::PageParams,
    routes::Routes,
    store::resources::{self, Change, ListFilter},
    validate::is_valid_email,
    webhooks::EventType,
};

const MAX_MESSAGE: usize = 5_000;
const MAX_TITLE: usize = 255;
/// Messages one query keeps (an item must stay under DynamoDB's 400 KB).
const MAX_MESSAGES: usize = 50;

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("feedback")
        .get("/api/v2/feedback", crud::list::<Feedback>, |op| {
            op.summary("List feedback")
                .returns_list::<Feedback>("Feedback, newest first")
        })
        .post("/api/v2/feedback", create_feedback, |op| {
            op.summary("Leave feedback on an order (one per order)")
                .body::<FeedbackInput>()
                .requiring(&["order_id", "message", "score"])
                .creates("/id")
                .returns::<Feedback>(201, "The feedback")
        })
        .get("/api/v2/feedback/{id}", crud::retrieve::<Feedback>, |op| {
            op.summary("Retrieve feedback")
                .returns::<Feedback>(200, "The feedback")
        })
        .put("/api/v2/feedback/{id}", reply_to_feedback, |op| {
            op.summary("Reply to feedback")
                .body::<FeedbackReply>()
                .returns::<Feedback>(200, "The feedback with the reply")
        })
        .tag("queries")
        .get("/api/v2/queries", list_queries, |op| {
            op.summary("List customer queries")
                .returns_list::<Query>("Queries, newest first")
                .query("status", "`open`, `answered` or `closed`", string())
        })
        .post("/api/v2/queries", create_query, |op| {
            op.summary("Open a customer query")
                .body::<QueryInput>()
                .requiring(&["title", "email", "message"])
                .creates("/id")
                .returns::<Query>(201, "The query")
        })
        .get("/api/v2/queries/{id}", crud::retrieve::<Query>, |op| {
            op.summary("Retrieve a query")
                .returns::<Query>(200, "The query")
        })
        .put("/api/v2/queries/{id}", update_query, |op| {
            op.summary("Change a query's status")
                .body::<QueryUpdate>()
                .returns::<Query>(200, "The query")
        })
        .post("/api/v2/queries/{id}/reply", reply_to_query, |op| {
            op.summary("Reply to a query")
                .body::<QueryReply>()
                .returns::<Query>(200, "The query, answered")
        })
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state)
}

/// A required message of at most [`MAX_MESSAGE`] characters.
fn message(errors: &mut Violations, field: &str, value: Option<String>) -> Checked<String> {
    errors.text(field, text(value), 1, MAX_MESSAGE)
}

// ---- feedback ----

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FeedbackInput {
    order_id: Option<String>,
    message: Option<String>,
    score: Option<u8>,
}

async fn create_feedback(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Feedback>>,
    ApiJson(input): ApiJson<FeedbackInput>,
) -> ApiResult<Response> {
    let mut errors = Violations::new();
    let order = match text(input.order_id) {
        None => errors.require("Order id", None),
        Some(id) => {
            let order = resources::resolve::<Order>(&state.db, &tenant, &id).await?;
            errors.check(order.ok_or_else(|| t!("Order {id:?} does not exist", id)))
        }
    };
    let message = message(&mut errors, "Message", input.message);
    let score = match input.score {
        None => errors.check(Err(t!("Score can't be blank (1 to 5)"))),
        Some(score) => Checked::valid(score).ensure(
            &mut errors,
            |score| (1..=5).contains(score),
            |_| t!("Score must be between 1 and 5"),
        ),
    };
    let (order, message, score) = errors.finish_with((order, message, score))?;
    let now = Timestamp::now();
    let feedback = Feedback {
        id: Feedback::id_for(&order.value.id),
        order_id: order.value.id.to_string(),
        product_id: order.value.product_id.clone(),
        message,
        score,
        feedback: Sentiment::of(score),
        reply: None,
        created_at: now,
        updated_at: now,
    };
    Change::new(&state.db, &tenant)
        .create_unique(
            &feedback,
            None,
            shared::store::Rejection::Conflict(t!("This order already has feedback")),
        )?
        .emit(event(EventType::FeedbackCreated, &feedback))
        .commit(state.outbox())
        .await?;
    Ok(crud::created(&feedback))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct FeedbackReply {
    reply: Option<String>,
}

/// The merchant's public reply (replacing an earlier one).
async fn reply_to_feedback(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Feedback>>,
    PathId(id): PathId<kinds::Feedback>,
    ApiJson(input): ApiJson<FeedbackReply>,
) -> ApiResult<Response> {
    let mut errors = Violations::new();
    let reply = message(&mut errors, "Reply", input.reply);
    let reply = errors.finish_with(reply)?;
    let before = crud::find::<Feedback>(&state, &tenant, &id).await?;
    let after = Feedback {
        reply: Some(reply),
        updated_at: Timestamp::now(),
        ..before.value.clone()
    };
    Change::new(&state.db, &tenant)
        .update(&before, &after)?
        .emit(event(EventType::FeedbackUpdated, &after))
        .commit(state.outbox())
        .await?;
    Ok(Json(after).into_response())
}

// ---- queries ----

#[derive(Debug, Deserialize)]
struct QueryListParams {
    status: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

async fn list_queries(
    State(state): State<AppState>,
    tenant: Scoped<Read<Query>>,
    OriginalUri(uri): OriginalUri,
    QueryString(params): QueryString<QueryListParams>,
) -> ApiResult<Response> {
    let mut filter = ListFilter::default();
    if let Some(status) = params.status.as_deref() {
        let status: QueryStatus = status.parse().map_err(ApiError::invalid)?;
        let name = serde_json::to_value(status).map_err(ApiError::internal)?;
        filter = filter.equals_text("status", name.as_str().unwrap_or_default());
    }
    crud::list_filtered::<Query>(&state, &tenant, &uri, &params.page, filter).await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct QueryInput {
    title: Option<String>,
    email: Option<String>,
    message: Option<String>,
    order_id: Option<String>,
}

async fn create_query(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Queries>>,
    ApiJson(input): ApiJson<QueryInput>,
) -> ApiResult<Response> {
    let mut errors = Violations::new();
    let title = errors.text("Title", text(input.title), 1, MAX_TITLE);
    let email = errors
        .require("Email", text(input.email).map(|e| e.to_ascii_lowercase()))
        .ensure(
            &mut errors,
            |email| is_valid_email(email),
            |_| t!("Email is not a valid email address"),
        );
    let first = message(&mut errors, "Message", input.message);
    let order_id = text(input.order_id);
    if let Some(id) = &order_id
        && resources::resolve::<Order>(&state.db, &tenant, id)
            .await?
            .is_none()
    {
        errors.add(t!("Order {id:?} does not exist", id));
    }
    let (title, email, first) = errors.finish_with((title, email, first))?;
    let now = Timestamp::now();
    let query = Query {
        id: QueryId::new(),
        title,
        email,
        order_id,
        status: QueryStatus::Pending,
        messages: vec![QueryMessage {
            role: "customer".into(),
            message: first,
            created_at: now,
        }],
        created_at: now,
        updated_at: now,
    };
    Change::new(&state.db, &tenant)
        .create(&query, None)?
        .emit(event(EventType::QueryCreated, &query))
        .commit(state.outbox())
        .await?;
    Ok(crud::created(&query))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct QueryUpdate {
    status: Option<String>,
}

/// Changes the status (e.g. closes the query): `query:updated`.
async fn update_query(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Queries>>,
    PathId(id): PathId<kinds::Query>,
    ApiJson(input): ApiJson<QueryUpdate>,
) -> ApiResult<Response> {
    let status: QueryStatus = match input.status.as_deref() {
        None => {
            return Err(ApiError::invalid(t!(
                "Status can't be blank (pending, answered or closed)"
            )));
        }
        Some(text) => text.parse().map_err(ApiError::invalid)?,
    };
    let before = crud::find::<Query>(&state, &tenant, &id).await?;
    if before.value.status == status {
        return Ok(Json(before.value).into_response());
    }
    let after = Query {
        status,
        updated_at: Timestamp::now(),
        ..before.value.clone()
    };
    Change::new(&state.db, &tenant)
        .update(&before, &after)?
        .emit(event(EventType::QueryUpdated, &after))
        .commit(state.outbox())
        .await?;
    Ok(Json(after).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct QueryReply {
    message: Option<String>,
}

/// The merchant answers: the message is added and the query is answered (`query:replied`).
async fn reply_to_query(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Queries>>,
    PathId(id): PathId<kinds::Query>,
    ApiJson(input): ApiJson<QueryReply>,
) -> ApiResult<Response> {
    let mut errors = Violations::new();
    let reply = message(&mut errors, "Message", input.message);
    let reply = errors.finish_with(reply)?;
    let before = crud::find::<Query>(&state, &tenant, &id).await?;
    if before.value.status == QueryStatus::Closed {
        return Err(ApiError::Conflict(t!(
            "The query is closed; reopen it (status pending) to reply"
        )));
    }
    if before.value.messages.len() >= MAX_MESSAGES {
        return Err(ApiError::Conflict(t!(
            "The query has {max} messages, the most it can keep",
            max = MAX_MESSAGES
        )));
    }
    let now = Timestamp::now();
    let mut after = Query {
        status: QueryStatus::Answered,
        updated_at: now,
        ..before.value.clone()
    };
    after.messages.push(QueryMessage {
        role: "merchant".into(),
        message: reply,
        created_at: now,
    });
    Change::new(&state.db, &tenant)
        .update(&before, &after)?
        .emit(event(EventType::QueryReplied, &after))
        .commit(state.outbox())
        .await?;
    Ok(Json(after).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_ids_follow_their_order() {
        let order: shared::ids::OrderId = "ord_01J9ZQ5X7Y8W6V5T4S3R2Q1P0N".parse().unwrap();
        let id = Feedback::id_for(&order);
        assert_eq!(id, "fb_01J9ZQ5X7Y8W6V5T4S3R2Q1P0N");
        assert_eq!(
            id.as_str().parse(),
            Ok(id.clone()),
            "a derived id is a feedback id"
        );
    }

    #[test]
    fn messages_must_be_present_and_bounded() {
        let mut errors = Violations::new();
        assert_eq!(
            message(&mut errors, "Message", Some("  ".into())).peek(),
            None
        );
        let long = Some("x".repeat(MAX_MESSAGE + 1));
        assert_eq!(message(&mut errors, "Reply", long).peek(), None);
        assert_eq!(
            message(&mut errors, "Message", Some(" hi ".into()))
                .peek()
                .map(String::as_str),
            Some("hi")
        );
        match errors.finish() {
            Err(ApiError::Validation(found)) => assert_eq!(
                found,
                [
                    "Message can't be blank",
                    "Reply is too long (maximum is 5000 characters)"
                ]
            ),
            other => panic!("{other:?}"),
        }
    }
}
