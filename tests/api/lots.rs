use crate::helpers::{error_code, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[actix_web::test]
async fn seller_offers_admin_approves_and_roles_are_enforced() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    let bidder = app.user("bea", "bidder").await;

    let lot = app.offer(&seller, 1_000, Some(5_000), 3_600).await;
    let id = lot["id"].as_str().expect("id").to_owned();
    assert_eq!(lot["status"], "pending");
    assert_eq!(lot["ends_at"], Value::Null);
    assert_eq!(lot["reserve_cents"], 5_000, "the seller sees the reserve");
    assert_eq!(lot["seller"]["username"], "sam");
    assert_eq!(lot["last_event_id"], 0);

    // Only sellers and admins offer; the role check comes first.
    let body = json!({"title": "t", "starting_price_cents": 100, "duration_secs": 60});
    let res = app
        .post_json("/api/v1/lots", Some(&bidder), body.clone())
        .await;
    assert_eq!(error_code(res).await.0, StatusCode::FORBIDDEN);
    let res = app.post_json("/api/v1/lots", None, body).await;
    assert_eq!(error_code(res).await.0, StatusCode::UNAUTHORIZED);

    // Pending offers are private to their seller and the admins.
    let path = format!("/api/v1/lots/{id}");
    assert_eq!(
        app.get_json(&path, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_json(&path, Some(&bidder)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_json(&path, Some(&seller)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_json(&path, Some(&admin)).await.status(),
        StatusCode::OK
    );
    let res = app
        .get_json("/api/v1/lots?status=pending", Some(&admin))
        .await;
    let list: Value = res.json().await.expect("json");
    assert_eq!(list["lots"].as_array().map(Vec::len), Some(1));
    let res = app
        .get_json("/api/v1/lots?status=pending", Some(&bidder))
        .await;
    let list: Value = res.json().await.expect("json");
    assert_eq!(list["lots"].as_array().map(Vec::len), Some(0));

    // Approval: admins only.
    let approve = format!("/api/v1/lots/{id}/approve");
    assert_eq!(
        app.post_json(&approve, Some(&seller), json!({}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_json(&approve, None, json!({})).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app.post_json(&approve, Some(&admin), json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let opened: Value = res.json().await.expect("json");
    assert_eq!(opened["status"], "open");
    assert!(
        opened["ends_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.contains('.'))
    );
    assert_eq!(opened["last_event_id"], 1);
    let again = app.post_json(&approve, Some(&admin), json!({})).await;
    assert_eq!(error_code(again).await.1, "lot_not_pending");

    // Now public, without the reserve.
    let public = app.lot(&id, Some(&bidder)).await;
    assert_eq!(public.get("reserve_cents"), None);
    assert_eq!(public["reserve_met"], false);
    let open: Value = app
        .get_json("/api/v1/lots", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(open["lots"][0]["id"], id.as_str());
}

#[actix_web::test]
async fn reject_and_cancel() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    let lot = app.offer(&seller, 1_000, None, 600).await;
    let id = lot["id"].as_str().expect("id");
    let res = app
        .post_json(
            &format!("/api/v1/lots/{id}/reject"),
            Some(&admin),
            json!({"reason": "No photos"}),
        )
        .await;
    let rejected: Value = res.json().await.expect("json");
    assert_eq!(rejected["status"], "rejected");
    let seen = app.lot(id, Some(&seller)).await;
    assert_eq!(seen["reject_reason"], "No photos");
    assert_eq!(
        app.get_json(&format!("/api/v1/lots/{id}"), None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let open = app.open_lot(&seller, &admin, 1_000, None, 600).await;
    let bidder = app.user("bea", "bidder").await;
    assert_eq!(
        app.bid(&bidder, &open, 1_000).await.status(),
        StatusCode::CREATED
    );
    let res = app
        .post_json(
            &format!("/api/v1/lots/{open}/cancel"),
            Some(&admin),
            json!({}),
        )
        .await;
    let cancelled: Value = res.json().await.expect("json");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["winner"], Value::Null);
    let res = app
        .post_json(
            &format!("/api/v1/lots/{open}/close"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "lot_not_open");
    let res = app.bid(&bidder, &open, 5_000).await;
    assert_eq!(error_code(res).await.1, "lot_not_open");
}

#[actix_web::test]
async fn admin_closes_now_and_the_winner_is_decided() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    let (bea, bob) = (
        app.user("bea", "bidder").await,
        app.user("bob", "bidder").await,
    );
    let id = app
        .open_lot(&seller, &admin, 1_000, Some(1_500), 3_600)
        .await;
    app.bid(&bea, &id, 1_000).await;
    app.bid(&bob, &id, 2_000).await;
    let res = app
        .post_json(&format!("/api/v1/lots/{id}/close"), Some(&admin), json!({}))
        .await;
    let closed: Value = res.json().await.expect("json");
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["winner"]["username"], "bob");
    assert_eq!(closed["final_price_cents"], 2_000);
    assert!(closed["closed_at"].is_string());
    let list: Value = app
        .get_json("/api/v1/lots?status=closed", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["lots"][0]["winner"]["username"], "bob");
}

#[actix_web::test]
async fn bad_input_gets_clear_errors() {
    let app = spawn_app().await;
    let seller = app.user("sam", "seller").await;
    let cases = [
        (
            json!({"title": "", "starting_price_cents": 100, "duration_secs": 60}),
            "invalid_title",
        ),
        (
            json!({"title": "x".repeat(201), "starting_price_cents": 100, "duration_secs": 60}),
            "invalid_title",
        ),
        (
            json!({"title": "t", "description": "d".repeat(10_001), "starting_price_cents": 100, "duration_secs": 60}),
            "invalid_description",
        ),
        (
            json!({"title": "t", "starting_price_cents": 0, "duration_secs": 60}),
            "invalid_starting_price",
        ),
        (
            json!({"title": "t", "starting_price_cents": 100_000_000_001_i64, "duration_secs": 60}),
            "invalid_starting_price",
        ),
        (
            json!({"title": "t", "starting_price_cents": 12.5, "duration_secs": 60}),
            "invalid_starting_price",
        ),
        (
            json!({"title": "t", "duration_secs": 60}),
            "invalid_starting_price",
        ),
        (
            json!({"title": "t", "starting_price_cents": 100, "reserve_cents": -1, "duration_secs": 60}),
            "invalid_reserve",
        ),
        (
            json!({"title": "t", "starting_price_cents": 100, "duration_secs": 0}),
            "invalid_duration",
        ),
        (
            json!({"title": "t", "starting_price_cents": 100, "duration_secs": 2_592_001}),
            "invalid_duration",
        ),
    ];
    for (body, code) in cases {
        let res = app
            .post_json("/api/v1/lots", Some(&seller), body.clone())
            .await;
        let (status, got, err) = error_code(res).await;
        assert_eq!(
            (status, got.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, code),
            "{body}"
        );
        assert!(err["error"]["field"].is_string());
    }

    let res = app
        .api
        .post(app.url("/api/v1/lots"))
        .bearer_auth(&seller)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(error_code(res).await.1, "invalid_json");
    let huge = json!({"title": "t", "description": "x".repeat(70_000)});
    let res = app.post_json("/api/v1/lots", Some(&seller), huge).await;
    let (status, code, _) = error_code(res).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );

    for path in [
        "/api/v1/lots/not-a-uuid",
        "/api/v1/lots/01900000-0000-7000-8000-000000000000",
        "/api/v1/nothing",
    ] {
        let res = app.get_json(path, None).await;
        let (status, code, _) = error_code(res).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let res = app.get_json("/api/v1/lots?status=sold", None).await;
    assert_eq!(error_code(res).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}
