//! How many streams the server holds, and the guard each one carries while it is held.

use super::hub::{Hub, LotChannel};
use crate::web::error::AppError;
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

/// Held while a stream or a waiting long poll is open; counts it out when dropped.
pub struct StreamGuard {
    hub: Arc<Hub>,
    transport: Transport,
    lot: Option<Arc<LotChannel>>,
}

impl Hub {
    /// Admits one more held connection, or answers 503 past `GAVEL_MAX_STREAMS`.
    pub fn admit(
        self: &Arc<Self>,
        transport: Transport,
        lot: Option<Arc<LotChannel>>,
    ) -> Result<StreamGuard, AppError> {
        let before = self.held.fetch_add(1, Ordering::AcqRel);
        if before >= self.max_streams {
            self.held.fetch_sub(1, Ordering::AcqRel);
            self.metrics.streams_refused.fetch_add(1, Ordering::Relaxed);
            return Err(AppError::Unavailable);
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

/// Asks the kernel to drop a connection whose peer takes none of our data for `after`
/// (TCP_USER_TIMEOUT also bounds zero-window probing): a watcher that never reads is cut off
/// instead of holding its buffers forever.
pub fn drop_when_stalled(conn: &dyn std::any::Any, after: std::time::Duration) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    let tcp = conn
        .downcast_ref::<actix_web::rt::net::TcpStream>()
        .or_else(|| conn.downcast_ref::<Tls>().map(|tls| tls.get_ref().0));
    if let Some(tcp) = tcp
        && let Err(e) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(after))
    {
        tracing::debug!(error = %e, "could not set TCP_USER_TIMEOUT");
    }
}
