//! gavel-sale-bench: a sale of many lots closing a stagger apart, each watched by many SSE
//! streams. Reports how late each lot closed against its time, and whether every watcher got
//! every close exactly once. Sends traffic only to the server it is given (meant for loopback).

#[path = "../common/api.rs"]
mod api;
#[path = "../gavel-load/http.rs"]
#[expect(
    dead_code,
    reason = "the benchmark uses the load tool's plain requests, not its bids"
)]
mod http;

use api::{api, log_in};
use chrono::{DateTime, Duration as Span, Utc};
use clap::Parser;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser, Debug)]
#[command(name = "gavel-sale-bench", about = "A staggered sale under watchers")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8080")]
    server: SocketAddr,
    #[arg(long, default_value = "root:load-admin-password")]
    admin: String,
    #[arg(long, default_value_t = 500)]
    lots: usize,
    /// Watchers per lot; each stream watches `--lots-per-stream` neighbouring lots.
    #[arg(long, default_value_t = 50)]
    watchers: usize,
    #[arg(long, default_value_t = 2)]
    lots_per_stream: usize,
    #[arg(long, default_value_t = 1)]
    stagger_secs: i64,
    /// Seconds from now to the sale's start: time to set it up and open the streams.
    #[arg(long, default_value_t = 60)]
    start_in: i64,
    /// Seconds from the start to the first close.
    #[arg(long, default_value_t = 15)]
    first_close_after: i64,
}

/// What one stream saw: each closed event's (id, lot, received at).
type Seen = Vec<(i64, String, DateTime<Utc>)>;

/// An HTTP/1.0 SSE stream (close-delimited, so frames arrive unframed) until `until`.
async fn watch(
    server: SocketAddr,
    path: String,
    until: tokio::time::Instant,
    gate: Arc<tokio::sync::Semaphore>,
) -> anyhow::Result<Seen> {
    let permit = gate.acquire_owned().await?;
    let mut conn = http::connect(server, None).await?;
    conn.write_all(format!("GET {path} HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n").as_bytes())
        .await?;
    drop(permit);
    let mut buf = Vec::with_capacity(4096);
    let mut seen = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let read = tokio::time::timeout_at(until, conn.read(&mut chunk)).await;
        let n = match read {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e.into()),
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = http::find(&buf, b"\n\n") {
            let frame: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&frame);
            if !text.contains("event: closed") {
                continue;
            }
            let id = text
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let lot = text
                .split("\"lot_id\":\"")
                .nth(1)
                .map(|rest| rest.chars().take(36).collect())
                .unwrap_or_default();
            seen.push((id, lot, Utc::now()));
        }
    }
    Ok(seen)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.server.ip().is_loopback(), "loopback addresses only");
    // Thousands of streams: the soft open-file limit up to the hard one.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut conn = http::connect(args.server, None).await?;
    let (admin_name, admin_password) = args
        .admin
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("--admin is name:password"))?;
    let admin = log_in(&mut conn, admin_name, admin_password).await?;
    let seller_body =
        json!({"username": "sale-seller", "password": "sale-seller-password", "role": "seller"});
    api(&mut conn, "POST", "/api/v1/users", None, Some(seller_body)).await?;
    let seller = log_in(&mut conn, "sale-seller", "sale-seller-password").await?;
    // Whole milliseconds, as the API keeps times: the lateness is measured against what the
    // server was told.
    let now_ms = Utc::now().timestamp_millis();
    let starts = DateTime::<Utc>::from_timestamp_millis(now_ms)
        .ok_or_else(|| anyhow::anyhow!("no clock"))?
        + Span::seconds(args.start_in);
    let first_close = starts + Span::seconds(args.first_close_after);
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (status, sale) = api(
        &mut conn,
        "POST",
        "/api/v1/sales",
        Some(&admin),
        Some(
            json!({"title": "Benchmark sale", "description": "", "starts_at": fmt(starts),
            "first_close_at": fmt(first_close), "stagger_secs": args.stagger_secs}),
        ),
    )
    .await?;
    anyhow::ensure!(status == 201, "sale: {sale}");
    let sale_id = sale["id"].as_str().unwrap_or_default().to_owned();
    let mut lots = Vec::new();
    for n in 0..args.lots {
        let offer = json!({"title": format!("Lot {n}"), "description": "",
            "starting_price_cents": 1000, "duration_secs": 3600});
        let (status, lot) = api(
            &mut conn,
            "POST",
            "/api/v1/lots",
            Some(&seller),
            Some(offer),
        )
        .await?;
        anyhow::ensure!(status == 201, "lot: {lot}");
        let id = lot["id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/api/v1/lots/{id}/approve");
        let (status, body) = api(
            &mut conn,
            "POST",
            &path,
            Some(&admin),
            Some(json!({"sale_id": sale_id})),
        )
        .await?;
        anyhow::ensure!(status == 200, "approve: {body}");
        lots.push(id);
    }
    let last_close = first_close + Span::seconds(args.stagger_secs * (args.lots as i64 - 1));
    let settle = Duration::from_secs(5);
    let until = tokio::time::Instant::now()
        + (last_close - Utc::now()).to_std().unwrap_or_default()
        + settle;
    let gate = Arc::new(tokio::sync::Semaphore::new(512));
    let mut streams = Vec::new();
    for group in lots.chunks(args.lots_per_stream) {
        let path = format!("/events?lots={}", group.join(","));
        for _ in 0..args.watchers {
            let watched: Vec<String> = group.to_vec();
            streams.push((
                watched,
                tokio::spawn(watch(args.server, path.clone(), until, gate.clone())),
            ));
        }
    }
    let opened_by = Utc::now();
    eprintln!(
        "{} lots, {} streams opened {:.1} s before the start; waiting for the last close",
        lots.len(),
        streams.len(),
        (starts - opened_by).num_milliseconds() as f64 / 1000.0
    );
    let (mut missing, mut duplicated, mut failed) = (0usize, 0usize, 0usize);
    let mut delivered_at: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for (watched, stream) in streams {
        let Ok(Ok(seen)) = stream.await else {
            failed += 1;
            continue;
        };
        for lot in &watched {
            let got: Vec<_> = seen.iter().filter(|(_, l, _)| l == lot).collect();
            match got.len() {
                0 => missing += 1,
                1 => delivered_at.entry(lot.clone()).or_default().push(got[0].2),
                _ => duplicated += 1,
            }
        }
    }
    // A fresh connection: the first sat idle past the server's keep-alive through the sale.
    let mut conn = http::connect(args.server, None).await?;
    let mut late_ms = Vec::new();
    let mut delivery_ms = Vec::new();
    let mut early = 0;
    for (n, id) in lots.iter().enumerate() {
        let (status, lot) =
            api(&mut conn, "GET", &format!("/api/v1/lots/{id}"), None, None).await?;
        anyhow::ensure!(status == 200 && lot["status"] == "closed", "lot {n}: {lot}");
        let due = first_close + Span::seconds(args.stagger_secs * n as i64);
        let closed: DateTime<Utc> = lot["closed_at"].as_str().unwrap_or_default().parse()?;
        let late = (closed - due).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        if late < 0.0 {
            early += 1;
        }
        late_ms.push(late);
        for at in delivered_at.get(id).into_iter().flatten() {
            delivery_ms.push((*at - closed).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    late_ms.sort_by(f64::total_cmp);
    delivery_ms.sort_by(f64::total_cmp);
    let report = json!({
        "lots": lots.len(),
        "streams_per_lot": args.watchers,
        "lots_per_stream": args.lots_per_stream,
        "stagger_secs": args.stagger_secs,
        "closed_early": early,
        "close_late_ms": {"min": late_ms.first().copied().unwrap_or(0.0),
            "p50": percentile(&late_ms, 0.5), "p99": percentile(&late_ms, 0.99),
            "max": late_ms.last().copied().unwrap_or(0.0)},
        "closes_expected": lots.len() * args.watchers,
        "closes_delivered_once": delivery_ms.len(),
        "missing": missing,
        "duplicated": duplicated,
        "failed_streams": failed,
        "delivery_ms": {"p50": percentile(&delivery_ms, 0.5), "p99": percentile(&delivery_ms, 0.99),
            "max": delivery_ms.last().copied().unwrap_or(0.0)},
    });
    println!("{report}");
    Ok(())
}
