//! The catalogue's pages without JavaScript: an admin keeps categories and creates a sale on
//! `/admin`, a seller files an offer under a category and adds a photograph on `/sell` (a plain
//! multipart form), the admin approves it into the sale, and `/`, `/sales` and the sale's page
//! show it; search links page through results with `rel=next` / `rel=prev`.

use crate::helpers::{Options, csrf_of, spawn_with};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[actix_web::test]
async fn categories_sales_and_photographs_through_plain_forms() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, _) = app.cast().await;
    let root = app.login_browser("root").await;
    let sam = app.login_browser("sam").await;

    let res = app
        .submit(
            &root,
            "/admin",
            "/admin/categories",
            &[("name", "Clocks & Watches")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app
        .submit(
            &root,
            "/admin",
            "/admin/categories/clocks-watches",
            &[("name", "Clocks")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The clock is 2026-11-25 12:00 UTC; the browser is two hours ahead of UTC (offset -120).
    let res = app
        .submit(
            &root,
            "/admin",
            "/admin/sales",
            &[
                ("title", "Winter sale"),
                ("description", "Clocks."),
                ("starts_at", "2026-11-25T15:00"),
                ("first_close_at", "2026-11-25T16:00"),
                ("stagger_secs", "60"),
                ("tz_offset_mins", "-120"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sale_page = location(&res);
    assert!(sale_page.starts_with("/sales/"), "{sale_page}");
    let sale_id = sale_page
        .trim_start_matches("/sales/")
        .split('?')
        .next()
        .expect("id")
        .to_owned();
    let sale: Value = app
        .get_json(&format!("/api/v1/sales/{sale_id}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        sale["starts_at"], "2026-11-25T13:00:00.000Z",
        "read in the admin's zone"
    );

    let res = app
        .submit(
            &sam,
            "/sell",
            "/sell",
            &[
                ("title", "Carriage clock"),
                ("description", "Eight-day movement."),
                ("category", "clocks-watches"),
                ("starting_price", "80"),
                ("duration_secs", "3600"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let offers: Value = app
        .get_json("/api/v1/lots?status=pending", Some(&seller))
        .await
        .json()
        .await
        .expect("json");
    let lot = offers["lots"][0]["id"].as_str().expect("id").to_owned();
    assert_eq!(offers["lots"][0]["category"]["name"], "Clocks");

    // A photograph through the plain multipart form on /sell.
    let (_, html) = app.page(&sam, "/sell").await;
    assert!(html.contains(&format!("action=\"/sell/lots/{lot}/images\"")));
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::new(120, 90))
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("png");
    let form = Form::new().text("csrf", csrf_of(&html)).part(
        "image",
        Part::bytes(png.into_inner()).file_name("clock.png"),
    );
    let res = sam
        .post(app.url(&format!("/sell/lots/{lot}/images")))
        .multipart(form)
        .send()
        .await
        .expect("uploaded");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/sell?notice=image");
    // Without the page's token, nothing is stored.
    let form = Form::new()
        .text("csrf", "forged")
        .part("image", Part::bytes(vec![1, 2, 3]));
    let res = sam
        .post(app.url(&format!("/sell/lots/{lot}/images")))
        .multipart(form)
        .send()
        .await
        .expect("refused");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (_, html) = app.page(&sam, "/sell").await;
    assert_eq!(html.matches("class=\"photo-list\"").count(), 1);

    // Approved into the sale from /admin.
    let res = app
        .submit(
            &root,
            "/admin",
            &format!("/admin/lots/{lot}/schedule"),
            &[("sale_id", &sale_id)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let shown = app.lot(&lot, None).await;
    assert_eq!(shown["status"], "scheduled");
    assert_eq!(shown["lot_number"], 1);
    let (_, html) = app.page(&app.browser(), &format!("/sales/{sale_id}")).await;
    assert!(html.contains(&format!("data-lot-id=\"{lot}\" data-lot-number=\"1\"")));
    assert!(html.contains("img class=\"catalogue-thumb\" data-role=\"thumb\""));
    let (_, html) = app.page(&app.browser(), "/sales").await;
    assert!(html.contains("Winter sale"));
    let (_, html) = app.page(&app.browser(), "/?status=scheduled").await;
    assert!(html.contains("Carriage clock"));
    let (_, html) = app.page(&app.browser(), &format!("/lots/{lot}")).await;
    assert!(html.contains("id=\"gallery\""));
    assert!(html.contains("alt=\"Carriage clock, photo 1 of 1\""));

    // Pages of results link to each other.
    for n in 0..30 {
        app.open_lot(&seller, &admin, 100 + n, None, 3_600 + n)
            .await;
    }
    let (_, first) = app.page(&app.browser(), "/?q=brass").await;
    assert!(first.contains("Showing 1–24 of 30"), "first page");
    let next = first
        .split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default();
    assert_eq!(next, "/?q=brass&#38;page=2");
    assert!(!first.contains("rel=\"prev\""));
    let (_, second) = app.page(&app.browser(), "/?q=brass&page=2").await;
    assert!(second.contains("Showing 25–30 of 30"));
    assert!(second.contains("rel=\"prev\" href=\"/?q=brass\""));
    assert_eq!(second.matches("class=\"card\"").count(), 6);
}
