use crate::helpers::{Options, error_code, spawn_app, spawn_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[actix_web::test]
async fn register_then_token_and_name_rules() {
    let app = spawn_app().await;
    let res = app
        .post_json(
            "/api/v1/users",
            None,
            json!({"username": "Alice", "password": "correct horse", "role": "bidder"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["username"], "alice", "names are lowercased");
    assert_eq!(body["role"], "bidder");
    assert!(body["id"].as_str().is_some_and(|id| id.len() == 36));

    let again = app
        .post_json(
            "/api/v1/users",
            None,
            json!({"username": "ALICE", "password": "correct horse", "role": "seller"}),
        )
        .await;
    assert_eq!(error_code(again).await.1, "username_taken");

    for (name, password, role, code) in [
        ("al", "correct horse", "bidder", "invalid_username"),
        ("bad name", "correct horse", "bidder", "invalid_username"),
        ("bob", "short", "bidder", "invalid_password"),
        ("bob", "correct horse", "admin", "invalid_role"),
    ] {
        let res = app
            .post_json(
                "/api/v1/users",
                None,
                json!({"username": name, "password": password, "role": role}),
            )
            .await;
        let (status, got, _) = error_code(res).await;
        assert_eq!(
            (status, got.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, code)
        );
    }

    let token = app.token("alice", "correct horse").await;
    assert_eq!(token.len(), 64);
    let stored: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM auth_tokens")
        .fetch_all(&app.store.pool)
        .await
        .expect("query");
    assert!(
        stored.iter().all(|(h,)| h != &token),
        "tokens are stored hashed"
    );
    let hash: (String,) =
        sqlx::query_as("SELECT password_hash FROM users WHERE username = 'alice'")
            .fetch_one(&app.store.pool)
            .await
            .expect("query");
    assert!(hash.0.starts_with("$argon2id$"));
}

#[actix_web::test]
async fn bad_credentials_look_the_same() {
    let app = spawn_app().await;
    app.user("carol", "bidder").await;
    let wrong = app
        .post_json(
            "/api/v1/tokens",
            None,
            json!({"username": "carol", "password": "wrong password"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/tokens",
            None,
            json!({"username": "nobody", "password": "wrong password"}),
        )
        .await;
    let (s1, c1, b1) = error_code(wrong).await;
    let (s2, c2, b2) = error_code(unknown).await;
    assert_eq!(
        (s1, c1.as_str()),
        (StatusCode::UNAUTHORIZED, "bad_credentials")
    );
    assert_eq!((s2, c2), (s1, c1));
    assert_eq!(b1, b2);
    let bogus = app.get_json("/api/v1/lots", Some("not-a-token")).await;
    assert_eq!(error_code(bogus).await.1, "unauthenticated");
}

#[actix_web::test]
async fn suspended_users_cannot_log_in_and_lose_their_tokens() {
    let app = spawn_app().await;
    let token = app.user("dave", "seller").await;
    let browser = app.login_browser("dave").await;
    assert!(
        app.store
            .set_suspended("dave", true)
            .await
            .expect("suspend")
    );

    let res = app
        .post_json(
            "/api/v1/tokens",
            None,
            json!({"username": "dave", "password": "correct horse"}),
        )
        .await;
    assert_eq!(error_code(res).await.1, "bad_credentials");
    let res = app.offer_raw(&token).await;
    assert_eq!(res, StatusCode::UNAUTHORIZED, "old token stops working");
    let (status, _) = app.page(&browser, "/sell").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "old session ends");
    let login = app
        .submit(
            &app.browser(),
            "/login",
            "/login",
            &[("username", "dave"), ("password", "correct horse")],
        )
        .await;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);

    app.store
        .set_suspended("dave", false)
        .await
        .expect("restore");
    app.token("dave", "correct horse").await;
}

impl crate::helpers::TestApp {
    async fn offer_raw(&self, token: &str) -> StatusCode {
        self.post_json(
            "/api/v1/lots",
            Some(token),
            json!({"title": "x", "starting_price_cents": 100, "duration_secs": 60}),
        )
        .await
        .status()
    }
}

#[actix_web::test]
async fn page_register_login_logout() {
    let app = spawn_app().await;
    let browser = app.browser();
    let res = app
        .submit(
            &browser,
            "/register",
            "/register",
            &[
                ("username", "Erin"),
                ("password", "correct horse"),
                ("role", "seller"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/sell?notice=registered");
    let (status, html) = app.page(&browser, "/sell").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("erin"), "signed in as erin");

    let res = app.submit(&browser, "/", "/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.page(&browser, "/sell").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "logged out");

    // Log in again: a new session id each time.
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_tokens WHERE kind = 'session'")
        .fetch_one(&app.store.pool)
        .await
        .expect("count");
    let browser = app.login_browser("erin").await;
    let (_, html) = app.page(&browser, "/").await;
    assert!(html.contains("Log out"));
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_tokens WHERE kind = 'session'")
        .fetch_one(&app.store.pool)
        .await
        .expect("count");
    assert_eq!(after, before + 1);

    let bad = app
        .submit(
            &app.browser(),
            "/register",
            "/register",
            &[("username", "x"), ("password", "correct horse")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.expect("html").contains("3 to 32"));
}

#[actix_web::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let app = spawn_app().await;
    let browser = app.browser();
    app.page(&browser, "/register").await; // gets the CSRF cookie
    for csrf in [
        "",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let res = browser
            .post(app.url("/register"))
            .form(&[
                ("csrf", csrf),
                ("username", "mallory"),
                ("password", "correct horse"),
                ("role", "bidder"),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
    assert!(
        app.store
            .user_by_name("mallory")
            .await
            .expect("query")
            .is_none(),
        "nothing changed"
    );

    // A browser session calling the JSON API must send the token too.
    app.user("sid", "bidder").await;
    let browser = app.login_browser("sid").await;
    let res = browser
        .post(app.url("/api/v1/lots"))
        .json(&json!({"title": "x"}))
        .send()
        .await
        .expect("post");
    assert_eq!(error_code(res).await.1, "csrf_failed");
}

#[actix_web::test]
async fn gavel_admin_setting_and_users_add_command_create_admins() {
    let app = spawn_with(Options {
        admin: Some(("boss".into(), "boss password".into())),
        ..Options::default()
    })
    .await;
    let token = app.token("boss", "boss password").await;
    let res = app
        .get_json("/api/v1/lots?status=pending", Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // The command line, as an operator runs it, against the same database file.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args([
            "users",
            "add",
            "Chief",
            "--role",
            "admin",
            "--database-url",
            &app.db_url,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gavel runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"chief password\n")
        .expect("write");
    let out = child.wait_with_output().expect("finished");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let chief = app.token("chief", "chief password").await;
    let lot = app
        .offer(&app.user("seller1", "seller").await, 100, None, 60)
        .await;
    let id = lot["id"].as_str().expect("id");
    let res = app
        .post_json(
            &format!("/api/v1/lots/{id}/approve"),
            Some(&chief),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "the new admin can approve");
}
