//! The authorization table: every route of the site (from the one list the router is built
//! from) × anonymous, bidder, seller (the lot's), another seller, admin and a suspended user.
//! A caller the route's access excludes is refused and changes nothing; one it includes is not.

use crate::helpers::{TestApp, csrf_of, spawn_app};
use gavel::web::routes::{Access, Endpoint, all};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Bidder,
    Seller,
    OtherSeller,
    Admin,
    Suspended,
}

const CALLERS: [Caller; 6] = [
    Caller::Anonymous,
    Caller::Suspended,
    Caller::Bidder,
    Caller::OtherSeller,
    Caller::Seller,
    Caller::Admin,
];

/// Whether the route's access admits the caller on a lot the seller offered.
fn admitted(access: Access, caller: Caller) -> bool {
    use Caller::*;
    match access {
        Access::Anyone => true,
        Access::SignedIn => !matches!(caller, Anonymous | Suspended),
        Access::Bidder => matches!(caller, Bidder | OtherSeller),
        Access::Seller => matches!(caller, Seller | OtherSeller | Admin),
        Access::LotSeller => matches!(caller, Seller | Admin),
        Access::Admin => caller == Admin,
    }
}

struct Cast {
    tokens: Vec<(Caller, Option<String>)>,
    browsers: Vec<(Caller, Client)>,
    admin: String,
}

/// The name each signed-in caller uses.
fn name_of(caller: Caller) -> Option<&'static str> {
    match caller {
        Caller::Bidder => Some("bea"),
        Caller::Seller => Some("sam"),
        Caller::OtherSeller => Some("sue"),
        Caller::Admin => Some("root"),
        Caller::Anonymous | Caller::Suspended => None,
    }
}

impl Cast {
    /// Signs the caller in afresh, after a route that ends credentials (logout, revoke).
    async fn renew(&mut self, app: &TestApp, caller: Caller) {
        let Some(name) = name_of(caller) else { return };
        let token = app.token(name, "correct horse").await;
        if caller == Caller::Admin {
            self.admin = token.clone();
        }
        let browser = app.login_browser(name).await;
        self.tokens.retain(|(c, _)| *c != caller);
        self.tokens.push((caller, Some(token)));
        self.browsers.retain(|(c, _)| *c != caller);
        self.browsers.push((caller, browser));
    }

    fn token(&self, caller: Caller) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(c, _)| *c == caller)
            .and_then(|(_, t)| t.as_deref())
    }

    fn browser(&self, caller: Caller) -> &Client {
        &self
            .browsers
            .iter()
            .find(|(c, _)| *c == caller)
            .expect("a browser per caller")
            .1
    }
}

async fn cast(app: &TestApp) -> Cast {
    let admin = app.admin().await;
    let mut tokens = vec![
        (Caller::Anonymous, None),
        (Caller::Admin, Some(admin.clone())),
    ];
    for (caller, name, role) in [
        (Caller::Bidder, "bea", "bidder"),
        (Caller::Seller, "sam", "seller"),
        (Caller::OtherSeller, "sue", "seller"),
        (Caller::Suspended, "sid", "bidder"),
    ] {
        tokens.push((caller, Some(app.user(name, role).await)));
    }
    let mut browsers = vec![(Caller::Anonymous, app.browser())];
    for (caller, name) in [
        (Caller::Bidder, "bea"),
        (Caller::Seller, "sam"),
        (Caller::OtherSeller, "sue"),
        (Caller::Admin, "root"),
        (Caller::Suspended, "sid"),
    ] {
        browsers.push((caller, app.login_browser(name).await));
    }
    app.store
        .set_suspended("sid", true)
        .await
        .expect("suspended");
    Cast {
        tokens,
        browsers,
        admin,
    }
}

/// The path with its parameters filled: a lot, an asset, an admin action.
fn concrete(endpoint: &Endpoint, lot: &str) -> String {
    let path = endpoint
        .path
        .replace("{id}", lot)
        .replace("{name}", "gavel.css")
        .replace("{action}", "close")
        .replace("{bid_id}", "00000000-0000-0000-0000-000000000000")
        .replace("{image_id}", "00000000-0000-0000-0000-000000000000")
        .replace("{slug}", "toys")
        .replace("{file}", &format!("{}.jpg", "0".repeat(64)));
    if path.ends_with("/poll") || path.ends_with("/next") {
        format!("{path}?timeout=1")
    } else {
        path
    }
}

fn api_body(endpoint: &Endpoint, n: usize) -> Value {
    match endpoint.path {
        "/api/v1/users" => {
            json!({"username": format!("new{n}"), "password": "correct horse", "role": "bidder"})
        }
        "/api/v1/tokens" => json!({"username": "bea", "password": "correct horse"}),
        "/api/v1/lots" => json!({"title": "Clock", "description": "Ticks.",
            "starting_price_cents": 100, "duration_secs": 3600}),
        "/api/v1/lots/{id}/bids" => json!({"amount_cents": 100_000 + n as i64}),
        "/api/v1/categories" | "/api/v1/categories/{slug}" => json!({"name": format!("Toys {n}")}),
        _ => json!({}),
    }
}

/// Refused for who the caller is: 401 `unauthenticated`, 403 `forbidden`, or for a page a
/// redirect to log in.
async fn refused(res: reqwest::Response, page: bool) -> (bool, String) {
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // A 200 is an admission; its body may be a stream that never ends.
    let text = if status == StatusCode::OK {
        String::new()
    } else {
        res.text().await.unwrap_or_default()
    };
    let refused = if page {
        status == StatusCode::FORBIDDEN
            || status == StatusCode::UNAUTHORIZED
            || (status == StatusCode::SEE_OTHER && location.starts_with("/login"))
    } else {
        let code = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (status == StatusCode::UNAUTHORIZED && code == "unauthenticated")
            || (status == StatusCode::FORBIDDEN && code == "forbidden")
    };
    (
        refused,
        format!("{status} {location} {}", &text[..text.len().min(160)]),
    )
}

async fn lot_state(app: &TestApp, admin: &str, lot: &str) -> (Value, Value) {
    let lot = app.lot(lot, Some(admin)).await;
    (lot["status"].clone(), lot["bid_count"].clone())
}

#[actix_web::test]
async fn every_route_admits_exactly_the_callers_its_access_names() {
    let app = spawn_app().await;
    let mut cast = cast(&app).await;
    let mut n = 0;
    let mut rows = 0;
    for endpoint in all() {
        let seller = cast.token(Caller::Seller).expect("seller").to_owned();
        let lot = app.open_lot(&seller, &cast.admin, 100, None, 3600).await;
        for caller in CALLERS {
            n += 1;
            let path = concrete(endpoint, &lot);
            let method = Method::from_bytes(endpoint.method.as_bytes()).expect("method");
            let is_api = endpoint.path.starts_with("/api/");
            let before = lot_state(&app, &cast.admin, &lot).await;
            let res = if is_api {
                let mut req = app.api.request(method, app.url(&path));
                if let Some(token) = cast.token(caller) {
                    req = req.bearer_auth(token);
                }
                if endpoint.method != "GET" {
                    req = req.json(&api_body(endpoint, n));
                }
                req
            } else {
                let browser = cast.browser(caller);
                let mut req = browser.request(method, app.url(&path));
                if endpoint.method == "POST" {
                    let (_, html) = app.page(cast.browser(Caller::Anonymous), "/login").await;
                    let own = app.page(browser, "/").await.1;
                    let csrf = if own.contains("name=\"csrf\"") {
                        csrf_of(&own)
                    } else {
                        csrf_of(&html)
                    };
                    req = req.form(&[("csrf", csrf.as_str()), ("amount", "2000")]);
                }
                req
            }
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .expect("answered");
            let (was_refused, what) = refused(res, !is_api).await;
            let expected = admitted(endpoint.access, caller);
            // A dead token on a public route may be told it is dead; it is never "forbidden".
            let lenient = endpoint.access == Access::Anyone && caller == Caller::Suspended;
            if !lenient {
                assert_eq!(
                    !was_refused, expected,
                    "{} {} as {caller:?}: {what}",
                    endpoint.method, endpoint.path
                );
            }
            if was_refused {
                assert_eq!(
                    lot_state(&app, &cast.admin, &lot).await,
                    before,
                    "{} {} as {caller:?} changed the lot",
                    endpoint.method,
                    endpoint.path
                );
            }
            if matches!(endpoint.path, "/api/v1/tokens/current" | "/logout") {
                cast.renew(&app, caller).await;
            }
            rows += 1;
        }
    }
    assert_eq!(rows, all().count() * CALLERS.len());
}

/// Every other method on every route: 405 with `Allow`, JSON under /api and a page elsewhere.
#[actix_web::test]
async fn other_methods_are_405_with_allow_in_the_right_shape() {
    let app = spawn_app().await;
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    let lot = uuid::Uuid::nil().to_string();
    for endpoint in all() {
        let served: Vec<&str> = all()
            .filter(|e| e.path == endpoint.path)
            .map(|e| e.method)
            .collect();
        for method in methods.iter().filter(|m| !served.contains(m)) {
            let path = concrete(endpoint, &lot);
            let res = app
                .api
                .request(
                    Method::from_bytes(method.as_bytes()).expect("m"),
                    app.url(&path),
                )
                .send()
                .await
                .expect("answered");
            assert_eq!(
                res.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            let allow = res.headers()["allow"].to_str().expect("allow").to_owned();
            for m in &served {
                assert!(allow.contains(m), "{method} {path}: Allow {allow}");
            }
            let kind = res.headers()["content-type"]
                .to_str()
                .expect("type")
                .to_owned();
            if endpoint.path.starts_with("/api/") {
                let body: Value = res.json().await.expect("JSON");
                assert_eq!(body["error"]["code"], "method_not_allowed", "{path}");
            } else {
                assert!(kind.starts_with("text/html"), "{method} {path}: {kind}");
            }
        }
    }
}
