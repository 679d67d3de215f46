//! Readiness: whether this node can serve, i.e. the store answers reads and takes writes; the
//! bus is reported beside them.
//!
//! Reads can work while writes cannot (a full disk, a read-only data dir, a stuck write lock),
//! so readiness makes a real write: the store's write probe. The probe's outcome stands for
//! [`WRITE_PROBE_INTERVAL`] and concurrent checks share one probe, so however often probes or
//! clients ask, the store sees at most one small write per interval.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::Engine;
use crate::store::Store;

/// How long the outcome of one write probe stands.
const WRITE_PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// A write probe not stored within this long counts as failed, so readiness answers promptly
/// even when the store's writes hang (e.g. waiting on a lock another process holds).
const WRITE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What readiness probes report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The store answered a ping.
    pub store: bool,
    /// The store stored a write probe, at most a second ago.
    pub store_writes: bool,
    /// The bus is connected (always true for the in-process bus).
    pub bus: bool,
}

impl Readiness {
    /// Whether the node can serve: its store reads and writes. A node without its bus still
    /// serves its local users, so the bus alone does not make it unready.
    pub fn is_ready(&self) -> bool {
        self.store && self.store_writes
    }
}

/// The latest write probe's time and outcome, shared by concurrent readiness checks.
#[derive(Default)]
pub(super) struct WriteProbe {
    last: Mutex<Option<(Instant, bool)>>,
}

impl WriteProbe {
    /// The outcome of a recent probe, or of a new one when the last is too old. Callers that
    /// arrive while a probe runs wait for it and take its outcome.
    async fn check(&self, store: &dyn Store) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, ok)) = *last
            && at.elapsed() < WRITE_PROBE_INTERVAL
        {
            return ok;
        }
        let ok = match tokio::time::timeout(WRITE_PROBE_TIMEOUT, store.probe_write()).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "the store refused a write probe: not ready");
                false
            }
            Err(_) => {
                tracing::warn!(
                    timeout = ?WRITE_PROBE_TIMEOUT,
                    "the store did not store a write probe in time: not ready"
                );
                false
            }
        };
        *last = Some((Instant::now(), ok));
        ok
    }
}

impl Engine {
    /// Whether the store answers reads and takes writes, and whether the bus is connected.
    pub async fn readiness(&self) -> Readiness {
        let store = self.inner.store.as_ref();
        Readiness {
            store: store.ping().await.is_ok(),
            store_writes: self.inner.write_probe.check(store).await,
            bus: self.inner.bus.is_connected(),
        }
    }
}
