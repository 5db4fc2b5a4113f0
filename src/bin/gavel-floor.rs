//! The storage floor under the bid figures in BENCHMARKS.md, on this machine's disk:
//! 1. SQLite alone (through sqlx, the real schema, WAL and `synchronous=FULL`): bids committed
//!    one per transaction, and `--batch` per transaction over `--lots` lots;
//! 2. the auction house with no HTTP in front (its pipelined group commit, each batch synced
//!    before it is answered): `--clients` tasks bidding the minimum next bid they last saw, as
//!    `gavel-load` does.
//!
//! `cargo run --release --bin gavel-floor -- --seconds 5`. Works in a fresh temporary database.

use clap::Parser;
use gavel::auction::{AuctionHouse, HouseConfig, HouseError};
use gavel::clock::Clock;
use gavel::domain::{BidRejected, BidRequest, Cents, NewLot, Role, Username};
use gavel::store::Store;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Lots the bids are spread over.
    #[arg(long, default_value_t = 100)]
    lots: usize,
    /// Bids per transaction in the batched SQLite run.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Concurrent bidders in the auction-house run.
    #[arg(long, default_value_t = 64)]
    clients: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("gavel-floor-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    println!("{report}");
    Ok(())
}

async fn run(args: &Args, dir: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let url = format!("sqlite://{}", dir.join("floor.db").display());
    let secs = Duration::from_secs(args.seconds);
    let store = Store::open(&url).await?;
    store.spawn_checkpoints();
    let now = Clock::system().now();
    let seller = store
        .create_user(&Username::parse("floor-seller")?, "-", Role::Seller, now)
        .await?
        .as_ref();
    let bidder = store
        .create_user(&Username::parse("floor-bidder")?, "-", Role::Bidder, now)
        .await?
        .as_ref();
    let house = AuctionHouse::start(
        Store::writer(&url).await?,
        HouseConfig {
            clock: Clock::system(),
            soft_close: chrono::Duration::zero(),
            on_commit: Box::new(|_| {}),
            wal: Store::wal_path(&url)?,
        },
    )
    .await?;
    let mut lots = Vec::new();
    for i in 0..args.lots.max(1) {
        let offer = NewLot::parse(
            &format!("Floor lot {i}"),
            "A lot for measuring.",
            Cents::new(100),
            None,
            86_400,
        )
        .map_err(|e| anyhow::anyhow!(e.message))?;
        let lot = house.create(seller.clone(), offer).await?;
        house.approve(lot.id).await?;
        lots.push(lot.id);
    }

    // The house, no HTTP: each client bids the minimum it last heard of and retries when outbid.
    let accepted = Arc::new(AtomicU64::new(0));
    let outbid = Arc::new(AtomicU64::new(0));
    let tickets = Arc::new(AtomicU64::new(0));
    // The minimum next bid of each lot as last heard by any client, as `gavel-load` keeps it.
    let next: Arc<Vec<AtomicU64>> = Arc::new(lots.iter().map(|_| AtomicU64::new(100)).collect());
    let until = Instant::now() + secs;
    let mut tasks = Vec::new();
    for _ in 0..args.clients.max(1) {
        let (house, lots, bidder) = (house.clone(), lots.clone(), bidder.clone());
        let (accepted, outbid, tickets) = (accepted.clone(), outbid.clone(), tickets.clone());
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut at = 0;
            let mut retry = false;
            while Instant::now() < until {
                if !retry {
                    at = tickets.fetch_add(1, Ordering::Relaxed) as usize % lots.len();
                }
                let request = BidRequest {
                    bidder: bidder.clone(),
                    amount: Cents::new(next[at].load(Ordering::Relaxed) as i64)?,
                    max: None,
                };
                match house.bid(lots[at], request).await {
                    Ok(receipt) => {
                        next[at]
                            .fetch_max(receipt.lot.min_next_bid().get() as u64, Ordering::Relaxed);
                        accepted.fetch_add(1, Ordering::Relaxed);
                        retry = false;
                    }
                    Err(HouseError::Bid(BidRejected::TooLow { min_next })) => {
                        next[at].fetch_max(min_next.get() as u64, Ordering::Relaxed);
                        outbid.fetch_add(1, Ordering::Relaxed);
                        retry = true;
                    }
                    Err(e) => return Err(anyhow::anyhow!("bid refused: {e}")),
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let house_rate = accepted.load(Ordering::Relaxed) as f64 / secs.as_secs_f64();
    house.stop().await;

    // SQLite alone: the rows a bid writes (bid, event, lot), each commit durable by itself
    // (the house's connection leaves the sync to the house, so set FULL here).
    let mut conn = Store::writer(&url).await?;
    sqlx::query("PRAGMA synchronous = FULL")
        .execute(&mut conn)
        .await?;
    let one = sqlite_bids(&mut conn, &lots, 1, secs).await?;
    let batched = sqlite_bids(&mut conn, &lots, args.batch.max(1), secs).await?;
    let hot = sqlite_bids(&mut conn, &lots[..1], args.batch.max(1), secs).await?;

    Ok(json!({
        "lots": lots.len(),
        "sqlite_one_bid_per_commit_per_sec": one.round(),
        "sqlite_batched_bids_per_sec": batched.round(),
        "sqlite_batched_one_lot_bids_per_sec": hot.round(),
        "batch": args.batch,
        "house_no_http_accepted_per_sec": house_rate.round(),
        "house_no_http_outbid": outbid.load(Ordering::Relaxed),
        "clients": args.clients,
    }))
}

/// Commits `per_commit` bids per transaction, round-robin over `lots`, for `secs`; bids/s.
async fn sqlite_bids(
    conn: &mut sqlx::SqliteConnection,
    lots: &[Uuid],
    per_commit: usize,
    secs: Duration,
) -> anyhow::Result<f64> {
    use sqlx::Connection;
    let bidder: String = sqlx::query_scalar("SELECT id FROM users WHERE username = 'floor-bidder'")
        .fetch_one(&mut *conn)
        .await?;
    let mut event_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events")
        .fetch_one(&mut *conn)
        .await?;
    let mut seq = std::collections::HashMap::<Uuid, i64>::new();
    for lot in lots {
        let last: i64 = sqlx::query_scalar("SELECT last_seq FROM lots WHERE id = ?")
            .bind(lot.to_string())
            .fetch_one(&mut *conn)
            .await?;
        seq.insert(*lot, last);
    }
    let data = "x".repeat(600);
    let (start, mut bids) = (Instant::now(), 0u64);
    while start.elapsed() < secs {
        // (lot, seq, event id) of each bid; one multi-row statement per table, as the house does.
        let rows: Vec<(String, i64, i64)> = (0..per_commit)
            .map(|i| {
                let lot = lots[(bids as usize + i) % lots.len()];
                let s = seq.entry(lot).or_default();
                *s += 1;
                event_id += 1;
                (lot.to_string(), *s, event_id)
            })
            .collect();
        bids += per_commit as u64;
        let millis = chrono::Utc::now().timestamp_millis();
        let mut tx = conn.begin().await?;
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO bids (id, lot_id, bidder_id, amount_cents, placed_at, event_id) ",
        );
        insert.push_values(&rows, |mut row, (lot, _, id)| {
            row.push_bind(Uuid::now_v7().to_string())
                .push_bind(lot.clone())
                .push_bind(bidder.clone())
                .push_bind(100 + id)
                .push_bind(millis)
                .push_bind(*id);
        });
        insert.build().execute(&mut *tx).await?;
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO events (id, lot_id, seq, kind, at, data) ",
        );
        insert.push_values(&rows, |mut row, (lot, seq, id)| {
            row.push_bind(*id)
                .push_bind(lot.clone())
                .push_bind(*seq)
                .push_bind("bid")
                .push_bind(millis)
                .push_bind(data.clone());
        });
        insert.build().execute(&mut *tx).await?;
        // The last row for a lot wins, as in the house's per-batch lot state.
        let mut latest = std::collections::HashMap::new();
        for (lot, seq, id) in &rows {
            latest.insert(lot.clone(), (*seq, *id));
        }
        let mut update = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "UPDATE lots SET current_price_cents = v.column2, leader_id = v.column3,
                bid_count = v.column4, last_seq = v.column4, last_event_id = v.column5 FROM (",
        );
        update.push_values(&latest, |mut row, (lot, (seq, id))| {
            row.push_bind(lot.clone())
                .push_bind(100 + id)
                .push_bind(bidder.clone())
                .push_bind(*seq)
                .push_bind(*id);
        });
        update.push(") AS v WHERE lots.id = v.column1");
        update.build().execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(bids as f64 / start.elapsed().as_secs_f64())
}
