//! Locking that survives a panic elsewhere.
//!
//! Every mutex in the engine guards state that stays consistent between statements (maps of
//! sockets, caches, queues), so a thread that panicked while holding one leaves nothing half
//! done; the next caller takes the lock instead of propagating the poison.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, taking it over even if a previous holder panicked.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
