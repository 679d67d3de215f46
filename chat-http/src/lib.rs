//! `chat-http`: the REST and WebSocket edge of the chat engine, on axum (hyper).
//!
//! It keeps the Message App's routes and field names ([`wire`]), authenticates every request
//! and socket ([`auth`]), and is the only crate that knows JSON framing and status codes
//! ([`error`]). Module map: [`router`] (routes and tower layers), [`route_table`] (the one list of
//! served routes, which the API description is checked against), [`routes`] (REST handlers),
//! [`ws`] (the socket endpoint and loop), [`state`] (shared state and settings), [`server`]
//! (the accept loop, HTTP/1 timeouts, shutdown with a deadline), [`admission`] (connection
//! caps), [`json_errors`] (JSON bodies for every `/api` error, header limits), [`origin`]
//! (the origin check of cookie-authenticated writes), [`redact`] (no tokens in logs), [`tls`]
//! (in-process HTTPS/WSS, reloadable certificates), [`scheme`] (HTTPS or not, own or behind a
//! trusted proxy), `redirect` (the HTTP-to-HTTPS port), [`metrics`] (`/metrics`, and HTTP
//! and socket counts).

pub mod admission;
pub mod auth;
pub mod authenticator;
pub mod error;
pub mod extract;
#[cfg(test)]
mod fuzz;
pub mod json_errors;
pub mod metrics;
pub mod mount;
pub mod origin;
pub mod ranges;
pub mod redact;
mod redirect;
pub mod route_table;
pub mod router;
pub mod routes;
pub mod scheme;
pub mod server;
pub mod state;
pub mod tls;
pub mod wire;
pub mod ws;

pub use authenticator::{AuthRequest, Authenticator, Identity, TokenAuthenticator};
pub use metrics::Metrics;
pub use mount::ChatRouter;
pub use router::router;
pub use server::{Endpoints, serve, serve_endpoints};
pub use state::{AppState, HttpConfig};
pub use tls::Tls;
