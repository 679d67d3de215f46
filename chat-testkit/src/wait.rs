//! Polling for a state that a background task reaches in its own time.

use std::time::{Duration, Instant};

/// Polls `condition` every 20 ms until it holds; panics naming `what` after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "{what} not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
