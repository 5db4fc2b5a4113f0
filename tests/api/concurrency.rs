use crate::helpers::spawn_app;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashSet;

/// 50 bidders at once on one lot, each bidding what it last saw as the minimum.
#[actix_web::test]
async fn fifty_clients_bidding_at_once_never_race() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    let id = app.open_lot(&seller, &admin, 100, None, 3_600).await;

    let mut tokens = Vec::new();
    for chunk in (0..50).collect::<Vec<_>>().chunks(10) {
        let made = futures_util::future::join_all(chunk.iter().map(|i| {
            let app = &app;
            async move { app.user(&format!("bidder{i}"), "bidder").await }
        }))
        .await;
        tokens.extend(made);
    }

    const ATTEMPTS: usize = 30;
    let results =
        futures_util::future::join_all(tokens.iter().enumerate().map(|(client, token)| {
            let (app, id) = (&app, id.clone());
            async move {
                let mut accepted = Vec::new();
                let mut next = 100;
                for attempt in 0..ATTEMPTS {
                    // Some bid the minimum, some jump ahead, so many bids land in each round.
                    let jump = ((client * 7 + attempt * 13) % 50) as i64 * 10;
                    let res = app.bid(token, &id, next + jump).await;
                    let status = res.status();
                    let body: Value = res.json().await.expect("json");
                    match status {
                        StatusCode::CREATED => {
                            accepted.push(body["bid"].clone());
                            next = body["lot"]["min_next_bid_cents"]
                                .as_i64()
                                .expect("min next");
                        }
                        StatusCode::UNPROCESSABLE_ENTITY => {
                            next = body["error"]["min_next_bid_cents"]
                                .as_i64()
                                .expect("min next");
                        }
                        other => panic!("unexpected {other}: {body}"),
                    }
                }
                accepted
            }
        }))
        .await;
    let accepted: Vec<Value> = results.into_iter().flatten().collect();
    // 1,500 attempts at once; most are outbid, but many land.
    assert!(
        accepted.len() >= 50,
        "only {} bids accepted",
        accepted.len()
    );

    let lot_id: uuid::Uuid = id.parse().expect("uuid");
    let events = app
        .store
        .events_after(Some(lot_id), 0, 10_000)
        .await
        .expect("events");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "seq has no gap"
    );
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let amounts: Vec<i64> = events
        .iter()
        .filter(|e| e.kind == "bid")
        .map(|e| {
            let v: Value = serde_json::from_str(&e.data).expect("json");
            v["bid"]["amount_cents"].as_i64().expect("amount")
        })
        .collect();
    assert_eq!(amounts.len(), accepted.len(), "one bid event per 201");
    assert!(
        amounts.windows(2).all(|w| w[0] < w[1]),
        "amounts strictly increase in event order"
    );

    let lot = app.lot(&id, None).await;
    assert_eq!(lot["current_price_cents"].as_i64(), amounts.last().copied());
    assert_eq!(lot["bid_count"].as_i64(), Some(accepted.len() as i64));

    let stored: HashSet<String> =
        sqlx::query_scalar::<_, String>("SELECT id FROM bids WHERE lot_id = ?")
            .bind(&id)
            .fetch_all(&app.store.pool)
            .await
            .expect("bids")
            .into_iter()
            .collect();
    assert_eq!(stored.len(), accepted.len());
    for bid in &accepted {
        assert!(
            stored.contains(bid["id"].as_str().expect("id")),
            "201 bid is stored"
        );
    }
}
