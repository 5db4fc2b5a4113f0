//! Storage faults through the real binary (API.md §3a): a full disk (a small tmpfs), a WAL the
//! server may not open (read-only to its user; no file descriptor left). Writes answer 503
//! `storage_unavailable` with Retry-After and nothing unstored is acknowledged; reads go on;
//! the house neither spins nor floods the log; `/healthz` says not ready; and once the fault
//! clears, writes succeed and due lots close, with no restart.

use crate::helpers::Gavel;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether this machine can run a fault test (root, for mount, prlimit and another user); says
/// what was skipped when it cannot, and fails under CI.
fn can_run(what: &str) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if root {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} needs root (mount, prlimit, another user) and CI must run it"
    );
    eprintln!("skipped: {what} needs root (run the tests as root to include it)");
    false
}

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(megabytes: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("dir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Tmpfs(dir));
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "mounting a tmpfs failed under CI"
        );
        eprintln!("skipped: the full-disk test could not mount a tmpfs (needs CAP_SYS_ADMIN)");
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

/// A bid's answer: 201 (and its id), or 503 storage_unavailable with Retry-After; never else.
async fn bid(gavel: &Gavel, token: &str, lot: &str, amount: i64) -> Option<String> {
    let res = gavel
        .post(
            &format!("/api/v1/lots/{lot}/bids"),
            Some(token),
            json!({ "amount_cents": amount }),
        )
        .await;
    let status = res.status();
    let retry = res.headers().get("retry-after").cloned();
    let body: Value = res.json().await.expect("json");
    match status {
        StatusCode::CREATED => Some(body["bid"]["id"].as_str().expect("id").to_owned()),
        StatusCode::SERVICE_UNAVAILABLE => {
            assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
            assert!(retry.is_some(), "Retry-After");
            None
        }
        other => panic!("a bid during a fault answered {other}: {body}"),
    }
}

async fn until(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what} within {secs} s");
}

#[actix_web::test]
async fn a_full_disk_refuses_writes_then_recovers_without_a_restart() {
    if !can_run("the full-disk test") {
        return;
    }
    let Some(disk) = Tmpfs::mount(8) else { return };
    let gavel = Gavel::launch(disk.0.path(), None, &[]).await;
    let admin = gavel.token("root").await;
    let seller = gavel.user("sam", "seller").await;
    let bea = gavel.user("bea", "bidder").await;
    let hot = gavel.open_lot(&seller, &admin, 3600).await;
    let due_soon = gavel.open_lot(&seller, &admin, 6).await;
    let mut accepted = vec![bid(&gavel, &bea, &hot, 200).await.expect("a bid before")];

    // Fill the disk.
    let filler = disk.0.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let mut refused = 0;
    let mut amount = 300;
    for _ in 0..400 {
        match bid(&gavel, &bea, &hot, amount).await {
            Some(id) => accepted.push(id),
            None => refused += 1,
        }
        amount += 100;
        if refused >= 5 {
            break;
        }
    }
    assert!(refused >= 5, "a full disk refused bids");
    assert_eq!(gavel.healthz().await, StatusCode::SERVICE_UNAVAILABLE);
    gavel.lot(&hot).await;
    let page = gavel.client.get(gavel.url("/")).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK, "pages go on");

    // The short lot falls due meanwhile: no spin, no flood. (Its small closing may still fit in
    // the WAL's free frames: then it closes now, which is storage working, not a fault.)
    let (cpu, lines) = (gavel.cpu_secs(), gavel.log_lines());
    tokio::time::sleep(Duration::from_secs(8)).await;
    let spent = gavel.cpu_secs() - cpu;
    assert!(
        spent < 1.0,
        "the server used {spent:.2} CPU s in 8 s of fault"
    );
    assert!(gavel.log_lines() - lines < 20, "the log is not flooded");

    std::fs::remove_file(&filler).expect("room again");
    until("healthy again", 15, async || {
        gavel.healthz().await == StatusCode::OK
    })
    .await;
    until("the due lot closed", 10, async || {
        gavel.lot(&due_soon).await["status"] == "closed"
    })
    .await;
    accepted.push(
        bid(&gavel, &bea, &hot, amount + 1000)
            .await
            .expect("a bid after"),
    );
    let stored = gavel.bid_ids(&hot).await;
    for id in &accepted {
        assert!(stored.contains(id), "acknowledged bid {id} is stored");
    }
}

/// A WAL the server cannot open: read-only to the server's user, or no descriptor left.
async fn unopenable_wal_passes(break_it: impl Fn(&Gavel), mend: impl Fn(&Gavel), uid: Option<u32>) {
    let dir = tempfile::tempdir().expect("dir");
    if let Some(uid) = uid {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(uid)).expect("chown");
    }
    let gavel = Gavel::launch(dir.path(), uid, &[]).await;
    let admin = gavel.token("root").await;
    let seller = gavel.user("sam", "seller").await;
    let bea = gavel.user("bea", "bidder").await;
    let lot = gavel.open_lot(&seller, &admin, 3600).await;
    let mut accepted = vec![bid(&gavel, &bea, &lot, 200).await.expect("a bid before")];

    break_it(&gavel);
    // The first bid waits for its sync and hears 503 after 10 s; the next are refused at once.
    let began = Instant::now();
    assert_eq!(bid(&gavel, &bea, &lot, 300).await, None, "not acknowledged");
    assert!(began.elapsed() < Duration::from_secs(15));
    let began = Instant::now();
    assert_eq!(bid(&gavel, &bea, &lot, 400).await, None);
    assert!(began.elapsed() < Duration::from_secs(2), "refused at once");
    assert_eq!(gavel.healthz().await, StatusCode::SERVICE_UNAVAILABLE);
    gavel.lot(&lot).await;

    mend(&gavel);
    until("healthy again", 15, async || {
        gavel.healthz().await == StatusCode::OK
    })
    .await;
    accepted.push(bid(&gavel, &bea, &lot, 5000).await.expect("a bid after"));
    let stored = gavel.bid_ids(&lot).await;
    for id in &accepted {
        assert!(stored.contains(id), "acknowledged bid {id} is stored");
    }
}

#[actix_web::test]
async fn a_read_only_wal_refuses_writes_then_recovers() {
    if !can_run("the read-only WAL test") {
        return;
    }
    let wal = |g: &Gavel| g.dir.join("g.db-wal");
    let chmod = |g: &Gavel, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(wal(g), std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    // As `nobody`, so the file mode binds (root passes any mode).
    unopenable_wal_passes(|g| chmod(g, 0o444), |g| chmod(g, 0o644), Some(65534)).await;
}

#[actix_web::test]
async fn no_file_descriptor_left_refuses_writes_then_recovers() {
    if !can_run("the file-descriptor test") {
        return;
    }
    // Only the soft limit moves: raising a hard limit again may need a capability we lack.
    let prlimit = |g: &Gavel, n: usize| {
        let ok = Command::new("prlimit")
            .args([
                "--pid",
                &g.child.id().to_string(),
                &format!("--nofile={n}:"),
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "prlimit");
    };
    let open_fds = |g: &Gavel| {
        std::fs::read_dir(format!("/proc/{}/fd", g.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let soft_limit = |g: &Gavel| -> usize {
        std::fs::read_to_string(format!("/proc/{}/limits", g.child.id()))
            .ok()
            .and_then(|l| {
                l.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(1024)
    };
    let original = std::cell::Cell::new(0);
    unopenable_wal_passes(
        |g| {
            original.set(soft_limit(g));
            prlimit(g, open_fds(g).saturating_sub(2))
        },
        |g| prlimit(g, original.get()),
        None,
    )
    .await;
}
