//! In-process implementations of every boundary trait: the default for a single node and for
//! embedding, and the reference the database backends are checked against.

mod blobs;
mod bus;
mod limits;
mod presence;
mod store;

pub use blobs::MemoryBlobStore;
pub use bus::{MemoryBus, MemoryBusNetwork};
pub use limits::MemoryRateLimiter;
pub use presence::MemoryPresence;
pub use store::MemoryStore;
