//! Categories and search (API.md §8): words through FTS5 (case, accents, prefix), filters,
//! sorts and pages, kept in step with prices and statuses, and after a restart.

use crate::helpers::{Options, TestApp, error_code, spawn_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn category(app: &TestApp, admin: &str, name: &str) -> String {
    let res = app
        .post_json("/api/v1/categories", Some(admin), json!({ "name": name }))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.expect("json");
    body["slug"].as_str().expect("slug").to_owned()
}

/// An open lot with these words, in a category or none.
async fn lot(
    app: &TestApp,
    (seller, admin): (&str, &str),
    title: &str,
    description: &str,
    category: Option<&str>,
    start_cents: i64,
    secs: i64,
) -> String {
    let mut body = json!({ "title": title, "description": description,
        "starting_price_cents": start_cents, "duration_secs": secs });
    if let Some(c) = category {
        body["category"] = json!(c);
    }
    let res = app.post_json("/api/v1/lots", Some(seller), body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let res = app
        .post_json(
            &format!("/api/v1/lots/{id}/approve"),
            Some(admin),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    id
}

async fn search(app: &TestApp, query: &str) -> Value {
    let res = app.get_json(&format!("/api/v1/lots?{query}"), None).await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    res.json().await.expect("json")
}

fn titles(found: &Value) -> Vec<String> {
    found["lots"]
        .as_array()
        .expect("lots")
        .iter()
        .map(|l| l["title"].as_str().expect("title").to_owned())
        .collect()
}

#[actix_web::test]
async fn words_match_ignoring_case_and_accents_with_the_last_one_a_prefix() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, _) = app.cast().await;
    let who = (seller.as_str(), admin.as_str());
    lot(
        &app,
        who,
        "Café table",
        "Marble top, iron legs.",
        None,
        5_000,
        600,
    )
    .await;
    lot(
        &app,
        who,
        "Brass lamp",
        "A desk LAMP from the 1920s.",
        None,
        1_000,
        700,
    )
    .await;
    lot(
        &app,
        who,
        "Lampshade",
        "Silk, crème colour.",
        None,
        800,
        800,
    )
    .await;
    lot(
        &app,
        who,
        "Oak chair",
        "Sturdy; pairs with a table.",
        None,
        2_000,
        900,
    )
    .await;

    assert_eq!(titles(&search(&app, "q=CAFE").await), ["Café table"]);
    assert_eq!(titles(&search(&app, "q=creme").await), ["Lampshade"]);
    assert_eq!(
        titles(&search(&app, "q=lam").await),
        ["Brass lamp", "Lampshade"]
    );
    // Every word must appear; only the last is a prefix.
    assert_eq!(titles(&search(&app, "q=lamp+des").await), ["Brass lamp"]);
    assert_eq!(titles(&search(&app, "q=desk+lamp").await), ["Brass lamp"]);
    assert!(titles(&search(&app, "q=lam+desk").await).is_empty());
    // Words in the description count; FTS syntax typed by someone is only words.
    assert_eq!(
        titles(&search(&app, "q=table").await),
        ["Café table", "Oak chair"]
    );
    assert_eq!(
        titles(&search(&app, "q=%22table%22+OR+NEAR(lamp)").await),
        Vec::<String>::new()
    );
    assert_eq!(
        search(&app, "q=%2A%22").await["total"],
        4,
        "no words: no filter"
    );
}

#[actix_web::test]
async fn sorts_pages_and_categories() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let who = (seller.as_str(), admin.as_str());
    let lamps = category(&app, &admin, "Lamps & Lights").await;
    assert_eq!(lamps, "lamps-lights");
    let chairs = category(&app, &admin, "Chairs").await;
    let (code, _, _) = error_code(
        app.post_json(
            "/api/v1/categories",
            Some(&admin),
            json!({"name": "chairs"}),
        )
        .await,
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT, "names are unique ignoring case");
    let a = lot(&app, who, "Lamp A", "", Some(&lamps), 1_000, 900).await;
    let b = lot(&app, who, "Lamp B", "", Some(&lamps), 3_000, 600).await;
    let c = lot(&app, who, "Lamp C", "", Some(&lamps), 2_000, 700).await;
    lot(&app, who, "Chair D", "", Some(&chairs), 500, 800).await;
    lot(&app, who, "Lamp E", "", None, 4_000, 1_000).await;
    app.bid(&bea, &a, 5_000).await;
    app.bid(&bea, &c, 2_000).await;
    app.bid(&bea, &c, 2_100).await;

    let by = |sort: &str| format!("q=lamp&sort={sort}");
    assert_eq!(
        titles(&search(&app, &by("ending")).await),
        ["Lamp B", "Lamp C", "Lamp A", "Lamp E"]
    );
    assert_eq!(
        titles(&search(&app, &by("newest")).await),
        ["Lamp E", "Lamp C", "Lamp B", "Lamp A"]
    );
    // By the price a bidder would pay now: the current bid, else the starting price.
    assert_eq!(
        titles(&search(&app, &by("price_asc")).await),
        ["Lamp C", "Lamp B", "Lamp E", "Lamp A"]
    );
    assert_eq!(
        titles(&search(&app, &by("price_desc")).await),
        ["Lamp A", "Lamp E", "Lamp B", "Lamp C"]
    );
    assert_eq!(
        titles(&search(&app, &by("bids")).await)[..2],
        ["Lamp C", "Lamp A"]
    );

    // Words and a category together (they meet inside the index).
    assert_eq!(
        titles(&search(&app, &format!("q=lam&category={lamps}")).await),
        ["Lamp B", "Lamp C", "Lamp A"]
    );
    assert!(titles(&search(&app, &format!("q=lamp&category={chairs}")).await).is_empty());
    let cat = search(&app, &format!("category={lamps}&per_page=2")).await;
    assert_eq!(
        (
            cat["total"].clone(),
            cat["page"].clone(),
            cat["per_page"].clone()
        ),
        (json!(3), json!(1), json!(2))
    );
    assert_eq!(titles(&cat), ["Lamp B", "Lamp C"]);
    assert_eq!(
        cat["lots"][0]["category"],
        json!({"slug": "lamps-lights", "name": "Lamps & Lights"})
    );
    let second = search(&app, &format!("category={lamps}&per_page=2&page=2")).await;
    assert_eq!(titles(&second), ["Lamp A"]);
    assert_eq!(second["total"], 3);
    assert!(titles(&search(&app, &format!("category={lamps}&per_page=2&page=3")).await).is_empty());

    let counted: Value = app
        .get_json("/api/v1/categories", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        counted["categories"][0],
        json!({"slug": "chairs", "name": "Chairs", "open_lots": 1})
    );
    assert_eq!(counted["categories"][1]["open_lots"], 3);

    for bad in [
        "sort=cheapest",
        "per_page=0",
        "per_page=101",
        "page=0",
        "status=sold",
    ] {
        let (code, error, _) =
            error_code(app.get_json(&format!("/api/v1/lots?{bad}"), None).await).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {error}");
    }
    let (code, error, _) = error_code(
        app.post_json(
            "/api/v1/lots",
            Some(&seller),
            json!({"title": "X", "description": "",
            "starting_price_cents": 100, "duration_secs": 60, "category": "nope"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_category")
    );

    // A renamed category shows its new name on open lots (served from memory) and in lists.
    let res = app
        .api
        .put(app.url(&format!("/api/v1/categories/{lamps}")))
        .bearer_auth(&admin)
        .json(&json!({"name": "Lighting"}))
        .send()
        .await
        .expect("renamed");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.lot(&b, None).await["category"]["name"], "Lighting");
    assert_eq!(
        search(&app, &format!("category={lamps}")).await["lots"][0]["category"]["name"],
        "Lighting"
    );
}

#[actix_web::test]
async fn the_index_follows_prices_and_statuses_and_survives_a_restart() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, bea) = app.cast().await;
    let who = (seller.as_str(), admin.as_str());
    let cheap = lot(&app, who, "Tin clock", "Ticks loudly.", None, 1_000, 600).await;
    let dear = lot(&app, who, "Gold clock", "Ticks softly.", None, 2_000, 600).await;
    assert_eq!(
        titles(&search(&app, "q=clock&sort=price_desc").await),
        ["Gold clock", "Tin clock"]
    );
    // The default order (ending soonest) is kept through bids elsewhere, never through a bid on
    // a lot it shows.
    let other = lot(&app, who, "Oak chair", "Sturdy.", None, 500, 600).await;
    assert_eq!(
        search(&app, "q=tin").await["lots"][0]["current_price_cents"],
        Value::Null
    );
    app.bid(&bea, &other, 500).await;
    assert_eq!(
        search(&app, "q=tin").await["lots"][0]["current_price_cents"],
        Value::Null
    );
    app.bid(&bea, &cheap, 1_000).await;
    assert_eq!(
        search(&app, "q=tin").await["lots"][0]["current_price_cents"],
        1_000
    );
    app.bid(&bea, &cheap, 9_000).await;
    assert_eq!(
        titles(&search(&app, "q=clock&sort=price_desc").await),
        ["Tin clock", "Gold clock"]
    );
    let res = app
        .post_json(
            &format!("/api/v1/lots/{dear}/close"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(titles(&search(&app, "q=tick").await), ["Tin clock"]);
    assert_eq!(
        titles(&search(&app, "q=tick&status=closed").await),
        ["Gold clock"]
    );

    let app = app.restart_after(|| {}).await;
    assert_eq!(titles(&search(&app, "q=ticks+loud").await), ["Tin clock"]);
    assert_eq!(
        search(&app, "q=tin").await["lots"][0]["current_price_cents"],
        9_000
    );
    // Offers are listed to their seller and admins only.
    lot(&app, who, "Pending clock", "", None, 100, 60).await;
    let res = app
        .post_json(
            "/api/v1/lots",
            Some(&seller),
            json!({"title": "Hidden clock", "description": "",
            "starting_price_cents": 100, "duration_secs": 60}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(search(&app, "q=hidden&status=pending").await["total"], 0);
    let mine: Value = app
        .get_json("/api/v1/lots?q=hidden&status=pending", Some(&seller))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(titles(&mine), ["Hidden clock"]);
    let theirs: Value = app
        .get_json("/api/v1/lots?q=hidden&status=pending", Some(&bea))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(theirs["total"], 0);
}
