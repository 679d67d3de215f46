//! The bounded pool that runs password hashing: a login storm must neither exhaust memory nor
//! starve everything else.
//!
//! At most `workers` hashes run at once (one per core by default), each on a blocking thread
//! with a [`Hasher`] whose 19 MiB are kept for the next hash instead of returned to the
//! allocator; at most `queue` callers wait for a worker, each for at most `wait`. Anything
//! beyond is refused at once with [`Error::Overloaded`], which costs nothing.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::password::{DUMMY_HASH, Hasher};
use crate::error::{Error, Result};

/// How long a refused caller is told to wait before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The pool's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    /// Hashes running at once.
    pub workers: usize,
    /// Callers waiting for a worker before more are refused.
    pub queue: usize,
    /// The longest a caller waits for a worker.
    pub wait: Duration,
}

impl Default for PoolLimits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        PoolLimits {
            workers: cores,
            queue: 16 * cores,
            wait: Duration::from_secs(2),
        }
    }
}

/// Runs password hashes and checks within [`PoolLimits`]. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct PasswordPool {
    shared: Arc<Shared>,
}

struct Shared {
    limits: PoolLimits,
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    idle_hashers: Mutex<Vec<Hasher>>,
    verifications: AtomicU64,
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

impl PasswordPool {
    /// A pool within `limits` (at least one worker).
    pub fn new(limits: PoolLimits) -> Self {
        let workers = limits.workers.max(1);
        PasswordPool {
            shared: Arc::new(Shared {
                limits: PoolLimits { workers, ..limits },
                running: Arc::new(Semaphore::new(workers)),
                waiting: AtomicUsize::new(0),
                idle_hashers: Mutex::new(Vec::new()),
                verifications: AtomicU64::new(0),
            }),
        }
    }

    /// Hashes a new password for storage.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move |hasher| hasher.hash(&password)).await?
    }

    /// Checks `password` against a stored hash, or against a dummy hash of the same cost when
    /// there is none (unknown email), so both take the same time. False for the dummy.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        let shared = self.shared.clone();
        self.run(move |hasher| {
            shared.verifications.fetch_add(1, Ordering::Relaxed);
            match hash {
                Some(hash) => hasher.verify(&password, &hash),
                None => {
                    hasher.verify(&password, DUMMY_HASH);
                    false
                }
            }
        })
        .await
    }

    /// How many password checks ran (real and dummy); tests use it to see that both login
    /// paths do the same work.
    pub fn verifications(&self) -> u64 {
        self.shared.verifications.load(Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Hasher) -> T + Send + 'static,
    ) -> Result<T> {
        let shared = &self.shared;
        let overloaded = || Error::Overloaded {
            what: "password checking".into(),
            retry_after: RETRY_AFTER,
        };
        let permit = match shared.running.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if shared.waiting.fetch_add(1, Ordering::AcqRel) >= shared.limits.queue {
                    shared.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(overloaded());
                }
                let acquired = tokio::time::timeout(
                    shared.limits.wait,
                    shared.running.clone().acquire_owned(),
                )
                .await;
                shared.waiting.fetch_sub(1, Ordering::AcqRel);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(overloaded()),
                }
            }
        };
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let mut hasher = shared.take_hasher();
            let result = job(&mut hasher);
            shared.put_back(hasher);
            drop(permit);
            result
        })
        .await
        .map_err(|err| Error::unavailable("password checking", err))
    }
}

impl Shared {
    fn take_hasher(&self) -> Hasher {
        self.idle_hashers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
            .unwrap_or_default()
    }

    fn put_back(&self, hasher: Hasher) {
        self.idle_hashers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(hasher);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies_with_kept_memory() {
        let pool = PasswordPool::new(PoolLimits::default());
        let hash = pool.hash("correct horse".into()).await.unwrap();
        assert!(
            pool.verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!pool.verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!pool.verify("anything".into(), None).await.unwrap());
        assert_eq!(pool.verifications(), 3);
    }

    #[tokio::test]
    async fn refuses_at_once_beyond_workers_and_queue() {
        let pool = PasswordPool::new(PoolLimits {
            workers: 1,
            queue: 1,
            wait: Duration::from_secs(30),
        });
        let attempts: Vec<_> = (0..6)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.verify("password".into(), None).await })
            })
            .collect();
        let mut refused = 0;
        for attempt in attempts {
            if let Err(Error::Overloaded { retry_after, .. }) = attempt.await.unwrap() {
                assert_eq!(retry_after, RETRY_AFTER);
                refused += 1;
            }
        }
        assert!(
            refused >= 4,
            "only {refused} of 6 refused with one worker and one waiter"
        );
    }
}
