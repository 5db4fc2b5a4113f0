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
//! Relays run only on threads marked with `allow_here` (the server's workers, whose runtimes run
//! a `LocalSet`); elsewhere watchers subscribe to the lot's channel directly.

use super::hub::{LotChannel, Push};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

/// A relay as its thread knows it: the sending side its watchers subscribe to, and the lot's
/// channel (so a watcher here need not look it up under the hub's lock).
type Relay = (broadcast::Sender<Push>, Arc<LotChannel>);

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
    RELAYS.with_borrow_mut(|relays| {
        if let Some((local, channel)) = relays.get(&lot) {
            return (local.subscribe(), channel.clone());
        }
        // The relay subscribes here, before the watcher reads its backlog: what is published
        // after this point reaches the watcher through it.
        let channel = channel();
        let (local, rx) = broadcast::channel(depth);
        relays.insert(lot, (local.clone(), channel.clone()));
        tokio::task::spawn_local(relay(lot, channel.tx.subscribe(), local));
        (rx, channel)
    })
}

/// Forwards the lot's pushes to this thread's watchers until none is left (seen at the next
/// push: heartbeats come every few seconds) or the lot's channel closes.
async fn relay(lot: Uuid, mut shared: broadcast::Receiver<Push>, local: broadcast::Sender<Push>) {
    loop {
        let push = match shared.recv().await {
            Ok(push) => push,
            // The relay fell behind the channel: its watchers catch up from the backlog.
            Err(RecvError::Lagged(_)) => Push::Missed,
            Err(RecvError::Closed) => break,
        };
        if local.send(push).is_err() {
            break;
        }
    }
    RELAYS.with_borrow_mut(|relays| {
        if relays
            .get(&lot)
            .is_some_and(|(l, _)| l.same_channel(&local))
        {
            relays.remove(&lot);
        }
    });
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
        LocalSet::new()
            .run_until(async {
                allow_here();
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
        LocalSet::new()
            .run_until(async {
                allow_here();
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
        LocalSet::new()
            .run_until(async {
                allow_here();
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

    #[test]
    fn off_the_workers_watchers_subscribe_to_the_lot_itself() {
        let shared = lot_channel(8);
        let _rx = subscribe(Uuid::now_v7(), 8, || shared.clone()).0;
        assert_eq!((relays_here(), shared.tx.receiver_count()), (0, 1));
    }
}
