//! One transaction of the auction house as one multi-statement query, `BEGIN` to `COMMIT`.
//!
//! sqlx runs each SQLite connection on its own thread, so every statement awaited is a round
//! trip between threads: two wake-ups, which on this kind of machine cost more than SQLite's
//! work for a small batch. Sent as one query, a batch costs one round trip however many
//! statements it holds; sqlx binds each statement's share of the arguments in order.
//!
//! Every statement is `OR ROLLBACK`: a batch is all or nothing anyway, and without it SQLite
//! keeps a statement journal for each multi-row statement that could fail halfway, copying
//! every index page it touches (a lot's `(lot_id, seq)` entry lands on its own page): that
//! copy was most of the cost of writing a bid.

use super::events::StoredEvent;
use super::notices::StoredNotice;
use super::to_millis;
use crate::domain::catalogue::ImageRef;
use crate::domain::{AcceptedBid, Lot, TakenRequest};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

/// A bid to write: its lot, the event that shows it, and its place among that event's bids
/// (0 but for a removal's replayed history).
#[derive(Debug, Clone)]
pub struct PlannedBid {
    pub lot_id: Uuid,
    pub bid: AcceptedBid,
    pub event_id: i64,
    pub n: i64,
}

/// Rows per multi-row statement, well inside SQLite's limit on bound values per statement.
const ROWS_PER_STATEMENT: usize = 100;

pub struct BatchWrite {
    sql: QueryBuilder<Sqlite>,
    statements: usize,
}

impl Default for BatchWrite {
    fn default() -> Self {
        BatchWrite {
            // IMMEDIATE: the write lock is taken at once, so a busy database fails the batch
            // before anything is applied rather than at its first write.
            sql: QueryBuilder::new("BEGIN IMMEDIATE;\n"),
            statements: 0,
        }
    }
}

impl BatchWrite {
    pub fn is_empty(&self) -> bool {
        self.statements == 0
    }

    fn next_statement(&mut self) -> &mut QueryBuilder<Sqlite> {
        self.statements += 1;
        &mut self.sql
    }

    pub fn insert_lot(&mut self, lot: &Lot) {
        let sql = self.next_statement();
        sql.push(
            "INSERT OR ROLLBACK INTO lots (id, seller_id, title, description, status, starting_price_cents,
                reserve_cents, duration_secs, created_at, category) VALUES (",
        );
        let mut row = sql.separated(", ");
        row.push_bind(lot.id().to_string())
            .push_bind(lot.seller().id.to_string())
            .push_bind(lot.title().to_owned())
            .push_bind(lot.description().to_owned())
            .push_bind(lot.status().as_str())
            .push_bind(lot.starting_price().get())
            .push_bind(lot.reserve().map(|c| c.get()))
            .push_bind(lot.duration_secs())
            .push_bind(to_millis(lot.created_at()))
            .push_bind(lot.category().map(|c| c.slug.clone()));
        sql.push(");\n");
    }

    /// Writes every field that changes after creation.
    pub fn update_lot(&mut self, lot: &Lot) {
        let sql = self.next_statement();
        sql.push("UPDATE OR ROLLBACK lots SET status = ")
            .push_bind(lot.status().as_str())
            .push(", ends_at = ")
            .push_bind(lot.ends_at().map(to_millis))
            .push(", closed_at = ")
            .push_bind(lot.closed_at().map(to_millis))
            .push(", current_price_cents = ")
            .push_bind(lot.current_price().map(|c| c.get()))
            .push(", leader_id = ")
            .push_bind(lot.leader().as_ref().map(|u| u.id.to_string()))
            .push(", leader_max_cents = ")
            .push_bind(lot.leader_max().map(|c| c.get()))
            .push(", bid_count = ")
            .push_bind(lot.bid_count())
            .push(", winner_id = ")
            .push_bind(lot.winner().as_ref().map(|u| u.id.to_string()))
            .push(", final_price_cents = ")
            .push_bind(lot.final_price().map(|c| c.get()))
            .push(", reject_reason = ")
            .push_bind(lot.reject_reason().cloned())
            .push(", last_seq = ")
            .push_bind(lot.last_seq())
            .push(", last_event_id = ")
            .push_bind(lot.last_event_id())
            .push(", ending_soon_sent = ")
            .push_bind(lot.ending_soon_sent())
            .push(", sale_id = ")
            .push_bind(lot.sale().map(|s| s.id.to_string()))
            .push(", lot_number = ")
            .push_bind(lot.lot_number())
            .push(" WHERE id = ")
            .push_bind(lot.id().to_string())
            .push(";\n");
    }

    /// The bidding state of many lots. Only columns that bids change are set, so SQLite leaves
    /// the status and winner indexes untouched: each index entry rewritten is a page written
    /// to the WAL at commit.
    pub fn update_bid_state(&mut self, lots: &[&Lot]) {
        for chunk in lots.chunks(ROWS_PER_STATEMENT) {
            let sql = self.next_statement();
            sql.push(
                "UPDATE OR ROLLBACK lots SET current_price_cents = v.column2, leader_id = v.column3,
                    leader_max_cents = v.column4, bid_count = v.column5, last_seq = v.column6,
                    last_event_id = v.column7
                 FROM (",
            );
            sql.push_values(chunk, |mut row, lot| {
                row.push_bind(lot.id().to_string())
                    .push_bind(lot.current_price().map(|c| c.get()))
                    .push_bind(lot.leader().as_ref().map(|u| u.id.to_string()))
                    .push_bind(lot.leader_max().map(|c| c.get()))
                    .push_bind(lot.bid_count())
                    .push_bind(lot.last_seq())
                    .push_bind(lot.last_event_id());
            });
            sql.push(") AS v WHERE lots.id = v.column1;\n");
        }
    }

    pub fn insert_bids(&mut self, bids: &[PlannedBid]) {
        for chunk in bids.chunks(ROWS_PER_STATEMENT) {
            let sql = self.next_statement();
            sql.push(
                "INSERT OR ROLLBACK INTO bids (id, lot_id, bidder_id, amount_cents, max_cents, placed_at,
                    event_id, proxy, request_no, n) ",
            );
            sql.push_values(chunk, |mut row, p| {
                row.push_bind(p.bid.id.to_string())
                    .push_bind(p.lot_id.to_string())
                    .push_bind(p.bid.bidder.id.to_string())
                    .push_bind(p.bid.amount.get())
                    .push_bind(p.bid.max.map(|c| c.get()))
                    .push_bind(to_millis(p.bid.placed_at))
                    .push_bind(p.event_id)
                    .push_bind(p.bid.proxy)
                    .push_bind(p.bid.request_no)
                    .push_bind(p.n);
            });
            sql.push(";\n");
        }
    }

    /// The requests lots took (API.md §6), kept for their maxima and for replays: each under
    /// the event id of the first bid it showed (appended, one page for a whole batch), a
    /// maximum raised alone, which showed none, under its lot.
    pub fn insert_requests(&mut self, requests: &[(Uuid, TakenRequest, Option<i64>)]) {
        let shown: Vec<(&TakenRequest, i64)> = requests
            .iter()
            .filter_map(|(_, r, event)| event.map(|e| (r, e)))
            .collect();
        for chunk in shown.chunks(ROWS_PER_STATEMENT) {
            let sql = self.next_statement();
            sql.push(
                "INSERT OR ROLLBACK INTO requests (event_id, number, bidder_id, amount_cents,
                    max_cents, placed_at) ",
            );
            sql.push_values(chunk, |mut row, (r, event_id)| {
                row.push_bind(*event_id)
                    .push_bind(r.number)
                    .push_bind(r.bidder.id.to_string())
                    .push_bind(r.amount.map_or(0, |c| c.get()))
                    .push_bind(r.max.get())
                    .push_bind(to_millis(r.at));
            });
            sql.push(";\n");
        }
        let raises: Vec<(Uuid, &TakenRequest)> = requests
            .iter()
            .filter(|(_, _, event)| event.is_none())
            .map(|(lot, r, _)| (*lot, r))
            .collect();
        for chunk in raises.chunks(ROWS_PER_STATEMENT) {
            let sql = self.next_statement();
            sql.push(
                "INSERT OR ROLLBACK INTO max_raises (lot_id, number, bidder_id, max_cents, placed_at) ",
            );
            sql.push_values(chunk, |mut row, (lot_id, r)| {
                row.push_bind(lot_id.to_string())
                    .push_bind(r.number)
                    .push_bind(r.bidder.id.to_string())
                    .push_bind(r.max.get())
                    .push_bind(to_millis(r.at));
            });
            sql.push(";\n");
        }
    }

    /// An admin's removal: the requests taken out stay on record, marked; the lot's history
    /// is dropped, to be written again as the replay shows it (`insert_bids`, after this).
    pub fn remove_requests(&mut self, lot_id: Uuid, numbers: &[i64]) {
        for number in numbers {
            let sql = self.next_statement();
            sql.push(
                "UPDATE OR ROLLBACK requests SET removed = 1 WHERE event_id IN
                    (SELECT id FROM events WHERE lot_id = ",
            );
            sql.push_bind(lot_id.to_string());
            sql.push(" AND kind = 'bid') AND number = ");
            sql.push_bind(*number);
            sql.push(";\n");
            let sql = self.next_statement();
            sql.push("UPDATE OR ROLLBACK max_raises SET removed = 1 WHERE lot_id = ");
            sql.push_bind(lot_id.to_string());
            sql.push(" AND number = ");
            sql.push_bind(*number);
            sql.push(";\n");
        }
        let sql = self.next_statement();
        sql.push("DELETE FROM bids WHERE event_id IN (SELECT id FROM events WHERE lot_id = ");
        sql.push_bind(lot_id.to_string());
        sql.push(" AND kind IN ('bid', 'bid_removed'));\n");
    }

    /// Notices, in the same transaction as the changes that caused them.
    pub fn insert_notices(&mut self, notices: &[StoredNotice]) {
        for chunk in notices.chunks(ROWS_PER_STATEMENT) {
            let sql = self.next_statement();
            sql.push("INSERT OR ROLLBACK INTO notices (id, user_id, lot_id, kind, at, data) ");
            sql.push_values(chunk, |mut row, n| {
                row.push_bind(n.id)
                    .push_bind(n.user_id.to_string())
                    .push_bind(n.lot_id.to_string())
                    .push_bind(n.kind)
                    .push_bind(to_millis(n.at))
                    .push_bind(n.data.clone());
            });
            sql.push(";\n");
        }
    }

    /// A bidder new to a lot watches it (API.md §7); `OR IGNORE`: one who watched it already.
    pub fn watch(&mut self, watches: &[(Uuid, Uuid, crate::domain::Time)]) {
        for chunk in watches.chunks(ROWS_PER_STATEMENT) {
            let sql = self.next_statement();
            sql.push("INSERT OR IGNORE INTO watchlist (user_id, lot_id, created_at) ");
            sql.push_values(chunk, |mut row, (user, lot, at)| {
                row.push_bind(user.to_string())
                    .push_bind(lot.to_string())
                    .push_bind(to_millis(*at));
            });
            sql.push(";\n");
        }
    }

    /// A keyed bid's first answer. `OR REPLACE`: a key older than its 24 hours may be reused.
    pub fn insert_idempotent(
        &mut self,
        user: Uuid,
        key: &str,
        request: &str,
        body: &str,
        at: crate::domain::Time,
    ) {
        let sql = self.next_statement();
        sql.push(
            "INSERT OR REPLACE INTO idempotent_bids (user_id, key, request, body, created_at) VALUES (",
        );
        sql.separated(", ")
            .push_bind(user.to_string())
            .push_bind(key.to_owned())
            .push_bind(request.to_owned())
            .push_bind(body.to_owned())
            .push_bind(to_millis(at));
        sql.push(");\n");
    }

    /// A write that changes nothing anyone reads, to learn whether storage takes writes again.
    pub fn insert_sale(&mut self, sale: &crate::auction::NewSale, now: crate::domain::Time) {
        let sql = self.next_statement();
        sql.push(
            "INSERT OR ROLLBACK INTO sales (id, title, description, starts_at, first_close_at,
                stagger_secs, created_at) VALUES (",
        );
        sql.separated(", ")
            .push_bind(sale.id.to_string())
            .push_bind(sale.title.clone())
            .push_bind(sale.description.clone())
            .push_bind(to_millis(sale.times.starts_at))
            .push_bind(to_millis(sale.times.first_close_at))
            .push_bind(sale.times.stagger_secs)
            .push_bind(to_millis(now));
        sql.push(");\n");
    }

    pub fn sale_lot_count(&mut self, sale: Uuid, count: i64) {
        self.next_statement()
            .push("UPDATE OR ROLLBACK sales SET lot_count = ")
            .push_bind(count)
            .push(" WHERE id = ")
            .push_bind(sale.to_string())
            .push(";\n");
    }

    pub fn sale_opened(&mut self, sale: Uuid) {
        self.next_statement()
            .push("UPDATE OR ROLLBACK sales SET opened = 1 WHERE id = ")
            .push_bind(sale.to_string())
            .push(";\n");
    }

    pub fn rename_category(&mut self, slug: &str, name: &str) {
        self.next_statement()
            .push("UPDATE OR ROLLBACK categories SET name = ")
            .push_bind(name.to_owned())
            .push(" WHERE slug = ")
            .push_bind(slug.to_owned())
            .push(";\n");
    }

    /// A photograph at the end of a lot's list; its bytes are already stored.
    pub fn add_image(&mut self, lot: Uuid, image: &ImageRef, now: crate::domain::Time) {
        let sql = self.next_statement();
        sql.push(
            "INSERT OR ROLLBACK INTO lot_images (id, lot_id, position, hash, width, height,
                thumb_hash, thumb_width, thumb_height, created_at) VALUES (",
        );
        sql.push_bind(image.id.to_string())
            .push(", ")
            .push_bind(lot.to_string())
            .push(", (SELECT COALESCE(MAX(position), 0) + 1 FROM lot_images WHERE lot_id = ")
            .push_bind(lot.to_string())
            .push("), ");
        sql.separated(", ")
            .push_bind(image.hash.clone())
            .push_bind(image.width)
            .push_bind(image.height)
            .push_bind(image.thumb_hash.clone())
            .push_bind(image.thumb_width)
            .push_bind(image.thumb_height)
            .push_bind(to_millis(now));
        sql.push(");\n");
    }

    pub fn remove_image(&mut self, lot: Uuid, image: Uuid) {
        self.next_statement()
            .push("DELETE FROM lot_images WHERE id = ")
            .push_bind(image.to_string())
            .push(" AND lot_id = ")
            .push_bind(lot.to_string())
            .push(";\n");
    }

    pub fn probe(&mut self) {
        let sql = self.next_statement();
        sql.push(
            "INSERT OR REPLACE INTO site_keys (name, value) VALUES ('write-probe', randomblob(32));\n",
        );
    }

    pub fn insert_events(&mut self, events: &[StoredEvent]) {
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let sql = self.next_statement();
            sql.push("INSERT OR ROLLBACK INTO events (id, lot_id, seq, kind, at, data) ");
            sql.push_values(chunk, |mut row, e| {
                row.push_bind(e.id)
                    .push_bind(e.lot_id.to_string())
                    .push_bind(e.seq)
                    .push_bind(e.kind.clone())
                    .push_bind(to_millis(e.at))
                    .push_bind(e.data.clone());
            });
            sql.push(";\n");
        }
    }

    /// Runs the whole transaction. On an error nothing of it stays: SQLite stops at the failing
    /// statement and has rolled back (`OR ROLLBACK`), or, for an error outside a constraint,
    /// left the transaction open, which is rolled back here.
    pub async fn commit(mut self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        if self.is_empty() {
            return Ok(());
        }
        self.sql.push("COMMIT;");
        // Kept in the writer connection's statement cache (least recently used out, 100 kept):
        // a batch's text depends only on its size and mix, and the few shapes a busy lot makes
        // repeat, so SQLite parses and plans each once (on a hot lot the writer's thread spent
        // 243-258 µs a batch re-preparing, 164-183 µs with the cache).
        let result = self.sql.build().persistent(true).execute(&mut *conn).await;
        if let Err(e) = result {
            // Fails harmlessly ("no transaction is active") when SQLite rolled back already.
            if let Err(rollback) = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await {
                tracing::debug!(error = %rollback, "rollback after a failed batch");
            }
            return Err(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Cents, NewLot, Role, Username};
    use crate::store::Store;

    async fn lot_count(conn: &mut SqliteConnection) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM lots")
            .fetch_one(conn)
            .await
            .unwrap_or(-1)
    }

    /// A statement failing halfway through a batch leaves nothing of the batch behind, and the
    /// connection is out of the transaction and ready for the next one.
    #[tokio::test]
    async fn a_failed_batch_writes_nothing_and_the_next_one_commits() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("batch.db").display());
        let store = Store::open(&url).await?;
        let now = chrono::Utc::now();
        let seller = store
            .create_user(&Username::parse("seller")?, "x", Role::Seller, now)
            .await?;
        let offer = NewLot::parse("Lamp", "", Cents::new(100), None, 60)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let lot = Lot::new_pending(Uuid::now_v7(), seller.as_ref(), offer, now);
        let mut conn = Store::writer(&url).await?;

        let mut write = BatchWrite::default();
        write.insert_lot(&lot);
        write.insert_lot(&lot); // the same id again: the second statement fails
        assert!(write.commit(&mut conn).await.is_err());
        assert_eq!(
            lot_count(&mut conn).await,
            0,
            "the first insert was rolled back"
        );

        let mut write = BatchWrite::default();
        write.insert_lot(&lot);
        write.commit(&mut conn).await?;
        assert_eq!(lot_count(&mut conn).await, 1);
        assert_eq!(
            lot_count(&mut *store.pool.acquire().await?).await,
            1,
            "committed for others"
        );
        Ok(())
    }
}
