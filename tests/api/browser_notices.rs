//! Notices and proxy bidding in real Chromium (issue: bidding as the best auction sites do it):
//! an outbid bidder on another page sees the toast and the unread count at once, and a "bid up
//! to" maximum answers the other bidder by itself.

use crate::browser::{LIVE, live_state, login, place_bid_in_form, wait_until, with_browsers};
use crate::helpers::{Options, spawn_with};
use fantoccini::Locator;
use std::time::Duration;

#[actix_web::test]
async fn an_outbid_bidder_is_told_on_any_page_and_a_maximum_bids_by_itself() {
    let app = spawn_with(Options::default()).await;
    let admin = app.admin().await;
    let seller = app.user("sam", "seller").await;
    app.user("amy", "bidder").await;
    app.user("ben", "bidder").await;
    let first = app.open_lot(&seller, &admin, 1_000, None, 3_600).await;
    let second = app.open_lot(&seller, &admin, 2_000, None, 3_600).await;
    with_browsers(
        "outbid-toast",
        |b| async move {
            let (amy, ben) = (&b[0], &b[1]);
            login(&app, amy, "amy").await;
            login(&app, ben, "ben").await;

            amy.goto(&app.url(&format!("/lots/{first}")))
                .await
                .expect("A opens the first lot");
            live_state(amy, "live", Duration::from_secs(5)).await;
            place_bid_in_form(amy, "10.00").await;
            wait_until(amy, "#leader", None, LIVE, |t| t == "amy").await;

            // A moves on to another lot's page; B outbids her on the first.
            amy.goto(&app.url(&format!("/lots/{second}")))
                .await
                .expect("A opens the second lot");
            live_state(amy, "live", Duration::from_secs(5)).await;
            ben.goto(&app.url(&format!("/lots/{first}")))
                .await
                .expect("B opens the first lot");
            live_state(ben, "live", Duration::from_secs(5)).await;
            place_bid_in_form(ben, "11.00").await;
            let toast = wait_until(amy, "#toasts .toast[data-notice-id]", None, LIVE, |t| {
                t.contains("outbid")
            })
            .await;
            assert!(toast.contains("€11.00"), "{toast}");
            wait_until(amy, "[data-role=notice-count]", None, LIVE, |t| t == "1").await;

            // On the front page too.
            amy.goto(&app.url("/")).await.expect("A opens the list");
            live_state(amy, "live", Duration::from_secs(5)).await;
            wait_until(amy, "[data-role=notice-count]", None, LIVE, |t| t == "1").await;

            // "Bid up to": A leaves a maximum, which then answers B's bids by itself.
            amy.goto(&app.url(&format!("/lots/{first}")))
                .await
                .expect("A opens the first lot");
            live_state(amy, "live", Duration::from_secs(5)).await;
            let max = amy.find(Locator::Id("max")).await.expect("bid up to");
            max.send_keys("30.00").await.expect("type");
            place_bid_in_form(amy, "12.50").await;
            wait_until(amy, "#leader", None, LIVE, |t| t == "amy").await;
            wait_until(amy, "#my-max", None, Duration::from_secs(5), |t| {
                t == "€30.00"
            })
            .await;
            place_bid_in_form(ben, "15.00").await;
            wait_until(ben, "#leader", None, LIVE, |t| t == "amy").await;
            wait_until(ben, "#current-price", Some("data-cents"), LIVE, |c| {
                c == "1550"
            })
            .await;
            wait_until(amy, "#current-price", Some("data-cents"), LIVE, |c| {
                c == "1550"
            })
            .await;
            let auto = wait_until(
                amy,
                "#bid-history li:first-child",
                Some("data-proxy"),
                LIVE,
                |p| p == "true",
            )
            .await;
            assert_eq!(auto, "true", "the site's bid for A is marked");
            wait_until(amy, "#leader", None, LIVE, |t| t == "amy").await;
            let count = amy
                .find(Locator::Css("[data-role=notice-count]"))
                .await
                .expect("count")
                .text()
                .await
                .expect("text");
            assert_eq!(count, "1", "no outbid notice while her maximum holds");
        },
        2,
    )
    .await;
}
