//! REST routes, one file per resource. Handlers are thin: extract, call the engine, map.

#[cfg(feature = "accounts")]
pub mod accounts;
pub mod files;
pub mod groups;
pub mod health;
pub mod messages;
pub mod openapi;
pub mod reactions;
pub mod reads;
pub mod rooms;
pub mod search;
pub mod server_api;
pub mod users;
