//! The one lock-poisoning policy: a poisoned mutex is used as it is. A task that panics is
//! caught and reported as a failed task, and every mutex in dorun guards data that a panic
//! cannot leave half-updated (sets of process groups, caches filled in one assignment, the
//! ledger's book updated field by field from complete results), so refusing the lock would only
//! turn one failed task into a crashed run.
use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
