//! The one clock the site reads. Tests use a manual clock they move by hand.

use crate::domain::Time;
use chrono::{Duration, Utc};
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Clone)]
pub struct Clock {
    manual: Option<Arc<watch::Sender<Time>>>,
}

impl Clock {
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock that stands still at `start` until `advance` or `set` moves it.
    pub fn manual(start: Time) -> Self {
        let (tx, _) = watch::channel(start);
        Clock {
            manual: Some(Arc::new(tx)),
        }
    }

    pub fn now(&self) -> Time {
        match &self.manual {
            None => Utc::now(),
            Some(tx) => *tx.borrow(),
        }
    }

    pub fn advance(&self, by: Duration) {
        if let Some(tx) = &self.manual {
            tx.send_modify(|t| *t += by);
        }
    }

    pub fn set(&self, to: Time) {
        if let Some(tx) = &self.manual {
            tx.send_replace(to);
        }
    }

    /// Resolves once the clock reads `deadline` or later.
    pub async fn sleep_until(&self, deadline: Time) {
        match &self.manual {
            None => {
                let wait = (deadline - Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
            }
            Some(tx) => {
                let mut rx = tx.subscribe();
                while *rx.borrow_and_update() < deadline {
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_moved() {
        let start = Utc.timestamp_opt(1_000, 0).single().unwrap_or_default();
        let clock = Clock::manual(start);
        let c2 = clock.clone();
        let sleeper =
            tokio::spawn(async move { c2.sleep_until(start + Duration::seconds(10)).await });
        tokio::task::yield_now().await;
        clock.advance(Duration::seconds(5));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::seconds(5));
        tokio::time::timeout(std::time::Duration::from_secs(2), sleeper)
            .await
            .expect("woke up")
            .expect("joined");
        assert_eq!(
            crate::domain::json::rfc3339(clock.now()),
            "1970-01-01T00:16:50.000Z"
        );
    }
}
