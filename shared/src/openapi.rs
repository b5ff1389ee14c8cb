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
        extensions::Extensions,
        link::{Link, LinkBuilder},
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
    body: Option<Body>,
    /// Where its answer names the object it made, and the paths that object is under.
    creates: Option<Creates>,
}

/// A request body as declared; built in [`Operation::finish`].
struct Body {
    media_type: &'static str,
    /// The type's name and its own schema (for [`Operation::requiring`]).
    name: String,
    schema: RefOr<Schema>,
    example: Option<serde_json::Value>,
    required: bool,
    /// Fields a create needs, though the type (shared with a partial update) has them
    /// optional.
    needs: Vec<&'static str>,
}

/// What [`Operation::creates`] declares: the OpenAPI links from a create to what may
/// be done with what it made.
struct Creates {
    /// The made object's id in the 2xx body, as a JSON pointer (`/id`, `/data/id`).
    pointer: &'static str,
    /// The collections it joins: every operation on `{under}/{param}...` gets a link.
    under: Vec<&'static str>,
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
            body: None,
            creates: None,
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

    fn json_body<T: ToSchema>(mut self, required: bool) -> Self {
        let schema = reference::<T>(&mut self.schemas);
        self.body = Some(Body {
            media_type: "application/json",
            name: T::name().into_owned(),
            schema,
            example: None,
            required,
            needs: Vec::new(),
        });
        self
    }

    /// A required JSON body of type `T`.
    pub fn body<T: ToSchema>(self) -> Self {
        self.json_body::<T>(true)
    }

    /// A required JSON body of type `T`, with an example of a valid one: what the docs
    /// show and what the API fuzzer sends first (its examples phase).
    pub fn body_example<T: ToSchema>(self, example: serde_json::Value) -> Self {
        let mut operation = self.json_body::<T>(true);
        if let Some(body) = operation.body.as_mut() {
            body.example = Some(example);
        }
        operation
    }

    /// An optional JSON body of type `T` (none means the defaults).
    pub fn optional_body<T: ToSchema>(self) -> Self {
        self.json_body::<T>(false)
    }

    /// The body's `fields` this operation needs, though its type has them optional (the
    /// type also serves a partial update): the document names the body `New<Type>`,
    /// the type with these fields required and never null.
    pub fn requiring(mut self, fields: &[&'static str]) -> Self {
        let body = self
            .body
            .as_mut()
            .unwrap_or_else(|| panic!("{} {} requires fields of no body", self.method, self.path));
        body.needs.extend_from_slice(fields);
        self
    }

    /// The 2xx answer names the object this operation made at the JSON pointer
    /// `pointer` (`/id`): the document links it to every operation on `{path}/{param}`
    /// below this operation's own path (OpenAPI links, which clients and the API
    /// fuzzer's stateful phase follow).
    pub fn creates(self, pointer: &'static str) -> Self {
        let under = self.path;
        self.creates_under(pointer, &[under])
    }

    /// As [`Operation::creates`], for an object that lives under other paths (an order
    /// made by `POST /payments` is also `/orders/{id}`).
    pub fn creates_under(mut self, pointer: &'static str, under: &[&'static str]) -> Self {
        self.creates = Some(Creates {
            pointer,
            under: under.to_vec(),
        });
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
            (
                "page",
                "Page number, from 1 (not with cursors)",
                integer(1, None),
            ),
            (
                "per_page",
                "Items per page, 1 to 100 (default 20)",
                integer(1, Some(100)),
            ),
            (
                "starting_after",
                "An id: the items just older than it",
                cursor(),
            ),
            (
                "ending_before",
                "An id: the items just newer than it",
                cursor(),
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

    /// A form body of the fields `T` describes (`application/x-www-form-urlencoded`), as
    /// the portal's forms send, and the HTML pages such an action answers besides 200.
    pub fn form<T: ToSchema>(mut self) -> Self {
        let schema = reference::<T>(&mut self.schemas);
        self.body = Some(Body {
            media_type: "application/x-www-form-urlencoded",
            name: T::name().into_owned(),
            schema,
            example: None,
            required: true,
            needs: Vec::new(),
        });
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

    /// A `302` to where the thing is (a short-lived presigned URL), in `Location`.
    pub fn redirects(mut self, description: &str) -> Self {
        let location = utoipa::openapi::HeaderBuilder::new()
            .schema(string())
            .description(Some("Where to fetch it, for a few minutes"))
            .build();
        self.builder = self.builder.response(
            "302",
            ResponseBuilder::new()
                .description(description)
                .header("Location", location)
                .build(),
        );
        self
    }

    /// An HTML page (the public payment page, the portal's).
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
        if let Some(body) = self.body.take() {
            let schema = if body.needs.is_empty() {
                body.schema
            } else {
                let name = format!("New{}", body.name);
                let own = self
                    .schemas
                    .iter()
                    .find(|(n, _)| *n == body.name)
                    .map(|(_, schema)| schema.clone())
                    .expect("the body's type is among the operation's schemas");
                self.schemas
                    .push((name.clone(), requiring(own, &body.needs, &name)));
                RefOr::Ref(openapi::Ref::from_schema_name(name))
            };
            let content = ContentBuilder::new()
                .schema(Some(schema))
                .example(body.example)
                .build();
            self.builder = self.builder.request_body(Some(
                RequestBodyBuilder::new()
                    .content(body.media_type, content)
                    .required(Some(if body.required {
                        Required::True
                    } else {
                        Required::False
                    }))
                    .build(),
            ));
        }
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
                let printable = ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .pattern(Some("^[ -~]{1,255}$"))
                    .build();
                self.builder = self.builder.parameter(
                    ParameterBuilder::new()
                        .name("Idempotency-Key")
                        .parameter_in(ParameterIn::Header)
                        .required(Required::False)
                        .description(Some(
                            "1 to 255 printable ASCII characters; a repeat within 24 hours gets the first response",
                        ))
                        .schema(Some(Schema::Object(printable))),
                );
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

/// `schema` (an object's) with `fields` required and never null.
fn requiring(schema: RefOr<Schema>, fields: &[&str], name: &str) -> RefOr<Schema> {
    let RefOr::T(Schema::Object(mut object)) = schema else {
        panic!("{name}: only an object's fields can be required");
    };
    for field in fields {
        let property = object
            .properties
            .get_mut(*field)
            .unwrap_or_else(|| panic!("{name} requires {field}, which its type lacks"));
        not_null(property);
        if !object.required.iter().any(|f| f == field) {
            object.required.push(field.to_string());
        }
    }
    RefOr::T(Schema::Object(object))
}

/// A property's schema without `null` among what it allows (`Option<T>`'s two shapes:
/// `type: [T, "null"]`, and `oneOf: [{type: null}, T]` for a referenced `T`).
fn not_null(property: &mut RefOr<Schema>) {
    fn strip(types: &mut SchemaType) {
        if let SchemaType::Array(list) = types {
            list.retain(|t| *t != Type::Null);
            if let [only] = list.as_slice() {
                *types = SchemaType::Type(only.clone());
            }
        }
    }
    match property {
        RefOr::T(Schema::Object(object)) => strip(&mut object.schema_type),
        RefOr::T(Schema::Array(array)) => strip(&mut array.schema_type),
        RefOr::T(Schema::OneOf(one)) => {
            one.items.retain(|item| {
                !matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
            });
            if one.items.len() == 1 {
                *property = one.items.remove(0);
            }
        }
        _ => {}
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
    (
        503,
        "Unavailable",
        "Try again (or offline for maintenance); see `Retry-After`",
    ),
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

/// A string that is one of `values`, for parameters.
pub fn one_of(values: &[&str]) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .enum_values(Some(values.iter().copied()))
            .build(),
    )
}

/// An id as a cursor takes it: 1 to 255 printable ASCII characters, no spaces.
fn cursor() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .pattern(Some("^[!-~]{1,255}$"))
            .build(),
    )
}

/// A string schema, for parameters.
pub fn string() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .build(),
    )
}

fn integer(minimum: i64, maximum: Option<i64>) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .minimum(Some(minimum))
            .maximum(maximum)
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

/// The links from `operation`'s answer, when it creates something, to every operation
/// on what it made: `{under}/{param}...`, the parameter taken from the answer's body.
fn links_of(operation: &Operation, all: &[Operation]) -> Vec<(String, RefOr<Link>)> {
    let Some(creates) = &operation.creates else {
        return Vec::new();
    };
    let mut links = Vec::new();
    for under in &creates.under {
        for target in all {
            let Some(param) = target
                .path
                .strip_prefix(*under)
                .and_then(|rest| rest.strip_prefix("/{"))
                .and_then(|rest| rest.split('}').next())
            else {
                continue;
            };
            let id = operation_id(&target.method, target.path);
            // utoipa 5.5 writes `Link::operation_id` as `operation_id`, not the spec's
            // `operationId`: the right name goes in through the (flattened) extensions.
            let mut named = Extensions::default();
            named.insert("operationId".into(), id.clone().into());
            let link = LinkBuilder::new()
                .extensions(Some(named))
                .parameter(param, format!("$response.body#{}", creates.pointer))
                .description(format!(
                    "{} {} on what this made",
                    target.method, target.path
                ))
                .build();
            links.push((id, RefOr::T(link)));
        }
    }
    assert!(
        !links.is_empty(),
        "{} {} creates under paths with no operations",
        operation.method,
        operation.path
    );
    links
}

/// The whole document from every function's operations.
pub fn document(operations: impl IntoIterator<Item = Operation>) -> OpenApi {
    let operations: Vec<Operation> = operations.into_iter().collect();
    let mut paths = PathsBuilder::new();
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    let mut tags = std::collections::BTreeSet::new();
    let mut links: Vec<_> = operations
        .iter()
        .map(|op| links_of(op, &operations))
        .collect();
    for (operation, links) in operations.into_iter().zip(links.drain(..)) {
        tags.insert(operation.tag);
        let (path, method, mut built, used) = operation.finish();
        if !links.is_empty() {
            let answer = built
                .responses
                .responses
                .iter_mut()
                .find(|(status, _)| status.starts_with('2'))
                .map(|(_, response)| response);
            match answer {
                Some(RefOr::T(response)) => response.links.extend(links),
                _ => panic!("{path} creates something but answers no 2xx body"),
            }
        }
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

    #[derive(ToSchema)]
    #[allow(dead_code)]
    enum Kind {
        Plain,
    }

    /// A body that serves both create and a partial update: every field optional.
    #[derive(ToSchema)]
    #[allow(dead_code)]
    struct Thing {
        name: Option<String>,
        kind: Option<Kind>,
        tags: Option<Vec<String>>,
        note: Option<String>,
    }

    fn things() -> serde_json::Value {
        let operations = [
            Operation::new(Method::POST, "/api/v2/things", "things")
                .summary("Make a thing")
                .body::<Thing>()
                .requiring(&["name", "kind", "tags"])
                .creates("/id")
                .returns::<Thing>(201, "The thing"),
            Operation::new(Method::PUT, "/api/v2/things/{id}", "things")
                .summary("Change a thing")
                .body::<Thing>()
                .returns::<Thing>(200, "The thing"),
            Operation::new(Method::POST, "/api/v2/things/{id}/polish", "things")
                .summary("Polish a thing")
                .returns::<Thing>(200, "The thing"),
            Operation::new(Method::GET, "/api/v2/thingamajigs/{id}", "things")
                .summary("Not under /things")
                .returns::<Thing>(200, "Another"),
        ];
        serde_json::to_value(document(operations)).unwrap()
    }

    #[test]
    fn a_create_documents_the_fields_it_needs_as_required_and_never_null() {
        let doc = things();
        let schemas = &doc["components"]["schemas"];
        let new = &schemas["NewThing"];
        assert_eq!(new["required"], serde_json::json!(["name", "kind", "tags"]));
        assert_eq!(new["properties"]["name"]["type"], "string");
        assert_eq!(new["properties"]["tags"]["type"], "array");
        assert_eq!(
            new["properties"]["kind"]["$ref"],
            "#/components/schemas/Kind"
        );
        assert_eq!(
            new["properties"]["note"]["type"],
            serde_json::json!(["string", "null"])
        );
        // The update keeps the type as it is: every field optional.
        assert!(schemas["Thing"].get("required").is_none());
        let body = |path: &str, method: &str| {
            doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
                ["$ref"]
                .clone()
        };
        assert_eq!(
            body("/api/v2/things", "post"),
            "#/components/schemas/NewThing"
        );
        assert_eq!(
            body("/api/v2/things/{id}", "put"),
            "#/components/schemas/Thing"
        );
    }

    #[test]
    fn a_create_links_to_every_operation_on_what_it_made() {
        let doc = things();
        let links = doc["paths"]["/api/v2/things"]["post"]["responses"]["201"]["links"]
            .as_object()
            .unwrap();
        assert_eq!(
            links.keys().collect::<Vec<_>>(),
            ["postThingsByIdPolish", "putThingsById"],
            "not to itself, nor to /thingamajigs"
        );
        let link = &links["putThingsById"];
        // The spec's name, whatever utoipa calls the field.
        assert_eq!(link["operationId"], "putThingsById");
        assert!(link.get("operation_id").is_none());
        assert_eq!(link["parameters"]["id"], "$response.body#/id");
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
