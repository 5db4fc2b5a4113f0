//! Lots and bids: the reads everyone makes, and the writes only the auction house makes.

use super::{Store, from_millis, parse_id};
use crate::domain::catalogue::{CategoryRef, ImageRef, SaleRef};
use crate::domain::{Cents, Lot, LotStatus, StoredLot, TakenRequest, Time, UserRef};
use sqlx::SqliteConnection;
use uuid::Uuid;

/// Every lot column, for queries that add their own joins and filters.
pub(crate) const LOT_SELECT_FROM: &str = LOT_SELECT;

const LOT_SELECT: &str =
    "SELECT l.id, l.seller_id, s.username AS seller_name, l.title, l.description,
    l.status, l.starting_price_cents, l.reserve_cents, l.duration_secs, l.created_at, l.ends_at,
    l.closed_at, l.current_price_cents, l.leader_id, ld.username AS leader_name, l.leader_max_cents,
    l.bid_count, l.winner_id, w.username AS winner_name, l.final_price_cents, l.reject_reason,
    l.last_seq, l.last_event_id, l.ending_soon_sent, l.category, c.name AS category_name,
    l.sale_id, sa.title AS sale_title, l.lot_number,
    (SELECT json_group_array(json_array(i.id, i.hash, i.width, i.height, i.thumb_hash,
        i.thumb_width, i.thumb_height))
       FROM (SELECT * FROM lot_images i WHERE i.lot_id = l.id ORDER BY i.position) i) AS images
  FROM lots l
  JOIN users s ON s.id = l.seller_id
  LEFT JOIN users ld ON ld.id = l.leader_id
  LEFT JOIN users w ON w.id = l.winner_id
  LEFT JOIN categories c ON c.slug = l.category
  LEFT JOIN sales sa ON sa.id = l.sale_id";

#[derive(sqlx::FromRow)]
pub(crate) struct LotRow {
    id: String,
    seller_id: String,
    seller_name: String,
    title: String,
    description: String,
    status: String,
    starting_price_cents: i64,
    reserve_cents: Option<i64>,
    duration_secs: i64,
    created_at: i64,
    ends_at: Option<i64>,
    closed_at: Option<i64>,
    current_price_cents: Option<i64>,
    leader_id: Option<String>,
    leader_name: Option<String>,
    leader_max_cents: Option<i64>,
    bid_count: i64,
    winner_id: Option<String>,
    winner_name: Option<String>,
    final_price_cents: Option<i64>,
    reject_reason: Option<String>,
    last_seq: i64,
    last_event_id: i64,
    ending_soon_sent: bool,
    category: Option<String>,
    category_name: Option<String>,
    sale_id: Option<String>,
    sale_title: Option<String>,
    lot_number: Option<i64>,
    images: String,
}

/// A lot's images as the select gathers them: one JSON array per image.
type ImageColumns = (String, String, u32, u32, String, u32, u32);

fn images(json: &str) -> Result<Vec<ImageRef>, sqlx::Error> {
    let rows: Vec<ImageColumns> = serde_json::from_str(json)
        .map_err(|e| sqlx::Error::Decode(format!("a lot's images: {e}").into()))?;
    rows.into_iter()
        .map(
            |(id, hash, width, height, thumb_hash, thumb_width, thumb_height)| {
                Ok(ImageRef {
                    id: parse_id(&id)?,
                    hash,
                    width,
                    height,
                    thumb_hash,
                    thumb_width,
                    thumb_height,
                })
            },
        )
        .collect()
}

fn user_ref(id: Option<String>, name: Option<String>) -> Result<Option<UserRef>, sqlx::Error> {
    match (id, name) {
        (Some(id), Some(username)) => Ok(Some(UserRef {
            id: parse_id(&id)?,
            username,
        })),
        _ => Ok(None),
    }
}

impl TryFrom<LotRow> for Lot {
    type Error = sqlx::Error;
    fn try_from(r: LotRow) -> Result<Lot, sqlx::Error> {
        let status: LotStatus = r
            .status
            .parse()
            .map_err(|_| sqlx::Error::Decode(format!("bad lot status {}", r.status).into()))?;
        // Checked as the rules would have made it: a row edited by hand into an impossible
        // lot is an error, not a lot.
        Lot::restore(StoredLot {
            id: parse_id(&r.id)?,
            seller: UserRef {
                id: parse_id(&r.seller_id)?,
                username: r.seller_name,
            },
            title: r.title,
            description: r.description,
            status,
            starting_price: Cents::from_stored(r.starting_price_cents),
            reserve: r.reserve_cents.map(Cents::from_stored),
            duration_secs: r.duration_secs,
            created_at: from_millis(r.created_at),
            ends_at: r.ends_at.map(from_millis),
            closed_at: r.closed_at.map(from_millis),
            current_price: r.current_price_cents.map(Cents::from_stored),
            leader: user_ref(r.leader_id, r.leader_name)?,
            leader_max: r.leader_max_cents.map(Cents::from_stored),
            bid_count: r.bid_count,
            winner: user_ref(r.winner_id, r.winner_name)?,
            final_price: r.final_price_cents.map(Cents::from_stored),
            reject_reason: r.reject_reason,
            last_seq: r.last_seq,
            last_event_id: r.last_event_id,
            ending_soon_sent: r.ending_soon_sent,
            category: r
                .category
                .zip(r.category_name)
                .map(|(slug, name)| CategoryRef { slug, name }),
            sale: match (r.sale_id, r.sale_title, r.lot_number) {
                (Some(id), Some(title), Some(n)) => Some((
                    SaleRef {
                        id: parse_id(&id)?,
                        title,
                    },
                    n,
                )),
                _ => None,
            },
            images: images(&r.images)?,
        })
        .map_err(|why| sqlx::Error::Decode(why.into()))
    }
}

pub(crate) fn into_lots(rows: Vec<LotRow>) -> Result<Vec<Lot>, sqlx::Error> {
    rows.into_iter().map(Lot::try_from).collect()
}

/// A bid as listed in a lot's history or a bidder's own list.
#[derive(Debug, Clone)]
pub struct BidRecord {
    pub id: Uuid,
    pub lot_id: Uuid,
    pub lot_title: String,
    pub bidder: String,
    pub bidder_id: Uuid,
    pub amount: Cents,
    pub placed_at: Time,
    pub event_id: i64,
    pub proxy: bool,
    /// The request that holds it: what an admin's removal takes out.
    pub request_no: i64,
}

#[derive(sqlx::FromRow)]
struct BidRow {
    id: String,
    lot_id: String,
    lot_title: String,
    bidder: String,
    bidder_id: String,
    amount_cents: i64,
    placed_at: i64,
    event_id: i64,
    proxy: bool,
    request_no: i64,
}

impl TryFrom<BidRow> for BidRecord {
    type Error = sqlx::Error;
    fn try_from(r: BidRow) -> Result<Self, sqlx::Error> {
        Ok(BidRecord {
            id: parse_id(&r.id)?,
            lot_id: parse_id(&r.lot_id)?,
            lot_title: r.lot_title,
            bidder: r.bidder,
            bidder_id: parse_id(&r.bidder_id)?,
            amount: Cents::from_stored(r.amount_cents),
            placed_at: from_millis(r.placed_at),
            event_id: r.event_id,
            proxy: r.proxy,
            request_no: r.request_no,
        })
    }
}

const BID_SELECT: &str = "SELECT b.id, b.lot_id, l.title AS lot_title, u.username AS bidder,
    b.bidder_id, b.amount_cents, b.placed_at, b.event_id, b.proxy, b.request_no
  FROM bids b JOIN users u ON u.id = b.bidder_id JOIN lots l ON l.id = b.lot_id";

/// A lot's latest bids, newest first (bind the lot and the limit twice): found through the
/// event log's per-lot index, which bids share rather than keeping one of their own. A
/// removal's replayed history sits under its one `bid_removed` event, the bids before it gone.
const BIDS_OF_LOT: &str = " WHERE b.event_id IN (SELECT id FROM events
    WHERE lot_id = ? AND kind IN ('bid', 'bid_removed') ORDER BY seq DESC LIMIT ?)
    ORDER BY b.event_id DESC, b.n DESC LIMIT ?";

/// Concatenates fixed SQL fragments; none of them holds user input.
fn sql(parts: &[&str]) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(parts.concat())
}

impl Store {
    pub async fn lot_count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM lots")
            .fetch_one(&self.pool)
            .await
    }

    #[tracing::instrument(skip(self))]
    pub async fn lot(&self, id: Uuid) -> Result<Option<Lot>, sqlx::Error> {
        let row: Option<LotRow> = sqlx::query_as(sql(&[LOT_SELECT, " WHERE l.id = ?"]))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(Lot::try_from).transpose()
    }

    /// Lots in a state: open ones ending soonest first, closed ones most recent first.
    #[tracing::instrument(skip(self))]
    pub async fn lots_by_status(
        &self,
        status: LotStatus,
        limit: i64,
    ) -> Result<Vec<Lot>, sqlx::Error> {
        let order = match status {
            LotStatus::Open => " ORDER BY l.ends_at ASC, l.id",
            LotStatus::Pending => " ORDER BY l.created_at ASC, l.id",
            _ => " ORDER BY COALESCE(l.closed_at, l.created_at) DESC, l.id DESC",
        };
        let rows: Vec<LotRow> =
            sqlx::query_as(sql(&[LOT_SELECT, " WHERE l.status = ?", order, " LIMIT ?"]))
                .bind(status.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        into_lots(rows)
    }

    pub async fn lots_of_seller(&self, seller: Uuid) -> Result<Vec<Lot>, sqlx::Error> {
        let rows: Vec<LotRow> = sqlx::query_as(sql(&[
            LOT_SELECT,
            " WHERE l.seller_id = ? ORDER BY l.created_at DESC",
        ]))
        .bind(seller.to_string())
        .fetch_all(&self.pool)
        .await?;
        into_lots(rows)
    }

    /// Open lots the user is leading.
    pub async fn lots_led_by(&self, user: Uuid) -> Result<Vec<Lot>, sqlx::Error> {
        let rows: Vec<LotRow> = sqlx::query_as(sql(&[
            LOT_SELECT,
            " WHERE l.leader_id = ? AND l.status = 'open' ORDER BY l.ends_at",
        ]))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        into_lots(rows)
    }

    pub async fn lots_won_by(&self, user: Uuid) -> Result<Vec<Lot>, sqlx::Error> {
        let rows: Vec<LotRow> = sqlx::query_as(sql(&[
            LOT_SELECT,
            " WHERE l.winner_id = ? ORDER BY l.closed_at DESC",
        ]))
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        into_lots(rows)
    }

    /// One bid of a lot's current history (a bid a removal replayed away is gone).
    pub async fn bid_of_lot(&self, lot: Uuid, bid: Uuid) -> Result<Option<BidRecord>, sqlx::Error> {
        let row: Option<BidRow> =
            sqlx::query_as(sql(&[BID_SELECT, " WHERE b.id = ? AND b.lot_id = ?"]))
                .bind(bid.to_string())
                .bind(lot.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(BidRecord::try_from).transpose()
    }

    /// A lot's bids, newest first.
    pub async fn bids_of_lot(&self, lot: Uuid, limit: i64) -> Result<Vec<BidRecord>, sqlx::Error> {
        write::recent_bids(&self.pool, lot, limit).await
    }

    pub async fn bids_of_bidder(
        &self,
        bidder: Uuid,
        limit: i64,
    ) -> Result<Vec<BidRecord>, sqlx::Error> {
        let rows: Vec<BidRow> = sqlx::query_as(sql(&[
            BID_SELECT,
            " WHERE b.bidder_id = ? ORDER BY b.event_id DESC LIMIT ?",
        ]))
        .bind(bidder.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(BidRecord::try_from).collect()
    }
}

/// Writes made inside the auction house's transaction.
pub mod write {
    use super::*;

    pub async fn lot_by_id(
        conn: &mut SqliteConnection,
        id: Uuid,
    ) -> Result<Option<Lot>, sqlx::Error> {
        let row: Option<LotRow> = sqlx::query_as(sql(&[LOT_SELECT, " WHERE l.id = ?"]))
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?;
        row.map(Lot::try_from).transpose()
    }

    /// A lot's latest bids, newest first, on the house's connection or (through
    /// `Store::bids_of_lot`) the pool.
    pub async fn recent_bids<'c>(
        conn: impl sqlx::SqliteExecutor<'c>,
        lot: Uuid,
        limit: i64,
    ) -> Result<Vec<BidRecord>, sqlx::Error> {
        let rows: Vec<BidRow> = sqlx::query_as(sql(&[BID_SELECT, BIDS_OF_LOT]))
            .bind(lot.to_string())
            .bind(limit)
            .bind(limit)
            .fetch_all(conn)
            .await?;
        rows.into_iter().map(BidRecord::try_from).collect()
    }

    /// Every open lot, with its bidders' maxima.
    pub async fn open_lots(conn: &mut SqliteConnection) -> Result<Vec<Lot>, sqlx::Error> {
        let rows: Vec<LotRow> = sqlx::query_as(sql(&[LOT_SELECT, " WHERE l.status = 'open'"]))
            .fetch_all(&mut *conn)
            .await?;
        let mut lots = into_lots(rows)?;
        for lot in &mut lots {
            let requests = requests_of(&mut *conn, lot.id()).await?;
            let taken: Option<i64> = sqlx::query_scalar(
                "SELECT MAX(number) FROM (
                    SELECT number FROM requests WHERE event_id IN
                        (SELECT id FROM events WHERE lot_id = ?1 AND kind = 'bid')
                    UNION ALL SELECT number FROM max_raises WHERE lot_id = ?1)",
            )
            .bind(lot.id().to_string())
            .fetch_one(&mut *conn)
            .await?;
            lot.restore_requests(&requests, taken.unwrap_or(0));
        }
        Ok(lots)
    }

    /// A lot's live requests (those not removed), in the order it took them.
    pub async fn requests_of(
        conn: &mut SqliteConnection,
        lot: Uuid,
    ) -> Result<Vec<TakenRequest>, sqlx::Error> {
        let rows: Vec<RequestRow> = sqlx::query_as(
            "SELECT r.number, r.bidder_id, u.username, r.amount_cents, r.max_cents, r.placed_at
               FROM requests r JOIN users u ON u.id = r.bidder_id
              WHERE r.event_id IN (SELECT id FROM events WHERE lot_id = ?1 AND kind = 'bid')
                AND r.removed = 0
             UNION ALL
             SELECT m.number, m.bidder_id, u.username, NULL, m.max_cents, m.placed_at
               FROM max_raises m JOIN users u ON u.id = m.bidder_id
              WHERE m.lot_id = ?1 AND m.removed = 0
             ORDER BY 1",
        )
        .bind(lot.to_string())
        .fetch_all(conn)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(TakenRequest {
                    number: r.number,
                    bidder: UserRef {
                        id: parse_id(&r.bidder_id)?,
                        username: r.username,
                    },
                    amount: r.amount_cents.map(Cents::from_stored),
                    max: Cents::from_stored(r.max_cents),
                    at: from_millis(r.placed_at),
                })
            })
            .collect()
    }

    #[derive(sqlx::FromRow)]
    struct RequestRow {
        number: i64,
        bidder_id: String,
        username: String,
        amount_cents: Option<i64>,
        max_cents: i64,
        placed_at: i64,
    }
}
