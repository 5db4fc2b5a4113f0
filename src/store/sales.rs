//! Sales (API.md §8): the catalogue's reads, and what the house reads of them.

use super::{Store, from_millis, parse_id};
use crate::domain::catalogue::SaleTimes;
use sqlx::SqliteConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct StoredSale {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub times: SaleTimes,
    pub lot_count: i64,
    pub opened: bool,
    /// Lots of the sale still scheduled or open.
    pub unfinished: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleStatus {
    Scheduled,
    Live,
    Closed,
}

impl SaleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SaleStatus::Scheduled => "scheduled",
            SaleStatus::Live => "live",
            SaleStatus::Closed => "closed",
        }
    }
}

impl StoredSale {
    /// Scheduled until the house opens it; live while any of its lots is; closed after.
    pub fn status(&self) -> SaleStatus {
        match (self.opened, self.unfinished) {
            (false, _) => SaleStatus::Scheduled,
            (true, 0) => SaleStatus::Closed,
            (true, _) => SaleStatus::Live,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SaleRow {
    id: String,
    title: String,
    description: String,
    starts_at: i64,
    first_close_at: i64,
    stagger_secs: i64,
    lot_count: i64,
    opened: bool,
    unfinished: i64,
}

impl TryFrom<SaleRow> for StoredSale {
    type Error = sqlx::Error;
    fn try_from(r: SaleRow) -> Result<Self, sqlx::Error> {
        Ok(StoredSale {
            id: parse_id(&r.id)?,
            title: r.title,
            description: r.description,
            times: SaleTimes {
                starts_at: from_millis(r.starts_at),
                first_close_at: from_millis(r.first_close_at),
                stagger_secs: r.stagger_secs,
            },
            lot_count: r.lot_count,
            opened: r.opened,
            unfinished: r.unfinished,
        })
    }
}

const SALE_SELECT: &str = "SELECT s.id, s.title, s.description, s.starts_at, s.first_close_at,
    s.stagger_secs, s.lot_count, s.opened,
    (SELECT COUNT(*) FROM lots l WHERE l.sale_id = s.id AND l.status IN ('scheduled', 'open'))
        AS unfinished
  FROM sales s";

impl Store {
    /// Sales not yet over (scheduled and live), starting soonest first.
    pub async fn current_sales(&self) -> Result<Vec<StoredSale>, sqlx::Error> {
        let rows: Vec<SaleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM ({SALE_SELECT}) WHERE opened = 0 OR unfinished > 0
             ORDER BY starts_at, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(StoredSale::try_from).collect()
    }

    pub async fn sale(&self, id: Uuid) -> Result<Option<StoredSale>, sqlx::Error> {
        let row: Option<SaleRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SALE_SELECT} WHERE s.id = ?")))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(StoredSale::try_from).transpose()
    }

    /// A sale's lots in lot order.
    pub async fn lots_of_sale(&self, sale: Uuid) -> Result<Vec<crate::domain::Lot>, sqlx::Error> {
        let rows: Vec<super::lots::LotRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{} WHERE l.sale_id = ? ORDER BY l.lot_number",
            super::lots::LOT_SELECT_FROM
        )))
        .bind(sale.to_string())
        .fetch_all(&self.pool)
        .await?;
        super::lots::into_lots(rows)
    }

    /// The ids of a sale's lots, in lot order: what `/events?sale=` follows.
    pub async fn sale_lot_ids(&self, sale: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM lots WHERE sale_id = ? ORDER BY lot_number")
                .bind(sale.to_string())
                .fetch_all(&self.pool)
                .await?;
        ids.iter().map(|id| parse_id(id)).collect()
    }
}

/// Reads on the house's own connection.
pub mod write {
    use super::*;

    /// Sales the house has still to open.
    pub async fn unopened(conn: &mut SqliteConnection) -> Result<Vec<StoredSale>, sqlx::Error> {
        let rows: Vec<SaleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SALE_SELECT} WHERE s.opened = 0"
        )))
        .fetch_all(conn)
        .await?;
        rows.into_iter().map(StoredSale::try_from).collect()
    }

    pub async fn exists(conn: &mut SqliteConnection, sale: Uuid) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales WHERE id = ?")
            .bind(sale.to_string())
            .fetch_one(conn)
            .await?;
        Ok(n > 0)
    }

    /// A sale's lots waiting for it to open, in lot order.
    pub async fn scheduled_lots(
        conn: &mut SqliteConnection,
        sale: Uuid,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM lots WHERE sale_id = ? AND status = 'scheduled' ORDER BY lot_number",
        )
        .bind(sale.to_string())
        .fetch_all(conn)
        .await?;
        ids.iter().map(|id| parse_id(id)).collect()
    }
}
