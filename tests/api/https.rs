//! Deployment behind HTTPS and the credentials a browser holds (API.md §3a): Secure `__Host-`
//! cookies and HSTS for an https public URL, Referrer-Policy everywhere, no-store on the API,
//! CSRF tokens bound to the session, and sessions and tokens their owner can end.

use crate::helpers::{Options, TestApp, csrf_of, spawn_app, spawn_with};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Logs in with raw requests (no cookie jar: a jar would keep `Secure` cookies off plain HTTP).
async fn raw_login(app: &TestApp, name: &str) -> (Vec<String>, HeaderMap) {
    let client = app.browser();
    let res = client.get(app.url("/login")).send().await.expect("page");
    let nonce = set_cookies(res.headers());
    let html = res.text().await.expect("html");
    let cookie = nonce[0].split(';').next().expect("pair").to_owned();
    let res = client
        .post(app.url("/login"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", name),
            ("password", "correct horse"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut all = nonce;
    all.extend(set_cookies(res.headers()));
    (all, res.headers().clone())
}

#[actix_web::test]
async fn an_https_site_sends_secure_host_cookies_and_hsts() {
    let app = spawn_with(Options {
        public_url: Some("https://auctions.example".into()),
        ..Options::default()
    })
    .await;
    app.user("bea", "bidder").await;
    let (cookies, headers) = raw_login(&app, "bea").await;
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for c in &cookies {
        assert!(c.starts_with("__Host-gavel_"), "{c}");
        for part in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
            assert!(c.contains(part), "{c} lacks {part}");
        }
        assert!(!c.contains("Domain"), "{c}");
    }
    assert_eq!(
        headers["strict-transport-security"], "max-age=31536000",
        "HSTS"
    );
    // Long polls are answered in front of the middleware (web::fast_polls), with HSTS too.
    let poll = app.get_json("/poll?after=0&timeout=0", None).await;
    assert_eq!(poll.status(), StatusCode::OK);
    assert_eq!(
        poll.headers()["strict-transport-security"],
        "max-age=31536000"
    );

    // A plain-HTTP site (local serving) keeps plain cookies and sends no HSTS.
    let plain = spawn_app().await;
    plain.user("bea", "bidder").await;
    let (cookies, headers) = raw_login(&plain, "bea").await;
    for c in &cookies {
        assert!(c.starts_with("gavel_") && !c.contains("Secure"), "{c}");
    }
    assert!(headers.get("strict-transport-security").is_none());
}

#[actix_web::test]
async fn every_answer_keeps_the_referrer_and_the_api_is_never_cached() {
    let app = spawn_app().await;
    let (admin, seller, _) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, Some(5000), 3600).await;
    let browser = app.login_browser("sam").await;
    for path in [
        "/",
        "/login",
        &format!("/lots/{lot}"),
        "/me",
        "/nowhere",
        "/static/gavel.css",
    ] {
        let res = browser.get(app.url(path)).send().await.expect("page");
        assert_eq!(res.headers()["referrer-policy"], "same-origin", "{path}");
    }
    for path in [
        format!("/api/v1/lots/{lot}"),
        "/api/v1/lots".to_owned(),
        "/api/v1/nowhere".to_owned(),
    ] {
        let res = app.get_json(&path, Some(&seller)).await;
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(res.headers()["referrer-policy"], "same-origin", "{path}");
    }
}

#[actix_web::test]
async fn csrf_tokens_belong_to_the_session_and_change_at_login() {
    let app = spawn_app().await;
    let (admin, seller, _) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;
    let bid = format!("/lots/{lot}/bid");

    // Before login, the token goes with the browser's nonce; after, with its new session.
    let bea = app.browser();
    let (_, before) = app.page(&bea, "/login").await;
    let res = bea
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&before).as_str()),
            ("username", "bea"),
            ("password", "correct horse"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, after) = app.page(&bea, &format!("/lots/{lot}")).await;
    assert_ne!(csrf_of(&before), csrf_of(&after), "rotated at login");
    let stale = bea
        .post(app.url(&bid))
        .form(&[("csrf", csrf_of(&before).as_str()), ("amount", "20")])
        .send()
        .await
        .expect("sent");
    assert_eq!(stale.status(), StatusCode::FORBIDDEN, "the pre-login token");

    // Another signed-in browser's token does not work here.
    let bob_token = app.user("bob", "bidder").await;
    let bob = app.login_browser("bob").await;
    let (_, bobs_page) = app.page(&bob, &format!("/lots/{lot}")).await;
    let res = bea
        .post(app.url(&bid))
        .form(&[("csrf", csrf_of(&bobs_page).as_str()), ("amount", "20")])
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "someone else's token");

    // A cookie planted with a value of the attacker's choosing does not pass either.
    let planted = app.browser();
    let res = planted
        .post(app.url("/login"))
        .header("cookie", "gavel_csrf=chosen-by-attacker")
        .form(&[
            ("csrf", "chosen-by-attacker"),
            ("username", "bea"),
            ("password", "correct horse"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a planted cookie");

    let ok = bea
        .post(app.url(&bid))
        .form(&[("csrf", csrf_of(&after).as_str()), ("amount", "20")])
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status(), StatusCode::SEE_OTHER, "its own token works");
    assert_eq!(app.lot(&lot, None).await["bid_count"], 1);
    drop(bob_token);
}

#[actix_web::test]
async fn tokens_and_sessions_can_be_ended_by_their_owner() {
    let app = spawn_app().await;
    let bea_token = app.user("bea", "bidder").await;
    let other_token = app.token("bea", "correct horse").await;
    let res = app
        .api
        .delete(app.url("/api/v1/tokens/current"))
        .bearer_auth(&bea_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get_json("/api/v1/lots", Some(&bea_token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the revoked token");
    let res = app.get_json("/api/v1/lots", Some(&other_token)).await;
    assert_eq!(res.status(), StatusCode::OK, "only the calling token ends");

    // /me lists this browser's session, another browser's and the remaining token.
    let laptop = app.login_browser("bea").await;
    let phone = app.login_browser("bea").await;
    let (status, html) = app.page(&laptop, "/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("data-credential-id=").count(), 3, "{html}");
    assert_eq!(html.matches("data-this-browser").count(), 1);
    assert_eq!(html.matches("data-kind=\"api\"").count(), 1);

    // End the phone's session from the laptop: the phone is signed out, the laptop is not.
    let phone_id = {
        let (_, phone_me) = app.page(&phone, "/me").await;
        let at = phone_me.find("data-this-browser").expect("marked");
        let start = phone_me[..at].rfind("data-credential-id=\"").expect("id") + 20;
        phone_me[start..start + 64].to_owned()
    };
    let res = app
        .submit(
            &laptop,
            "/me",
            &format!("/me/credentials/{phone_id}/end"),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.page(&phone, "/me").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the phone must log in again");
    let (status, _) = app.page(&laptop, "/me").await;
    assert_eq!(status, StatusCode::OK);

    // End the token from the page; someone else's ids are not found.
    let (_, html) = app.page(&laptop, "/me").await;
    let at = html.find("data-kind=\"api\"").expect("token listed");
    let start = html[..at].rfind("data-credential-id=\"").expect("id") + 20;
    let token_id = html[start..start + 64].to_owned();
    app.user("eve", "bidder").await;
    let eve = app.login_browser("eve").await;
    let res = app
        .submit(&eve, "/me", &format!("/me/credentials/{token_id}/end"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "not eve's to end");
    let res = app
        .submit(
            &laptop,
            "/me",
            &format!("/me/credentials/{token_id}/end"),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app.get_json("/api/v1/lots", Some(&other_token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "ended from /me");
}
