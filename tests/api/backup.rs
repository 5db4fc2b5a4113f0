//! `gavel backup PATH` while bidders bid: a server started on the copy finds every bid that was
//! acknowledged before the backup began (README: restore).

use crate::helpers::Gavel;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn bid_until(
    gavel: &Gavel,
    token: &str,
    lot: &str,
    stop: &AtomicBool,
    acked: &Mutex<Vec<String>>,
) {
    while !stop.load(Ordering::Relaxed) {
        let view: Value = gavel
            .client
            .get(gavel.url(&format!("/api/v1/lots/{lot}")))
            .send()
            .await
            .expect("lot")
            .json()
            .await
            .expect("json");
        let amount = view["min_next_bid_cents"].as_i64().expect("min");
        let res = gavel
            .post(
                &format!("/api/v1/lots/{lot}/bids"),
                Some(token),
                json!({ "amount_cents": amount }),
            )
            .await;
        if res.status() == StatusCode::CREATED {
            let body: Value = res.json().await.expect("json");
            let id = body["bid"]["id"].as_str().expect("id").to_owned();
            acked.lock().expect("acked").push(id);
        }
    }
}

#[actix_web::test]
async fn a_backup_taken_under_load_holds_every_bid_acknowledged_before_it() {
    let dir = tempfile::tempdir().expect("dir");
    let gavel = Gavel::launch(dir.path(), None, &[]).await;
    let admin = gavel.token("root").await;
    let seller = gavel.user("sam", "seller").await;
    let lot = gavel.open_lot(&seller, &admin, 86_400).await;
    let mut bidders = Vec::new();
    for i in 0..3 {
        bidders.push(gavel.user(&format!("bidder{i}"), "bidder").await);
    }
    let stop = AtomicBool::new(false);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let backup = dir.path().join("copy.db");
    let db_url = format!("sqlite://{}/g.db", dir.path().display());

    let load = bidders
        .iter()
        .map(|token| bid_until(&gavel, token, &lot, &stop, &acked));
    let take = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let before: Vec<String> = acked.lock().expect("acked").clone();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gavel"))
            .args(["backup", &backup.display().to_string()])
            .env("DATABASE_URL", &db_url)
            .env("RUST_LOG", "error")
            .output()
            .await
            .expect("backup runs");
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        (before, out)
    };
    let (_, (before, out)) = tokio::join!(futures_util::future::join_all(load), take);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        before.len() >= 10,
        "bids were acknowledged before: {}",
        before.len()
    );
    let after = acked.lock().expect("acked").len();
    assert!(after > before.len(), "bidding went on during the backup");
    drop(gavel);

    // Restore as README says: the copy becomes the database of a fresh start.
    let restored = tempfile::tempdir().expect("dir");
    std::fs::copy(&backup, restored.path().join("g.db")).expect("restore");
    let gavel = Gavel::launch(restored.path(), None, &[]).await;
    let stored = gavel.bid_ids(&lot).await;
    for id in &before {
        assert!(
            stored.contains(id),
            "bid {id} acknowledged before the backup is in it"
        );
    }
    eprintln!(
        "backup: {} bids acknowledged before it, {} in it, {} by the end",
        before.len(),
        stored.len(),
        after
    );
}
