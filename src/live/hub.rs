//! Channels per lot and for the whole site, carrying pre-serialized events; the recent events
//! in memory for resume, older ones from the database. Publishing never waits for a watcher.

use super::event::LiveEvent;
use super::metrics::Metrics;
use crate::store::Store;
use crate::store::events::StoredEvent;
use crate::store::notices::StoredNotice;
use bytes::Bytes;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;
use uuid::Uuid;

/// Events kept in memory for watchers that resume or fall behind.
const RECENT: usize = 16_384;
/// How far a watcher may fall behind its channel before it is resynced from the backlog.
const CHANNEL_DEPTH: usize = 1_024;
/// A user's notices come a few at a time: a small channel each (64 slots cost 3.6 KiB more per
/// notices stream than 16, BENCHMARKS.md); one that falls behind catches up from the database.
const USER_CHANNEL_DEPTH: usize = 16;
/// Database reads for a backlog go in pages of this many events.
const BACKLOG_PAGE: i64 = 1_000;

#[derive(Clone, Debug)]
pub enum Push {
    Event(Arc<LiveEvent>),
    /// An SSE `presence` frame for one lot's watchers (no id: not part of the log).
    Presence(Bytes),
    /// Time for a heartbeat on held streams (one tick for all, not a timer per watcher).
    Heartbeat,
    /// The server is stopping: end the stream (the client reconnects elsewhere).
    Shutdown,
    /// Pushes were lost on the way (a relay fell behind): catch up from the backlog.
    Missed,
}

/// Which events a watcher wants.
#[derive(Clone, Debug)]
pub enum Filter {
    Lot(Uuid),
    Lots(Arc<HashSet<Uuid>>),
    All,
}

impl Filter {
    pub fn matches(&self, lot: Uuid) -> bool {
        match self {
            Filter::Lot(id) => *id == lot,
            Filter::Lots(ids) => ids.contains(&lot),
            Filter::All => true,
        }
    }
}

/// What a held stream or poll follows: lot events, or one user's notices.
#[derive(Clone, Debug)]
pub enum Source {
    Events(Filter),
    Notices(Uuid),
}

impl Source {
    pub fn matches(&self, e: &LiveEvent) -> bool {
        match self {
            Source::Events(filter) => filter.matches(e.lot_id),
            // The user's own channel carries only their notices.
            Source::Notices(_) => true,
        }
    }
}

pub struct LotChannel {
    pub tx: broadcast::Sender<Push>,
    /// Held streams on this lot, for presence.
    pub watchers: AtomicUsize,
}

pub struct Hub {
    store: Store,
    site: broadcast::Sender<Push>,
    pub(super) lots: Mutex<HashMap<Uuid, Arc<LotChannel>>>,
    /// Each signed-in user's notices (API.md §7), for the streams and polls they hold.
    pub(super) users: Mutex<HashMap<Uuid, broadcast::Sender<Push>>>,
    /// Lots known to have events (they opened): attaching to them needs no database read.
    opened: RwLock<HashSet<Uuid>>,
    recent: RwLock<VecDeque<Arc<LiveEvent>>>,
    latest: AtomicI64,
    pub(super) max_streams: usize,
    pub(super) held: AtomicUsize,
    stopping: std::sync::atomic::AtomicBool,
    pub metrics: Metrics,
}

impl Hub {
    pub async fn new(
        store: Store,
        max_streams: usize,
        heartbeat: std::time::Duration,
    ) -> anyhow::Result<Arc<Hub>> {
        let latest = store.latest_event_id().await?;
        let (site, _) = broadcast::channel(CHANNEL_DEPTH);
        let hub = Arc::new(Hub {
            store,
            site,
            lots: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
            opened: RwLock::new(HashSet::new()),
            recent: RwLock::new(VecDeque::with_capacity(RECENT)),
            latest: AtomicI64::new(latest),
            max_streams,
            held: AtomicUsize::new(0),
            stopping: std::sync::atomic::AtomicBool::new(false),
            metrics: Metrics::default(),
        });
        super::presence::spawn(Arc::downgrade(&hub));
        super::presence::spawn_heartbeats(Arc::downgrade(&hub), heartbeat);
        Ok(hub)
    }

    pub fn latest_id(&self) -> i64 {
        self.latest.load(Ordering::Acquire)
    }

    /// The events after `after` (up to the latest), as (lot, whether a plain bid), from
    /// memory; `None` when they are more than `at_most` or older than memory holds.
    pub fn changes_since(&self, after: i64, at_most: usize) -> Option<Vec<(Uuid, bool)>> {
        let recent = self.recent.read().ok()?;
        let mut changes = Vec::new();
        for e in recent.iter().rev() {
            if e.id <= after {
                return Some(changes);
            }
            if changes.len() == at_most {
                return None;
            }
            changes.push((e.lot_id, e.only_bid));
        }
        // Memory starts after `after` (or holds nothing): what came between is not known here.
        (recent.front().is_some_and(|f| f.id == after + 1) || self.latest_id() == after)
            .then_some(changes)
    }

    /// Called by the auction house right after a commit, with the batch's events in id order.
    pub fn publish(&self, events: &[StoredEvent]) {
        let live: Vec<Arc<LiveEvent>> =
            events.iter().map(|e| Arc::new(LiveEvent::new(e))).collect();
        if let Ok(mut recent) = self.recent.write() {
            for e in &live {
                if recent.len() == RECENT {
                    recent.pop_front();
                }
                recent.push_back(e.clone());
            }
        }
        if let Some(last) = live.last() {
            self.latest.store(last.id, Ordering::Release);
        }
        if let Ok(mut opened) = self.opened.write() {
            opened.extend(live.iter().map(|e| e.lot_id));
        }
        let lots = self.lots.lock().ok();
        for e in live {
            self.metrics
                .events_published
                .fetch_add(1, Ordering::Relaxed);
            if let Some(channel) = lots.as_ref().and_then(|l| l.get(&e.lot_id)) {
                let _ = channel.tx.send(Push::Event(e.clone()));
            }
            let _ = self.site.send(Push::Event(e));
        }
    }

    /// Called by the auction house right after a commit, with the batch's notices in id order.
    pub fn publish_notices(&self, notices: &[StoredNotice]) {
        if notices.is_empty() {
            return;
        }
        let Ok(users) = self.users.lock() else { return };
        for n in notices {
            if let Some(tx) = users.get(&n.user_id) {
                let _ = tx.send(Push::Event(Arc::new(LiveEvent::notice(n))));
            }
        }
    }

    /// The channel of one user's notices; subscribe before reading the backlog.
    pub fn subscribe_user(&self, user: Uuid) -> broadcast::Receiver<Push> {
        let mut users = match self.users.lock() {
            Ok(u) => u,
            Err(poisoned) => poisoned.into_inner(),
        };
        users
            .entry(user)
            .or_insert_with(|| broadcast::channel(USER_CHANNEL_DEPTH).0)
            .subscribe()
    }

    /// One page of a user's notices after `after`, from the database (they are few, and
    /// indexed by user): the notices, the id scanned up to, and whether that was the last.
    pub async fn notice_page(
        &self,
        user: Uuid,
        after: i64,
    ) -> Result<(Vec<Arc<LiveEvent>>, i64, bool), sqlx::Error> {
        let page = self
            .store
            .notices_after(user, after, BACKLOG_PAGE, false)
            .await?;
        let done = (page.len() as i64) < BACKLOG_PAGE;
        let upto = page.last().map_or(after, |n| n.id);
        let live = page
            .iter()
            .map(|n| Arc::new(LiveEvent::stored_notice(n)))
            .collect();
        Ok((live, upto, done))
    }

    /// The channel a source's watcher listens on; subscribe before reading the backlog.
    pub fn subscribe_to(
        &self,
        source: &Source,
    ) -> (broadcast::Receiver<Push>, Option<Arc<LotChannel>>) {
        match source {
            Source::Events(filter) => self.subscribe(filter),
            Source::Notices(user) => (self.subscribe_user(*user), None),
        }
    }

    /// One page of the source's backlog after `after` (see `backlog_page`).
    pub async fn page(
        &self,
        source: &Source,
        after: i64,
    ) -> Result<(Vec<Arc<LiveEvent>>, i64, bool), sqlx::Error> {
        match source {
            Source::Events(filter) => self.backlog_page(filter, after).await,
            Source::Notices(user) => self.notice_page(*user, after).await,
        }
    }

    /// Where "new events only" starts for this source.
    pub async fn latest_of(&self, source: &Source) -> Result<i64, sqlx::Error> {
        match source {
            Source::Events(_) => Ok(self.latest_id()),
            Source::Notices(user) => self.store.latest_notice_id(*user).await,
        }
    }

    /// The channel a watcher listens on; subscribe before reading the backlog.
    pub fn subscribe(
        &self,
        filter: &Filter,
    ) -> (broadcast::Receiver<Push>, Option<Arc<LotChannel>>) {
        match filter {
            Filter::Lot(id) => {
                let (rx, channel) =
                    super::relay::subscribe(*id, CHANNEL_DEPTH, || self.lot_channel(*id));
                (rx, Some(channel))
            }
            _ => (self.site.subscribe(), None),
        }
    }

    pub fn lot_channel(&self, id: Uuid) -> Arc<LotChannel> {
        let mut lots = match self.lots.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        lots.entry(id)
            .or_insert_with(|| {
                Arc::new(LotChannel {
                    tx: broadcast::channel(CHANNEL_DEPTH).0,
                    watchers: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// One page of the events after `after` that the filter wants: from memory when the recent
    /// buffer reaches back that far, otherwise from the database. Returns the events, the id
    /// scanned up to (the next `after`), and whether that reached the latest event.
    pub async fn backlog_page(
        &self,
        filter: &Filter,
        after: i64,
    ) -> Result<(Vec<Arc<LiveEvent>>, i64, bool), sqlx::Error> {
        let mut cursor = after;
        loop {
            if let Some(page) = self.page_in_memory(filter, cursor) {
                return Ok(page);
            }
            let lot = match filter {
                Filter::Lot(id) => Some(*id),
                _ => None,
            };
            let page = self.store.events_after(lot, cursor, BACKLOG_PAGE).await?;
            let Some(last) = page.last() else {
                return Ok((Vec::new(), cursor, true));
            };
            cursor = last.id;
            let done = (page.len() as i64) < BACKLOG_PAGE;
            let events: Vec<Arc<LiveEvent>> = page
                .iter()
                .filter(|e| filter.matches(e.lot_id))
                .map(|e| Arc::new(LiveEvent::new(e)))
                .collect();
            // A filtered page may hold nothing for this watcher: read on.
            if !events.is_empty() || done {
                return Ok((events, cursor, done));
            }
        }
    }

    /// `backlog_page` when memory holds it, without waiting; `None` when it takes a database read.
    pub fn page_in_memory(
        &self,
        filter: &Filter,
        after: i64,
    ) -> Option<(Vec<Arc<LiveEvent>>, i64, bool)> {
        if after >= self.latest_id() {
            return Some((Vec::new(), after, true));
        }
        self.recent_after(filter, after)
    }

    /// Starts this worker thread's relay for the lot if need be (see `relay::relay_for`);
    /// `false` off the workers.
    pub fn relay_for(&self, lot: Uuid) -> bool {
        super::relay::relay_for(lot, CHANNEL_DEPTH, || self.lot_channel(lot))
    }

    /// `None` when memory does not reach back to `after`; at most one page.
    fn recent_after(
        &self,
        filter: &Filter,
        after: i64,
    ) -> Option<(Vec<Arc<LiveEvent>>, i64, bool)> {
        let recent = self.recent.read().ok()?;
        let oldest = recent.front()?.id;
        if oldest > after + 1 {
            return None;
        }
        let start = recent.partition_point(|e| e.id <= after);
        let mut events = Vec::new();
        let mut upto = after;
        for e in recent.range(start..) {
            if events.len() as i64 == BACKLOG_PAGE {
                return Some((events, upto, false));
            }
            upto = e.id;
            if filter.matches(e.lot_id) {
                events.push(e.clone());
            }
        }
        Some((events, upto, true))
    }

    pub fn is_known_open(&self, lot: Uuid) -> bool {
        self.opened.read().is_ok_and(|o| o.contains(&lot))
    }

    pub fn mark_opened(&self, lot: Uuid) {
        if let Ok(mut opened) = self.opened.write() {
            opened.insert(lot);
        }
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Asks every held stream for a heartbeat.
    pub fn heartbeat(&self) {
        self.tell_everyone(Push::Heartbeat);
    }

    /// Ends every held stream so browsers reconnect (elsewhere, or to the next server). The word
    /// goes down the same channels as events, so no watcher keeps a second waiter registered.
    pub fn shut_down(&self) {
        self.stopping.store(true, Ordering::Release);
        self.tell_everyone(Push::Shutdown);
    }

    /// Sends `push` down the site's channel, every lot's and every user's.
    fn tell_everyone(&self, push: Push) {
        let _ = self.site.send(push.clone());
        if let Ok(lots) = self.lots.lock() {
            for channel in lots.values() {
                let _ = channel.tx.send(push.clone());
            }
        }
        if let Ok(users) = self.users.lock() {
            for tx in users.values() {
                let _ = tx.send(push.clone());
            }
        }
    }
}
