//! The HTTP floor under scenario 4b (one hot lot): `gavel-load`'s bidding clients, each bidding
//! the minimum next bid it last saw and retrying when outbid, against a bare actix-web server in
//! its own process whose lot is one atomic number: no auth, no auction house, no database, no
//! disk. What these clients get from it bounds what any server on actix-web gets from them on
//! this machine.

use crate::http::BidAnswer;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;
use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The bare server's increment; Gavel's table gives 1.00 for prices from 25.00 to 100.00.
const INCREMENT: i64 = 100;

#[derive(serde::Deserialize)]
struct Bid {
    amount_cents: i64,
}

/// Accepts a bid at or above the minimum and raises the minimum; refuses one below it with the
/// minimum, as Gavel answers (201 with the lot's new minimum, 422 with the current one).
async fn bid(min_next: web::Data<AtomicI64>, body: web::Json<Bid>) -> HttpResponse {
    let amount = body.amount_cents;
    let mut current = min_next.load(Ordering::Acquire);
    loop {
        if amount < current {
            return HttpResponse::UnprocessableEntity().json(json!({"error": {
                "code": "bid_too_low", "min_next_bid_cents": current}}));
        }
        match min_next.compare_exchange(
            current,
            amount + INCREMENT,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                return HttpResponse::Created().json(json!({
                    "bid": {"amount_cents": amount, "event_id": amount / INCREMENT},
                    "lot": {"min_next_bid_cents": amount + INCREMENT}}));
            }
            Err(now) => current = now,
        }
    }
}

/// In the child process: serves the bare lot on a free loopback port (printed first) with
/// actix-web's default worker count, as Gavel does, until killed.
pub fn serve() -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    println!("{}", listener.local_addr()?.port());
    let min_next = web::Data::new(AtomicI64::new(INCREMENT));
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            App::new()
                .app_data(min_next.clone())
                .route("/bid", web::post().to(bid))
        })
        .listen(listener)?
        .run(),
    )?;
    Ok(())
}

/// Starts the bare server, bids on it from `clients` connections for `seconds`, and reports the
/// accepted bids per second with the requests and CPU that took.
pub fn measure(clients: usize, seconds: u64) -> anyhow::Result<serde_json::Value> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--serve-hot-lot")
        .stdout(Stdio::piped())
        .spawn()?;
    let port = child
        .stdout
        .take()
        .and_then(|out| std::io::BufReader::new(out).lines().next())
        .ok_or_else(|| anyhow::anyhow!("the bare server printed no port"))??
        .trim()
        .parse::<u16>()?;
    let pid = child.id().to_string();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let server_cpu_before = cpu_seconds(&pid)?;
    let own_cpu_before = cpu_seconds("self")?;
    let result = runtime.block_on(bid_flat_out(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        clients.max(1),
        Duration::from_secs(seconds.max(1)),
    ));
    let server_cpu = cpu_seconds(&pid)? - server_cpu_before;
    let own_cpu = cpu_seconds("self")? - own_cpu_before;
    let _ = child.kill();
    let _ = child.wait();
    let (accepted, outbid, secs) = result?;
    let requests = (accepted + outbid) as f64;
    let round = |x: f64| (x * 10.0).round() / 10.0;
    Ok(json!({
        "hot_lot_clients": clients.max(1),
        "hot_lot_seconds": round(secs),
        "bare_accepted_per_sec": round(accepted as f64 / secs),
        "bare_requests_per_sec": round(requests / secs),
        "bare_server_cpu_us_per_request": round(server_cpu * 1e6 / requests),
        "clients_cpu_us_per_request": round(own_cpu * 1e6 / requests),
    }))
}

fn cpu_seconds(pid: &str) -> anyhow::Result<f64> {
    crate::process::cpu_seconds(pid).ok_or_else(|| anyhow::anyhow!("no CPU times in /proc"))
}

/// `gavel-load`'s bidding loop on one lot: the minimum last heard by any client, bid at once.
async fn bid_flat_out(
    server: SocketAddr,
    clients: usize,
    run: Duration,
) -> anyhow::Result<(u64, u64, f64)> {
    let next = Arc::new(AtomicI64::new(INCREMENT));
    let (accepted, outbid) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let began = Instant::now();
    let until = began + run;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (next, accepted, outbid) = (next.clone(), accepted.clone(), outbid.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = crate::http::connect(server, None).await?;
            let (mut request, mut buf) = (Vec::with_capacity(512), Vec::with_capacity(4096));
            while Instant::now() < until {
                let amount = next.load(Ordering::Relaxed);
                crate::http::write_request(
                    &mut request,
                    "POST",
                    "/bid",
                    Some("a-bearer-token-as-long-as-gavel-s-43-chars"),
                    Some(&format!("{{\"amount_cents\":{amount}}}")),
                );
                let (status, body) = crate::http::exchange(&mut conn, &request, &mut buf).await?;
                let answer: BidAnswer = serde_json::from_slice(&buf[body])?;
                if let Some(told) = answer.min_next() {
                    next.fetch_max(told, Ordering::Relaxed);
                }
                match status {
                    201 => accepted.fetch_add(1, Ordering::Relaxed),
                    422 => outbid.fetch_add(1, Ordering::Relaxed),
                    other => anyhow::bail!("the bare server answered {other}"),
                };
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = began.elapsed().as_secs_f64();
    let accepted = accepted.load(Ordering::Relaxed);
    // Every acceptance raised the minimum by one increment: a bid of nothing is told the final
    // one, so an acceptance miscounted (or a lost update in the server) fails the run.
    let mut conn = crate::http::connect(server, None).await?;
    let (mut request, mut buf) = (Vec::new(), Vec::new());
    crate::http::write_request(
        &mut request,
        "POST",
        "/bid",
        None,
        Some("{\"amount_cents\":0}"),
    );
    let (_, body) = crate::http::exchange(&mut conn, &request, &mut buf).await?;
    let last: BidAnswer = serde_json::from_slice(&buf[body])?;
    let final_min = last.min_next().unwrap_or(0);
    anyhow::ensure!(
        final_min == INCREMENT * (accepted as i64 + 1),
        "{accepted} bids accepted but the minimum is {final_min}"
    );
    Ok((accepted, outbid.load(Ordering::Relaxed), secs))
}
