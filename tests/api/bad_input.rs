//! The bad-input table (API.md §3, §3a): every API route and form fed what careless users and
//! attackers send. Each answer is the documented status and code in the documented shape, the
//! server stays up, and nothing changes.

use crate::helpers::{TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// One row: a request and the answer it must get.
struct Case {
    method: &'static str,
    path: String,
    content_type: &'static str,
    body: String,
    status: u16,
    code: &'static str,
}

fn case(method: &'static str, path: &str, body: &str, status: u16, code: &'static str) -> Case {
    Case {
        method,
        path: path.to_owned(),
        content_type: "application/json",
        body: body.to_owned(),
        status,
        code,
    }
}

fn api_cases(lot: &str) -> Vec<Case> {
    let bids = format!("/api/v1/lots/{lot}/bids");
    let reject = format!("/api/v1/lots/{lot}/reject");
    let long = "x".repeat(201);
    let huge = format!("{{\"title\":\"{}\"}}", "x".repeat(70 * 1024));
    let mut cases = vec![
        // Malformed and mis-shaped bodies.
        case("POST", &bids, "{\"amount_cents\":", 400, "invalid_json"),
        case("POST", &bids, "[1500]", 400, "invalid_json"),
        case("POST", &bids, "1500", 400, "invalid_json"),
        case("POST", &bids, "", 400, "invalid_json"),
        case("POST", &reject, "{\"reason\":", 400, "invalid_json"),
        case("POST", &reject, "{\"reason\":5}", 422, "invalid_reason"),
        case("POST", "/api/v1/lots", &huge, 413, "too_large"),
        // Wrong types are never defaults.
        case(
            "POST",
            "/api/v1/users",
            r#"{"username":"eve","password":"correct horse","role":5}"#,
            422,
            "invalid_role",
        ),
        case(
            "POST",
            "/api/v1/users",
            r#"{"username":["eve"],"password":"correct horse"}"#,
            422,
            "invalid_username",
        ),
        case(
            "POST",
            "/api/v1/users",
            r#"{"username":"eve","password":12345678}"#,
            422,
            "invalid_password",
        ),
        case(
            "POST",
            "/api/v1/tokens",
            r#"{"username":"bea","password":true}"#,
            422,
            "invalid_password",
        ),
        case(
            "POST",
            "/api/v1/lots",
            r#"{"title":"Lamp","description":5,"starting_price_cents":100,"duration_secs":60}"#,
            422,
            "invalid_description",
        ),
        case(
            "POST",
            "/api/v1/lots",
            r#"{"title":"Lamp","starting_price_cents":"100","duration_secs":60}"#,
            422,
            "invalid_starting_price",
        ),
        case(
            "POST",
            "/api/v1/lots",
            r#"{"title":"Lamp","starting_price_cents":100,"duration_secs":"60"}"#,
            422,
            "invalid_duration",
        ),
        case(
            "POST",
            "/api/v1/lots",
            r#"{"title":"Lamp","starting_price_cents":100,"reserve_cents":12.5,"duration_secs":60}"#,
            422,
            "invalid_reserve",
        ),
        // Missing fields.
        case("POST", "/api/v1/users", "{}", 422, "invalid_username"),
        case(
            "POST",
            "/api/v1/lots",
            r#"{"title":"Lamp","duration_secs":60}"#,
            422,
            "invalid_starting_price",
        ),
        case("POST", &bids, "{}", 400, "invalid_amount"),
        // Amounts: huge, negative, fractional, typed as text.
        case(
            "POST",
            &bids,
            r#"{"amount_cents":-500}"#,
            400,
            "invalid_amount",
        ),
        case(
            "POST",
            &bids,
            r#"{"amount_cents":0}"#,
            400,
            "invalid_amount",
        ),
        case(
            "POST",
            &bids,
            r#"{"amount_cents":1500.5}"#,
            400,
            "invalid_amount",
        ),
        case(
            "POST",
            &bids,
            r#"{"amount_cents":"1500"}"#,
            400,
            "invalid_amount",
        ),
        case(
            "POST",
            &bids,
            r#"{"amount_cents":"15,00"}"#,
            400,
            "invalid_amount",
        ),
        case(
            "POST",
            &bids,
            r#"{"amount_cents":1e400}"#,
            400,
            "invalid_json",
        ),
        case(
            "POST",
            &bids,
            r#"{"amount_cents":100000000000000000000}"#,
            400,
            "invalid_amount",
        ),
        case(
            "POST",
            &bids,
            r#"{"amount_cents":100000000000000}"#,
            400,
            "invalid_amount",
        ),
        case(
            "POST",
            &bids,
            r#"{"amount_cents":10000000000000}"#,
            422,
            "amount_too_large",
        ),
        case(
            "POST",
            "/api/v1/lots",
            r#"{"title":"Lamp","starting_price_cents":100000000001,"duration_secs":60}"#,
            422,
            "invalid_starting_price",
        ),
        // Overlong strings, control and direction characters.
        case(
            "POST",
            "/api/v1/lots",
            &format!(r#"{{"title":"{long}","starting_price_cents":100,"duration_secs":60}}"#),
            422,
            "invalid_title",
        ),
        case(
            "POST",
            "/api/v1/lots",
            r#"{"title":"Lamp\u202eevil","starting_price_cents":100,"duration_secs":60}"#,
            422,
            "invalid_title",
        ),
        case(
            "POST",
            "/api/v1/lots",
            r#"{"title":"Lamp\u0000","starting_price_cents":100,"duration_secs":60}"#,
            422,
            "invalid_title",
        ),
        case(
            "POST",
            "/api/v1/lots",
            r#"{"title":"Lamp","description":"a\u2066b","starting_price_cents":100,"duration_secs":60}"#,
            422,
            "invalid_description",
        ),
        case(
            "POST",
            "/api/v1/users",
            r#"{"username":"e\u0007ve","password":"correct horse"}"#,
            422,
            "invalid_username",
        ),
        case(
            "POST",
            &reject,
            &format!(r#"{{"reason":"{}"}}"#, "y".repeat(2001)),
            422,
            "invalid_reason",
        ),
        // Invalid ids and unknown routes.
        case(
            "POST",
            "/api/v1/lots/not-a-uuid/approve",
            "{}",
            404,
            "not_found",
        ),
        case(
            "POST",
            "/api/v1/lots/not-a-uuid/close",
            "{}",
            404,
            "not_found",
        ),
        case(
            "POST",
            "/api/v1/lots/not-a-uuid/cancel",
            "",
            404,
            "not_found",
        ),
        case(
            "DELETE",
            "/api/v1/tokens/current/extra",
            "",
            404,
            "not_found",
        ),
        case("GET", "/api/v1/lots/not-a-uuid", "", 404, "not_found"),
        case(
            "POST",
            "/api/v1/lots/12345/bids",
            r#"{"amount_cents":1500}"#,
            404,
            "not_found",
        ),
        case("GET", "/api/v1/nothing/here", "", 404, "not_found"),
        // Bad queries and methods.
        case("GET", "/api/v1/lots?status=sold", "", 422, "invalid_status"),
        case(
            "GET",
            &format!("/api/v1/lots/{lot}/bids?limit=ten"),
            "",
            422,
            "invalid_query",
        ),
        case("PUT", &bids, "{}", 405, "method_not_allowed"),
        case(
            "GET",
            "/poll?after=1&timeout=soon",
            "",
            422,
            "invalid_query",
        ),
    ];
    let mut wrong_type = case(
        "POST",
        &bids,
        r#"{"amount_cents":1500}"#,
        400,
        "invalid_json",
    );
    wrong_type.content_type = "text/plain";
    cases.push(wrong_type);
    let mut form = case("POST", &bids, "amount_cents=1500", 400, "invalid_json");
    form.content_type = "application/x-www-form-urlencoded";
    cases.push(form);
    cases
}

async fn send(app: &TestApp, token: &str, c: &Case) -> reqwest::Response {
    let method = Method::from_bytes(c.method.as_bytes()).expect("method");
    let mut req = app.api.request(method, app.url(&c.path)).bearer_auth(token);
    if !c.body.is_empty() || c.method == "POST" {
        req = req
            .header("content-type", c.content_type)
            .body(c.body.clone());
    }
    req.send().await.expect("answered")
}

/// The lot, its bids and the users: what a refused request must leave alone.
async fn snapshot(app: &TestApp, admin: &str, lot: &str) -> (Value, usize) {
    let lot = app.lot(lot, Some(admin)).await;
    let users: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&app.store.pool)
        .await
        .expect("count");
    (lot, users.0 as usize)
}

#[actix_web::test]
async fn every_bad_api_input_gets_its_documented_error_and_changes_nothing() {
    let app = spawn_app().await;
    let (admin, seller, bidder) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let before = snapshot(&app, &admin, &lot).await;
    for c in api_cases(&lot) {
        // Bids come from the bidder, offers from the seller, the rest from the admin.
        let token = if c.path.ends_with("/bids") {
            &bidder
        } else if c.path == "/api/v1/lots" {
            &seller
        } else {
            &admin
        };
        let res = send(&app, token, &c).await;
        let status = res.status();
        let kind = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = res.text().await.expect("body");
        let what = format!("{} {} {:.60}", c.method, c.path, c.body);
        assert_eq!(status.as_u16(), c.status, "{what}: {text}");
        assert!(kind.starts_with("application/json"), "{what}: {kind}");
        let body: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(body["error"]["code"], c.code, "{what}: {text}");
        assert!(body["error"]["message"].is_string(), "{what}");
    }
    assert_eq!(
        snapshot(&app, &admin, &lot).await,
        before,
        "nothing changed"
    );
    assert_eq!(
        app.get_json("/healthz", None).await.status(),
        StatusCode::OK
    );
}

/// The forms meet the same inputs and answer with the HTML error page.
#[actix_web::test]
async fn every_bad_form_input_gets_the_error_page_and_changes_nothing() {
    let app = spawn_app().await;
    let (admin, seller, _) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let before = snapshot(&app, &admin, &lot).await;
    let bea = app.login_browser("bea").await;
    let sam = app.login_browser("sam").await;
    let page = format!("/lots/{lot}");
    let bid = format!("/lots/{lot}/bid");
    let huge = "9".repeat(70 * 1024);
    let anon = app.browser();
    let admin_page = app.login_browser("root").await;
    let not_a_lot = "/admin/lots/not-a-uuid/approve".to_owned();
    let long = "x".repeat(201);
    type FormCase<'a> = (
        &'a reqwest::Client,
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        u16,
    );
    let cases: Vec<FormCase> = vec![
        (&bea, &page, &bid, vec![("amount", "12,5,0")], 400),
        (&bea, &page, &bid, vec![("amount", "-5")], 400),
        (&bea, &page, &bid, vec![("amount", "1e3")], 400),
        (&bea, &page, &bid, vec![("amount", "")], 400),
        (&bea, &page, &bid, vec![("amount", "١٢")], 400),
        (&bea, &page, &bid, vec![("amount", "100000000000")], 422),
        (&bea, &page, &bid, vec![("amount", huge.as_str())], 413),
        (
            &sam,
            "/sell",
            "/sell",
            vec![
                ("title", long.as_str()),
                ("starting_price", "10"),
                ("duration_secs", "600"),
            ],
            422,
        ),
        (
            &sam,
            "/sell",
            "/sell",
            vec![
                ("title", "Lamp\u{202e}"),
                ("starting_price", "10"),
                ("duration_secs", "600"),
            ],
            422,
        ),
        (
            &sam,
            "/sell",
            "/sell",
            vec![
                ("title", "Lamp"),
                ("starting_price", "10,5,0"),
                ("duration_secs", "600"),
            ],
            400,
        ),
        (
            &sam,
            "/sell",
            "/sell",
            vec![
                ("title", "Lamp"),
                ("starting_price", "10"),
                ("duration_secs", "soon"),
            ],
            422,
        ),
        (
            &sam,
            "/sell",
            "/sell",
            vec![("title", "Lamp"), ("starting_price", "10")],
            422,
        ),
        (
            &anon,
            "/register",
            "/register",
            vec![("username", "e\u{202e}ve"), ("password", "correct horse")],
            422,
        ),
        (
            &anon,
            "/register",
            "/register",
            vec![("username", "eve"), ("password", "short")],
            422,
        ),
        (
            &anon,
            "/register",
            "/register",
            vec![
                ("username", "eve"),
                ("password", "correct horse"),
                ("role", "admin"),
            ],
            422,
        ),
        (
            &anon,
            "/register",
            "/register",
            vec![("username", "eve")],
            422,
        ),
        (&anon, "/login", "/login", vec![("username", "bea")], 422),
        (&admin_page, "/admin", &not_a_lot, vec![], 404),
        (
            &admin_page,
            "/admin",
            "/admin/lots/00000000-0000-0000-0000-000000000000/explode",
            vec![],
            404,
        ),
    ];
    for (browser, page, action, fields, status) in cases {
        let res = app.submit(browser, page, action, &fields).await;
        let got = res.status();
        let kind = res.headers()["content-type"]
            .to_str()
            .expect("type")
            .to_owned();
        let what = format!("{action} {:.60?}", fields);
        assert_eq!(got.as_u16(), status, "{what}");
        assert!(kind.starts_with("text/html"), "{what}: {kind}");
    }
    // A query a page cannot read, and an odd method, are pages too.
    let res = bea
        .get(app.url("/login?next=%ZZ"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("answered");
    assert!(res.status().is_success() || res.status().is_client_error());
    let res = bea.delete(app.url(&page)).send().await.expect("answered");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        snapshot(&app, &admin, &lot).await,
        before,
        "nothing changed"
    );
}
