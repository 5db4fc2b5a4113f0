//! An event serialized once: the same bytes go to every watcher.

use crate::store::events::StoredEvent;
use crate::store::notices::{NoticeRecord, StoredNotice};

struct Framed<'a> {
    id: i64,
    lot_id: Uuid,
    kind: &'a str,
    data: &'a str,
}
use bytes::Bytes;
use std::fmt::Write;
use std::time::Instant;
use uuid::Uuid;

#[derive(Debug)]
pub struct LiveEvent {
    pub id: i64,
    pub lot_id: Uuid,
    /// `id: …\nevent: …\ndata: …\n\n`
    pub sse: Bytes,
    /// The event's JSON and a newline: an NDJSON line, and (without the newline) a long-poll item.
    pub line: Bytes,
    /// When the hub got it, for the delivery latency histogram.
    pub published: Instant,
    /// A plain bid: it changes its own lot's price and bids, and nothing about which lots are
    /// open or when they end (see `web::search_cache`).
    pub only_bid: bool,
}

impl LiveEvent {
    pub fn new(event: &StoredEvent) -> LiveEvent {
        Self::frame(event.id, event.lot_id, &event.kind, &event.data)
    }

    /// A personal notice, framed like an event: its id, its type as the SSE event name.
    pub fn notice(n: &StoredNotice) -> LiveEvent {
        Self::frame(n.id, n.lot_id, n.kind, &n.data)
    }

    pub fn stored_notice(n: &NoticeRecord) -> LiveEvent {
        Self::frame(n.id, n.lot_id, &n.kind, &n.data)
    }

    fn frame(id: i64, lot_id: Uuid, kind: &str, data: &str) -> LiveEvent {
        let event = Framed {
            id,
            lot_id,
            kind,
            data,
        };
        // Sized up front: `format!` would grow the buffer a few times for an ~800-byte event.
        let mut sse = String::with_capacity(event.data.len() + event.kind.len() + 40);
        let _ = write!(sse, "id: {}\nevent: ", event.id);
        sse.push_str(event.kind);
        sse.push_str("\ndata: ");
        sse.push_str(event.data);
        sse.push_str("\n\n");
        let mut line = String::with_capacity(event.data.len() + 1);
        line.push_str(event.data);
        line.push('\n');
        LiveEvent {
            id: event.id,
            lot_id: event.lot_id,
            sse: Bytes::from(sse),
            line: Bytes::from(line),
            published: Instant::now(),
            only_bid: event.kind == "bid",
        }
    }

    pub fn json(&self) -> &[u8] {
        &self.line[..self.line.len().saturating_sub(1)]
    }
}
