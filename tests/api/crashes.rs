//! `kill -9` under bidding load, again and again (10 cycles here; `GAVEL_KILL_CYCLES=100` for the
//! long run): after each restart every acknowledged bid is there, and every acknowledged
//! idempotency key answers with its first answer.

use crate::helpers::Gavel;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

struct Acknowledged {
    lot: String,
    token: String,
    amount: i64,
    body: String,
}

/// Bids flat out with fresh keys until the server dies; returns what was acknowledged.
async fn bid_until_killed(
    gavel: &Gavel,
    token: String,
    lots: Vec<String>,
    tag: String,
) -> HashMap<String, Acknowledged> {
    let mut acked = HashMap::new();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    for n in 0.. {
        let lot = &lots[n % lots.len()];
        let Ok(res) = client
            .get(gavel.url(&format!("/api/v1/lots/{lot}")))
            .send()
            .await
        else {
            break;
        };
        let Ok(view) = res.json::<Value>().await else {
            break;
        };
        let amount = view["min_next_bid_cents"].as_i64().unwrap_or(100);
        let key = format!("{tag}-{n}");
        let sent = client
            .post(gavel.url(&format!("/api/v1/lots/{lot}/bids")))
            .bearer_auth(&token)
            .header("Idempotency-Key", &key)
            .json(&json!({ "amount_cents": amount }))
            .send()
            .await;
        let Ok(res) = sent else { break };
        if res.status() == StatusCode::CREATED {
            let Ok(body) = res.text().await else { break };
            acked.insert(
                key,
                Acknowledged {
                    lot: lot.clone(),
                    token: token.clone(),
                    amount,
                    body,
                },
            );
        }
    }
    acked
}

#[actix_web::test]
async fn kill_9_under_load_loses_no_acknowledged_bid_or_answer() {
    let cycles: usize = std::env::var("GAVEL_KILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().expect("dir");
    let gavel = Gavel::launch(dir.path(), None, &[]).await;
    let admin = gavel.token("root").await;
    let seller = gavel.user("sam", "seller").await;
    let mut bidders = Vec::new();
    for i in 0..4 {
        bidders.push(gavel.user(&format!("bidder{i}"), "bidder").await);
    }
    let mut lots = Vec::new();
    for _ in 0..3 {
        lots.push(gavel.open_lot(&seller, &admin, 30 * 86_400).await);
    }
    drop(gavel);

    let mut all: HashMap<String, Acknowledged> = HashMap::new();
    for cycle in 0..cycles {
        let mut gavel = Gavel::launch(dir.path(), None, &[]).await;
        // What earlier lives acknowledged is all here; the keys of the life just killed answer
        // as they first did (earlier lives' keys were checked after their own kill).
        let last = format!("c{}-", cycle.saturating_sub(1));
        for (key, ack) in all.iter().filter(|(k, _)| k.starts_with(&last)) {
            let res = gavel
                .client
                .post(gavel.url(&format!("/api/v1/lots/{}/bids", ack.lot)))
                .bearer_auth(&ack.token)
                .header("Idempotency-Key", key)
                .json(&json!({ "amount_cents": ack.amount }))
                .send()
                .await
                .expect("answered");
            assert_eq!(res.status(), StatusCode::CREATED, "cycle {cycle}: {key}");
            assert_eq!(res.headers()["idempotent-replayed"], "true");
            assert_eq!(
                res.text().await.expect("body"),
                ack.body,
                "cycle {cycle}: {key}"
            );
        }
        let mut stored = Vec::new();
        for lot in &lots {
            stored.extend(gavel.bid_ids(lot).await);
        }
        for ack in all.values() {
            let body: Value = serde_json::from_str(&ack.body).expect("json");
            let id = body["bid"]["id"].as_str().expect("id");
            assert!(
                stored.iter().any(|s| s == id),
                "cycle {cycle}: bid {id} lost"
            );
        }

        let load = bidders.iter().enumerate().map(|(i, token)| {
            bid_until_killed(
                &gavel,
                token.clone(),
                lots.clone(),
                format!("c{cycle}-b{i}"),
            )
        });
        let pid = gavel.child.id().to_string();
        let killer = async move {
            tokio::time::sleep(Duration::from_millis(300 + 97 * (cycle as u64 % 7))).await;
            let killed = std::process::Command::new("kill")
                .args(["-9", &pid])
                .status();
            assert!(killed.is_ok_and(|s| s.success()), "kill -9");
        };
        let (acked, ()) = tokio::join!(futures_util::future::join_all(load), killer);
        let _ = gavel.child.wait();
        for batch in acked {
            all.extend(batch);
        }
    }
    assert!(
        all.len() > cycles * 4,
        "the load placed bids: {}",
        all.len()
    );
    eprintln!(
        "kill -9: {cycles} cycles, {} acknowledged bids, none lost",
        all.len()
    );
}
