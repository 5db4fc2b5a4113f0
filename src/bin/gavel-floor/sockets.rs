//! The loopback floor under every SSE and long-poll figure: what this machine's kernel charges
//! to write one event-sized frame to each of N held connections, with no HTTP, no channel and
//! no event in user space. Readers run in their own processes, one event loop each, reading as
//! `gavel-load`'s watchers do, so the wake-ups charged to the writer are the same.

use serde_json::json;
use std::io::{ErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

#[derive(clap::Args)]
pub struct SocketArgs {
    /// Writer threads (the server runs one worker per core).
    #[arg(long, default_value_t = 2)]
    writers: usize,
    /// Frames written to every connection, `--interval-ms` apart.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    #[arg(long, default_value_t = 250)]
    interval_ms: u64,
    /// Bytes per frame: a bid event's SSE frame is about 800.
    #[arg(long, default_value_t = 800)]
    frame_bytes: usize,
    /// Reader processes.
    #[arg(long, default_value_t = 2)]
    readers: usize,
    /// Loopback source addresses the readers connect from (127.0.0.1 to 127.0.0.K), so that
    /// ports do not run out.
    #[arg(long, default_value_t = 8)]
    sources: u8,
    /// Readers read every this many microseconds instead of waking for each frame (0: wake
    /// for each), as `gavel-load --read-every-us`.
    #[arg(long, default_value_t = 0)]
    read_every_us: u64,
    /// Set in the reader processes this tool starts: the port to connect to.
    #[arg(long, hide = true)]
    pub read_port: Option<u16>,
    #[arg(long, hide = true, default_value_t = 0)]
    read_count: usize,
}

/// Holds `count` connections to the port, reads until each ends, prints the bytes read.
pub fn read(args: &SocketArgs, port: u16) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let total: u64 = runtime.block_on(async {
        crate::pace::read_in_rounds(Duration::from_micros(args.read_every_us));
        let server = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut readers = Vec::with_capacity(args.read_count);
        for i in 0..args.read_count {
            let socket = tokio::net::TcpSocket::new_v4()?;
            let source = Ipv4Addr::new(127, 0, 0, 1 + (i % usize::from(args.sources.max(1))) as u8);
            socket.bind(SocketAddr::from((source, 0)))?;
            let mut conn = socket.connect(server).await?;
            readers.push(tokio::spawn(async move {
                let mut buf = vec![0u8; 16_384];
                let mut read = 0u64;
                while let Ok(n) = conn.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    read += n as u64;
                }
                read
            }));
        }
        let mut total = 0;
        for r in readers {
            total += r.await?;
        }
        anyhow::Ok(total)
    })?;
    println!("{total}");
    Ok(())
}

pub fn measure(connections: usize, args: &SocketArgs) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(connections > 0, "--sockets needs at least one connection");
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    let exe = std::env::current_exe()?;
    let readers = args.readers.clamp(1, connections.max(1));
    let mut children = Vec::with_capacity(readers);
    for r in 0..readers {
        let count = connections / readers + usize::from(r < connections % readers);
        children.push(
            Command::new(&exe)
                .args(["--read-port", &port.to_string()])
                .args(["--read-count", &count.to_string()])
                .args(["--sources", &args.sources.to_string()])
                .args(["--read-every-us", &args.read_every_us.to_string()])
                .stdout(Stdio::piped())
                .spawn()?,
        );
    }
    let conns = accept(&listener, connections, Duration::from_secs(60))?;

    // Split over the writers as the server's workers split connections.
    let writers = args.writers.clamp(1, connections.max(1));
    let mut groups: Vec<Vec<TcpStream>> = (0..writers).map(|_| Vec::new()).collect();
    for (i, c) in conns.into_iter().enumerate() {
        groups[i % writers].push(c);
    }
    let frame: Arc<[u8]> = frame(args.frame_bytes).into();
    let frame_bytes = frame.len() as u64;
    let start = Arc::new(Barrier::new(writers + 1));
    let done = Arc::new(Barrier::new(writers + 1));
    let failed = Arc::new(Mutex::new(None::<std::io::Error>));
    let rounds = args.rounds.max(1);
    let mut threads = Vec::with_capacity(writers);
    for mut group in groups {
        let (frame, start, done, failed) =
            (frame.clone(), start.clone(), done.clone(), failed.clone());
        threads.push(std::thread::spawn(move || {
            for _ in 0..rounds {
                start.wait();
                for c in &mut group {
                    if let Err(e) = c.write_all(&frame)
                        && let Ok(mut f) = failed.lock()
                    {
                        f.get_or_insert(e);
                    }
                }
                done.wait();
            }
            group
        }));
    }
    let cpu_before = cpu_seconds()?;
    let mut round_ms = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let began = Instant::now();
        start.wait();
        done.wait();
        round_ms.push(began.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(args.interval_ms));
    }
    // The writers sleep with the main thread, so the process's CPU is theirs.
    let cpu = cpu_seconds()? - cpu_before;
    if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
        return Err(e.into());
    }
    for t in threads {
        drop(t.join().map_err(|_| anyhow::anyhow!("a writer panicked"))?);
    }
    // Every connection is closed now: each reader reports what it read.
    let mut read = 0u64;
    for child in children {
        let out = child.wait_with_output()?;
        anyhow::ensure!(out.status.success(), "a reader failed: {}", out.status);
        read += String::from_utf8_lossy(&out.stdout).trim().parse::<u64>()?;
    }
    let writes = (connections * rounds) as u64;
    anyhow::ensure!(
        read == writes * frame_bytes,
        "the readers got {read} bytes of {}",
        writes * frame_bytes
    );
    round_ms.sort_by(f64::total_cmp);
    Ok(json!({
        "connections": connections,
        "writers": writers,
        "readers": readers,
        "read_every_us": args.read_every_us,
        "frame_bytes": frame_bytes,
        "writes": writes,
        "cpu_us_per_write": (cpu * 1e6 / writes as f64 * 100.0).round() / 100.0,
        "round_ms_p50": (round_ms[rounds / 2] * 10.0).round() / 10.0,
        "round_ms_max": (round_ms[rounds - 1] * 10.0).round() / 10.0,
    }))
}

fn cpu_seconds() -> anyhow::Result<f64> {
    crate::process::cpu_seconds("self").ok_or_else(|| anyhow::anyhow!("no CPU times in /proc"))
}

/// An SSE frame of exactly `bytes` bytes.
fn frame(bytes: usize) -> Vec<u8> {
    let mut frame = b"id: 1\nevent: bid\ndata: ".to_vec();
    frame.resize(bytes.saturating_sub(2).max(frame.len()), b'x');
    frame.extend_from_slice(b"\n\n");
    frame.truncate(bytes.max(1));
    frame
}

fn accept(
    listener: &TcpListener,
    connections: usize,
    within: Duration,
) -> anyhow::Result<Vec<TcpStream>> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + within;
    let mut conns = Vec::with_capacity(connections);
    while conns.len() < connections {
        match listener.accept() {
            Ok((conn, _)) => {
                conn.set_nonblocking(false)?;
                conn.set_nodelay(true)?;
                conns.push(conn);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "only {} of {connections} readers connected (is `ulimit -n` high enough?)",
                    conns.len()
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(conns)
}
