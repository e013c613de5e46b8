//! The server's counters are atomics updated from any thread; these read and update them, and
//! the slots of last errors, without ordering or poisoning concerns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

pub(crate) fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn set_error(slot: &Mutex<Option<String>>, error: Option<String>) {
    *slot.lock().unwrap_or_else(PoisonError::into_inner) = error;
}

pub(crate) fn read_error(slot: &Mutex<Option<String>>) -> Option<String> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).clone()
}
