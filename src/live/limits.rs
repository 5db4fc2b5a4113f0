//! How many streams the server holds, and the guard each one carries while it is held.

use super::hub::{Hub, LotChannel};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Sockets kept back from the open-file limit for the database, pages and the API.
const RESERVE: u64 = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Sse,
    Ndjson,
    LongPoll,
}

/// Raises the soft open-file limit to the hard one and leaves a reserve.
pub fn default_max_streams() -> usize {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    limit.saturating_sub(RESERVE).max(16) as usize
}

/// Every held connection the server allows is taken (`GAVEL_MAX_STREAMS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamsFull;

/// Held while a stream or a waiting long poll is open; counts it out when dropped.
pub struct StreamGuard {
    hub: Arc<Hub>,
    transport: Transport,
    lot: Option<Arc<LotChannel>>,
}

impl Hub {
    /// Admits one more held connection, or refuses past `GAVEL_MAX_STREAMS` (web answers 503).
    pub fn admit(
        self: &Arc<Self>,
        transport: Transport,
        lot: Option<Arc<LotChannel>>,
    ) -> Result<StreamGuard, StreamsFull> {
        let before = self.held.fetch_add(1, Ordering::AcqRel);
        if before >= self.max_streams {
            self.held.fetch_sub(1, Ordering::AcqRel);
            self.metrics.streams_refused.fetch_add(1, Ordering::Relaxed);
            return Err(StreamsFull);
        }
        self.metrics
            .gauge(transport)
            .fetch_add(1, Ordering::Relaxed);
        let lot = match transport {
            Transport::LongPoll => None,
            _ => lot,
        };
        if let Some(channel) = &lot {
            channel.watchers.fetch_add(1, Ordering::Relaxed);
        }
        Ok(StreamGuard {
            hub: self.clone(),
            transport,
            lot,
        })
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.hub.held.fetch_sub(1, Ordering::AcqRel);
        self.hub
            .metrics
            .gauge(self.transport)
            .fetch_sub(1, Ordering::Relaxed);
        if let Some(channel) = &self.lot {
            channel.watchers.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
