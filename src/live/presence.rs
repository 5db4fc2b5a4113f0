//! Watcher counts, sent to each lot's watchers at most once a second when they change; and the
//! heartbeat tick that keeps every held stream from falling silent.

use super::hub::{Hub, Push};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::Duration;
use uuid::Uuid;

pub fn frame(lot: Uuid, watchers: usize) -> Bytes {
    Bytes::from(format!(
        "event: presence\ndata: {{\"lot_id\":\"{lot}\",\"watchers\":{watchers}}}\n\n"
    ))
}

pub fn spawn(hub: Weak<Hub>) {
    tokio::spawn(async move {
        let mut sent: HashMap<Uuid, usize> = HashMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(hub) = hub.upgrade() else { return };
            if let Ok(mut users) = hub.users.lock() {
                users.retain(|_, tx| tx.receiver_count() > 0);
            }
            let Ok(mut lots) = hub.lots.lock() else {
                continue;
            };
            // Channels nobody listens to any more are dropped here, under the same lock
            // that subscribing takes, so none is dropped while someone joins.
            lots.retain(|id, channel| {
                let keep = channel.tx.receiver_count() > 0;
                if !keep {
                    sent.remove(id);
                }
                keep
            });
            for (id, channel) in lots.iter() {
                let now = channel.watchers.load(Ordering::Relaxed);
                if sent.get(id) != Some(&now) {
                    sent.insert(*id, now);
                    let _ = channel.tx.send(Push::Presence(frame(*id, now)));
                }
            }
        }
    });
}

/// Every half `every`, one `Heartbeat` down each channel, so no watcher needs a timer of its
/// own. A stream writes one only if it sent nothing since the tick before, so none is silent
/// for longer than `every`, and streams that carry events are not all written to at once.
pub fn spawn_heartbeats(hub: Weak<Hub>, every: Duration) {
    let half = every / 2;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + half, half);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(hub) = hub.upgrade() else { return };
            hub.heartbeat();
        }
    });
}
