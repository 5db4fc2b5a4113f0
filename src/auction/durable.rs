//! Committed batches on their way to the disk, answered in order once they are durable.
//!
//! The house's connection commits with `synchronous=NORMAL`: COMMIT writes a batch's WAL frames
//! without waiting for the disk. This task makes them durable with one `fdatasync` of the WAL
//! for every batch that was committed before that sync began, then answers those batches in
//! order. The house never waits for the disk: it applies and commits the next batch while the
//! last one syncs, and batches that arrive during a sync share the next one. Nobody (callers,
//! watchers, the open-lots view) hears of a batch's changes before its sync has returned; a
//! refused command changes nothing and is answered by the house at once. A durable batch
//! updates the open-lots view, then answers its callers, then publishes its events.

use super::commands::{BidReceipt, HouseError, Reply};
use super::health::StorageHealth;
use super::open_lots::{LotUpdate, OpenLots};
use super::stats::HouseStats;
use crate::domain::Lot;
use crate::store::events::StoredEvent;
use crate::store::notices::StoredNotice;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// What runs with each durable batch's events.
pub type CommitHook = Box<dyn Fn(&[StoredEvent], &[StoredNotice]) + Send>;

/// Committed batches waiting at most: past this the house waits for the disk.
const QUEUED_BATCHES: usize = 64;

/// A reply with its outcome, sent once the batch is durable.
pub(super) enum Answer {
    Lot(Reply<Lot>, Result<Lot, HouseError>),
    Bid(Reply<BidReceipt>, Result<BidReceipt, HouseError>),
    Done(Reply<()>, Result<(), HouseError>),
}

impl Answer {
    pub(super) fn send(self) {
        match self {
            Answer::Lot(reply, result) => {
                let _ = reply.send(result);
            }
            Answer::Bid(reply, result) => {
                let _ = reply.send(result);
            }
            Answer::Done(reply, result) => {
                let _ = reply.send(result);
            }
        }
    }

    /// The batch was not made durable: whatever its outcome, the caller hears of the failure.
    pub(super) fn fail(self) {
        match self {
            Answer::Lot(reply, _) => Answer::Lot(reply, Err(HouseError::Store)),
            Answer::Bid(reply, _) => Answer::Bid(reply, Err(HouseError::Store)),
            Answer::Done(reply, _) => Answer::Done(reply, Err(HouseError::Store)),
        }
        .send();
    }
}

/// A committed batch: what readers, watchers and callers hear once it is durable.
pub(super) struct Committed {
    /// False when the batch wrote nothing: it still waits for the batches before it.
    pub wrote: bool,
    pub view: Vec<LotUpdate>,
    pub events: Vec<StoredEvent>,
    pub notices: Vec<StoredNotice>,
    pub answers: Vec<Answer>,
}

pub(super) struct Durability {
    batches: mpsc::Sender<Committed>,
    task: tokio::task::JoinHandle<()>,
}

/// Resolves once a sync has failed: the house then stops, as no later answer could be trusted.
pub(super) type DiskFailed = oneshot::Receiver<()>;

impl Durability {
    pub(super) fn start(
        wal: PathBuf,
        open: OpenLots,
        on_commit: CommitHook,
        stats: Arc<HouseStats>,
        health: Arc<StorageHealth>,
    ) -> (Self, DiskFailed) {
        let (batches, rx) = mpsc::channel(QUEUED_BATCHES);
        let (failed, disk_failed) = oneshot::channel();
        let task = tokio::spawn(run(rx, wal, open, on_commit, failed, stats, health));
        (Durability { batches, task }, disk_failed)
    }

    /// Hands over a committed batch; false once the task has stopped.
    pub(super) async fn push(&self, committed: Committed) -> bool {
        self.batches.send(committed).await.is_ok()
    }

    /// Answers everything handed over, then ends the task.
    pub(super) async fn close(self) {
        drop(self.batches);
        let _ = self.task.await;
    }
}

async fn run(
    mut rx: mpsc::Receiver<Committed>,
    wal: PathBuf,
    open: OpenLots,
    on_commit: CommitHook,
    failed: oneshot::Sender<()>,
    stats: Arc<HouseStats>,
    health: Arc<StorageHealth>,
) {
    // Taken when a sync fails: from then on every batch is failed, not answered.
    let mut alarm = Some(failed);
    let mut group = Vec::new();
    while rx.recv_many(&mut group, QUEUED_BATCHES).await > 0 {
        // Every batch in the group was committed before this sync starts, so it covers them all.
        if alarm.is_some() && group.iter().any(|c| c.wrote) {
            let began = Instant::now();
            let synced = sync_when_possible(&wal, &health, &rx).await;
            stats.sync(group.len(), began.elapsed());
            if let Err(error) = synced {
                health.failed();
                tracing::error!(%error, "the WAL could not be synced; the auction house stops");
                if let Some(tell) = alarm.take() {
                    let _ = tell.send(());
                }
            }
        }
        for committed in group.drain(..) {
            if alarm.is_none() {
                committed.answers.into_iter().for_each(Answer::fail);
                continue;
            }
            for update in committed.view {
                open.update(update);
            }
            // The bidders first: their handlers are woken ahead of the watchers' streams, so a
            // bid on a lot 19,000 browsers watch is confirmed before the fan-out, not after it.
            committed.answers.into_iter().for_each(Answer::send);
            if !committed.events.is_empty() || !committed.notices.is_empty() {
                on_commit(&committed.events, &committed.notices);
            }
        }
    }
}

/// Why a sync did not happen: the WAL could not be opened (no descriptor left, a read-only
/// file), which passes, or the disk refused the sync itself, which may have lost data.
enum SyncError {
    Open(std::io::Error),
    Sync(std::io::Error),
}

fn sync_wal(wal: &std::path::Path) -> Result<(), SyncError> {
    // Opened afresh each time: SQLite deletes and recreates the WAL when the last connection
    // closes, and a kept descriptor would sync a file nobody writes.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(wal)
        .map_err(SyncError::Open)?;
    file.sync_data().map_err(SyncError::Sync)
}

/// Syncs the WAL, waiting out a failure to open it with the house's backoff (the batches wait
/// with their answers; new writes are refused meanwhile). A failed sync is returned: after it
/// the kernel may have dropped the pages, so no later sync could vouch for them.
async fn sync_when_possible(
    wal: &std::path::Path,
    health: &StorageHealth,
    rx: &mpsc::Receiver<Committed>,
) -> std::io::Result<()> {
    let mut tries = 0u32;
    loop {
        let path = wal.to_path_buf();
        let result = tokio::task::spawn_blocking(move || sync_wal(&path))
            .await
            .unwrap_or_else(|e| Err(SyncError::Sync(std::io::Error::other(e))));
        match result {
            Ok(()) => {
                health.succeeded();
                return Ok(());
            }
            Err(SyncError::Sync(e)) => return Err(e),
            Err(SyncError::Open(e)) => {
                if tries == 0 {
                    tracing::error!(error = %e, "the WAL cannot be opened to sync it; trying again");
                }
                tries += 1;
                health.failed();
                // Stopping, with storage still gone: give up after a few tries.
                if rx.is_closed() && tries > 3 {
                    return Err(e);
                }
                tokio::time::sleep(health.wait()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Cents, NewLot, UserRef};
    use std::sync::Mutex;
    use uuid::Uuid;

    /// The hook publishing a batch's events finds its callers already answered.
    #[tokio::test]
    async fn a_batch_is_answered_before_its_events_are_published() {
        let (reply, answer) = oneshot::channel();
        let answer = Mutex::new(answer);
        let seen = Arc::new(Mutex::new(None));
        let seen_then = seen.clone();
        let hook: CommitHook = Box::new(move |_events, _notices| {
            let answered = answer.lock().map(|mut rx| rx.try_recv().is_ok());
            if let Ok(mut seen) = seen_then.lock() {
                *seen = answered.ok();
            }
        });
        let seller = UserRef {
            id: Uuid::now_v7(),
            username: "sam".into(),
        };
        let offer = NewLot::parse("Lamp", "", Cents::new(1_000), None, 60).expect("valid offer");
        let lot = Lot::new_pending(Uuid::now_v7(), seller, offer, chrono::Utc::now());
        let event = StoredEvent {
            id: 1,
            lot_id: lot.id(),
            seq: 1,
            kind: "opened".into(),
            at: chrono::Utc::now(),
            data: "{}".into(),
        };
        let (durability, _failed) = Durability::start(
            PathBuf::from("unused: this batch wrote nothing to sync"),
            OpenLots::default(),
            hook,
            Arc::new(HouseStats::default()),
            Arc::new(StorageHealth::default()),
        );
        let committed = Committed {
            wrote: false,
            view: Vec::new(),
            events: vec![event],
            notices: Vec::new(),
            answers: vec![Answer::Lot(reply, Ok(lot))],
        };
        assert!(durability.push(committed).await);
        durability.close().await;
        assert_eq!(*seen.lock().expect("seen"), Some(true));
    }
}
