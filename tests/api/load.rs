use crate::helpers::{Options, TestApp, spawn_with};
use serde_json::Value;

/// Runs one of the project's tools to success; its standard output.
async fn run_tool(exe: &str, args: &[&str]) -> String {
    let output = tokio::process::Command::new(exe)
        .args(args)
        .output()
        .await
        .expect("the tool runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A server with the admin the load tool signs in as; its address and the pid the tool reads
/// memory and CPU from (the server runs inside this test process).
async fn server_for_the_tool(max_streams: Option<usize>) -> (TestApp, String, String) {
    let app = spawn_with(Options {
        admin: Some(("root".into(), "load-admin-password".into())),
        max_streams,
        ..Options::default()
    })
    .await;
    let server = app.address.trim_start_matches("http://").to_owned();
    (app, server, std::process::id().to_string())
}

/// The load tool's report: its last line, JSON.
fn last_json_line(stdout: &str) -> Value {
    stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("a JSON line last")
}

/// The load tool's smoke run, so it cannot rot: 200 watchers over both transports, 10 bids.
#[actix_web::test]
async fn the_load_tool_sees_every_bid_delivered_once() {
    smoke_run(&[]).await;
}

/// The same with watchers that read in rounds rather than waking for each frame.
#[actix_web::test]
async fn the_load_tool_with_paced_readers_sees_every_bid_delivered_once() {
    smoke_run(&["--read-every-us", "1000"]).await;
}

async fn smoke_run(extra: &[&str]) {
    let (_app, server, pid) = server_for_the_tool(None).await;
    let mut args = vec![
        "--server",
        &server,
        "--pid",
        &pid,
        "--watchers",
        "200",
        "--transport",
        "both",
        "--bids",
        "10",
        "--interval-ms",
        "20",
        "--settle-ms",
        "1000",
        "--workers",
        "2",
        "--sources",
        "2",
    ];
    args.extend_from_slice(extra);
    let stdout = run_tool(env!("CARGO_BIN_EXE_gavel-load"), &args).await;
    let report = last_json_line(&stdout);
    assert_eq!(report["connected"], 200);
    let paced = extra.windows(2).find(|w| w[0] == "--read-every-us");
    assert_eq!(
        report["read_every_us"].to_string(),
        paced.map_or("0", |w| w[1]),
        "{report}"
    );
    assert_eq!(report["bids_placed"], 10);
    assert_eq!(report["deliveries"], 2000, "{report}");
    assert_eq!(report["missing"], 0);
    assert_eq!(report["duplicated"], 0);
    assert_eq!(report["out_of_order"], 0);
    // The server's memory and CPU were read (their size depends on the whole test process).
    for figure in ["server_rss_before", "server_rss_attached"] {
        assert!(
            report[figure].as_u64().unwrap_or(0) > 0,
            "{figure}: {report}"
        );
    }
    assert!(
        report["server_cpu_us_per_delivery"].as_f64().is_some(),
        "{report}"
    );
    // The group commit's figures, read from /metrics around the bidding.
    let house = &report["house"];
    assert!(
        house["batches_per_sec"].as_f64().unwrap_or(0.0) > 0.0,
        "{report}"
    );
    assert!(
        house["commands_per_batch"].as_f64().unwrap_or(0.0) >= 1.0,
        "{report}"
    );
    assert!(house["sync_ms"].as_f64().unwrap_or(0.0) > 0.0, "{report}");
}

/// Scenario 6 at a small limit, through the load tool: the watchers past `GAVEL_MAX_STREAMS`
/// are counted as refused with 503 and `Retry-After` (not as failures), and every bid still
/// reaches every held one.
#[actix_web::test]
async fn the_load_tool_counts_streams_refused_at_the_limit() {
    let (_app, server, pid) = server_for_the_tool(Some(30)).await;
    let stdout = run_tool(
        env!("CARGO_BIN_EXE_gavel-load"),
        &[
            "--server",
            &server,
            "--pid",
            &pid,
            "--watchers",
            "40",
            "--transport",
            "sse",
            "--bids",
            "3",
            "--interval-ms",
            "20",
            "--settle-ms",
            "1000",
            "--workers",
            "1",
        ],
    )
    .await;
    let report = last_json_line(&stdout);
    assert_eq!(report["connected"], 30, "{report}");
    assert_eq!(report["refused_503"], 10, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["deliveries"], 90, "{report}");
    assert_eq!(report["missing"], 0, "{report}");
    assert!(
        stdout.contains("30 connected, 10 refused (503 with Retry-After), 0 failed"),
        "{stdout}"
    );
}

/// The storage-floor tool's smoke run: every figure it reports is measured, none is zero.
#[actix_web::test]
async fn the_floor_tool_measures_sqlite_and_the_house() {
    let stdout = run_tool(
        env!("CARGO_BIN_EXE_gavel-floor"),
        &[
            "--seconds",
            "1",
            "--lots",
            "5",
            "--batch",
            "8",
            "--clients",
            "4",
        ],
    )
    .await;
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    for figure in [
        "sqlite_one_bid_per_commit_per_sec",
        "sqlite_batched_bids_per_sec",
        "sqlite_batched_one_lot_bids_per_sec",
        "house_no_http_accepted_per_sec",
    ] {
        assert!(
            report[figure].as_f64().unwrap_or(0.0) > 0.0,
            "{figure}: {report}"
        );
    }
    assert_eq!(report["lots"], 5);
}

/// The hot-lot floor's smoke run: the bare server's clients bid, and the tool checks that the
/// accepted bids it counted are the ones the server's minimum rose by.
#[actix_web::test]
async fn the_floor_tool_bids_on_a_bare_hot_lot() {
    let stdout = run_tool(
        env!("CARGO_BIN_EXE_gavel-floor"),
        &["--hot-lot", "--seconds", "1", "--clients", "4"],
    )
    .await;
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(report["hot_lot_clients"], 4, "{report}");
    let accepted = report["bare_accepted_per_sec"].as_f64().unwrap_or(0.0);
    let requests = report["bare_requests_per_sec"].as_f64().unwrap_or(0.0);
    assert!(accepted > 0.0 && requests > accepted, "{report}");
    assert!(
        report["bare_server_cpu_us_per_request"]
            .as_f64()
            .unwrap_or(0.0)
            > 0.0,
        "{report}"
    );
}

/// The loopback floor's smoke run: every frame written reaches its reader (the tool checks the
/// byte count and fails otherwise), and the rounds are timed; with readers woken for each frame
/// and with readers reading in rounds.
#[actix_web::test]
async fn the_floor_tool_measures_loopback_writes() {
    for read_every_us in ["0", "1000"] {
        let stdout = run_tool(
            env!("CARGO_BIN_EXE_gavel-floor"),
            &[
                "--sockets",
                "40",
                "--rounds",
                "3",
                "--interval-ms",
                "10",
                "--frame-bytes",
                "500",
                "--read-every-us",
                read_every_us,
            ],
        )
        .await;
        let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
        assert_eq!(report["connections"], 40, "{report}");
        assert_eq!(report["writes"], 120, "{report}");
        assert_eq!(report["frame_bytes"], 500, "{report}");
        assert_eq!(report["read_every_us"].to_string(), read_every_us);
        assert!(
            report["round_ms_max"].as_f64().unwrap_or(0.0) > 0.0,
            "{report}"
        );
    }
}
