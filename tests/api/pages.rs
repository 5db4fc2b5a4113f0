use crate::helpers::spawn_app;
use reqwest::StatusCode;

#[actix_web::test]
async fn a_whole_auction_through_the_pages() {
    let app = spawn_app().await;
    app.admin().await;
    app.user("sam", "seller").await;
    app.user("bea", "bidder").await;
    app.user("bob", "bidder").await;

    // The seller offers a lot with the form.
    let sam = app.login_browser("sam").await;
    let res = app
        .submit(
            &sam,
            "/sell",
            "/sell",
            &[
                ("title", "Teak <armchair>"),
                ("description", "Green wool"),
                ("starting_price", "12.50"),
                ("reserve", ""),
                ("duration_secs", "3600"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&sam, "/sell?notice=offer").await;
    assert!(
        html.contains("Teak &#60;armchair&#62;") || html.contains("Teak &lt;armchair&gt;"),
        "escaped"
    );
    assert!(html.contains("pending"));
    let bad = app
        .submit(
            &sam,
            "/sell",
            "/sell",
            &[
                ("title", "x"),
                ("starting_price", "12.505"),
                ("duration_secs", "3600"),
            ],
        )
        .await;
    assert_eq!(
        bad.status(),
        StatusCode::BAD_REQUEST,
        "12.505 is never guessed"
    );

    // The admin approves it on /admin.
    let admin = app.login_browser("root").await;
    let (_, html) = app.page(&admin, "/admin").await;
    let id = html
        .split("data-lot-id=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a pending lot on /admin")
        .to_owned();
    let res = app
        .submit(&admin, "/admin", &format!("/admin/lots/{id}/approve"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // It is on the front page with its price hook.
    let (_, home) = app.page(&app.browser(), "/").await;
    assert!(home.contains(&format!("data-lot-id=\"{id}\"")));
    assert!(home.contains("data-role=\"price\" data-cents=\"1250\""));
    assert!(home.contains("€12.50"));

    // Two bidders bid through the form.
    let bea = app.login_browser("bea").await;
    let lot_page = format!("/lots/{id}");
    let res = app
        .submit(
            &bea,
            &lot_page,
            &format!("/lots/{id}/bid"),
            &[("amount", "12.50")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let bob = app.login_browser("bob").await;
    let low = app
        .submit(
            &bob,
            &lot_page,
            &format!("/lots/{id}/bid"),
            &[("amount", "12.60")],
        )
        .await;
    assert_eq!(low.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        low.text()
            .await
            .expect("html")
            .contains("Too low: bid at least €13.00.")
    );
    let res = app
        .submit(
            &bob,
            &lot_page,
            &format!("/lots/{id}/bid"),
            &[("amount", "13")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let (_, html) = app.page(&bea, &lot_page).await;
    assert!(html.contains("id=\"current-price\" data-cents=\"1300\""));
    assert!(html.contains("id=\"bid-count\">2<"));
    assert!(html.contains("id=\"min-next-bid\">€13.50<"));
    assert!(html.contains("id=\"countdown\" data-ends-at=\""));
    assert_eq!(html.matches("data-bid-id=").count(), 2);
    assert!(
        html.find("€13.00").unwrap_or(usize::MAX) < html.rfind("€12.50").unwrap_or(0),
        "newest first"
    );

    // Without a CSRF token nothing is placed.
    let forged = bea
        .post(app.url(&format!("/lots/{id}/bid")))
        .form(&[("amount", "50.00")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.lot(&id, None).await["bid_count"], 2);

    // The seller cannot bid on their own lot; the page says so.
    let (_, html) = app.page(&sam, &lot_page).await;
    assert!(html.contains("you cannot bid on it"));
    assert!(!html.contains("id=\"bid-form\""));

    // The admin closes it; the page shows the winner; /me lists the win.
    let res = app
        .submit(&admin, "/admin", &format!("/admin/lots/{id}/close"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&bea, &lot_page).await;
    assert!(html.contains("Sold</strong> to <span id=\"winner\">bob</span> for €13.00"));
    assert!(!html.contains("id=\"bid-form\""), "no form once closed");
    let (_, me) = app.page(&bob, "/me").await;
    assert!(me.contains("id=\"won\""));
    let (_, admin_html) = app.page(&admin, "/admin").await;
    assert!(admin_html.contains("id=\"closed-lots\""));
}

#[actix_web::test]
async fn pages_check_roles_and_show_errors_as_pages() {
    let app = spawn_app().await;
    app.user("bea", "bidder").await;
    let anonymous = app.browser();
    for path in ["/sell", "/admin", "/me"] {
        let res = anonymous.get(app.url(path)).send().await.expect("get");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path} asks to log in");
    }
    let bea = app.login_browser("bea").await;
    let (status, html) = app.page(&bea, "/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("<html"));
    let (status, _) = app.page(&bea, "/sell").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, html) = app.page(&bea, "/lots/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Not found"));
    let (status, _) = app.page(&bea, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in [
        "/",
        "/login",
        "/register",
        "/me",
        "/healthz",
        "/static/gavel.css",
        "/static/app.js",
    ] {
        let (status, _) = app.page(&bea, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}
