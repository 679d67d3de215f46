//! The store conformance suite against the in-memory reference store.

use std::sync::Arc;

use chat_core::memory::MemoryStore;
use chat_core::store::Store;

chat_core::store_conformance!(async { Arc::new(MemoryStore::new()) as Arc<dyn Store> });
