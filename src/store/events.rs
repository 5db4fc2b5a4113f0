//! The event log (API.md §4): full JSON per event, one id sequence for the site.

use super::{Store, from_millis};
use crate::domain::Time;
use sqlx::SqliteConnection;
use uuid::Uuid;

/// An event as stored: its JSON is what transports send, byte for byte.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: i64,
    pub lot_id: Uuid,
    pub seq: i64,
    pub kind: String,
    pub at: Time,
    pub data: String,
}

pub async fn latest_id(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
        .fetch_one(conn)
        .await
}

type EventRow = (i64, String, i64, String, i64, String);

fn from_row((id, lot_id, seq, kind, at, data): EventRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        id,
        lot_id: super::parse_id(&lot_id)?,
        seq,
        kind,
        at: from_millis(at),
        data,
    })
}

impl Store {
    /// Events after `after`, oldest first; for one lot or, with `None`, the whole site.
    pub async fn events_after(
        &self,
        lot: Option<Uuid>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let rows: Vec<EventRow> = match lot {
            Some(lot) => {
                sqlx::query_as(
                    "SELECT id, lot_id, seq, kind, at, data FROM events
                     WHERE lot_id = ? AND id > ? ORDER BY id LIMIT ?",
                )
                .bind(lot.to_string())
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT id, lot_id, seq, kind, at, data FROM events WHERE id > ? ORDER BY id LIMIT ?",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.into_iter().map(from_row).collect()
    }

    pub async fn latest_event_id(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(&self.pool)
            .await
    }
}
