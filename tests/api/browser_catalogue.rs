//! The catalogue in real Chromium: a seller uploads a photograph through `/sell` and it shows
//! on the lot page once approved; a sale's page shows its lots open and close in order, live.

use crate::browser::{LIVE, live_state, login, wait_until, with_browsers};
use crate::helpers::{Options, fixed_start, spawn_with};
use chrono::Duration as Span;
use fantoccini::Locator;
use serde_json::{Value, json};
use std::time::Duration;

#[actix_web::test]
async fn a_photograph_uploaded_on_sell_shows_in_the_lot_pages_gallery() {
    let app = spawn_with(Options::default()).await;
    let admin = app.admin().await;
    app.user("sam", "seller").await;
    let dir = tempfile::tempdir().expect("dir");
    let photo = dir.path().join("lamp.png");
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(900, 600, |x, y| {
        image::Rgb([(x / 4) as u8, (y / 3) as u8, 90])
    }))
    .save(&photo)
    .expect("saved");
    with_browsers(
        "upload",
        |b| async move {
            let sam = &b[0];
            login(&app, sam, "sam").await;
            sam.goto(&app.url("/sell")).await.expect("sell page");
            for (field, value) in [("title", "Brass lamp"), ("starting_price", "12,50")] {
                sam.find(Locator::Id(field))
                    .await
                    .expect("field")
                    .send_keys(value)
                    .await
                    .expect("typed");
            }
            sam.find(Locator::Css("#offer-form button[type=submit]"))
                .await
                .expect("submit")
                .click()
                .await
                .expect("clicked");
            let input = sam
                .wait()
                .for_element(Locator::Css("form[data-upload] input[type=file]"))
                .await
                .expect("the upload form");
            input
                .send_keys(&photo.display().to_string())
                .await
                .expect("file chosen");
            // The script shows a preview before anything is sent.
            wait_until(
                sam,
                "form[data-upload] .upload-preview",
                Some("src"),
                LIVE,
                |s| s.starts_with("blob:"),
            )
            .await;
            sam.find(Locator::Css("form[data-upload] button[type=submit]"))
                .await
                .expect("upload button")
                .click()
                .await
                .expect("clicked");
            wait_until(sam, ".notice", None, Duration::from_secs(10), |t| {
                t.contains("Photograph added")
            })
            .await;
            let shown = sam
                .find(Locator::Css(".photo-list img"))
                .await
                .expect("the photo is listed");
            assert!(
                shown
                    .attr("src")
                    .await
                    .expect("src")
                    .is_some_and(|s| s.starts_with("/images/"))
            );

            let row = sam
                .find(Locator::Css("#my-lots tr[data-lot-id]"))
                .await
                .expect("the offer");
            let id = row.attr("data-lot-id").await.expect("attr").expect("id");
            let res = app
                .post_json(
                    &format!("/api/v1/lots/{id}/approve"),
                    Some(&admin),
                    json!({}),
                )
                .await;
            assert_eq!(res.status(), reqwest::StatusCode::OK);
            sam.goto(&app.url(&format!("/lots/{id}")))
                .await
                .expect("lot page");
            let img = sam
                .find(Locator::Css("#gallery img"))
                .await
                .expect("a gallery");
            assert_eq!(
                img.attr("alt").await.expect("alt").as_deref(),
                Some("Brass lamp, photo 1 of 1")
            );
            let loaded = sam
                .execute(
                    "return document.querySelector('#gallery img').naturalWidth",
                    vec![],
                )
                .await
                .expect("script");
            assert_eq!(loaded, json!(900), "the photograph loaded at its size");
            // And the front page's card shows its cover.
            sam.goto(&app.url("/")).await.expect("front page");
            let thumb = sam
                .find(Locator::Css(&format!(
                    "[data-lot-id='{id}'] img[data-role=thumb]"
                )))
                .await
                .expect("a cover");
            assert_eq!(
                thumb.attr("loading").await.expect("attr").as_deref(),
                Some("lazy")
            );
            assert!(thumb.attr("width").await.expect("attr").is_some());
        },
        1,
    )
    .await;
}

#[actix_web::test]
async fn a_sale_page_shows_its_lots_opening_and_closing_in_order_live() {
    let app = spawn_with(Options {
        manual_clock: true,
        ..Options::default()
    })
    .await;
    let (admin, seller, _) = app.cast().await;
    let at = |secs: i64| {
        (fixed_start() + Span::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let res = app
        .post_json(
            "/api/v1/sales",
            Some(&admin),
            json!({"title": "Clocks", "description": "", "starts_at": at(60),
                "first_close_at": at(600), "stagger_secs": 60}),
        )
        .await;
    let sale: Value = res.json().await.expect("sale");
    let sale = sale["id"].as_str().expect("id").to_owned();
    let mut lots = Vec::new();
    for _ in 0..3 {
        let offer = app.offer(&seller, 1_000, None, 600).await;
        let id = offer["id"].as_str().expect("id").to_owned();
        let res = app
            .post_json(
                &format!("/api/v1/lots/{id}/approve"),
                Some(&admin),
                json!({"sale_id": sale}),
            )
            .await;
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        lots.push(id);
    }
    with_browsers(
        "sale",
        |b| async move {
            let viewer = &b[0];
            viewer.goto(&app.url(&format!("/sales/{sale}"))).await.expect("sale page");
            live_state(viewer, "live", Duration::from_secs(5)).await;
            let numbers = viewer
                .execute(
                    "return [...document.querySelectorAll('[data-lot-number]')].map(e => e.dataset.lotNumber)",
                    vec![],
                )
                .await
                .expect("script");
            assert_eq!(numbers, json!(["1", "2", "3"]));
            let item = |n: usize| format!("[data-lot-id='{}']", lots[n]);
            app.clock.advance(Span::seconds(60));
            for n in 0..3 {
                wait_until(viewer, &item(n), Some("data-status"), LIVE, |s| s == "open").await;
            }
            wait_until(viewer, &item(0), Some("class"), LIVE, |c| c.contains("next")).await;
            // Lots close one a minute apart, and the mark moves to the one closing next.
            app.clock.advance(Span::seconds(540));
            wait_until(viewer, &item(0), Some("data-status"), LIVE, |s| s == "closed").await;
            wait_until(viewer, &item(1), Some("class"), LIVE, |c| c.contains("next")).await;
            assert_eq!(
                viewer.find(Locator::Css(&item(2))).await.expect("lot 3").attr("data-status").await.expect("attr").as_deref(),
                Some("open")
            );
            app.clock.advance(Span::seconds(60));
            wait_until(viewer, &item(1), Some("data-status"), LIVE, |s| s == "closed").await;
            wait_until(viewer, &item(2), Some("class"), LIVE, |c| c.contains("next")).await;
            let countdown = wait_until(viewer, &format!("{} [data-role=countdown]", item(2)), None, Duration::from_secs(2), |t| t == "1m 00s" || t == "0m 59s").await;
            assert!(countdown.ends_with('s'), "counted on the server's clock: {countdown}");
            app.clock.advance(Span::seconds(60));
            wait_until(viewer, &item(2), Some("data-status"), LIVE, |s| s == "closed").await;
        },
        1,
    )
    .await;
}
