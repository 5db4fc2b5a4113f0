//! The storage floor under the bid figures in BENCHMARKS.md, on this machine's disk:
//! 1. SQLite alone (through sqlx, the real schema, WAL and `synchronous=FULL`): bids committed
//!    one per transaction, and `--batch` per transaction over `--lots` lots;
//! 2. the auction house with no HTTP in front (its pipelined group commit, each batch synced
//!    before it is answered): `--clients` tasks bidding the minimum next bid they last saw, as
//!    `gavel-load` does.

use gavel::auction::{AuctionHouse, HouseConfig, HouseError};
use gavel::clock::Clock;
use gavel::domain::{BidRejected, BidRequest, Cents, Change, Lot, NewLot, Role, UserRef, Username};
use gavel::store::Store;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(clap::Args)]
pub struct StorageArgs {
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Lots the bids are spread over.
    #[arg(long, default_value_t = 100)]
    lots: usize,
    /// Bids per transaction in the batched SQLite run.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Concurrent bidders in the auction-house run.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
}

/// Runs in a fresh temporary database, removed afterwards.
pub async fn measure(args: &StorageArgs) -> anyhow::Result<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!("gavel-floor-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let result = run(args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(args: &StorageArgs, dir: &std::path::Path) -> anyhow::Result<serde_json::Value> {
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
            ending_soon: chrono::Duration::seconds(600),
            on_commit: Box::new(|_, _| {}),
            wal: Store::wal_path(&url)?,
            readers: store.clone(),
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
        house.approve(lot.id()).await?;
        lots.push(lot.id());
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
                    amount: Some(Cents::new(next[at].load(Ordering::Relaxed) as i64)?),
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
    let batch = args.batch.max(1);
    let one = sqlite_bids(&store, &mut conn, &lots, &bidder, 1, secs).await?;
    let batched = sqlite_bids(&store, &mut conn, &lots, &bidder, batch, secs).await?;
    let hot = sqlite_bids(&store, &mut conn, &lots[..1], &bidder, batch, secs).await?;

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
/// The writes are the house's own (`store::lots::write`, `store::events`): only the house's
/// decisions and HTTP are left out.
async fn sqlite_bids(
    store: &Store,
    conn: &mut sqlx::SqliteConnection,
    lots: &[Uuid],
    bidder: &UserRef,
    per_commit: usize,
    secs: Duration,
) -> anyhow::Result<f64> {
    use gavel::store::batch::{BatchWrite, PlannedBid};
    use gavel::store::events;
    use gavel::store::lots::write;
    // The lots as the house would hold them (with their requests counted), so each bid goes
    // through the same domain rules and numbers its request after the house's own.
    let mut state: Vec<Lot> = write::open_lots(conn)
        .await?
        .into_iter()
        .filter(|l| lots.contains(&l.id()))
        .collect();
    anyhow::ensure!(
        state.len() == lots.len(),
        "the floor's lots are not all open"
    );
    let mut event_id = store.latest_event_id().await?;
    let data = "x".repeat(600);
    let (start, mut placed) = (Instant::now(), 0usize);
    while start.elapsed() < secs {
        let now = chrono::Utc::now();
        let (mut bids, mut requests, mut stored, mut touched) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..per_commit {
            let at = placed % state.len();
            if !touched.contains(&at) {
                touched.push(at);
            }
            let lot = &mut state[at];
            placed += 1;
            let request = BidRequest {
                bidder: bidder.clone(),
                amount: Some(lot.min_next_bid()),
                max: None,
            };
            let taken = lot
                .place_bid(&mut Uuid::now_v7, request, now, chrono::Duration::zero())
                .map_err(|e| anyhow::anyhow!("the floor's bid was refused: {e}"))?;
            let first_bid = event_id + 1;
            requests.push((lot.id(), taken.request, Some(first_bid)));
            for change in taken.changes {
                let Change::Bid(bid) = change else { continue };
                event_id += 1;
                let seq = lot.record_event(event_id);
                bids.push(PlannedBid {
                    lot_id: lot.id(),
                    bid,
                    event_id,
                    n: 0,
                });
                stored.push(events::StoredEvent {
                    id: event_id,
                    lot_id: lot.id(),
                    seq,
                    kind: "bid".into(),
                    at: now,
                    data: data.clone(),
                });
            }
        }
        let touched: Vec<&Lot> = touched.iter().map(|&at| &state[at]).collect();
        let mut write = BatchWrite::default();
        write.update_bid_state(&touched);
        write.insert_requests(&requests);
        write.insert_bids(&bids);
        write.insert_events(&stored);
        write.commit(conn).await?;
    }
    Ok(placed as f64 / start.elapsed().as_secs_f64())
}
