//! Whether the database can be written, as the auction house last found it. While it cannot,
//! the house refuses writes at once (503 `storage_unavailable`) and tries again after a
//! backoff that doubles up to `MAX_BACKOFF`, rather than retrying in a loop; the first write
//! that succeeds (a command, a due closing, or a probe of its own) makes it healthy again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct StorageHealth {
    failing: AtomicBool,
    backoff: Mutex<Backoff>,
}

#[derive(Debug, Default)]
struct Backoff {
    wait: Duration,
    retry_at: Option<Instant>,
}

impl StorageHealth {
    /// Whether writes are failing (`/healthz` reports not ready).
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// A write failed: refuse writes until the next try, which comes later each time.
    pub(super) fn failed(&self) {
        let first = !self.failing.swap(true, Ordering::Relaxed);
        if let Ok(mut b) = self.backoff.lock() {
            b.wait = if first {
                FIRST_BACKOFF
            } else {
                (b.wait * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF)
            };
            b.retry_at = Some(Instant::now() + b.wait);
            if first {
                tracing::error!("the database cannot be written; writes are refused until it can");
            }
        }
    }

    /// A write succeeded.
    pub(super) fn succeeded(&self) {
        if self.failing.swap(false, Ordering::Relaxed) {
            tracing::info!("the database can be written again");
        }
        if let Ok(mut b) = self.backoff.lock() {
            *b = Backoff::default();
        }
    }

    /// When the house may next try to write, if it is waiting.
    pub(super) fn retry_at(&self) -> Option<Instant> {
        if !self.is_failing() {
            return None;
        }
        self.backoff.lock().ok().and_then(|b| b.retry_at)
    }

    /// Whether writes are refused right now (failing, and the next try is not yet due).
    pub(super) fn refusing(&self) -> bool {
        self.retry_at().is_some_and(|at| Instant::now() < at)
    }

    /// A try is under way: the next one waits its turn even before this one's outcome is known.
    pub(super) fn trying(&self) {
        if let Ok(mut b) = self.backoff.lock()
            && self.failing.load(Ordering::Relaxed)
        {
            b.retry_at = Some(Instant::now() + b.wait.max(FIRST_BACKOFF));
        }
    }

    /// The backoff so far, for the next wait in the durability task.
    pub(super) fn wait(&self) -> Duration {
        self.backoff
            .lock()
            .map(|b| b.wait)
            .unwrap_or(MAX_BACKOFF)
            .max(FIRST_BACKOFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_doubling_to_five_seconds_and_a_success_clears_them() {
        let health = StorageHealth::default();
        assert!(!health.is_failing() && !health.refusing());
        let mut waits = Vec::new();
        for _ in 0..7 {
            health.failed();
            waits.push(health.wait());
        }
        assert_eq!(waits[0], Duration::from_millis(250));
        assert_eq!(waits[1], Duration::from_millis(500));
        assert_eq!(waits[6], Duration::from_secs(5));
        assert!(health.refusing());
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(
            health.is_failing() && !health.refusing(),
            "time to try again"
        );
        health.succeeded();
        assert!(!health.is_failing());
        assert_eq!(health.retry_at(), None);
    }
}
