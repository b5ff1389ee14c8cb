//! The one error type of the API and how it renders.

use crate::language::Language;
use crate::t;
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// Result of a handler or of anything a handler calls.
pub type ApiResult<T> = Result<T, ApiError>;

/// Every error a client can see, with the status and message it renders as.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("Validation failed")]
    Validation(Vec<String>),
    #[error("Unable to authenticate")]
    Unauthenticated,
    #[error("You are not authorized to perform this action")]
    Forbidden,
    /// A request the caller may make, refused for what it carries (a blacklisted customer).
    #[error("{0}")]
    Refused(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("Route not found")]
    RouteNotFound,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("Not acceptable: this API only produces application/json")]
    NotAcceptable,
    #[error("{0}")]
    Conflict(String),
    /// Another request changed what this one read; trying again may succeed.
    #[error("{0}")]
    ConcurrentChange(String),
    /// Well-formed, but at odds with an earlier request (an Idempotency-Key reused).
    #[error("{0}")]
    Unprocessable(String),
    #[error("Request body is larger than 256 KiB")]
    PayloadTooLarge,
    #[error("Unsupported media type: send the body as application/json")]
    UnsupportedMediaType,
    #[error("Too many requests")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("Service unavailable, try again later")]
    Unavailable,
    /// The operator's maintenance switch is on (the seed's 503).
    #[error("We're temporarily offline for maintenance. Please try again later.")]
    Maintenance { retry_after_seconds: u64 },
    /// Anything unexpected. The cause is logged, never shown.
    #[error("Internal server error")]
    Internal(String),
}

impl ApiError {
    /// Wraps an unexpected failure; its details go to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// What it says to a client reading `language`: the fixed texts in `language`; the
    /// texts that carry values as they were made, in the language of the request that
    /// made them (`t!`).
    pub fn message(&self, language: Language) -> String {
        match self {
            ApiError::Validation(_) => t!(language => "Validation failed"),
            ApiError::Unauthenticated => t!(language => "Unable to authenticate"),
            ApiError::Forbidden => {
                t!(language => "You are not authorized to perform this action")
            }
            ApiError::RouteNotFound => t!(language => "Route not found"),
            ApiError::MethodNotAllowed => t!(language => "Method not allowed"),
            ApiError::NotAcceptable => {
                t!(language => "Not acceptable: this API only produces application/json")
            }
            ApiError::PayloadTooLarge => t!(language => "Request body is larger than 256 KiB"),
            ApiError::UnsupportedMediaType => {
                t!(language => "Unsupported media type: send the body as application/json")
            }
            ApiError::TooManyRequests { .. } => t!(language => "Too many requests"),
            ApiError::Unavailable => t!(language => "Service unavailable, try again later"),
            ApiError::Maintenance { .. } => t!(language =>
                "We're temporarily offline for maintenance. Please try again later."),
            ApiError::Internal(_) => t!(language => "Internal server error"),
            ApiError::NotFound(kind) => crate::language::not_found(kind, language),
            ApiError::BadRequest(text)
            | ApiError::Refused(text)
            | ApiError::Conflict(text)
            | ApiError::ConcurrentChange(text)
            | ApiError::Unprocessable(text) => text.clone(),
        }
    }

    /// One validation message as a validation error.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::Validation(vec![message.into()])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::Refused(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict(_) | ApiError::ConcurrentChange(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable | ApiError::Maintenance { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Collects validation messages so every problem is reported at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    /// Checks a text field's length in characters: absent is "can't be blank" when
    /// `min` is above 0, then too short below `min` and too long above `max`.
    pub fn length(&mut self, field: &str, value: Option<&str>, min: usize, max: usize) {
        match value.map(|v| v.chars().count()) {
            None if min > 0 => self.add(t!("{field} can't be blank", field)),
            Some(n) if n < min => self.add(t!(
                "{field} is too short (minimum is {min} characters)",
                field,
                min
            )),
            Some(n) if n > max => self.add(t!(
                "{field} is too long (maximum is {max} characters)",
                field,
                max
            )),
            _ => {}
        }
    }

    /// Takes the messages of a validation error (other errors become one message).
    pub fn absorb(&mut self, error: ApiError) {
        match error {
            ApiError::Validation(messages) => self.0.extend(messages),
            other => self.0.push(other.message(Language::current())),
        }
    }

    /// Parses an optional value, recording why it is invalid.
    pub fn parse<T: std::str::FromStr<Err = String>>(
        &mut self,
        text: Option<&str>,
    ) -> Checked<Option<T>> {
        self.check_given(text, str::parse)
    }

    /// The value of a check that reports as an [`ApiError`], its messages recorded.
    pub fn absorbing<T>(&mut self, result: ApiResult<T>) -> Checked<T> {
        Checked(result.map_err(|error| self.absorb(error)).ok())
    }

    /// The messages added, for a caller that reports them with its own.
    pub fn into_messages(self) -> Vec<String> {
        self.0
    }

    /// `Ok(())` when nothing was added, else a validation error with every message.
    pub fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }

    /// `value`, or "{field} can't be blank" when it is absent.
    pub fn require<T>(&mut self, field: &str, value: Option<T>) -> Checked<T> {
        if value.is_none() {
            self.add(t!("{field} can't be blank", field));
        }
        Checked(value)
    }

    /// The value of `result`, or its message recorded.
    pub fn check<T>(&mut self, result: Result<T, String>) -> Checked<T> {
        Checked(result.map_err(|message| self.add(message)).ok())
    }

    /// An optional value's check: absent passes as `None`, present must pass `check`.
    pub fn check_given<T, U>(
        &mut self,
        value: Option<T>,
        check: impl FnOnce(T) -> Result<U, String>,
    ) -> Checked<Option<U>> {
        match value.map(check) {
            None => Checked(Some(None)),
            Some(result) => self.check(result).map(Some),
        }
    }

    /// A text field, trimmed, whose length in characters is checked as by
    /// [`Violations::length`]: required when `min` is above 0.
    pub fn text(
        &mut self,
        field: &str,
        value: Option<String>,
        min: usize,
        max: usize,
    ) -> Checked<String> {
        self.length(field, value.as_deref(), min, max);
        let fits = |n: usize| (min..=max).contains(&n);
        Checked(value.filter(|v| fits(v.chars().count())))
    }

    /// The checked values (a [`Checked`] or a tuple of them) when every check passed,
    /// else a validation error with every message.
    pub fn finish_with<C: Checks>(self, checked: C) -> ApiResult<C::Values> {
        self.finish()?;
        // A value is withheld only by a check that recorded why: none here means a
        // `Checked` of another `Violations` was passed in.
        checked
            .open()
            .ok_or_else(|| ApiError::internal("a value failed a check of another Violations"))
    }
}

/// A value that passed its checks, or nothing where a check failed and said why in the
/// [`Violations`] that made it. [`Violations::finish_with`] opens it once every check
/// passed, so a handler never unwraps what it validated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Checked<T>(Option<T>);

impl<T> Checked<T> {
    /// A value with nothing to check (a default).
    pub fn valid(value: T) -> Self {
        Checked(Some(value))
    }

    /// The value so far, for a check that depends on it (`None`: it failed its own).
    pub fn peek(&self) -> Option<&T> {
        self.0.as_ref()
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Checked<U> {
        Checked(self.0.map(f))
    }

    /// Withholds the value when `ok` fails, recording `message` (checked values only).
    pub fn ensure(
        self,
        errors: &mut Violations,
        ok: impl FnOnce(&T) -> bool,
        message: impl FnOnce(&T) -> String,
    ) -> Self {
        match self.0 {
            Some(value) if !ok(&value) => {
                errors.add(message(&value));
                Checked(None)
            }
            other => Checked(other),
        }
    }
}

/// What [`Violations::finish_with`] opens: a [`Checked`], or a tuple of them.
pub trait Checks {
    type Values;
    /// Every value, or `None` if any was withheld.
    fn open(self) -> Option<Self::Values>;
}

impl<T> Checks for Checked<T> {
    type Values = T;
    fn open(self) -> Option<T> {
        self.0
    }
}

macro_rules! checks_for_tuples {
    ($($name:ident),+) => {
        impl<$($name: Checks),+> Checks for ($($name,)+) {
            type Values = ($($name::Values,)+);
            #[allow(non_snake_case)]
            fn open(self) -> Option<Self::Values> {
                let ($($name,)+) = self;
                Some(($($name.open()?,)+))
            }
        }
    };
}
checks_for_tuples!(A, B);
checks_for_tuples!(A, B, C);
checks_for_tuples!(A, B, C, D);
checks_for_tuples!(A, B, C, D, E);
checks_for_tuples!(A, B, C, D, E, F);
checks_for_tuples!(A, B, C, D, E, F, G);
checks_for_tuples!(A, B, C, D, E, F, G, H);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.message(Language::current());
        let body = match &self {
            ApiError::Validation(errors) => {
                json!({ "message": message, "errors": errors })
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                json!({ "message": message })
            }
            _ => json!({ "message": message }),
        };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match self {
            ApiError::TooManyRequests {
                retry_after_seconds,
            }
            | ApiError::Maintenance {
                retry_after_seconds,
            } => Some(retry_after_seconds),
            ApiError::Unavailable => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"PushGuard\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn validation_errors_list_every_message() {
        let (status, body) = body_of(ApiError::Validation(vec![
            "Url can't be blank".into(),
            "Events can't be blank".into(),
        ]))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["message"], "Validation failed");
        assert_eq!(body["errors"][1], "Events can't be blank");
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let (status, body) = body_of(ApiError::internal("table xyz missing")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({ "message": "Internal server error" }));
    }

    #[test]
    fn checked_values_are_handed_back_only_when_every_check_passed() {
        let mut errors = Violations::new();
        let title = errors.text("Title", Some("Key".into()), 2, 10);
        let price = errors.check(
            "9.99"
                .parse::<u32>()
                .map_err(|_| "Price is not a number".into()),
        );
        let currency = errors.require("Currency", None::<String>);
        let note = errors.check_given(Some(" x "), |n| Ok::<_, String>(n.trim().to_string()));
        assert_eq!(title.peek().map(String::as_str), Some("Key"));
        let Err(ApiError::Validation(messages)) =
            errors.finish_with((title, price, currency, note))
        else {
            panic!("two checks failed");
        };
        assert_eq!(
            messages,
            ["Price is not a number", "Currency can't be blank"]
        );

        let mut errors = Violations::new();
        let title = errors.text("Title", Some("Key".into()), 2, 10);
        let note = errors.check_given(None::<&str>, |n| Ok::<_, String>(n.to_string()));
        let quantity =
            Checked::valid(3).ensure(&mut errors, |q| *q <= 5, |q| format!("{q} is too many"));
        assert_eq!(
            errors.finish_with((title, note, quantity)).unwrap(),
            ("Key".to_string(), None, 3)
        );

        let mut errors = Violations::new();
        let quantity =
            Checked::valid(9).ensure(&mut errors, |q| *q <= 5, |q| format!("{q} is too many"));
        let short = errors.text("Title", Some("K".into()), 2, 10);
        assert!(short.peek().is_none() && quantity.peek().is_none());
        assert!(
            matches!(errors.finish_with((short, quantity)), Err(ApiError::Validation(m)) if m.len() == 2)
        );

        // A value withheld by another Violations is an internal error, not a panic.
        let withheld = Violations::new().require("Title", None::<String>);
        assert!(matches!(
            Violations::new().finish_with(withheld),
            Err(ApiError::Internal(_))
        ));
    }

    #[test]
    fn too_many_requests_sets_retry_after() {
        let response = ApiError::TooManyRequests {
            retry_after_seconds: 7,
        }
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }
}
