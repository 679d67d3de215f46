//! The store conformance suite against SQLite, each check on its own database file.

mod common;

chat_core::store_conformance!(async { common::scratch() });
