//! What the auction house's group commit is doing, for `/metrics` and `gavel-load`: how many
//! commands a batch carries, how much of the time the house spends applying commands and the
//! writer writing batches, and how many batches each WAL sync covers and how long it takes.
//! These say which stage paces the bids: a stage busy nearly all the time is the bound.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Default, Debug)]
pub struct HouseStats {
    batches: AtomicU64,
    commands: AtomicU64,
    applying_us: AtomicU64,
    writing_us: AtomicU64,
    syncs: AtomicU64,
    synced_batches: AtomicU64,
    sync_us: AtomicU64,
    bids_accepted: AtomicU64,
    bids_rejected: [AtomicU64; 5],
}

/// Reasons a bid is refused, in the order of `bids_rejected`.
pub const REJECT_REASONS: [&str; 5] = [
    "too_low",
    "lot_not_open",
    "auction_ended",
    "forbidden",
    "other",
];

impl HouseStats {
    /// A batch applied, and how long the house spent applying it.
    pub(super) fn batch(&self, commands: usize, took: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.commands.fetch_add(commands as u64, Ordering::Relaxed);
        self.applying_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// A batch's SQL written (the house applies the next batch meanwhile).
    pub(super) fn write(&self, took: Duration) {
        self.writing_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// One WAL sync covering `batches` committed batches.
    pub(super) fn sync(&self, batches: usize, took: Duration) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.synced_batches
            .fetch_add(batches as u64, Ordering::Relaxed);
        self.sync_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn bid_accepted(&self) {
        self.bids_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// A refused bid, by one of `REJECT_REASONS` (anything else counts as "other").
    pub fn bid_rejected(&self, reason: &str) {
        let i = REJECT_REASONS
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(4);
        self.bids_rejected[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text lines.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# TYPE gavel_bids_accepted_total counter");
        let _ = writeln!(
            out,
            "gavel_bids_accepted_total {}",
            self.bids_accepted.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# TYPE gavel_bids_rejected_total counter");
        for (i, reason) in REJECT_REASONS.iter().enumerate() {
            let _ = writeln!(
                out,
                "gavel_bids_rejected_total{{reason=\"{reason}\"}} {}",
                self.bids_rejected[i].load(Ordering::Relaxed)
            );
        }
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let seconds = |a: &AtomicU64| load(a) as f64 / 1e6;
        let lines = [
            (
                "gavel_house_batches_total",
                "counter",
                "Batches the auction house applied and committed.",
                load(&self.batches).to_string(),
            ),
            (
                "gavel_house_commands_total",
                "counter",
                "Commands (bids, lot changes) in those batches.",
                load(&self.commands).to_string(),
            ),
            (
                "gavel_house_applying_seconds_total",
                "counter",
                "Time the house spent applying commands to batches.",
                seconds(&self.applying_us).to_string(),
            ),
            (
                "gavel_house_writing_seconds_total",
                "counter",
                "Time the house spent writing batches to SQLite.",
                seconds(&self.writing_us).to_string(),
            ),
            (
                "gavel_wal_syncs_total",
                "counter",
                "WAL syncs, each covering every batch committed before it began.",
                load(&self.syncs).to_string(),
            ),
            (
                "gavel_wal_synced_batches_total",
                "counter",
                "Batches those syncs covered.",
                load(&self.synced_batches).to_string(),
            ),
            (
                "gavel_wal_sync_seconds_total",
                "counter",
                "Time spent in WAL syncs.",
                seconds(&self.sync_us).to_string(),
            ),
        ];
        for (name, kind, help, value) in lines {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        }
    }
}
