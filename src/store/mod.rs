//! SQLite through sqlx: one writer connection (the auction house's), a pool for the rest.

mod backup;
pub mod batch;
pub mod categories;
pub mod events;
pub mod idempotency;
mod images;
mod keys;
pub mod lots;
pub mod notices;
pub mod sales;
pub mod search;
pub mod tokens;
pub mod users;

use crate::domain::Time;
use chrono::{TimeZone, Utc};
use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

/// The database: a pool for reads and the few writes outside the auction house.
#[derive(Clone)]
pub struct Store {
    pub pool: SqlitePool,
    /// Recently checked sessions and tokens, so a request does not wait on the database for
    /// who is asking (see `tokens.rs`).
    pub(crate) tokens: std::sync::Arc<tokens::TokenCache>,
}

/// WAL pages after which the writer checkpoints itself (SQLite's default is 1,000).
const WRITER_CHECKPOINT_PAGES: u32 = 20_000;
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

fn options(database_url: &str) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(database_url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10)))
}

impl Store {
    /// Opens (creating if need be) and migrates the database.
    pub async fn open(database_url: &str) -> anyhow::Result<Store> {
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options(database_url)?)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            tokens: Default::default(),
        })
    }

    /// The auction house's own connection: the only one that writes lots, bids and events.
    /// Its own checkpoints are a backstop (`WRITER_CHECKPOINT_PAGES`): one run inside a commit
    /// would hold every bidder of that batch while the WAL is copied back.
    /// It commits with `synchronous=NORMAL` because the house syncs the WAL itself before it
    /// answers anyone (`auction::house`), overlapped with the next batch: `wal_path` is that file.
    pub async fn writer(database_url: &str) -> anyhow::Result<SqliteConnection> {
        Ok(options(database_url)?
            .synchronous(SqliteSynchronous::Normal)
            .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string())
            .connect()
            .await?)
    }

    /// The WAL file of the database at `database_url`.
    pub fn wal_path(database_url: &str) -> anyhow::Result<std::path::PathBuf> {
        let mut wal = options(database_url)?.get_filename().as_os_str().to_owned();
        wal.push("-wal");
        Ok(wal.into())
    }

    /// Copies the WAL back into the database beside the writer, every `CHECKPOINT_EVERY`, on a
    /// pool connection. PASSIVE never blocks the writer; when it has caught up, the writer's
    /// next transaction starts the WAL over, so it stays small.
    pub fn spawn_checkpoints(&self) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if pool.is_closed() {
                    return;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(error = %e, "checkpoint failed; the writer's own will run");
                }
            }
        });
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

pub fn to_millis(t: Time) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> Time {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Ids are stored as hyphenated text.
pub fn parse_id(text: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, Username};

    /// Frames in the WAL and frames already copied back into the database, as the WAL index
    /// (the `-shm` file) records them: `mxFrame` at byte 16 of its header, `nBackfill` at 96.
    fn wal_frames(db: &std::path::Path) -> Option<(u32, u32)> {
        let mut shm = db.as_os_str().to_owned();
        shm.push("-shm");
        let bytes = std::fs::read(shm).ok()?;
        let word = |at: usize| Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
        Some((word(16)?, word(96)?))
    }

    /// What the writer commits is copied back by the background checkpoints, without the
    /// writer's own (which waits for 20,000 pages): the WAL starts over instead of growing.
    #[tokio::test]
    async fn background_checkpoints_copy_the_wal_back() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("ckpt.db");
        let url = format!("sqlite://{}", db.display());
        let store = Store::open(&url).await?;
        let mut writer = Store::writer(&url).await?;
        store.spawn_checkpoints();
        let now = chrono::Utc::now();
        for n in 0..20 {
            let name = Username::parse(&format!("user{n}"))?;
            sqlx::query("INSERT INTO users (id, username, password_hash, role, created_at) VALUES (?, ?, 'x', ?, ?)")
                .bind(Uuid::now_v7().to_string())
                .bind(name.as_str())
                .bind(Role::Bidder.as_str())
                .bind(to_millis(now))
                .execute(&mut writer)
                .await?;
        }
        let (written, _) = wal_frames(&db).unwrap_or_default();
        assert!(written > 0, "the writes went to the WAL");
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (frames, copied) = wal_frames(&db).unwrap_or_default();
            if frames > 0 && copied == frames {
                return Ok(());
            }
        }
        anyhow::bail!("no checkpoint copied the WAL back: {:?}", wal_frames(&db))
    }
}
