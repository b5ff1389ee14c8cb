//! One declaration per route: [`Routes`] takes a path, a handler and its documentation
//! together and yields both the axum router and the OpenAPI operations, so a route
//! cannot be served undocumented or documented unserved. What the caller must present
//! (nothing, an API key, or a key with a scope) is read from the handler's argument
//! types ([`Requires`]): `Scoped<Write<groups::Webhooks>>` documents `webhooks:write`,
//! the same type that enforces it. The model is svix-server's `post_with(handler, op)`.

use crate::{
    AppState,
    auth::{Auth, Needs, Scoped},
    http::{ApiJson, OptionalJson},
    ids::PathId,
    openapi::Operation,
    scopes::Access,
};
use axum::{
    Router,
    extract::{OriginalUri, Path, Query, Request, State},
    handler::Handler,
    http::{HeaderMap, Method},
    routing::{MethodRouter, delete, get, post, put},
};

/// What a request must carry to reach a handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Nothing: a public route (a key that is sent is still checked).
    Nothing,
    /// An API key, whatever its scopes (the handler checks what it needs).
    Key,
    /// An API key whose scopes allow this access.
    Scope(Access),
}

impl Requirement {
    /// The stricter of two requirements.
    fn and(self, other: Requirement) -> Requirement {
        match (self, other) {
            (Requirement::Scope(a), _) | (_, Requirement::Scope(a)) => Requirement::Scope(a),
            (Requirement::Key, _) | (_, Requirement::Key) => Requirement::Key,
            _ => Requirement::Nothing,
        }
    }
}

/// What an extractor asks of the caller; most ask nothing.
pub trait Requires {
    fn requirement() -> Requirement {
        Requirement::Nothing
    }
}

impl<N: Needs> Requires for Scoped<N> {
    fn requirement() -> Requirement {
        Requirement::Scope(N::ACCESS)
    }
}

impl Requires for Auth {
    fn requirement() -> Requirement {
        Requirement::Key
    }
}

impl<S> Requires for State<S> {}
impl<T> Requires for Path<T> {}
impl<T> Requires for Query<T> {}
impl<T> Requires for ApiJson<T> {}
impl<T> Requires for OptionalJson<T> {}
impl<K> Requires for PathId<K> {}
impl<T> Requires for axum::Form<T> {}
impl<T> Requires for axum::Extension<T> {}
impl<T: Requires> Requires for Option<T> {}
impl Requires for OriginalUri {}
impl Requires for HeaderMap {}
impl Requires for Method {}
impl Requires for Request {}
impl Requires for axum::body::Bytes {}

/// A handler's requirement: the strictest of its arguments'. `Args` is the tuple of
/// its argument types (inferred, never written).
pub trait HandlerRequires<Args> {
    fn requirement() -> Requirement;
}

macro_rules! handler_requires {
    ($($arg:ident),*) => {
        impl<F, Fut, $($arg: Requires,)*> HandlerRequires<($($arg,)*)> for F
        where
            F: FnOnce($($arg),*) -> Fut,
        {
            fn requirement() -> Requirement {
                #[allow(unused_mut)]
                let mut requirement = Requirement::Nothing;
                $(requirement = requirement.and($arg::requirement());)*
                requirement
            }
        }
    };
}

handler_requires!();
handler_requires!(A);
handler_requires!(A, B);
handler_requires!(A, B, C);
handler_requires!(A, B, C, D);
handler_requires!(A, B, C, D, E);
handler_requires!(A, B, C, D, E, G);
handler_requires!(A, B, C, D, E, G, H);

/// A function's routes, each declared once with its documentation.
pub struct Routes {
    router: Router<AppState>,
    operations: Vec<Operation>,
    tag: &'static str,
    /// What every operation declared from here on also says (a dialect's error shape).
    common: fn(Operation) -> Operation,
}

macro_rules! method {
    ($(#[$doc:meta])* $name:ident, $method:ident, $routing:ident) => {
        $(#[$doc])*
        pub fn $name<H, T, A>(
            self,
            path: &'static str,
            handler: H,
            describe: impl FnOnce(Operation) -> Operation,
        ) -> Self
        where
            H: Handler<T, AppState> + HandlerRequires<A>,
            T: 'static,
        {
            let requirement = <H as HandlerRequires<A>>::requirement();
            self.add(Method::$method, path, $routing(handler), requirement, describe)
        }
    };
}

impl Routes {
    /// Routes whose operations are listed under `tag`.
    pub fn new(tag: &'static str) -> Self {
        Routes {
            router: Router::new(),
            operations: Vec::new(),
            tag,
            common: |op| op,
        }
    }

    /// The routes declared after this answer errors as `T`s (a dialect's shape), not as
    /// PushGuard's `Error`.
    pub fn errors_as<T: utoipa::ToSchema>(mut self) -> Self {
        self.common = Operation::error_body::<T>;
        self
    }

    /// The routes declared after this are listed under `tag`.
    pub fn tag(mut self, tag: &'static str) -> Self {
        self.tag = tag;
        self
    }

    method!(
        /// `GET path`.
        get, GET, get
    );
    method!(
        /// `POST path`.
        post, POST, post
    );
    method!(
        /// `PUT path`.
        put, PUT, put
    );
    method!(
        /// `DELETE path` (documented as answering 204 unless `describe` says otherwise).
        delete, DELETE, delete
    );

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        route: MethodRouter<AppState>,
        requirement: Requirement,
        describe: impl FnOnce(Operation) -> Operation,
    ) -> Self {
        let operation = (self.common)(Operation::new(method, path, self.tag).requires(requirement));
        self.operations.push(describe(operation));
        // axum merges the methods of one path declared in several calls.
        self.router = self.router.route(path, route);
        self
    }

    /// These routes and `other`'s, each under its own tag.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.operations.extend(other.operations);
        self
    }

    /// The router (without state or the API's conventions: see `shared::http`).
    pub fn router(self) -> Router<AppState> {
        self.router
    }

    /// The OpenAPI operations, in declaration order.
    pub fn operations(self) -> Vec<Operation> {
        self.operations
    }

    /// `(method, path)` of every route, as API Gateway must route them.
    pub fn paths(&self) -> Vec<(Method, &'static str)> {
        self.operations
            .iter()
            .map(|o| (o.method.clone(), o.path))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::{Read, Write, groups},
        scopes::Group,
    };

    async fn public(_: State<AppState>, _: Path<String>) {}
    async fn keyed(_: State<AppState>, _: Auth) {}
    async fn scoped(_: State<AppState>, _: Scoped<Write<groups::Webhooks>>, _: OriginalUri) {}
    async fn nothing() {}

    fn requirement_of<H: HandlerRequires<A>, A>(_: &H) -> Requirement {
        H::requirement()
    }

    #[test]
    fn a_handler_requires_what_its_strictest_argument_does() {
        assert_eq!(requirement_of(&public), Requirement::Nothing);
        assert_eq!(requirement_of(&nothing), Requirement::Nothing);
        assert_eq!(requirement_of(&keyed), Requirement::Key);
        assert_eq!(
            requirement_of(&scoped),
            Requirement::Scope(Access::write(Group::Webhooks))
        );
    }

    #[test]
    fn routes_document_each_route_with_the_scope_of_its_handler() {
        async fn list(_: Scoped<Read<groups::Products>>) {}
        let routes = Routes::new("things")
            .get("/things", list, |op| op.summary("List things"))
            .post("/things/{id}", public, |op| op.summary("Poke a thing"))
            .tag("other")
            .delete("/things/{id}", scoped, |op| op.summary("Delete a thing"));
        assert_eq!(
            routes.paths(),
            [
                (Method::GET, "/things"),
                (Method::POST, "/things/{id}"),
                (Method::DELETE, "/things/{id}"),
            ]
        );
        let operations = routes.operations();
        assert_eq!(
            operations[0].requirement(),
            Requirement::Scope(Access::read(Group::Products))
        );
        assert_eq!(operations[1].requirement(), Requirement::Nothing);
        assert_eq!(operations[2].tag(), "other");
    }
}
