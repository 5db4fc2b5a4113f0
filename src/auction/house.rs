//! One task owns the writer connection and applies commands as it takes them, into batches:
//! each batch is one transaction (group commit), and no change is confirmed before it is
//! durable. Refusals change nothing and are answered at once (the handle answers those below
//! the minimum itself, see `minimums`).

use super::commands::{Action, BidReceipt, Command, HouseError, Reply};
use super::durable::{Answer, CommitHook, Committed, DiskFailed, Durability};
use super::health::StorageHealth;
use super::keys::{KeyLedger, Seen};
use super::minimums::{AppliedMinimums, Claim};
use super::open_lots::OpenLots;
use super::schedule::Schedule;
use super::stats::HouseStats;
use crate::clock::Clock;
use crate::domain::idempotency::{IdempotencyKey, bid_fingerprint};
use crate::domain::json::{BidJson, EventJson, LotJson, ReceiptJson};
use crate::domain::{
    AcceptedBid, BidRejected, BidRequest, Change, Lot, LotStatus, NewLot, Time, UserRef,
};
use crate::store::batch::BatchWrite;
use crate::store::events::{self, StoredEvent};
use crate::store::lots::write;
use sqlx::SqliteConnection;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Most commands applied in one transaction.
const MAX_BATCH: usize = 512;

pub struct HouseConfig {
    pub clock: Clock,
    pub soft_close: chrono::Duration,
    /// Called with each batch's events, in id order, once they are durable.
    pub on_commit: CommitHook,
    /// The database's WAL file, which the house makes durable itself (see `House::run`).
    pub wal: std::path::PathBuf,
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
            schedule.set(lot.id, lot.ends_at);
            minimums.raise(lot.id, lot.min_next_bid());
            lots.insert(lot.id, lot);
        }
        let next_event_id = events::latest_id(&mut conn).await? + 1;
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
        let mut house = House {
            minimums: minimums.clone(),
            conn: Some(conn),
            writing: None,
            clock: clock.clone(),
            soft_close: config.soft_close,
            durability,
            lots,
            schedule,
            next_event_id,
            open: open.clone(),
            stats: stats.clone(),
            keys: KeyLedger::default(),
            health: health.clone(),
        };
        // Overdue lots close before the first request is served.
        let mut first = Open::new(house.next_event_id);
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
        if key.is_some() {
            return self
                .ask_bid(self.permit().await?, lot_id, request, key)
                .await;
        }
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
        if let Some(min_next) = self.minimums.below(lot_id, request.amount) {
            return too_low(min_next);
        }
        // Room in the queue first: once claimed, the bid must reach the house (a request
        // dropped between the claim and the send would leave the minimum claimed for nothing).
        let permit = self.permit().await?;
        match self.minimums.claim(lot_id, request.amount) {
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

struct House {
    minimums: AppliedMinimums,
    /// The writer connection; away (in `writing`) while a batch is written.
    conn: Option<SqliteConnection>,
    writing: Option<Writing>,
    clock: Clock,
    soft_close: chrono::Duration,
    durability: Durability,
    /// Every open lot, and any other lot a command touched; authoritative (single writer).
    lots: HashMap<Uuid, Lot>,
    schedule: Schedule,
    next_event_id: i64,
    /// What readers see of the open lots.
    open: OpenLots,
    stats: Arc<HouseStats>,
    keys: KeyLedger,
    health: Arc<StorageHealth>,
}

/// The house's answer, or 503 once `ANSWER_WITHIN` has passed.
async fn within<T>(answer: oneshot::Receiver<Result<T, HouseError>>) -> Result<T, HouseError> {
    match tokio::time::timeout(ANSWER_WITHIN, answer).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(HouseError::Unavailable),
        Err(_) => Err(HouseError::Store),
    }
}

/// A bid accepted under an idempotency key: its first answer is stored with it.
struct Keyed {
    user: Uuid,
    key: IdempotencyKey,
    request: String,
}

/// A change applied in a batch, whose reply waits for the batch to be durable. Refusals and
/// stops are answered as they are applied and leave nothing here (`Answered`).
enum Pending {
    Answered,
    Lot(Reply<Lot>, Uuid),
    Bid(Reply<BidReceipt>, Uuid, AcceptedBid, i64, Option<Keyed>),
    /// A copy of a keyed bid accepted earlier: answered with the first answer.
    Replay(Reply<BidReceipt>, Uuid, IdempotencyKey),
}

impl Pending {
    /// The batch failed to commit: its changes are lost, and their callers hear so.
    fn refuse(self) {
        match self {
            Pending::Answered => {}
            Pending::Lot(reply, _) => Answer::Lot(reply, Err(HouseError::Store)).send(),
            Pending::Bid(reply, ..) | Pending::Replay(reply, ..) => {
                Answer::Bid(reply, Err(HouseError::Store)).send()
            }
        }
    }
}

/// What one batch will write.
#[derive(Default)]
struct Batch {
    work: HashMap<Uuid, Lot>,
    new_lots: Vec<Uuid>,
    dirty: HashSet<Uuid>,
    bids: Vec<(Uuid, AcceptedBid, i64)>,
    events: Vec<StoredEvent>,
    /// A write of no consequence, to find out whether storage is back.
    probe: bool,
}

/// The batch being applied: commands go into it while the batch before it is written.
struct Open {
    batch: Batch,
    pending: Vec<Pending>,
    first_event_id: i64,
    commands: usize,
    applying: Duration,
}

impl Open {
    fn new(first_event_id: i64) -> Self {
        Open {
            batch: Batch::default(),
            pending: Vec::new(),
            first_event_id,
            commands: 0,
            applying: Duration::ZERO,
        }
    }

    /// Whether sealing it would write or answer anything.
    fn has_work(&self) -> bool {
        !self.batch.dirty.is_empty()
            || !self.batch.new_lots.is_empty()
            || self.batch.probe
            || self.pending.iter().any(|p| !matches!(p, Pending::Answered))
    }
}

/// The writer connection comes back with the outcome of the batch it wrote.
type Written = (SqliteConnection, Result<(), sqlx::Error>);

/// A sealed batch on its way through the writer connection, which it holds meanwhile.
struct Writing {
    write: Pin<Box<dyn Future<Output = Written> + Send>>,
    began: Instant,
    committed: Committed,
    first_event_id: i64,
}

/// The writing batch's outcome; never resolves when nothing is being written.
async fn written(writing: &mut Option<Writing>) -> Written {
    match writing {
        Some(w) => (&mut w.write).await,
        None => std::future::pending().await,
    }
}

impl House {
    /// Group commit, pipelined in three stages: the house applies commands to one batch while
    /// the batch before it is written (its SQL, on the writer connection's own thread), and the
    /// durability task syncs and answers the batches written before that (see `durable`). So a
    /// bid is applied, and a refusal answered, as soon as the house takes it, whatever the
    /// writer and the disk are doing: on a hot lot, an outbid bidder's next bid can be accepted
    /// while the last accepted one is still being written.
    async fn run(mut self, mut rx: mpsc::Receiver<Command>, mut disk_failed: DiskFailed) {
        let mut stopped_by = None;
        let mut open = Open::new(self.next_event_id);
        loop {
            let next_due = self.schedule.next();
            let clock = self.clock.clone();
            // While storage fails, the house wakes for its next try, not for lots that are due
            // (they wait for storage: closing them now would fail again at once).
            let retry_at = self.health.retry_at();
            let wake = async move {
                match (retry_at, next_due) {
                    (Some(at), _) => tokio::time::sleep_until(at).await,
                    (None, Some(t)) => clock.sleep_until(t).await,
                    (None, None) => std::future::pending().await,
                }
            };
            let room = open.commands < MAX_BATCH;
            let mut commands = Vec::new();
            tokio::select! {
                biased;
                _ = &mut disk_failed => break,
                done = written(&mut self.writing) => {
                    if !self.finish(done, &mut open).await {
                        break;
                    }
                }
                received = rx.recv(), if room => match received {
                    Some(cmd) => commands.push(cmd),
                    None => break,
                },
                () = wake => {}
            }
            while open.commands + commands.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(cmd) => commands.push(cmd),
                    Err(_) => break,
                }
            }
            let stop = commands
                .iter()
                .position(|c| matches!(c, Command::Stop { .. }))
                .map(|at| commands.split_off(at));
            if !self.apply_round(&mut open, commands).await {
                break;
            }
            if self.writing.is_none()
                && !open.has_work()
                && self.health.is_failing()
                && !self.health.refusing()
            {
                // Nobody asked for a write, but /healthz should learn when storage is back.
                open.batch.probe = true;
            }
            if self.writing.is_none() && open.has_work() {
                if self.health.is_failing() {
                    self.health.trying();
                }
                self.start_writing(&mut open);
            }
            if let Some(mut rest) = stop {
                // Commands queued behind the stop are dropped: their callers see Unavailable.
                if let Some(Command::Stop { done }) = rest.drain(..1).next() {
                    stopped_by = Some(done);
                }
                break;
            }
        }
        drop(rx);
        // What was applied is written and answered (or failed, if the disk has failed).
        self.flush(&mut open).await;
        self.durability.close().await;
        tracing::info!("auction house stopped");
        if let Some(done) = stopped_by {
            let _ = done.send(());
        }
    }

    /// Writes the batch being written and then the open one, each to the end.
    async fn flush(&mut self, open: &mut Open) -> bool {
        if self.writing.is_some() {
            let done = written(&mut self.writing).await;
            if !self.finish(done, open).await {
                return false;
            }
        }
        if open.has_work() {
            self.start_writing(open);
            let done = written(&mut self.writing).await;
            return self.finish(done, open).await;
        }
        true
    }

    /// Closes what is due and applies the commands to the open batch. A command about a lot
    /// that is not in memory needs the writer connection to load it, so it waits for the batch
    /// being written. False once the durability task is gone.
    async fn apply_round(&mut self, open: &mut Open, commands: Vec<Command>) -> bool {
        let applying = Instant::now();
        let now = self.clock.now();
        let due = if self.health.refusing() {
            Vec::new()
        } else {
            self.schedule.due(now)
        };
        for lot_id in due {
            if let Ok(lot) = self.working(&mut open.batch, lot_id).await
                && let Ok(changes) = lot.close(now)
            {
                self.record(&mut open.batch, lot_id, changes, now);
            }
        }
        for cmd in commands {
            if self.writing.is_some() && self.needs_loading(&open.batch, &cmd) {
                let done = written(&mut self.writing).await;
                if !self.finish(done, open).await {
                    return false;
                }
            }
            open.commands += 1;
            let pending = self.apply(&mut open.batch, cmd, now).await;
            open.pending.push(pending);
        }
        open.applying += applying.elapsed();
        true
    }

    /// Whether the command is about a lot neither the house nor the open batch holds.
    fn needs_loading(&self, batch: &Batch, cmd: &Command) -> bool {
        match cmd {
            Command::Change { lot_id, .. } | Command::Bid { lot_id, .. } => {
                !batch.work.contains_key(lot_id) && !self.lots.contains_key(lot_id)
            }
            Command::Create { .. } | Command::Stop { .. } => false,
        }
    }

    /// Seals the open batch and starts writing it: from here on the house's state includes it,
    /// and its answers wait in it until it is durable.
    fn start_writing(&mut self, open: &mut Open) {
        let sealed = std::mem::replace(open, Open::new(self.next_event_id));
        self.stats.batch(sealed.commands, sealed.applying);
        let Open {
            mut batch,
            pending,
            first_event_id,
            ..
        } = sealed;
        let mut write = self.batch_write(&batch);

        let mut view = Vec::with_capacity(batch.work.len());
        let touched: Vec<(Uuid, Lot)> = batch.work.drain().collect();
        for (id, lot) in touched {
            let new_bids: Vec<(AcceptedBid, i64)> = batch
                .bids
                .iter()
                .filter(|(lot_id, _, _)| *lot_id == id)
                .map(|(_, bid, event_id)| (bid.clone(), *event_id))
                .collect();
            view.push((lot.clone(), new_bids));
            if lot.status == LotStatus::Open {
                self.lots.insert(id, lot);
            } else {
                self.lots.remove(&id);
                // Keep the final state for the answers below.
                batch.work.insert(id, lot);
            }
        }
        let mut answers = Vec::with_capacity(pending.len());
        for p in pending {
            match p {
                Pending::Answered => {}
                Pending::Lot(reply, id) => {
                    answers.push(Answer::Lot(reply, self.snapshot(&batch, id)));
                }
                Pending::Bid(reply, lot_id, bid, event_id, keyed) => {
                    let receipt = self.snapshot(&batch, lot_id).map(|lot| BidReceipt {
                        bid,
                        event_id,
                        lot,
                        replayed: None,
                    });
                    if let (Some(keyed), Ok(receipt)) = (keyed, &receipt) {
                        self.store_answer(&mut write, keyed, receipt);
                    }
                    answers.push(Answer::Bid(reply, receipt));
                }
                Pending::Replay(reply, user, key) => {
                    let first = self.keys.replay(user, &key).ok_or(HouseError::Store);
                    answers.push(Answer::Bid(reply, first));
                }
            }
        }
        self.keys.prune(self.clock.now());
        let wrote = !write.is_empty();
        let committed = Committed {
            wrote,
            view,
            events: batch.events,
            answers,
        };
        let Some(mut conn) = self.conn.take() else {
            // Never: the connection is away only while a batch is written.
            tracing::error!("no writer connection for a sealed batch");
            committed.answers.into_iter().for_each(Answer::fail);
            return;
        };
        self.writing = Some(Writing {
            write: Box::pin(async move {
                let result = write.commit(&mut conn).await;
                (conn, result)
            }),
            began: Instant::now(),
            committed,
            first_event_id,
        });
    }

    /// A keyed bid's first answer goes into its batch's transaction and the ledger.
    fn store_answer(&mut self, write: &mut BatchWrite, keyed: Keyed, receipt: &BidReceipt) {
        let json = ReceiptJson::new(&receipt.bid, receipt.event_id, &receipt.lot);
        let body: Arc<str> = serde_json::to_string(&json)
            .unwrap_or_else(|_| String::from("{}"))
            .into();
        write.insert_idempotent(
            keyed.user,
            keyed.key.as_str(),
            &keyed.request,
            &body,
            receipt.bid.placed_at,
        );
        self.keys.answered(keyed.user, &keyed.key, receipt, body);
    }

    /// The written batch goes on to be synced and answered; false once the durability task is
    /// gone. A batch that failed to write takes the open batch, applied on top of it, with it.
    async fn finish(&mut self, (conn, result): Written, open: &mut Open) -> bool {
        self.conn = Some(conn);
        let Some(writing) = self.writing.take() else {
            return true;
        };
        self.stats.write(writing.began.elapsed());
        match result {
            Ok(()) => self.durability.push(writing.committed).await,
            Err(e) => {
                if !self.health.is_failing() {
                    tracing::error!(error = %e, "batch failed to commit; it and the batch applied on it are refused");
                }
                self.health.failed();
                writing.committed.answers.into_iter().for_each(Answer::fail);
                let discarded = std::mem::replace(open, Open::new(writing.first_event_id));
                self.keys.forget_from(writing.first_event_id);
                discarded.pending.into_iter().for_each(Pending::refuse);
                self.next_event_id = writing.first_event_id;
                self.reload().await;
                true
            }
        }
    }

    /// After a failed write: the plan is what the database really holds.
    async fn reload(&mut self) {
        self.lots.clear();
        self.minimums.clear();
        self.schedule = Schedule::default();
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Ok(open) = write::open_lots(conn).await {
            for lot in open {
                self.schedule.set(lot.id, lot.ends_at);
                self.minimums.raise(lot.id, lot.min_next_bid());
                self.lots.insert(lot.id, lot);
            }
            if let Ok(view) = with_recent_bids(conn, self.lots.values()).await {
                self.open.replace_all(view);
            }
        }
    }

    /// The committed state of a lot this batch touched.
    fn snapshot(&self, batch: &Batch, id: Uuid) -> Result<Lot, HouseError> {
        self.lots
            .get(&id)
            .or_else(|| batch.work.get(&id))
            .cloned()
            .ok_or(HouseError::Store)
    }

    async fn apply(&mut self, batch: &mut Batch, cmd: Command, now: Time) -> Pending {
        if self.health.refusing() {
            return self.refuse_for_storage(batch, cmd);
        }
        match cmd {
            Command::Create {
                seller,
                offer,
                reply,
            } => {
                let lot = Lot::new_pending(Uuid::now_v7(), seller, offer, now);
                let id = lot.id;
                batch.new_lots.push(id);
                batch.work.insert(id, lot);
                Pending::Lot(reply, id)
            }
            Command::Change {
                lot_id,
                action,
                reply,
            } => {
                let result = self.working(batch, lot_id).await.and_then(|lot| {
                    match action {
                        Action::Approve => lot.approve(now),
                        Action::Reject { reason } => lot.reject(&reason),
                        Action::Close => lot.close(now),
                        Action::Cancel => lot.cancel(now),
                    }
                    .map_err(HouseError::from)
                });
                match result {
                    Ok(changes) => {
                        self.record(batch, lot_id, changes, now);
                        Pending::Lot(reply, lot_id)
                    }
                    Err(e) => refuse_now(reply, e),
                }
            }
            Command::Bid {
                lot_id,
                request,
                key,
                reply,
            } => {
                let keyed = key.map(|key| Keyed {
                    user: request.bidder.id,
                    request: bid_fingerprint(lot_id, request.amount, request.max),
                    key,
                });
                if let Some(k) = &keyed {
                    match self.keys.check(k.user, &k.key, &k.request) {
                        Seen::New => {}
                        Seen::Same => return Pending::Replay(reply, k.user, k.key.clone()),
                        Seen::Different => return refuse_now(reply, HouseError::KeyReused),
                    }
                }
                let soft_close = self.soft_close;
                let placed = self.working(batch, lot_id).await.and_then(|lot| {
                    lot.place_bid(Uuid::now_v7(), request, now, soft_close)
                        .map_err(HouseError::from)
                });
                let changes = match placed {
                    Ok(changes) => changes,
                    Err(e) => {
                        self.unclaim(batch, lot_id);
                        return refuse_now(reply, e);
                    }
                };
                let first_bid = changes.iter().find_map(|c| match c {
                    Change::Bid(b) => Some(b.clone()),
                    _ => None,
                });
                let ids = self.record(batch, lot_id, changes, now);
                match (first_bid, ids.first()) {
                    (Some(bid), Some(&event_id)) => {
                        if let Some(k) = &keyed {
                            self.keys.record(
                                k.user,
                                k.key.clone(),
                                k.request.clone(),
                                event_id,
                                now,
                            );
                        }
                        Pending::Bid(reply, lot_id, bid, event_id, keyed)
                    }
                    // The domain accepts a bid only with a `Bid` change; never seen.
                    _ => refuse_now(reply, HouseError::Store),
                }
            }
            Command::Stop { done } => {
                // The loop takes stops out before a batch is applied; answer anyway.
                let _ = done.send(());
                Pending::Answered
            }
        }
    }

    /// While storage fails, writes are refused at once (503 `storage_unavailable`).
    fn refuse_for_storage(&self, batch: &Batch, cmd: Command) -> Pending {
        match cmd {
            Command::Create { reply, .. } => refuse_now(reply, HouseError::Store),
            Command::Change { reply, .. } => refuse_now(reply, HouseError::Store),
            Command::Bid { lot_id, reply, .. } => {
                self.unclaim(batch, lot_id);
                refuse_now(reply, HouseError::Store)
            }
            Command::Stop { done } => {
                let _ = done.send(());
                Pending::Answered
            }
        }
    }

    /// A bid the house refused may have claimed the minimum at the handle: the minimum is the
    /// house's own again (see `minimums`). A lot the house does not hold open has no minimum.
    fn unclaim(&self, batch: &Batch, lot_id: Uuid) {
        let lot = batch.work.get(&lot_id).or_else(|| self.lots.get(&lot_id));
        if let Some(lot) = lot.filter(|l| l.status == LotStatus::Open) {
            self.minimums.reset(lot_id, lot.min_next_bid());
        }
    }

    /// The batch's copy of a lot, loading it on first touch.
    async fn working<'b>(
        &mut self,
        batch: &'b mut Batch,
        id: Uuid,
    ) -> Result<&'b mut Lot, HouseError> {
        // Not `entry()`: loading awaits the database while `batch` would stay borrowed.
        #[expect(clippy::map_entry, reason = "the insert follows an await")]
        if !batch.work.contains_key(&id) {
            let lot = match self.lots.get(&id) {
                Some(lot) => lot.clone(),
                None => write::lot_by_id(self.conn.as_mut().ok_or(HouseError::Store)?, id)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "loading a lot failed");
                        HouseError::Store
                    })?
                    .ok_or(HouseError::NotFound)?,
            };
            batch.work.insert(id, lot);
        }
        batch.work.get_mut(&id).ok_or(HouseError::NotFound)
    }

    /// Turns a lot's changes into events with ids and seqs; returns the event ids.
    fn record(
        &mut self,
        batch: &mut Batch,
        lot_id: Uuid,
        changes: Vec<Change>,
        now: Time,
    ) -> Vec<i64> {
        batch.dirty.insert(lot_id);
        let mut ids = Vec::with_capacity(changes.len());
        let Some(lot) = batch.work.get_mut(&lot_id) else {
            return ids;
        };
        // What follows the applied state, not the written one: the closing plan (an end moved
        // or a lot closed in the open batch must not fire at the old time while the batch
        // before it is still being written) and the minimum the handle refuses below.
        if lot.status == LotStatus::Open {
            self.schedule.set(lot_id, lot.ends_at);
            self.minimums.raise(lot_id, lot.min_next_bid());
        } else {
            self.schedule.set(lot_id, None);
            self.minimums.forget(lot_id);
        }
        for change in changes {
            let id = self.next_event_id;
            self.next_event_id += 1;
            lot.last_seq += 1;
            lot.last_event_id = id;
            let bid = match &change {
                Change::Bid(b) => {
                    batch.bids.push((lot_id, b.clone(), id));
                    Some(BidJson::new(b, id))
                }
                _ => None,
            };
            let kind = change.kind();
            let json = EventJson {
                id,
                kind: kind.as_str(),
                lot_id,
                seq: lot.last_seq,
                at: now,
                lot: LotJson::public(lot),
                bid,
            };
            // Sized for a whole event at once (~800 bytes), not grown from empty.
            let mut data = Vec::with_capacity(1024);
            let data = match serde_json::to_writer(&mut data, &json) {
                Ok(()) => String::from_utf8(data).unwrap_or_else(|_| String::from("{}")),
                Err(_) => String::from("{}"),
            };
            batch.events.push(StoredEvent {
                id,
                lot_id,
                seq: lot.last_seq,
                kind: kind.as_str().to_owned(),
                at: now,
                data,
            });
            ids.push(id);
        }
        ids
    }

    /// The batch as one transaction; `self.lots` still holds the state before it.
    fn batch_write(&self, batch: &Batch) -> BatchWrite {
        let mut write = BatchWrite::default();
        for id in &batch.new_lots {
            if let Some(lot) = batch.work.get(id) {
                write.insert_lot(lot);
            }
        }
        let mut bid_only = Vec::with_capacity(batch.dirty.len());
        for id in &batch.dirty {
            let Some(lot) = batch.work.get(id) else {
                continue;
            };
            match self.lots.get(id) {
                Some(before) if only_bidding_changed(before, lot) => bid_only.push(lot),
                _ => write.update_lot(lot),
            }
        }
        write.update_bid_state(&bid_only);
        write.insert_bids(&batch.bids);
        write.insert_events(&batch.events);
        if batch.probe {
            write.probe();
        }
        write
    }
}

/// A refusal changes nothing, so it is answered at once rather than behind its batch's commit
/// and sync: an outbid bidder hears the new minimum while the winning bid is still on its way
/// to the disk, and can bid again at once. (A bid is confirmed only once durable, as before.)
fn refuse_now<T>(reply: Reply<T>, e: HouseError) -> Pending {
    let _ = reply.send(Err(e));
    Pending::Answered
}

/// Whether a batch changed only what bids change (see `BatchWrite::update_bid_state`).
fn only_bidding_changed(before: &Lot, after: &Lot) -> bool {
    before.status == after.status
        && before.ends_at == after.ends_at
        && before.closed_at == after.closed_at
        && before.winner == after.winner
        && before.final_price == after.final_price
        && before.reject_reason == after.reject_reason
}

/// Each open lot with its latest bids from the database, for a fresh view.
async fn with_recent_bids<'a>(
    conn: &mut SqliteConnection,
    lots: impl Iterator<Item = &'a Lot>,
) -> Result<Vec<(Lot, Vec<crate::store::lots::BidRecord>)>, sqlx::Error> {
    let mut out = Vec::new();
    for lot in lots.filter(|l| l.status == LotStatus::Open) {
        let bids =
            write::recent_bids(&mut *conn, lot.id, super::open_lots::RECENT_BIDS as i64).await?;
        out.push((lot.clone(), bids));
    }
    Ok(out)
}
