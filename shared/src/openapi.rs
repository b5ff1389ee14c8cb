//! The OpenAPI 3.1 document, generated from the code: each function crate declares its
//! routes with their operations (`crate::routes::Routes`), bodies and responses are the Rust
//! types themselves (`ToSchema`), and what every operation shares (security, errors,
//! rate-limit and pagination headers, `Idempotency-Key`) is added here, once.
//! `pushguard openapi` writes the document; `GET /api/v2/openapi.json` serves it.

use crate::routes::Requirement;
use axum::http::Method;
use utoipa::{
    ToSchema,
    openapi::{
        self, Components, ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder,
        PathItem, PathsBuilder, RefOr, Required, ResponseBuilder, Schema,
        path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn},
        request_body::RequestBodyBuilder,
        schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type},
        security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        },
        tag::TagBuilder,
    },
};

/// One operation of the API as its route declares it (see [`crate::routes::Routes`]).
pub struct Operation {
    pub method: Method,
    pub path: &'static str,
    tag: &'static str,
    summary: Option<String>,
    requirement: Requirement,
    builder: OperationBuilder,
    schemas: Vec<(String, RefOr<Schema>)>,
    /// Error statuses it answers beside those every operation of its kind does.
    also: Vec<u16>,
    /// Its errors' body, when it is not PushGuard's `Error` (a dialect's).
    error_body: Option<RefOr<Schema>>,
}

fn reference<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
    RefOr::Ref(openapi::Ref::from_schema_name(T::name()))
}

fn json(schema: RefOr<Schema>) -> openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

impl Operation {
    /// A public operation (until [`Operation::requires`] says otherwise); a `DELETE`
    /// answers 204 unless its route says otherwise.
    pub fn new(method: Method, path: &'static str, tag: &'static str) -> Self {
        let id = operation_id(&method, path);
        let operation = Operation {
            builder: OperationBuilder::new().operation_id(Some(id)).tag(tag),
            summary: None,
            requirement: Requirement::Nothing,
            method,
            path,
            tag,
            schemas: Vec::new(),
            also: Vec::new(),
            error_body: None,
        };
        if operation.method == Method::DELETE {
            operation.no_content()
        } else {
            operation
        }
    }

    /// What it does, in a few words.
    pub fn summary(mut self, summary: &str) -> Self {
        self.summary = Some(summary.to_string());
        self
    }

    /// What the caller must present: the route builder reads it from the handler.
    pub fn requires(mut self, requirement: Requirement) -> Self {
        self.requirement = requirement;
        let description = match requirement {
            Requirement::Nothing => return self,
            Requirement::Key => "Needs an API key.".to_string(),
            Requirement::Scope(access) => format!(
                "Needs a key with the `{}` scope (or one that covers it).",
                crate::scopes::Scope::Grant(access)
            ),
        };
        self.builder = self.builder.description(Some(description));
        self
    }

    /// Its errors are `T`s, not PushGuard's `Error` (a dialect's error shape).
    pub fn error_body<T: ToSchema>(mut self) -> Self {
        self.error_body = Some(reference::<T>(&mut self.schemas));
        self
    }

    /// Also answers these error statuses (a dialect's own, e.g. Pixlpay's 422).
    pub fn errors(mut self, statuses: &[u16]) -> Self {
        self.also.extend_from_slice(statuses);
        self
    }

    pub fn requirement(&self) -> Requirement {
        self.requirement
    }

    pub fn tag(&self) -> &'static str {
        self.tag
    }

    /// A required JSON body of type `T`.
    pub fn body<T: ToSchema>(mut self) -> Self {
        let schema = reference::<T>(&mut self.schemas);
        self.builder = self.builder.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json(schema))
                .required(Some(Required::True))
                .build(),
        ));
        self
    }

    /// A required JSON body of type `T`, with an example of a valid one: what the docs
    /// show and what the API fuzzer sends first (its examples phase).
    pub fn body_example<T: ToSchema>(mut self, example: serde_json::Value) -> Self {
        let schema = reference::<T>(&mut self.schemas);
        self.builder = self.builder.request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(schema))
                        .example(Some(example))
                        .build(),
                )
                .required(Some(Required::True))
                .build(),
        ));
        self
    }

    /// An optional JSON body of type `T` (none means the defaults).
    pub fn optional_body<T: ToSchema>(mut self) -> Self {
        let schema = reference::<T>(&mut self.schemas);
        self.builder = self.builder.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json(schema))
                .required(Some(Required::False))
                .build(),
        ));
        self
    }

    /// A JSON response of type `T`.
    pub fn returns<T: ToSchema>(mut self, status: u16, description: &str) -> Self {
        let schema = reference::<T>(&mut self.schemas);
        self.builder = self.builder.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(description)
                .content("application/json", json(schema))
                .build(),
        );
        self
    }

    /// A list of `T`, newest first, paged by number or cursor.
    pub fn returns_list<T: ToSchema>(mut self, description: &str) -> Self {
        let item = reference::<T>(&mut self.schemas);
        let array = ArrayBuilder::new().items(item).build();
        let mut response = ResponseBuilder::new()
            .description(description)
            .content("application/json", json(RefOr::T(Schema::Array(array))));
        for (name, about) in [
            ("X-Total-Count", "Items in the whole list (page mode only)"),
            ("X-Total-Pages", "Pages in the whole list (page mode only)"),
            (
                "X-Total-Count-Exact",
                "`false` when a filtered count stopped at 10,000 items",
            ),
            (
                "Link",
                "URLs of the neighbouring pages (`next`, `prev`, `first`, `last`)",
            ),
        ] {
            response = response.header(name, string_header(about));
        }
        self.builder = self.builder.response("200", response.build());
        for (name, about, schema) in [
            ("page", "Page number, from 1 (not with cursors)", integer(1)),
            (
                "per_page",
                "Items per page, 1 to 100 (default 20)",
                integer(1),
            ),
            (
                "starting_after",
                "An id: the items just older than it",
                string(),
            ),
            (
                "ending_before",
                "An id: the items just newer than it",
                string(),
            ),
        ] {
            self = self.query(name, about, schema);
        }
        self
    }

    /// A response of `status` with no body.
    pub fn empty(mut self, status: u16, description: &str) -> Self {
        self.builder = self.builder.response(
            status.to_string(),
            ResponseBuilder::new().description(description).build(),
        );
        self
    }

    /// `204 No Content`.
    pub fn no_content(mut self) -> Self {
        self.builder = self.builder.response(
            "204",
            ResponseBuilder::new()
                .description("Done; no content")
                .build(),
        );
        self
    }

    /// An HTML page (the public payment page).
    /// A form body (`application/x-www-form-urlencoded`, string fields), as the
    /// portal's forms send, and the HTML pages such an action answers besides 200.
    pub fn form(mut self) -> Self {
        let fields = ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Object))
            .additional_properties(Some(string()))
            .build();
        self.builder = self.builder.request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/x-www-form-urlencoded",
                    ContentBuilder::new()
                        .schema(Some(RefOr::T(Schema::Object(fields))))
                        .build(),
                )
                .required(Some(Required::True))
                .build(),
        ));
        for (status, description) in [
            ("201", "Created: the page shows what was made"),
            ("303", "Done: on to the page it changed"),
            (
                "403",
                "A read-only link, or a form without the session's CSRF token",
            ),
            ("422", "The form again, with what is wrong in it"),
        ] {
            let page = ContentBuilder::new()
                .schema(Some(RefOr::T(string())))
                .build();
            self.builder = self.builder.response(
                status,
                ResponseBuilder::new()
                    .description(description)
                    .content("text/html", page)
                    .build(),
            );
        }
        self
    }

    pub fn html(mut self, description: &str) -> Self {
        let page = ContentBuilder::new()
            .schema(Some(RefOr::T(string())))
            .build();
        self.builder = self.builder.response(
            "200",
            ResponseBuilder::new()
                .description(description)
                .content("text/html", page)
                .build(),
        );
        self
    }

    /// A query parameter (optional).
    pub fn query(mut self, name: &str, description: &str, schema: Schema) -> Self {
        self.builder = self.builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema)),
        );
        self
    }

    fn finish(
        mut self,
    ) -> (
        String,
        HttpMethod,
        openapi::path::Operation,
        Vec<(String, RefOr<Schema>)>,
    ) {
        for name in path_parameters(self.path) {
            self.builder = self.builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(string())),
            );
        }
        let summary = self
            .summary
            .take()
            .unwrap_or_else(|| panic!("{} {} has no summary", self.method, self.path));
        self.builder = self.builder.summary(Some(summary));
        let post = self.method == Method::POST;
        let keyed = self.requirement != Requirement::Nothing;
        if keyed {
            self.builder = self.builder.securities(Some(
                ["basic", "bearer", "apiKey"]
                    .map(|scheme| SecurityRequirement::new::<_, _, &str>(scheme, [])),
            ));
            for (name, about) in [
                (
                    "X-PushGuard-Timestamp",
                    "Signed requests: unix milliseconds, within 180 s",
                ),
                (
                    "X-PushGuard-Sign",
                    "Signed requests: hex HMAC-SHA256 with the key's signing secret",
                ),
            ] {
                self.builder = self.builder.parameter(header_parameter(name, about));
            }
            if post {
                self.builder = self.builder.parameter(header_parameter(
                    "Idempotency-Key",
                    "1 to 255 printable ASCII characters; a repeat within 24 hours gets the first response",
                ));
            }
        }
        // A key that is sent is checked, even on a public route: 401 when it is bad.
        let mut errors = vec![400, 401, 404, 405, 406, 429, 503];
        if keyed {
            errors.push(403);
        }
        if self.method != Method::GET {
            errors.extend([409, 413, 415]);
        }
        if post && keyed {
            errors.push(422);
        }
        errors.extend(
            self.also
                .iter()
                .filter(|s| !errors.contains(s))
                .collect::<Vec<_>>(),
        );
        for status in errors {
            let (name, about) = ERRORS
                .iter()
                .find(|(code, _, _)| *code == status)
                .map(|(_, name, about)| (*name, *about))
                .expect("every error status is described");
            let response = match &self.error_body {
                // A dialect's errors have its own shape.
                Some(body) => RefOr::T(error_response(status, about, body.clone())),
                None => RefOr::Ref(openapi::Ref::from_response_name(name)),
            };
            self.builder = self.builder.response(status.to_string(), response);
        }
        (
            self.path.to_string(),
            http_method(&self.method),
            self.builder.build(),
            self.schemas,
        )
    }
}

/// The error responses operations share, by status: name and meaning.
const ERRORS: [(u16, &str, &str); 13] = [
    (
        400,
        "BadRequest",
        "Invalid parameters, body or fields; `errors` lists each",
    ),
    (
        401,
        "Unauthenticated",
        "No, unknown, revoked or expired key; bad signature or replay",
    ),
    (
        403,
        "Forbidden",
        "The key lacks the scope, or the request is refused (a blacklisted customer)",
    ),
    (
        404,
        "NotFound",
        "Unknown id, another tenant's, or unknown route",
    ),
    (
        405,
        "MethodNotAllowed",
        "Method not allowed on the route (see `Allow`)",
    ),
    (406, "NotAcceptable", "`Accept` excludes application/json"),
    (
        409,
        "Conflict",
        "A duplicate, a concurrent change, or an Idempotency-Key in use",
    ),
    (413, "PayloadTooLarge", "Body over 256 KiB"),
    (
        415,
        "UnsupportedMediaType",
        "A body that is not application/json",
    ),
    (
        422,
        "Unprocessable",
        "An Idempotency-Key reused with another request",
    ),
    (
        429,
        "TooManyRequests",
        "Over the rate limit; see `Retry-After` (seconds)",
    ),
    (
        500,
        "InternalError",
        "A fault of ours; the message hides its cause",
    ),
    (503, "Unavailable", "Try again; see `Retry-After`"),
];

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        _ => HttpMethod::Get,
    }
}

/// `listProducts`-like ids from the method and the path.
fn operation_id(method: &Method, path: &str) -> String {
    let words: Vec<String> = path
        .trim_start_matches("/api/v2/")
        .split(['/', '-', '_'])
        .filter(|w| !w.is_empty())
        .map(
            |w| match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) => format!("By{}", capitalise(name)),
                None => capitalise(w),
            },
        )
        .collect();
    format!("{}{}", method.as_str().to_ascii_lowercase(), words.concat())
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

/// A string schema, for parameters.
pub fn string() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .build(),
    )
}

fn integer(minimum: i64) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .minimum(Some(minimum))
            .build(),
    )
}

fn string_header(description: &str) -> openapi::Header {
    HeaderBuilder::new()
        .schema(string())
        .description(Some(description))
        .build()
}

fn header_parameter(name: &str, description: &str) -> openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(string()))
        .build()
}

/// An error response of `status` whose body is `body`.
fn error_response(status: u16, about: &str, body: RefOr<Schema>) -> openapi::Response {
    let mut response = ResponseBuilder::new()
        .description(about)
        .content("application/json", json(body));
    if matches!(status, 429 | 503) {
        response = response.header("Retry-After", string_header("Seconds to wait"));
    }
    response.build()
}

/// The error every failure answers with.
#[derive(ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)]
struct ErrorBody {
    /// What went wrong, for a person.
    message: String,
    /// Every validation problem, when there are several.
    errors: Option<Vec<String>>,
}

/// The whole document from every function's operations.
pub fn document(operations: impl IntoIterator<Item = Operation>) -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    let mut tags = std::collections::BTreeSet::new();
    for operation in operations {
        tags.insert(operation.tag);
        let (path, method, built, used) = operation.finish();
        paths = paths.path(path, PathItem::new(method, built));
        schemas.extend(used);
    }
    reference::<ErrorBody>(&mut schemas);
    let mut components = Components::new();
    let error = RefOr::Ref(openapi::Ref::from_schema_name("Error"));
    for (status, name, about) in ERRORS {
        let response = error_response(status, about, error.clone());
        components
            .responses
            .insert(name.to_string(), RefOr::T(response));
    }
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    components.add_security_scheme(
        "apiKey",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
    );
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("PushGuard API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "A multi-tenant merchant API whose changes become signed webhooks. Every \
                     keyed response carries RateLimit-Limit, RateLimit-Remaining, \
                     RateLimit-Reset and RateLimit-Policy.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .tags(Some(
            tags.into_iter().map(|t| TagBuilder::new().name(t).build()),
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_read_as_the_route() {
        assert_eq!(
            operation_id(&Method::GET, "/api/v2/products"),
            "getProducts"
        );
        assert_eq!(
            operation_id(
                &Method::POST,
                "/api/v2/webhooks/endpoints/{id}/rotate-secret"
            ),
            "postWebhooksEndpointsByIdRotateSecret"
        );
        assert_eq!(path_parameters("/a/{id}/b/{token}"), ["id", "token"]);
    }
}

/// Schemas of the types that serialise themselves (their serde is written by hand).
macro_rules! described {
    ($($ty:ty => $name:literal, $schema:expr;)*) => {$(
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                RefOr::T($schema)
            }
        }
        impl ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    )*};
}

fn typed(kind: Type, description: &str) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(kind))
            .description(Some(description))
            .build(),
    )
}

fn formatted(description: &str, format: openapi::schema::KnownFormat) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .format(Some(openapi::SchemaFormat::KnownFormat(format)))
            .description(Some(description))
            .build(),
    )
}

described! {
    crate::Timestamp => "Timestamp",
        formatted("RFC 3339 with offset, e.g. 2019-12-17T17:54:02.667+00:00", openapi::schema::KnownFormat::DateTime);
    crate::scopes::Scope => "Scope",
        typed(Type::String, "`*`, `<group>:read` or `<group>:write` (write implies read)");
    crate::webhooks::WebhookUrl => "WebhookUrl",
        typed(Type::String, "An https URL (credentials are shown masked)");
    crate::webhooks::EventSelector => "EventSelector",
        typed(Type::String, "An event type (`order:paid`), a registered custom type, or `*`");
    crate::webhooks::CustomHeaders => "CustomHeaders",
        Schema::Object(
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Object))
                .additional_properties(Some(string()))
                .description(Some("Headers sent with every delivery, name to value"))
                .build(),
        );
    crate::commerce::OrderStatus => "OrderStatus",
        typed(Type::Integer, "0 not paid, 100 paid, 52 flagged for review, ...");
    crate::commerce::Stock => "Stock",
        Schema::Object(
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::Integer, Type::String]))
                .description(Some("A count, or \"∞\" for unlimited"))
                .build(),
        );
    crate::commerce::ProductType => "ProductType",
        typed(Type::Integer, "1 a service or good, 2 serials sold from `info`");
    crate::commerce::Amount => "Amount",
        typed(Type::String, "A decimal amount, never rounded, e.g. \"9.99\"");
    crate::commerce::Currency => "Currency",
        typed(Type::String, "ISO 4217, e.g. USD");
    crate::commerce::Gateway => "Gateway",
        typed(Type::String, "A payment gateway, e.g. paypal, bitcoin");
    crate::commerce::BlacklistType => "BlacklistType",
        typed(Type::Integer, "1 email, 2 IP address or CIDR range, 3 country code");
}
