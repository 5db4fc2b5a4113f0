//! Personal notices and the watchlist (API.md §7). Notices are written by the auction house in
//! its own transaction (`batch`); reading them, marking them read and watching are done here.

use super::lots::{LOT_SELECT_FROM, LotRow, into_lots};
use super::{Store, from_millis, to_millis};
use crate::domain::{Lot, Time};
use sqlx::SqliteConnection;
use uuid::Uuid;

/// A notice as stored: its JSON is what the user's streams send, byte for byte.
#[derive(Debug, Clone)]
pub struct StoredNotice {
    pub id: i64,
    pub user_id: Uuid,
    pub lot_id: Uuid,
    pub kind: &'static str,
    pub at: Time,
    pub data: String,
}

/// A notice read back: the kind as stored.
#[derive(Debug, Clone)]
pub struct NoticeRecord {
    pub id: i64,
    pub lot_id: Uuid,
    pub kind: String,
    pub at: Time,
    pub data: String,
}

type NoticeRow = (i64, String, String, i64, String);

fn from_row((id, lot_id, kind, at, data): NoticeRow) -> Result<NoticeRecord, sqlx::Error> {
    Ok(NoticeRecord {
        id,
        lot_id: super::parse_id(&lot_id)?,
        kind,
        at: from_millis(at),
        data,
    })
}

pub async fn latest_id(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM notices")
        .fetch_one(conn)
        .await
}

impl Store {
    /// Who watches a lot (its ending-soon notices).
    pub async fn watchers_of(&self, lot: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT user_id FROM watchlist WHERE lot_id = ?")
            .bind(lot.to_string())
            .fetch_all(&self.pool)
            .await?;
        ids.iter().map(|id| super::parse_id(id)).collect()
    }

    /// A user's notices after `after`: oldest first for streams and polls, newest first for
    /// lists.
    pub async fn notices_after(
        &self,
        user: Uuid,
        after: i64,
        limit: i64,
        newest_first: bool,
    ) -> Result<Vec<NoticeRecord>, sqlx::Error> {
        let sql = if newest_first {
            "SELECT id, lot_id, kind, at, data FROM notices
              WHERE user_id = ? AND id > ? ORDER BY id DESC LIMIT ?"
        } else {
            "SELECT id, lot_id, kind, at, data FROM notices
              WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?"
        };
        let rows: Vec<NoticeRow> = sqlx::query_as(sql)
            .bind(user.to_string())
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(from_row).collect()
    }

    /// The id of the user's latest notice, 0 if none: where a page's live stream starts.
    pub async fn latest_notice_id(&self, user: Uuid) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM notices WHERE user_id = ?")
            .bind(user.to_string())
            .fetch_one(&self.pool)
            .await
    }

    /// The id of the user's latest notice and how many are unread, in one read.
    pub async fn notice_state(&self, user: Uuid) -> Result<(i64, i64), sqlx::Error> {
        sqlx::query_as(
            "SELECT COALESCE(MAX(id), 0),
                    COUNT(CASE WHEN id > COALESCE(
                        (SELECT up_to FROM notice_reads WHERE user_id = ?1), 0) THEN 1 END)
               FROM notices WHERE user_id = ?1",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await
    }

    /// The id up to which the user has read their notices.
    pub async fn notices_read_up_to(&self, user: Uuid) -> Result<i64, sqlx::Error> {
        let up_to: Option<i64> =
            sqlx::query_scalar("SELECT up_to FROM notice_reads WHERE user_id = ?")
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(up_to.unwrap_or(0))
    }

    /// Notices after the last one the user marked read.
    pub async fn unread_notices(&self, user: Uuid) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM notices WHERE user_id = ?1
               AND id > COALESCE((SELECT up_to FROM notice_reads WHERE user_id = ?1), 0)",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await
    }

    /// Marks the user's notices up to `up_to` read; never moves the mark back.
    pub async fn mark_notices_read(&self, user: Uuid, up_to: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO notice_reads (user_id, up_to) VALUES (?, ?)
             ON CONFLICT (user_id) DO UPDATE SET up_to = MAX(up_to, excluded.up_to)",
        )
        .bind(user.to_string())
        .bind(up_to)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn watch(&self, user: Uuid, lot: Uuid, now: Time) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT OR IGNORE INTO watchlist (user_id, lot_id, created_at) VALUES (?, ?, ?)",
        )
        .bind(user.to_string())
        .bind(lot.to_string())
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn unwatch(&self, user: Uuid, lot: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM watchlist WHERE user_id = ? AND lot_id = ?")
            .bind(user.to_string())
            .bind(lot.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn watches(&self, user: Uuid, lot: Uuid) -> Result<bool, sqlx::Error> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM watchlist WHERE user_id = ? AND lot_id = ?")
                .bind(user.to_string())
                .bind(lot.to_string())
                .fetch_one(&self.pool)
                .await?;
        Ok(n > 0)
    }

    /// The lots a user watches, open ones ending soonest first, then the rest most recent first.
    pub async fn watchlist(&self, user: Uuid) -> Result<Vec<Lot>, sqlx::Error> {
        let rows: Vec<LotRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{LOT_SELECT_FROM} JOIN watchlist wl ON wl.lot_id = l.id AND wl.user_id = ?
              ORDER BY l.status != 'open', l.ends_at ASC, l.id LIMIT 500"
        )))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        into_lots(rows)
    }
}
