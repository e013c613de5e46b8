//! A countdown that a caller waits on, with a timeout, from any thread or runtime.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Counts down participants; collects their errors.
#[derive(Debug)]
pub(crate) struct Completion<E> {
    state: Mutex<(usize, Vec<(String, E)>)>,
    done: Condvar,
}

impl<E> Completion<E> {
    pub(crate) fn new(participants: usize) -> Self {
        Self {
            state: Mutex::new((participants, Vec::new())),
            done: Condvar::new(),
        }
    }

    pub(crate) fn add(&self, participants: usize) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 += participants;
    }

    pub(crate) fn complete(&self, who: &str, result: Result<(), E>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 = state.0.saturating_sub(1);
        if let Err(e) = result {
            state.1.push((who.to_owned(), e));
        }
        if state.0 == 0 {
            self.done.notify_all();
        }
    }

    /// Waits until every participant completed; `None` on timeout.
    pub(crate) fn wait(&self, timeout: Duration) -> Option<Vec<(String, E)>> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.0 > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            state = self
                .done
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Some(std::mem::take(&mut state.1))
    }
}
