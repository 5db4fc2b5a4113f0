//! One task owns the writer connection and applies commands as it takes them, into batches:
//! each batch is one transaction (group commit), and no change is confirmed before it is
//! durable. Refusals change nothing and are answered at once (the handle answers those below
//! the minimum itself, see `minimums`).

use super::commands::{BidReceipt, Command, HouseError, Reply};
use super::durable::{Answer, Committed, DiskFailed, Durability};
use super::health::StorageHealth;
use super::keys::KeyLedger;
use super::minimums::AppliedMinimums;
use super::open_lots::{LotUpdate, OpenLots};
use super::schedule::{Due, Schedule};
use super::stats::HouseStats;
use crate::clock::Clock;
use crate::domain::Time;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::json::ReceiptJson;
use crate::domain::notice::Before;
use crate::domain::{AcceptedBid, Lot, LotStatus};
use crate::store::batch::BatchWrite;
use crate::store::lots::write;
use sqlx::SqliteConnection;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::handle::with_recent_bids;
use super::plan::Batch;
use super::sales::SaleState;

/// Most commands applied in one transaction.
const MAX_BATCH: usize = 512;

pub(super) struct House {
    pub(super) minimums: AppliedMinimums,
    /// The writer connection; away (in `writing`) while a batch is written.
    pub(super) conn: Option<SqliteConnection>,
    pub(super) writing: Option<Writing>,
    pub(super) clock: Clock,
    pub(super) soft_close: chrono::Duration,
    pub(super) ending_soon: chrono::Duration,
    pub(super) durability: Durability,
    /// Every open lot, and any other lot a command touched; authoritative (single writer).
    pub(super) lots: HashMap<Uuid, Lot>,
    pub(super) schedule: Schedule,
    pub(super) next_event_id: i64,
    pub(super) next_notice_id: i64,
    /// Reads a lot's watchers off the writer's path (its ending-soon notices), on the pool.
    pub(super) readers: crate::store::Store,
    pub(super) watchers_tx: mpsc::UnboundedSender<Fetched>,
    pub(super) watchers_rx: mpsc::UnboundedReceiver<Fetched>,
    /// Watchers read and not yet told.
    pub(super) fetched: Vec<Fetched>,
    /// What readers see of the open lots.
    pub(super) open: OpenLots,
    pub(super) stats: Arc<HouseStats>,
    pub(super) keys: KeyLedger,
    pub(super) health: Arc<StorageHealth>,
    /// Every sale that has not opened yet; authoritative, like `lots`.
    pub(super) sales: HashMap<Uuid, SaleState>,
}

/// A lot's watchers, as read for its ending-soon notices.
pub(super) type Fetched = (Uuid, Result<Vec<Uuid>, sqlx::Error>);

/// A bid accepted under an idempotency key: its first answer is stored with it.
pub(super) struct Keyed {
    pub(super) user: Uuid,
    pub(super) key: IdempotencyKey,
    pub(super) request: String,
}

/// A change applied in a batch, whose reply waits for the batch to be durable. Refusals and
/// stops are answered as they are applied and leave nothing here (`Answered`).
pub(super) enum Pending {
    Answered,
    Lot(Reply<Lot>, Uuid),
    Bid(
        Reply<BidReceipt>,
        Uuid,
        Uuid,
        Option<(AcceptedBid, i64)>,
        Option<Keyed>,
    ),
    /// A copy of a keyed bid accepted earlier: answered with the first answer.
    Replay(Reply<BidReceipt>, Uuid, IdempotencyKey),
    /// A change that answers only that it was made.
    Done(Reply<()>),
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
            Pending::Done(reply) => Answer::Done(reply, Err(HouseError::Store)).send(),
        }
    }
}

/// What one batch will write.
/// The batch being applied: commands go into it while the batch before it is written.
pub(super) struct Open {
    pub(super) batch: Batch,
    pub(super) pending: Vec<Pending>,
    pub(super) first_event_id: i64,
    pub(super) first_notice_id: i64,
    pub(super) commands: usize,
    pub(super) applying: Duration,
}

impl Open {
    pub(super) fn new(first_event_id: i64, first_notice_id: i64) -> Self {
        Open {
            batch: Batch::default(),
            pending: Vec::new(),
            first_event_id,
            first_notice_id,
            commands: 0,
            applying: Duration::ZERO,
        }
    }

    /// Whether sealing it would write or answer anything.
    fn has_work(&self) -> bool {
        !self.batch.dirty.is_empty()
            || !self.batch.new_lots.is_empty()
            || !self.batch.catalogue.is_empty()
            || self.batch.probe
            || self.pending.iter().any(|p| !matches!(p, Pending::Answered))
    }
}

/// The writer connection comes back with the outcome of the batch it wrote.
type Written = (SqliteConnection, Result<(), sqlx::Error>);

/// A sealed batch on its way through the writer connection, which it holds meanwhile.
pub(super) struct Writing {
    write: Pin<Box<dyn Future<Output = Written> + Send>>,
    began: Instant,
    committed: Committed,
    first_event_id: i64,
    first_notice_id: i64,
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
    pub(super) async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        mut disk_failed: DiskFailed,
    ) {
        let mut stopped_by = None;
        let mut open = Open::new(self.next_event_id, self.next_notice_id);
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
                Some(fetched) = self.watchers_rx.recv() => self.fetched.push(fetched),
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
    pub(super) async fn flush(&mut self, open: &mut Open) -> bool {
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
    pub(super) async fn apply_round(&mut self, open: &mut Open, commands: Vec<Command>) -> bool {
        let applying = Instant::now();
        let now = self.clock.now();
        let due = if self.health.refusing() {
            Vec::new()
        } else {
            self.schedule.due(now)
        };
        for work in due {
            match work {
                Due::Close(lot_id) => {
                    if let Ok(lot) = self.working(&mut open.batch, lot_id).await {
                        let before = Before::of(lot);
                        if let Ok(changes) = lot.close(now) {
                            self.record(&mut open.batch, lot_id, &before, changes, now);
                        }
                    }
                }
                Due::OpenSale(sale) => {
                    // Its lots are read from the database: every one scheduled is written.
                    if !self.flush(open).await {
                        return false;
                    }
                    self.open_sale(&mut open.batch, sale, now).await;
                }
                Due::EndingSoon(lot_id) => {
                    // Its watchers are read on the pool, never holding up the house: the
                    // notices go out in the round after the read comes back.
                    self.schedule.set(Due::EndingSoon(lot_id), None);
                    let (readers, tx) = (self.readers.clone(), self.watchers_tx.clone());
                    tokio::spawn(async move {
                        let _ = tx.send((lot_id, readers.watchers_of(lot_id).await));
                    });
                }
            }
        }
        for (lot_id, watchers) in std::mem::take(&mut self.fetched) {
            match watchers {
                Ok(watchers) if !self.health.refusing() => {
                    self.ending_soon(&mut open.batch, lot_id, watchers, now)
                        .await;
                }
                Ok(_) => self.schedule.set(Due::EndingSoon(lot_id), Some(now)),
                Err(e) => {
                    tracing::error!(error = %e, "reading a lot's watchers failed; trying again");
                    let again = now + chrono::Duration::seconds(5);
                    self.schedule.set(Due::EndingSoon(lot_id), Some(again));
                }
            }
        }
        for cmd in commands {
            if matches!(cmd, Command::RemoveBid { .. }) {
                // A replay reads the lot's requests from the database: all of them written.
                if !self.flush(open).await {
                    return false;
                }
            } else if self.writing.is_some() && self.needs_loading(&open.batch, &cmd) {
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
            Command::RemoveBid { .. }
            | Command::Create { .. }
            | Command::CreateSale { .. }
            | Command::RenameCategory { .. }
            | Command::Stop { .. } => false,
        }
    }

    /// Seals the open batch and starts writing it: from here on the house's state includes it,
    /// and its answers wait in it until it is durable.
    fn start_writing(&mut self, open: &mut Open) {
        let sealed = std::mem::replace(open, Open::new(self.next_event_id, self.next_notice_id));
        self.stats.batch(sealed.commands, sealed.applying);
        let Open {
            mut batch,
            pending,
            first_event_id,
            first_notice_id,
            ..
        } = sealed;
        let mut write = self.batch_write(&batch);

        let mut view = Vec::with_capacity(batch.work.len());
        let touched: Vec<(Uuid, Lot)> = batch.work.drain().collect();
        for (id, lot) in touched {
            let new_bids: Vec<(AcceptedBid, i64)> = batch
                .bids
                .iter()
                .filter(|p| p.lot_id == id)
                .map(|p| (p.bid.clone(), p.event_id))
                .collect();
            view.push(LotUpdate {
                lot: lot.clone(),
                new_bids,
                replaced: batch.replaced.contains(&id),
            });
            if lot.status() == LotStatus::Open {
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
                Pending::Bid(reply, lot_id, bidder, bid, keyed) => {
                    let receipt = self.snapshot(&batch, lot_id).map(|lot| BidReceipt {
                        bid,
                        bidder,
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
                Pending::Done(reply) => answers.push(Answer::Done(reply, Ok(()))),
            }
        }
        self.keys.prune(self.clock.now());
        let wrote = !write.is_empty();
        let committed = Committed {
            wrote,
            view,
            events: batch.events,
            notices: batch.notices,
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
            first_notice_id,
        });
    }

    /// A keyed bid's first answer goes into its batch's transaction and the ledger.
    fn store_answer(&mut self, write: &mut BatchWrite, keyed: Keyed, receipt: &BidReceipt) {
        let json = ReceiptJson::new(receipt.bid.as_ref(), &receipt.lot, keyed.user);
        let body: Arc<str> = serde_json::to_string(&json)
            .unwrap_or_else(|_| String::from("{}"))
            .into();
        write.insert_idempotent(
            keyed.user,
            keyed.key.as_str(),
            &keyed.request,
            &body,
            self.clock.now(),
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
                let discarded = std::mem::replace(
                    open,
                    Open::new(writing.first_event_id, writing.first_notice_id),
                );
                self.keys.forget_from(writing.first_event_id);
                discarded.pending.into_iter().for_each(Pending::refuse);
                self.next_event_id = writing.first_event_id;
                self.next_notice_id = writing.first_notice_id;
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
        self.sales.clear();
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Ok(sales) = crate::store::sales::write::unopened(conn).await {
            for sale in sales {
                self.schedule
                    .set(Due::OpenSale(sale.id), Some(sale.times.starts_at));
                self.sales.insert(sale.id, sale.into());
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Ok(open) = write::open_lots(conn).await {
            for lot in open {
                self.schedule.plan(&lot, self.ending_soon);
                self.minimums.raise(lot.id(), lot.min_next_bid());
                self.lots.insert(lot.id(), lot);
            }
            if let Ok(view) = with_recent_bids(conn, self.lots.values()).await {
                self.open.replace_all(view);
            }
        }
    }

    /// A lot about to end: one notice to each of its bidders and watchers, once per lot.
    async fn ending_soon(
        &mut self,
        batch: &mut Batch,
        lot_id: Uuid,
        watchers: Vec<Uuid>,
        now: Time,
    ) {
        let Ok(lot) = self.working(batch, lot_id).await else {
            return;
        };
        if lot.status() != LotStatus::Open || lot.ending_soon_sent() {
            return;
        }
        let mut users: Vec<Uuid> = lot.maxima().iter().map(|m| m.bidder.id).collect();
        users.extend(watchers);
        users.sort();
        users.dedup();
        let Some(lot) = batch.work.get_mut(&lot_id) else {
            return;
        };
        lot.mark_ending_soon_sent();
        let notices = crate::domain::notice::ending_soon(lot, users);
        let before = Before::of(lot);
        self.record(batch, lot_id, &before, Vec::new(), now);
        self.record_notices(batch, notices, now);
    }

    /// The committed state of a lot this batch touched.
    fn snapshot(&self, batch: &Batch, id: Uuid) -> Result<Lot, HouseError> {
        self.lots
            .get(&id)
            .or_else(|| batch.work.get(&id))
            .cloned()
            .ok_or(HouseError::Store)
    }
}
