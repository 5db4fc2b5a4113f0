//! The handle web handlers use: it asks the house (`house.rs`) and waits for its answer, and
//! refuses a bid below the minimum itself, without a trip to the house (see `minimums`).

use super::commands::{Action, BidReceipt, Command, HouseError, NewSale, Reply};
use super::durable::{CommitHook, Durability};
use super::health::StorageHealth;
use super::keys::KeyLedger;
use super::minimums::{AppliedMinimums, Claim};
use super::open_lots::OpenLots;
use super::schedule::{Due, Schedule};
use super::stats::HouseStats;
use crate::clock::Clock;
use crate::domain::catalogue::ImageRef;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::{BidRejected, BidRequest, Lot, LotStatus, NewLot, UserRef};
use crate::store::events::{self};
use crate::store::lots::write;
use sqlx::SqliteConnection;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::house::{House, Open};

pub struct HouseConfig {
    pub clock: Clock,
    pub soft_close: chrono::Duration,
    /// How long before a lot's end its bidders and watchers are told it ends soon.
    pub ending_soon: chrono::Duration,
    /// Called with each batch's events and notices, in id order, once they are durable.
    pub on_commit: CommitHook,
    /// The database's WAL file, which the house makes durable itself (see `House::run`).
    pub wal: std::path::PathBuf,
    /// The pool of readers, for reads that must not wait for the writer.
    pub readers: crate::store::Store,
}

/// The handle web handlers use; cheap to clone.
#[derive(Clone)]
pub struct AuctionHouse {
    tx: mpsc::Sender<Command>,
    open: OpenLots,
    minimums: AppliedMinimums,
    clock: Clock,
    stats: Arc<HouseStats>,
    health: Arc<StorageHealth>,
}

/// A caller waits this long for its answer at most: past it (a disk that stopped taking writes
/// mid-batch) it hears 503, and the outcome is whatever the lot shows once storage is back.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

impl AuctionHouse {
    /// Loads open lots, closes any that fell due while the server was down, and starts the task.
    pub async fn start(
        mut conn: SqliteConnection,
        config: HouseConfig,
    ) -> anyhow::Result<AuctionHouse> {
        let mut schedule = Schedule::default();
        let mut lots = HashMap::new();
        let minimums = AppliedMinimums::default();
        for lot in write::open_lots(&mut conn).await? {
            schedule.plan(&lot, config.ending_soon);
            minimums.raise(lot.id(), lot.min_next_bid());
            lots.insert(lot.id(), lot);
        }
        let mut sales = HashMap::new();
        for sale in crate::store::sales::write::unopened(&mut conn).await? {
            schedule.set(Due::OpenSale(sale.id), Some(sale.times.starts_at));
            sales.insert(sale.id, sale.into());
        }
        let next_event_id = events::latest_id(&mut conn).await? + 1;
        let next_notice_id = crate::store::notices::latest_id(&mut conn).await? + 1;
        let (tx, rx) = mpsc::channel(8192);
        let open = OpenLots::default();
        open.replace_all(with_recent_bids(&mut conn, lots.values()).await?);
        let stats = Arc::new(HouseStats::default());
        let health = Arc::new(StorageHealth::default());
        let (durability, disk_failed) = Durability::start(
            config.wal,
            open.clone(),
            config.on_commit,
            stats.clone(),
            health.clone(),
        );
        let clock = config.clock;
        let (watchers_tx, watchers_rx) = mpsc::unbounded_channel();
        let mut house = House {
            minimums: minimums.clone(),
            conn: Some(conn),
            writing: None,
            clock: clock.clone(),
            soft_close: config.soft_close,
            ending_soon: config.ending_soon,
            durability,
            lots,
            schedule,
            next_event_id,
            next_notice_id,
            readers: config.readers,
            watchers_tx,
            watchers_rx,
            fetched: Vec::new(),
            open: open.clone(),
            stats: stats.clone(),
            keys: KeyLedger::default(),
            health: health.clone(),
            sales,
        };
        // Overdue lots close (and overdue ending-soon notices go out) before the first request
        // is served.
        let mut first = Open::new(house.next_event_id, house.next_notice_id);
        house.apply_round(&mut first, Vec::new()).await;
        house.flush(&mut first).await;
        tokio::spawn(house.run(rx, disk_failed));
        Ok(AuctionHouse {
            tx,
            open,
            minimums,
            clock,
            stats,
            health,
        })
    }

    /// Whether the database can be written, as the house last found it.
    pub fn health(&self) -> &StorageHealth {
        &self.health
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, HouseError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| HouseError::Unavailable)?;
        within(answer).await
    }

    pub async fn create(&self, seller: UserRef, offer: NewLot) -> Result<Lot, HouseError> {
        self.ask(|reply| Command::Create {
            seller,
            offer,
            reply,
        })
        .await
    }

    pub async fn approve(&self, lot_id: Uuid) -> Result<Lot, HouseError> {
        self.change(lot_id, Action::Approve).await
    }

    pub async fn reject(&self, lot_id: Uuid, reason: String) -> Result<Lot, HouseError> {
        self.change(lot_id, Action::Reject { reason }).await
    }

    pub async fn close(&self, lot_id: Uuid) -> Result<Lot, HouseError> {
        self.change(lot_id, Action::Close).await
    }

    pub async fn cancel(&self, lot_id: Uuid) -> Result<Lot, HouseError> {
        self.change(lot_id, Action::Cancel).await
    }

    /// Approves a pending offer into a sale that has not started (API.md §8).
    pub async fn approve_into(&self, lot_id: Uuid, sale: Uuid) -> Result<Lot, HouseError> {
        self.change(lot_id, Action::ApproveInto { sale }).await
    }

    pub async fn add_image(
        &self,
        lot_id: Uuid,
        image: ImageRef,
        by_admin: bool,
    ) -> Result<Lot, HouseError> {
        self.change(lot_id, Action::AddImage { image, by_admin })
            .await
    }

    pub async fn remove_image(
        &self,
        lot_id: Uuid,
        image: Uuid,
        by_admin: bool,
    ) -> Result<Lot, HouseError> {
        self.change(lot_id, Action::RemoveImage { image, by_admin })
            .await
    }

    pub async fn create_sale(&self, sale: NewSale) -> Result<(), HouseError> {
        self.ask(|reply| Command::CreateSale { sale, reply }).await
    }

    pub async fn rename_category(&self, slug: String, name: String) -> Result<(), HouseError> {
        self.ask(|reply| Command::RenameCategory { slug, name, reply })
            .await
    }

    /// Takes a bid's request out of an open lot and replays the rest (API.md §3a); `amount` is
    /// the removed bid's, for its bidder's notice.
    pub async fn remove_bid(
        &self,
        lot_id: Uuid,
        request_no: i64,
        amount: crate::domain::Cents,
    ) -> Result<Lot, HouseError> {
        self.ask(|reply| Command::RemoveBid {
            lot_id,
            request_no,
            amount,
            reply,
        })
        .await
    }

    async fn change(&self, lot_id: Uuid, action: Action) -> Result<Lot, HouseError> {
        self.ask(|reply| Command::Change {
            lot_id,
            action,
            reply,
        })
        .await
    }

    pub async fn bid(&self, lot_id: Uuid, request: BidRequest) -> Result<BidReceipt, HouseError> {
        self.bid_once(lot_id, request, None).await
    }

    /// A bid sent with an idempotency key: the house decides it, so a copy of an accepted bid
    /// gets its first answer rather than the handle's "too low" (API.md §3a).
    pub async fn bid_once(
        &self,
        lot_id: Uuid,
        request: BidRequest,
        key: Option<IdempotencyKey>,
    ) -> Result<BidReceipt, HouseError> {
        // A maximum raised alone has no amount to claim: the house decides it.
        let (true, Some(amount)) = (key.is_none(), request.amount) else {
            return self
                .ask_bid(self.permit().await?, lot_id, request, key)
                .await;
        };
        // The lot as last made durable says whether it takes bids at all (a lot the house has
        // extended since may look ended here: the house decides those); a bid that could win
        // claims the minimum, so its copies at the same amount are refused here (`minimums`).
        let Some(open) = self.open.get(lot_id) else {
            return self
                .ask_bid(self.permit().await?, lot_id, request, None)
                .await;
        };
        let durable_min = match open.lot.check_bid(&request, self.clock.now()) {
            Ok(_) => None,
            Err(BidRejected::TooLow { min_next }) => Some(min_next),
            Err(_) => {
                return self
                    .ask_bid(self.permit().await?, lot_id, request, None)
                    .await;
            }
        };
        let too_low = |min_next| Err(BidRejected::TooLow { min_next }.into());
        if let Some(min_next) = self.minimums.below(lot_id, amount) {
            return too_low(min_next);
        }
        // Room in the queue first: once claimed, the bid must reach the house (a request
        // dropped between the claim and the send would leave the minimum claimed for nothing).
        let permit = self.permit().await?;
        match self.minimums.claim(lot_id, amount) {
            Some(Claim::Below(min_next)) => too_low(min_next),
            Some(Claim::Claimed) => self.ask_bid(permit, lot_id, request, None).await,
            // The house no longer holds it open: below the durable minimum it is too low
            // anyway, otherwise the house answers why.
            None => match durable_min {
                Some(min_next) => too_low(min_next),
                None => self.ask_bid(permit, lot_id, request, None).await,
            },
        }
    }

    async fn permit(&self) -> Result<mpsc::Permit<'_, Command>, HouseError> {
        self.tx.reserve().await.map_err(|_| HouseError::Unavailable)
    }

    async fn ask_bid(
        &self,
        permit: mpsc::Permit<'_, Command>,
        lot_id: Uuid,
        request: BidRequest,
        key: Option<IdempotencyKey>,
    ) -> Result<BidReceipt, HouseError> {
        let (reply, answer) = oneshot::channel();
        permit.send(Command::Bid {
            lot_id,
            request,
            key,
            reply,
        });
        within(answer).await
    }

    /// The open lots as last committed, for readers.
    pub fn open_lots(&self) -> &OpenLots {
        &self.open
    }

    /// What the group commit is doing (`/metrics`).
    pub fn stats(&self) -> &HouseStats {
        &self.stats
    }

    /// Applies everything already queued, then stops the house (and its clock).
    pub async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self.tx.send(Command::Stop { done }).await.is_ok() {
            let _ = stopped.await;
        }
    }
}

/// The house's answer, or 503 once `ANSWER_WITHIN` has passed.
async fn within<T>(answer: oneshot::Receiver<Result<T, HouseError>>) -> Result<T, HouseError> {
    match tokio::time::timeout(ANSWER_WITHIN, answer).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(HouseError::Unavailable),
        Err(_) => Err(HouseError::Store),
    }
}

/// Each open lot with its latest bids from the database, for a fresh view.
pub(super) async fn with_recent_bids<'a>(
    conn: &mut SqliteConnection,
    lots: impl Iterator<Item = &'a Lot>,
) -> Result<Vec<(Lot, Vec<crate::store::lots::BidRecord>)>, sqlx::Error> {
    let mut out = Vec::new();
    for lot in lots.filter(|l| l.status() == LotStatus::Open) {
        let bids =
            write::recent_bids(&mut *conn, lot.id(), super::open_lots::RECENT_BIDS as i64).await?;
        out.push((lot.clone(), bids));
    }
    Ok(out)
}
