//! First answers to keyed bids (API.md §3a), written by the auction house with the bid.

use super::{Store, to_millis};
use crate::domain::Time;
use crate::domain::idempotency::IdempotencyKey;
use uuid::Uuid;

/// How long a key is remembered.
pub const KEEP_HOURS: i64 = 24;

pub struct StoredAnswer {
    pub request: String,
    pub body: String,
}

impl Store {
    /// The stored first answer for the user's key, if it is younger than 24 hours.
    pub async fn idempotent_answer(
        &self,
        user: Uuid,
        key: &IdempotencyKey,
        now: Time,
    ) -> Result<Option<StoredAnswer>, sqlx::Error> {
        let since = to_millis(now - chrono::Duration::hours(KEEP_HOURS));
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT request, body FROM idempotent_bids WHERE user_id = ? AND key = ? AND created_at > ?",
        )
        .bind(user.to_string())
        .bind(key.as_str())
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(request, body)| StoredAnswer { request, body }))
    }

    pub async fn purge_old_idempotency_keys(&self, now: Time) -> Result<u64, sqlx::Error> {
        let before = to_millis(now - chrono::Duration::hours(KEEP_HOURS));
        let done = sqlx::query("DELETE FROM idempotent_bids WHERE created_at <= ?")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
