//! The presence, rate-limit and bus conformance suites against the in-process references.
//!
//! Two "nodes" share one `MemoryPresence` and one `MemoryRateLimiter` (the same instance
//! twice), and attach two buses to one `MemoryBusNetwork`.

use std::sync::Arc;

use chat_core::bus::Bus;
use chat_core::limits::{Quota, RateLimiter};
use chat_core::memory::{MemoryBusNetwork, MemoryPresence, MemoryRateLimiter};
use chat_core::presence::Presence;

mod presence {
    use super::*;

    chat_core::presence_conformance!(async {
        let presence: Arc<dyn Presence> = Arc::new(MemoryPresence::new());
        (presence.clone(), presence)
    });
}

mod limits {
    use super::*;

    chat_core::limits_conformance!(|quota: Quota| async move {
        let limiter: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::new(quota));
        (limiter.clone(), limiter)
    });
}

mod bus {
    use super::*;

    chat_core::bus_conformance!(async {
        let network = MemoryBusNetwork::new();
        let one: Arc<dyn Bus> = Arc::new(network.attach());
        let two: Arc<dyn Bus> = Arc::new(network.attach());
        (one, two)
    });
}
