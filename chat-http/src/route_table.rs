//! The route table: every REST and socket route is added through [`Routes`], which records
//! its method and path as it builds the router. So the list of what the server serves exists
//! once, and the API description (`openapi.json`) is checked against that very list.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodRouter, on};

use crate::state::AppState;

/// One served route: a method on a path template (`/api/rooms/{room_id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path template, in axum's (and OpenAPI's) `{name}` syntax.
    pub path: &'static str,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// A router under construction that remembers every route added to it. Methods on one
/// path may be added separately; axum merges them.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    served: Vec<Route>,
}

macro_rules! method {
    ($name:ident, $method:ident) => {
        #[doc = concat!("Serves `", stringify!($method), " path` with `handler`.")]
        pub fn $name<H, T>(self, path: &'static str, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add(
                Method::$method,
                path,
                on(axum::routing::MethodFilter::$method, handler),
            )
        }
    };
}

impl Routes {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    method!(get, GET);
    method!(post, POST);
    method!(put, PUT);
    method!(patch, PATCH);
    method!(delete, DELETE);

    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, route);
        self.served.push(Route { method, path });
        self
    }

    /// Adds every route of `other`, after this table's own.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.served.extend(other.served);
        self
    }

    /// Every route added so far, in the order added.
    pub fn served(&self) -> &[Route] {
        &self.served
    }

    /// The router serving every route added.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}
