//! A lot's pushes reach the watchers on one worker thread through one relay task on that thread.
//!
//! Why (measured, BENCHMARKS.md): the auction house publishes from its own thread, so without a
//! relay every waiting poller is woken from another thread, and tokio's `LocalSet` runs a task
//! woken from elsewhere only one turn in 31 while tasks woken on its own thread are queued. In a
//! fan-out to 10,000 pollers, the polls that answered pollers send straight back are such local
//! work: the answers still owed waited behind them (41% were written more than 50 ms after the
//! publish). A relay takes the one wake from the house's thread and wakes its thread's watchers
//! there, in order, ahead of the polls coming back; subscribing and leaving also stay off the
//! lot channel's shared lock.
//!
//! A long poll may also park on the relay (`park`): the relay then answers it itself, in one
//! loop over the parked polls, as Nchan does, and its task is not woken for the answer (only
//! when its client sends the next request). Measured (BENCHMARKS.md): user space was ~40% of
//! Gavel's CPU per long-poll answer, mostly waking, polling and ending a task and its receiver
//! per answer, and a fan-out's returning polls each woke a sleeping worker.
//!
//! Relays run only on threads marked with `allow_here` (the server's workers, whose runtimes run
//! a `LocalSet`); elsewhere watchers subscribe to the lot's channel directly.

use super::LiveEvent;
use super::hub::{LotChannel, Push};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

/// A long poll parked on its thread's relay for a lot.
pub trait Parked {
    /// The lot's next event. Whether the poll is done with (answered, or handed back to its
    /// task); `false` keeps it parked (an event it has seen).
    fn deliver(&self, event: &Arc<LiveEvent>) -> bool;
    /// The relay cannot answer it (the server stops, pushes were missed, the lot's channel
    /// closed): its task takes over.
    fn release(&self);
    /// Whether it still waits here (a poll that timed out or whose client left does not).
    fn waiting(&self) -> bool;
}

/// The polls parked on a relay; an entry whose poll has left is dropped at the next push.
type ParkedList = Rc<RefCell<Vec<Weak<dyn Parked>>>>;

/// A relay as its thread knows it: the sending side its watchers subscribe to, the lot's
/// channel (so a watcher here need not look it up under the hub's lock), and its parked polls.
struct Relay {
    local: broadcast::Sender<Push>,
    channel: Arc<LotChannel>,
    parked: ParkedList,
}

thread_local! {
    static ALLOWED: Cell<bool> = const { Cell::new(false) };
    /// This thread's relays, by lot.
    static RELAYS: RefCell<HashMap<Uuid, Relay>> = RefCell::new(HashMap::new());
}

/// Marks the calling thread as a server worker: its runtime runs a `LocalSet`, where relays may
/// be spawned.
pub fn allow_here() {
    ALLOWED.set(true);
}

/// A receiver of everything the lot's channel (`channel` finds it) carries from now on, and
/// the channel: through this thread's relay for the lot where relays may run.
pub fn subscribe(
    lot: Uuid,
    depth: usize,
    channel: impl FnOnce() -> Arc<LotChannel>,
) -> (broadcast::Receiver<Push>, Arc<LotChannel>) {
    if !ALLOWED.get() {
        let channel = channel();
        return (channel.tx.subscribe(), channel);
    }
    with_relay(lot, depth, channel, |relay| {
        (relay.local.subscribe(), relay.channel.clone())
    })
}

/// Starts this thread's relay for the lot if need be (it hears every push from now on);
/// `false` off the workers. A poll checks its backlog after this and parks (`park`) before it
/// yields: an event it did not find is then one the relay has yet to bring.
pub fn relay_for(lot: Uuid, depth: usize, channel: impl FnOnce() -> Arc<LotChannel>) -> bool {
    ALLOWED.get() && with_relay(lot, depth, channel, |_| true)
}

/// Parks a poll on this thread's relay for the lot (started by `relay_for`); `false` if there
/// is none.
pub fn park(lot: Uuid, poll: Weak<dyn Parked>) -> bool {
    RELAYS.with_borrow(|relays| {
        let Some(relay) = relays.get(&lot) else {
            return false;
        };
        let mut parked = relay.parked.borrow_mut();
        // Polls that time out and come back faster than pushes arrive leave entries behind:
        // sweep them when they outnumber the rest, so the list stays within twice the polls.
        if parked.len() >= 64 && parked.len().is_power_of_two() {
            parked.retain(still_parked);
        }
        parked.push(poll);
        true
    })
}

/// Whether the entry's poll is still there and waiting.
fn still_parked(poll: &Weak<dyn Parked>) -> bool {
    poll.upgrade().is_some_and(|p| p.waiting())
}

fn with_relay<T>(
    lot: Uuid,
    depth: usize,
    channel: impl FnOnce() -> Arc<LotChannel>,
    then: impl FnOnce(&Relay) -> T,
) -> T {
    RELAYS.with_borrow_mut(|relays| {
        if let Some(relay) = relays.get(&lot) {
            return then(relay);
        }
        // The relay subscribes here, before the watcher reads its backlog: what is published
        // after this point reaches the watcher through it.
        let channel = channel();
        let (local, _) = broadcast::channel(depth);
        let relay = Relay {
            local: local.clone(),
            channel: channel.clone(),
            parked: ParkedList::default(),
        };
        tokio::task::spawn_local(run(
            lot,
            channel.tx.subscribe(),
            local,
            relay.parked.clone(),
        ));
        then(relays.entry(lot).or_insert(relay))
    })
}

/// Forwards the lot's pushes to this thread's watchers and answers its parked polls, until
/// neither is left (seen at the next push: heartbeats come every few seconds) or the lot's
/// channel closes.
async fn run(
    lot: Uuid,
    mut shared: broadcast::Receiver<Push>,
    local: broadcast::Sender<Push>,
    parked: ParkedList,
) {
    loop {
        let push = match shared.recv().await {
            Ok(push) => push,
            // The relay fell behind the channel: its watchers catch up from the backlog.
            Err(RecvError::Lagged(_)) => Push::Missed,
            Err(RecvError::Closed) => break,
        };
        let parked_left = answer_parked(&parked, &push);
        if local.send(push).is_err() && !parked_left {
            break;
        }
    }
    RELAYS.with_borrow_mut(|relays| {
        if relays
            .get(&lot)
            .is_some_and(|relay| relay.local.same_channel(&local))
        {
            relays.remove(&lot);
        }
    });
    for poll in parked.take() {
        if let Some(poll) = poll.upgrade() {
            poll.release();
        }
    }
}

/// Hands `push` to the parked polls; whether any is still parked.
fn answer_parked(parked: &ParkedList, push: &Push) -> bool {
    // Out of the cell while polls are answered: nothing parks meanwhile (one thread, no await).
    let mut list = parked.take();
    match push {
        Push::Event(event) => {
            list.retain(|p| {
                p.upgrade()
                    .is_some_and(|p| p.waiting() && !p.deliver(event))
            });
        }
        Push::Heartbeat | Push::Presence(_) => list.retain(still_parked),
        Push::Shutdown | Push::Missed => {
            for poll in list.drain(..) {
                if let Some(poll) = poll.upgrade()
                    && poll.waiting()
                {
                    poll.release();
                }
            }
        }
    }
    let left = !list.is_empty();
    *parked.borrow_mut() = list;
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::task::LocalSet;

    fn lot_channel(depth: usize) -> Arc<LotChannel> {
        Arc::new(LotChannel {
            tx: broadcast::channel(depth).0,
            watchers: AtomicUsize::new(0),
        })
    }

    fn relays_here() -> usize {
        RELAYS.with_borrow(HashMap::len)
    }

    /// Runs `body` as on a server worker: in a `LocalSet`, where relays may run.
    async fn on_a_worker(body: impl std::future::Future<Output = ()>) {
        LocalSet::new()
            .run_until(async {
                allow_here();
                body.await;
            })
            .await;
    }

    /// Lets the relays on this thread run until `done` holds (a bounded number of turns).
    async fn turns_until(done: impl Fn() -> bool) {
        for _ in 0..100 {
            if done() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("not reached in 100 turns");
    }

    #[tokio::test]
    async fn one_relay_per_lot_on_a_thread_forwards_in_order() {
        on_a_worker(async {
            let shared = lot_channel(8);
            let (lot, other) = (Uuid::now_v7(), Uuid::now_v7());
            let mut a = subscribe(lot, 8, || shared.clone()).0;
            let mut b = subscribe(lot, 8, || shared.clone()).0;
            assert_eq!((relays_here(), shared.tx.receiver_count()), (1, 1));
            let other_shared = lot_channel(8);
            let _c = subscribe(other, 8, || other_shared.clone()).0;
            assert_eq!(relays_here(), 2);
            shared.tx.send(Push::Heartbeat).expect("the relay listens");
            shared.tx.send(Push::Shutdown).expect("the relay listens");
            for rx in [&mut a, &mut b] {
                assert!(matches!(rx.recv().await, Ok(Push::Heartbeat)));
                assert!(matches!(rx.recv().await, Ok(Push::Shutdown)));
            }
        })
        .await;
    }

    #[tokio::test]
    async fn a_relay_left_without_watchers_ends_at_the_next_push() {
        on_a_worker(async {
            let shared = lot_channel(8);
            let lot = Uuid::now_v7();
            drop(subscribe(lot, 8, || shared.clone()).0);
            assert_eq!(relays_here(), 1);
            shared.tx.send(Push::Heartbeat).expect("the relay listens");
            turns_until(|| relays_here() == 0).await;
            assert_eq!(shared.tx.receiver_count(), 0);
            // A new watcher gets a new relay.
            let mut rx = subscribe(lot, 8, || shared.clone()).0;
            assert_eq!((relays_here(), shared.tx.receiver_count()), (1, 1));
            shared.tx.send(Push::Shutdown).expect("the relay listens");
            assert!(matches!(rx.recv().await, Ok(Push::Shutdown)));
        })
        .await;
    }

    #[tokio::test]
    async fn a_relay_that_falls_behind_says_so_before_going_on() {
        on_a_worker(async {
            let shared = lot_channel(2);
            let mut rx = subscribe(Uuid::now_v7(), 8, || shared.clone()).0;
            // Five pushes before the relay first runs: it keeps the last two.
            for _ in 0..5 {
                shared.tx.send(Push::Heartbeat).expect("the relay listens");
            }
            assert!(matches!(rx.recv().await, Ok(Push::Missed)));
            assert!(matches!(rx.recv().await, Ok(Push::Heartbeat)));
            assert!(matches!(rx.recv().await, Ok(Push::Heartbeat)));
            shared.tx.send(Push::Shutdown).expect("the relay listens");
            assert!(matches!(rx.recv().await, Ok(Push::Shutdown)));
        })
        .await;
    }

    /// A parked poll as the relay sees it: the events it was answered with, or its release.
    struct Poll {
        after: i64,
        answered: RefCell<Vec<i64>>,
        released: Cell<bool>,
    }

    impl Parked for Poll {
        fn deliver(&self, event: &Arc<LiveEvent>) -> bool {
            if event.id <= self.after {
                return false;
            }
            self.answered.borrow_mut().push(event.id);
            true
        }
        fn release(&self) {
            self.released.set(true);
        }
        fn waiting(&self) -> bool {
            self.answered.borrow().is_empty() && !self.released.get()
        }
    }

    fn poll(after: i64) -> Rc<Poll> {
        Rc::new(Poll {
            after,
            answered: RefCell::default(),
            released: Cell::new(false),
        })
    }

    fn event(id: i64, lot: Uuid) -> Push {
        Push::Event(Arc::new(LiveEvent {
            id,
            lot_id: lot,
            sse: bytes::Bytes::new(),
            line: bytes::Bytes::new(),
            published: std::time::Instant::now(),
            only_bid: true,
        }))
    }

    #[tokio::test]
    async fn a_relay_answers_its_parked_polls_and_stays_while_one_waits() {
        on_a_worker(async {
            let shared = lot_channel(8);
            let lot = Uuid::now_v7();
            assert!(!park(lot, Rc::downgrade(&poll(0)) as Weak<dyn Parked>));
            assert!(relay_for(lot, 8, || shared.clone()));
            let (early, late, gone) = (poll(5), poll(7), poll(5));
            for p in [&early, &late, &gone] {
                assert!(park(lot, Rc::downgrade(p) as Weak<dyn Parked>));
            }
            drop(gone);
            shared.tx.send(event(6, lot)).expect("the relay listens");
            turns_until(|| !early.answered.borrow().is_empty()).await;
            // The later cursor has seen event 6: still parked, and the relay with it,
            // though no watcher subscribes to it.
            assert_eq!(*early.answered.borrow(), [6]);
            assert!(late.waiting());
            shared.tx.send(Push::Heartbeat).expect("the relay listens");
            tokio::task::yield_now().await;
            assert_eq!(relays_here(), 1);
            // The server stops: the poll goes back to its task; with nothing parked and
            // nobody subscribed, the relay ends.
            shared.tx.send(Push::Shutdown).expect("the relay listens");
            turns_until(|| relays_here() == 0).await;
            assert!(late.released.get());
            assert_eq!(*early.answered.borrow(), [6]);
            assert!(late.answered.borrow().is_empty());
        })
        .await;
    }

    #[tokio::test]
    async fn a_relay_that_falls_behind_hands_its_parked_polls_back() {
        on_a_worker(async {
            let shared = lot_channel(2);
            let lot = Uuid::now_v7();
            assert!(relay_for(lot, 8, || shared.clone()));
            let parked = poll(5);
            assert!(park(lot, Rc::downgrade(&parked) as Weak<dyn Parked>));
            // Five pushes before the relay first runs: it missed some, and cannot know
            // whether an event was among them, so the poll goes back to its task.
            for _ in 0..5 {
                shared.tx.send(Push::Heartbeat).expect("the relay listens");
            }
            turns_until(|| parked.released.get()).await;
            assert!(parked.answered.borrow().is_empty());
        })
        .await;
    }

    #[test]
    fn off_the_workers_watchers_subscribe_to_the_lot_itself() {
        let shared = lot_channel(8);
        assert!(!relay_for(Uuid::now_v7(), 8, || shared.clone()));
        let _rx = subscribe(Uuid::now_v7(), 8, || shared.clone()).0;
        assert_eq!((relays_here(), shared.tx.receiver_count()), (0, 1));
    }
}
