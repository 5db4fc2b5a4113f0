//! The hub's part of `/metrics` (served by `web::metrics`): held streams, events, delivery
//! latency.

use super::limits::Transport;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in milliseconds.
const BUCKETS_MS: [u64; 12] = [1, 2, 5, 10, 25, 50, 100, 150, 250, 500, 1000, 5000];

const FLUSH_EVERY: u64 = 512;
const FLUSH_AFTER: Duration = Duration::from_millis(250);

#[derive(Default)]
struct LocalLatency {
    buckets: [u64; 12],
    count: u64,
    sum_us: u64,
    since: Option<std::time::Instant>,
}

thread_local! {
    static LOCAL: std::cell::RefCell<LocalLatency> = std::cell::RefCell::new(LocalLatency::default());
}

#[derive(Default)]
pub struct Metrics {
    pub sse: AtomicI64,
    pub ndjson: AtomicI64,
    pub longpoll: AtomicI64,
    pub streams_refused: AtomicU64,
    pub events_published: AtomicU64,
    latency_buckets: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

impl Metrics {
    pub fn gauge(&self, transport: Transport) -> &AtomicI64 {
        match transport {
            Transport::Sse => &self.sse,
            Transport::Ndjson => &self.ndjson,
            Transport::LongPoll => &self.longpoll,
        }
    }

    /// From the event reaching the hub to its bytes handed to a watcher's connection.
    /// Counted per thread and added to the shared totals every `FLUSH_EVERY` deliveries (or
    /// after `FLUSH_AFTER`), so fan-out to thousands does not bounce one cache line between cores.
    pub fn observe_delivery(&self, latency: Duration) {
        LOCAL.with(|cell| {
            let mut local = cell.borrow_mut();
            let ms = latency.as_millis() as u64;
            if let Some(i) = BUCKETS_MS.iter().position(|b| ms <= *b) {
                local.buckets[i] += 1;
            }
            local.count += 1;
            local.sum_us += latency.as_micros() as u64;
            let now = std::time::Instant::now();
            let due = local
                .since
                .is_none_or(|t| now.duration_since(t) >= FLUSH_AFTER);
            if local.count >= FLUSH_EVERY || due {
                for (shared, n) in self.latency_buckets.iter().zip(local.buckets.iter_mut()) {
                    if *n > 0 {
                        shared.fetch_add(*n, Ordering::Relaxed);
                        *n = 0;
                    }
                }
                self.latency_count.fetch_add(local.count, Ordering::Relaxed);
                self.latency_sum_us
                    .fetch_add(local.sum_us, Ordering::Relaxed);
                local.count = 0;
                local.sum_us = 0;
                local.since = Some(now);
            }
        });
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let load = |a: &AtomicI64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP gavel_streams_held Live connections held, by transport."
        );
        let _ = writeln!(out, "# TYPE gavel_streams_held gauge");
        for (name, g) in [
            ("sse", &self.sse),
            ("ndjson", &self.ndjson),
            ("longpoll", &self.longpoll),
        ] {
            let _ = writeln!(
                out,
                "gavel_streams_held{{transport=\"{name}\"}} {}",
                load(g)
            );
        }
        let _ = writeln!(out, "# TYPE gavel_streams_refused_total counter");
        let _ = writeln!(
            out,
            "gavel_streams_refused_total {}",
            self.streams_refused.load(Ordering::Relaxed)
        );
        let _ = writeln!(out, "# TYPE gavel_events_published_total counter");
        let _ = writeln!(
            out,
            "gavel_events_published_total {}",
            self.events_published.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP gavel_delivery_latency_seconds From commit to a watcher's connection."
        );
        let _ = writeln!(out, "# TYPE gavel_delivery_latency_seconds histogram");
        let mut cumulative = 0;
        for (i, bound) in BUCKETS_MS.iter().enumerate() {
            cumulative += self.latency_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "gavel_delivery_latency_seconds_bucket{{le=\"{}\"}} {cumulative}",
                *bound as f64 / 1000.0
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "gavel_delivery_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "gavel_delivery_latency_seconds_sum {}",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "gavel_delivery_latency_seconds_count {count}");
        out
    }
}
