//! Floors under the figures in BENCHMARKS.md, measured on this machine with Gavel's HTTP left out:
//! - by default, storage: SQLite alone and the auction house without HTTP (`storage.rs`);
//! - with `--hot-lot`, `gavel-load`'s bidding clients on one lot of a bare actix-web server,
//!   the HTTP share of scenario 4b (`hot_lot.rs`);
//! - with `--sockets N`, loopback writes of one event-sized frame to each of N held
//!   connections, the kernel's share of every delivery (`sockets.rs`);
//! - with `--serve-pollers ADDR`, a bare actix-web long-poll server, the framework's floor under
//!   Gavel's polls, for an outside load client to measure (`pollers.rs`).
//!
//! `cargo run --release --bin gavel-floor -- --seconds 5`, or `-- --hot-lot --seconds 10`, or
//! `-- --sockets 19000` (which needs
//! `ulimit -n 20000`). Prints one JSON line.

mod hot_lot;
#[path = "../gavel-load/http.rs"]
#[expect(
    dead_code,
    reason = "the bidding clients need only part of gavel-load's HTTP"
)]
mod http;
#[path = "../common/pace.rs"]
mod pace;
mod pollers;
#[path = "../common/process.rs"]
#[expect(dead_code, reason = "the memory reading is gavel-load's")]
mod process;
mod sockets;
mod storage;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Measure loopback writes to this many held connections instead of storage.
    #[arg(long)]
    sockets: Option<usize>,
    /// Measure `--clients` bidding on one lot of a bare actix-web server for `--seconds`
    /// instead of storage.
    #[arg(long)]
    hot_lot: bool,
    #[arg(long, hide = true)]
    serve_hot_lot: bool,
    /// Serve bare long polls on this address until killed (no report).
    #[arg(long, value_name = "ADDR")]
    serve_pollers: Option<String>,
    #[command(flatten)]
    storage: storage::StorageArgs,
    #[command(flatten)]
    socket_args: sockets::SocketArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    if let Some(port) = args.socket_args.read_port {
        return sockets::read(&args.socket_args, port);
    }
    if let Some(bind) = &args.serve_pollers {
        return pollers::serve(bind);
    }
    if args.serve_hot_lot {
        return hot_lot::serve();
    }
    let report = match args.sockets {
        Some(n) => sockets::measure(n, &args.socket_args)?,
        None if args.hot_lot => hot_lot::measure(args.storage.clients, args.storage.seconds)?,
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(storage::measure(&args.storage))?,
    };
    println!("{report}");
    Ok(())
}
