//! gavel-load: watchers over SSE and long polling spread over worker processes and source
//! addresses, bids at a set rate, and for every watcher when each bid's event arrived.
//! Sends traffic only to the server it is given (meant for loopback), bounded in count and time.

#[path = "../common/api.rs"]
mod api;
mod http;
#[path = "../common/pace.rs"]
mod pace;
#[path = "../common/process.rs"]
mod process;
mod worker;

use api::{api, log_in};
use clap::Parser;
use http::now_us;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use worker::Kind;

#[derive(Parser, Debug)]
#[command(
    name = "gavel-load",
    about = "Load and delivery check for a running Gavel"
)]
struct Args {
    /// The server (loopback only).
    #[arg(long, default_value = "127.0.0.1:8080")]
    server: SocketAddr,
    /// An admin's `name:password`, to approve the lots it creates.
    #[arg(long, default_value = "root:load-admin-password")]
    admin: String,
    #[arg(long, default_value_t = 1)]
    lots: usize,
    /// Watchers per lot.
    #[arg(long, default_value_t = 100)]
    watchers: usize,
    /// sse, longpoll or both (half each).
    #[arg(long, default_value = "sse")]
    transport: String,
    /// Bids to place (ignored with --seconds).
    #[arg(long, default_value_t = 20)]
    bids: usize,
    /// Bid for this long instead of a count.
    #[arg(long, default_value_t = 0)]
    seconds: u64,
    /// Time between bid starts across all clients; 0 bids as fast as the clients can.
    #[arg(long, default_value_t = 250)]
    interval_ms: u64,
    /// Concurrent bidding clients, each on its own connection; an outbid client retries at
    /// the minimum it was told.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Worker processes (one holds at most ~19,900 sockets here).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Source addresses 127.0.0.1 .. 127.0.0.K, one per worker in turn.
    #[arg(long, default_value_t = 1)]
    sources: usize,
    /// The server's process id, to read its memory and CPU.
    #[arg(long)]
    pid: Option<u32>,
    /// How long to wait for the last deliveries after the last bid.
    #[arg(long, default_value_t = 2000)]
    settle_ms: u64,
    /// Watchers' processes read every this many microseconds instead of waking for each
    /// frame (0: wake for each); see `common/pace.rs`.
    #[arg(long, default_value_t = 0)]
    read_every_us: u64,
    /// Distinct bidding users (client i bids as user i mod K): with --max-extra-cents, their
    /// maxima compete (the proxy-bid scenario).
    #[arg(long, default_value_t = 1)]
    bidders: usize,
    /// Each bid also leaves a maximum this many cents above its amount (0: no maximum).
    #[arg(long, default_value_t = 0)]
    max_extra_cents: i64,
    /// The notices scenario: this many users, each holding a notices stream (`/me/events`),
    /// each bidding once on one of the --lots and then outbid by the next user there.
    #[arg(long, default_value_t = 0)]
    notice_users: usize,
    #[arg(long, hide = true)]
    worker: bool,
    /// Worker plan: lot:cursor:count:kind;...
    #[arg(long, hide = true, default_value = "")]
    plan: String,
    #[arg(long, hide = true)]
    source: Option<IpAddr>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.server.ip().is_loopback(),
        "gavel-load only sends traffic to loopback addresses"
    );
    if let Ok(limit) = rlimit::increase_nofile_limit(u64::MAX) {
        let _ = limit;
    }
    if args.worker {
        // One thread per worker process: the workers share the server's cores, and a single
        // event loop each wakes less often than a thread pool would.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // A long plan (thousands of users' tokens) comes in a file: `@PATH`.
        let plan = match args.plan.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)?,
            None => args.plan.clone(),
        };
        let watchers = parse_plan(&plan)?;
        runtime.block_on(worker::run(worker::WorkerArgs {
            server: args.server,
            source: args.source,
            watchers,
            read_every: Duration::from_micros(args.read_every_us),
        }))
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(coordinate(args))
    }
}

fn parse_plan(plan: &str) -> anyhow::Result<Vec<(String, i64, usize, Kind)>> {
    plan.split(';')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let parts: Vec<&str> = p.split(':').collect();
            anyhow::ensure!(parts.len() == 4, "bad plan entry {p}");
            let kind = match parts[3] {
                "sse" => Kind::Sse,
                "notices" => Kind::Notices,
                _ => Kind::LongPoll,
            };
            Ok((
                parts[0].to_owned(),
                parts[1].parse()?,
                parts[2].parse()?,
                kind,
            ))
        })
        .collect()
}

async fn token(
    conn: &mut tokio::net::TcpStream,
    name: &str,
    password: &str,
    role: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(role) = role {
        let (status, body) = api(
            conn,
            "POST",
            "/api/v1/users",
            None,
            Some(json!({"username": name, "password": password, "role": role})),
        )
        .await?;
        anyhow::ensure!(status == 201, "could not create {name}: {body}");
    }
    log_in(conn, name, password).await
}

/// Resident memory (bytes) and CPU time (seconds) of a process.
fn process_stats(pid: Option<u32>) -> Option<(u64, f64)> {
    let pid = pid?.to_string();
    Some((process::resident_bytes(&pid)?, process::cpu_seconds(&pid)?))
}

/// The auction house's counters in `/metrics` (see `auction::stats`) that the report reads.
const HOUSE_METRICS: [&str; 7] = [
    "gavel_house_batches_total",
    "gavel_house_commands_total",
    "gavel_house_applying_seconds_total",
    "gavel_house_writing_seconds_total",
    "gavel_wal_syncs_total",
    "gavel_wal_synced_batches_total",
    "gavel_wal_sync_seconds_total",
];

async fn house_stats(server: std::net::SocketAddr) -> Option<[f64; 7]> {
    let mut conn = http::connect(server, None).await.ok()?;
    let res = http::request(&mut conn, "GET", "/metrics", None, None)
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&res.body);
    let mut values = [0.0; 7];
    for (value, name) in values.iter_mut().zip(HOUSE_METRICS) {
        *value = text
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())?;
    }
    Some(values)
}

/// What the group commit did during the bidding: which stage paced the bids.
struct HouseRates {
    batches_per_sec: f64,
    commands_per_batch: f64,
    /// Shares of the time the house spent applying commands, and the writer writing batches.
    applying: f64,
    writing: f64,
    syncs_per_sec: f64,
    batches_per_sync: f64,
    sync_ms: f64,
}

impl HouseRates {
    fn between(before: &[f64; 7], after: &[f64; 7], secs: f64) -> HouseRates {
        let d = |i: usize| after[i] - before[i];
        let per = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        HouseRates {
            batches_per_sec: per(d(0), secs),
            commands_per_batch: per(d(1), d(0)),
            applying: per(d(2), secs),
            writing: per(d(3), secs),
            syncs_per_sec: per(d(4), secs),
            batches_per_sync: per(d(5), d(4)),
            sync_ms: per(d(6) * 1000.0, d(4)),
        }
    }

    fn json(&self) -> Value {
        let r = |x: f64| (x * 100.0).round() / 100.0;
        json!({
            "batches_per_sec": r(self.batches_per_sec),
            "commands_per_batch": r(self.commands_per_batch),
            "applying_fraction": r(self.applying),
            "writing_fraction": r(self.writing),
            "syncs_per_sec": r(self.syncs_per_sec),
            "batches_per_sync": r(self.batches_per_sync),
            "sync_ms": r(self.sync_ms),
        })
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

async fn coordinate(args: Args) -> anyhow::Result<()> {
    let run = std::process::id();
    let mut conn = http::connect(args.server, None).await?;
    let (admin_name, admin_pw) = args
        .admin
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("--admin is name:password"))?;
    let admin = token(&mut conn, admin_name, admin_pw, None).await?;
    let seller = token(
        &mut conn,
        &format!("load-seller-{run}"),
        "load-password",
        Some("seller"),
    )
    .await?;
    let bidders = register_users(
        args.server,
        &format!("load-bidder-{run}"),
        args.bidders.max(1),
    )
    .await?;
    let watchers = register_users(
        args.server,
        &format!("load-watcher-{run}"),
        args.notice_users,
    )
    .await?;
    // Registering many takes a while: the server may have closed the idle connection.
    let mut conn = http::connect(args.server, None).await?;

    let mut lots: Vec<(String, i64, i64)> = Vec::new(); // id, cursor, next amount
    for i in 0..args.lots {
        let (status, lot) = api(&mut conn, "POST", "/api/v1/lots", Some(&seller),
            Some(json!({"title": format!("Load lot {i}"), "description": "", "starting_price_cents": 100, "duration_secs": 86_400}))).await?;
        anyhow::ensure!(status == 201, "could not create a lot: {lot}");
        let id = lot["id"].as_str().unwrap_or_default().to_owned();
        let (status, opened) = api(
            &mut conn,
            "POST",
            &format!("/api/v1/lots/{id}/approve"),
            Some(&admin),
            Some(json!({})),
        )
        .await?;
        anyhow::ensure!(status == 200, "could not approve: {opened}");
        lots.push((id, opened["last_event_id"].as_i64().unwrap_or(0), 100));
    }

    // Spread every lot's watchers over the workers.
    let kinds: Vec<(&str, usize)> = match args.transport.as_str() {
        "both" => vec![
            ("sse", args.watchers / 2),
            ("longpoll", args.watchers - args.watchers / 2),
        ],
        "longpoll" => vec![("longpoll", args.watchers)],
        _ => vec![("sse", args.watchers)],
    };
    let workers = args.workers.max(1);
    let mut plans = vec![String::new(); workers];
    // The notices scenario: one stream per user, spread over the workers.
    for (i, t) in watchers.iter().enumerate() {
        plans[i % workers].push_str(&format!("{t}:0:1:notices;"));
    }
    for (id, cursor, _) in &lots {
        for (kind, n) in &kinds {
            for (w, plan) in plans.iter_mut().enumerate() {
                let share = n / workers + usize::from(w < n % workers);
                if share > 0 {
                    plan.push_str(&format!("{id}:{cursor}:{share}:{kind};"));
                }
            }
        }
    }

    let before = process_stats(args.pid);
    let ramp = Instant::now();
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    let plan_dir = std::env::temp_dir().join(format!("gavel-load-{run}"));
    std::fs::create_dir_all(&plan_dir)?;
    for (w, plan) in plans.iter().enumerate().filter(|(_, p)| !p.is_empty()) {
        let source = format!("127.0.0.{}", 1 + w % args.sources.max(1));
        // Past the kernel's limit on one argument, the plan goes in a file.
        let plan_file = plan_dir.join(format!("plan-{w}"));
        let plan = if plan.len() > 16_384 {
            std::fs::write(&plan_file, plan)?;
            format!("@{}", plan_file.display())
        } else {
            plan.clone()
        };
        let mut child = tokio::process::Command::new(&exe)
            .args([
                "--worker",
                "--server",
                &args.server.to_string(),
                "--plan",
                &plan,
                "--source",
                &source,
                "--read-every-us",
                &args.read_every_us.to_string(),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no worker stdout"))?;
        children.push((child, BufReader::new(stdout).lines()));
    }
    let (mut connected, mut refused_streams, mut failed) = (0usize, 0usize, 0usize);
    for (_, lines) in &mut children {
        let line = lines.next_line().await?.unwrap_or_default();
        // "ready HELD REFUSED FAILED"
        let counts: Vec<usize> = match line.strip_prefix("ready ") {
            Some(rest) => rest.split(' ').filter_map(|n| n.parse().ok()).collect(),
            None => Vec::new(),
        };
        let [held, refused_here, failed_here] = counts[..] else {
            anyhow::bail!("worker said {line:?}");
        };
        connected += held;
        refused_streams += refused_here;
        failed += failed_here;
    }
    let ramp_ms = ramp.elapsed().as_millis();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attached = process_stats(args.pid);

    let house_before = house_stats(args.server).await;
    let bidding = Instant::now();
    let (placed, request_us, refused, outbid_users) = if watchers.is_empty() {
        let (placed, request_us, refused) = bid_phase(&args, &lots, &bidders).await?;
        (placed, request_us, refused, Vec::new())
    } else {
        let (outbid, request_us) = notice_bid_phase(&args, &lots, &watchers).await?;
        (Vec::new(), request_us, 0, outbid)
    };
    let bid_secs = bidding.elapsed().as_secs_f64();
    let house = house_stats(args.server)
        .await
        .zip(house_before)
        .map(|(after, before)| HouseRates::between(&before, &after, bid_secs));
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let after = process_stats(args.pid);

    let mut request_us = request_us;
    let mut expectations = String::new();
    for (id, lot, start) in &placed {
        expectations.push_str(&format!("{id} {lot} {start}\n"));
    }
    // A notice's id is the server's: each outbid user expects one notice, by order.
    for (token, start) in &outbid_users {
        expectations.push_str(&format!("0 {token} {start}\n"));
    }
    expectations.push_str("end\n");
    let (mut delivered, mut missing, mut duplicated, mut reordered) = (0u64, 0u64, 0u64, 0u64);
    let mut latencies: Vec<u64> = Vec::new();
    for (child, lines) in &mut children {
        if let Some(stdin) = child.stdin.as_mut() {
            stdin.write_all(expectations.as_bytes()).await?;
        }
        let line = lines.next_line().await?.unwrap_or_default();
        let parts: Vec<&str> = line.splitn(6, ' ').collect();
        anyhow::ensure!(parts.first() == Some(&"result"), "worker said {line:?}");
        let n = |i: usize| {
            parts
                .get(i)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        };
        delivered += n(1);
        missing += n(2);
        duplicated += n(3);
        reordered += n(4);
        latencies.extend(
            parts
                .get(5)
                .unwrap_or(&"")
                .split(',')
                .filter_map(|s| s.parse::<u64>().ok()),
        );
        let _ = child.kill().await;
    }
    latencies.sort_unstable();
    request_us.sort_unstable();
    let _ = std::fs::remove_dir_all(&plan_dir);

    let held = connected.max(1) as f64;
    let per_conn = match (before, attached) {
        (Some((b, _)), Some((a, _))) => Some((a as f64 - b as f64) / held),
        _ => None,
    };
    let cpu_per_event_us = match (attached, after) {
        (Some((_, c0)), Some((_, c1))) if delivered > 0 => Some((c1 - c0) * 1e6 / delivered as f64),
        _ => None,
    };
    let report = json!({
        "lots": args.lots, "watchers_per_lot": args.watchers, "transport": args.transport,
        "workers": workers, "read_every_us": args.read_every_us, "connected": connected, "refused_503": refused_streams, "failed": failed, "ramp_up_ms": ramp_ms,
        "bids_placed": placed.len(), "bids_outbid": refused, "bids_per_sec": (placed.len() as f64 / bid_secs).round(),
        "bidders": args.bidders, "max_extra_cents": args.max_extra_cents, "notice_users": args.notice_users,
        "notices_expected": outbid_users.len(),
        "deliveries": delivered, "expected": placed.len() as u64 * ((connected - watchers.len().min(connected)) as u64 / args.lots.max(1) as u64) + outbid_users.len() as u64,
        "missing": missing, "duplicated": duplicated, "out_of_order": reordered,
        "delivery_ms": {"p50": percentile(&latencies, 0.5), "p90": percentile(&latencies, 0.9), "p99": percentile(&latencies, 0.99), "max": percentile(&latencies, 1.0)},
        "bid_request_ms": {"p50": percentile(&request_us, 0.5), "p99": percentile(&request_us, 0.99), "max": percentile(&request_us, 1.0)},
        "server_rss_before": before.map(|s| s.0), "server_rss_attached": attached.map(|s| s.0),
        "bytes_per_connection": per_conn.map(|b| b.round()),
        "server_cpu_us_per_delivery": cpu_per_event_us.map(|c| (c * 100.0).round() / 100.0),
        "house": house.as_ref().map(HouseRates::json),
    });
    println!(
        "watchers: {connected} connected, {refused_streams} refused (503 with Retry-After), {failed} failed, ramp-up {ramp_ms} ms ({} worker processes)",
        workers
    );
    println!(
        "bids: {} placed; deliveries {delivered}; missing {missing}, duplicated {duplicated}, out of order {reordered}",
        placed.len()
    );
    println!(
        "delivery latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    println!(
        "bid request ms: p50 {:.1}  p99 {:.1}",
        percentile(&request_us, 0.5),
        percentile(&request_us, 0.99)
    );
    if let Some(b) = per_conn {
        println!("server memory per held connection: {:.1} KiB", b / 1024.0);
    }
    if let Some(c) = cpu_per_event_us {
        println!("server CPU per delivered event: {c:.2} µs");
    }
    if let Some(h) = &house {
        println!(
            "auction house: {:.0} batches/s, {:.1} commands each; applying {:.0}% and writing {:.0}% of the time; WAL syncs {:.0}/s, {:.1} batches and {:.2} ms each",
            h.batches_per_sec,
            h.commands_per_batch,
            h.applying * 100.0,
            h.writing * 100.0,
            h.syncs_per_sec,
            h.batches_per_sync,
            h.sync_ms
        );
    }
    println!("{report}");
    Ok(())
}

type Placed = Vec<(i64, String, u64)>;

/// Runs the bidding clients; returns the accepted bids (event id, lot, start µs), every
/// request's latency, and how many were outbid.
async fn bid_phase(
    args: &Args,
    lots: &[(String, i64, i64)],
    bidders: &[String],
) -> anyhow::Result<(Placed, Vec<u64>, u64)> {
    use std::fmt::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
    // The minimum last heard on each lot, by any client: one atomic each, as the hot-lot floor
    // keeps it, so the clients share it without a lock.
    let next: Arc<Vec<AtomicI64>> = Arc::new(lots.iter().map(|l| AtomicI64::new(l.2)).collect());
    let tickets = Arc::new(AtomicUsize::new(0));
    let outbid = Arc::new(AtomicU64::new(0));
    let ids: Arc<Vec<String>> = Arc::new(lots.iter().map(|l| l.0.clone()).collect());
    let paths: Arc<Vec<String>> = Arc::new(
        lots.iter()
            .map(|l| format!("/api/v1/lots/{}/bids", l.0))
            .collect(),
    );
    let start = Instant::now();
    let until = (args.seconds > 0).then(|| start + Duration::from_secs(args.seconds));
    let limit = if args.seconds > 0 {
        usize::MAX
    } else {
        args.bids
    };
    let interval = Duration::from_millis(args.interval_ms);
    let mut tasks = Vec::new();
    let max_extra = args.max_extra_cents;
    for client in 0..args.clients.max(1) {
        let (next, tickets, outbid, ids, paths, token) = (
            next.clone(),
            tickets.clone(),
            outbid.clone(),
            ids.clone(),
            paths.clone(),
            bidders[client % bidders.len()].clone(),
        );
        let server = args.server;
        tasks.push(tokio::spawn(async move {
            let mut placed = Vec::new();
            let mut latencies = Vec::new();
            let mut conn = http::connect(server, None).await?;
            let (mut request, mut buf) = (Vec::with_capacity(512), Vec::with_capacity(16384));
            let mut body = String::with_capacity(32);
            loop {
                let ticket = tickets.fetch_add(1, Ordering::Relaxed);
                if ticket >= limit || until.is_some_and(|u| Instant::now() >= u) {
                    break;
                }
                if !interval.is_zero() {
                    tokio::time::sleep_until((start + interval * ticket as u32).into()).await;
                }
                let lot = ticket % ids.len();
                loop {
                    let amount = next[lot].load(Ordering::Relaxed);
                    body.clear();
                    if max_extra > 0 {
                        let max = amount + max_extra;
                        let _ = write!(body, "{{\"amount_cents\":{amount},\"max_cents\":{max}}}");
                    } else {
                        let _ = write!(body, "{{\"amount_cents\":{amount}}}");
                    }
                    http::write_request(
                        &mut request,
                        "POST",
                        &paths[lot],
                        Some(&token),
                        Some(&body),
                    );
                    let begun = now_us();
                    let (status, body) = http::exchange(&mut conn, &request, &mut buf).await?;
                    latencies.push(now_us().saturating_sub(begun));
                    let answer: http::BidAnswer = serde_json::from_slice(&buf[body.clone()])
                        .map_err(|e| anyhow::anyhow!("bid answered {status}: {e}"))?;
                    if let Some(m) = answer.min_next() {
                        next[lot].fetch_max(m, Ordering::Relaxed);
                    }
                    match (status, answer.bid) {
                        (201, Some(bid)) => {
                            placed.push((bid.event_id, ids[lot].clone(), begun));
                            break;
                        }
                        (422, _) => {
                            outbid.fetch_add(1, Ordering::Relaxed);
                        }
                        (other, _) => anyhow::bail!(
                            "bid answered {other}: {}",
                            String::from_utf8_lossy(&buf[body])
                        ),
                    }
                }
            }
            Ok::<_, anyhow::Error>((placed, latencies))
        }));
    }
    let (mut placed, mut latencies) = (Vec::new(), Vec::new());
    for t in tasks {
        let (p, l) = t.await??;
        placed.extend(p);
        latencies.extend(l);
    }
    placed.sort_unstable();
    Ok((placed, latencies, outbid.load(Ordering::Relaxed)))
}

/// Registers `n` bidders named `prefix-i` and logs each in, a few at a time (the server hashes
/// passwords one per core and answers 429 past its queue: such a request is sent again).
async fn register_users(server: SocketAddr, prefix: &str, n: usize) -> anyhow::Result<Vec<String>> {
    const AT_ONCE: usize = 8;
    let mut tasks = Vec::new();
    for part in 0..AT_ONCE.min(n.max(1)) {
        let prefix = prefix.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut conn = http::connect(server, None).await?;
            let mut tokens = Vec::new();
            for i in (part..n).step_by(AT_ONCE) {
                let name = format!("{prefix}-{i}");
                let mut created = false;
                let token = loop {
                    let role = (!created).then_some("bidder");
                    match token(&mut conn, &name, "load-password", role).await {
                        Ok(t) => break t,
                        Err(e) if e.to_string().contains("rate_limited") => {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(e) if e.to_string().contains("username_taken") => created = true,
                        // The server closes a connection kept idle too long: open another.
                        Err(e) if e.to_string().contains("closed") => {
                            conn = http::connect(server, None).await?;
                        }
                        Err(e) => return Err(e),
                    }
                };
                tokens.push((i, token));
            }
            Ok::<_, anyhow::Error>(tokens)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

/// The notices scenario's bids: user i bids once on lot i mod L, in order on each lot, so each
/// bid after a lot's first outbids the user before it. Returns each outbid user's token with
/// the start (µs) of the bid that outbid them, and every request's latency.
async fn notice_bid_phase(
    args: &Args,
    lots: &[(String, i64, i64)],
    users: &[String],
) -> anyhow::Result<(Vec<(String, u64)>, Vec<u64>)> {
    let interval = Duration::from_millis(args.interval_ms);
    let start = Instant::now();
    let mut tasks = Vec::new();
    let lanes = args.clients.clamp(1, lots.len().max(1));
    for lane in 0..lanes {
        let lots: Vec<(usize, String, i64)> = lots
            .iter()
            .enumerate()
            .filter(|(i, _)| i % lanes == lane)
            .map(|(i, l)| (i, l.0.clone(), l.2))
            .collect();
        let users = users.to_vec();
        let (server, count) = (args.server, lots.len());
        let all_lots = args.lots.max(1);
        tasks.push(tokio::spawn(async move {
            let mut conn = http::connect(server, None).await?;
            let (mut request, mut buf) = (Vec::with_capacity(512), Vec::with_capacity(16384));
            let (mut outbid, mut latencies) = (Vec::new(), Vec::new());
            let mut leaders: Vec<Option<usize>> = vec![None; count];
            let mut next: Vec<i64> = lots.iter().map(|l| l.2).collect();
            for (n, user) in users.iter().enumerate() {
                let Some(slot) = lots.iter().position(|l| l.0 == n % all_lots) else {
                    continue;
                };
                if !interval.is_zero() {
                    tokio::time::sleep_until((start + interval * n as u32).into()).await;
                }
                let path = format!("/api/v1/lots/{}/bids", lots[slot].1);
                let body = format!("{{\"amount_cents\":{}}}", next[slot]);
                http::write_request(&mut request, "POST", &path, Some(user), Some(&body));
                let begun = now_us();
                let (status, range) = http::exchange(&mut conn, &request, &mut buf).await?;
                latencies.push(now_us().saturating_sub(begun));
                let answer: http::BidAnswer = serde_json::from_slice(&buf[range.clone()])
                    .map_err(|e| anyhow::anyhow!("bid answered {status}: {e}"))?;
                anyhow::ensure!(
                    status == 201,
                    "bid answered {status}: {}",
                    String::from_utf8_lossy(&buf[range])
                );
                if let Some(m) = answer.min_next() {
                    next[slot] = m;
                }
                if let Some(before) = leaders[slot].replace(n) {
                    outbid.push((users[before].clone(), begun));
                }
            }
            Ok::<_, anyhow::Error>((outbid, latencies))
        }));
    }
    let (mut outbid, mut latencies) = (Vec::new(), Vec::new());
    for t in tasks {
        let (o, l) = t.await??;
        outbid.extend(o);
        latencies.extend(l);
    }
    Ok((outbid, latencies))
}
