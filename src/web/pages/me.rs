//! A user's own page: their bids, the lots they lead and won, their sessions and tokens.

use super::{CsrfForm, Layout, PageError, check_csrf, render, see_other};
use crate::config::Settings;
use crate::store::Store;
use crate::store::tokens::{Credential, TokenKind, credential_id};
use crate::web::auth::Viewer;
use crate::web::cookies::CookiePolicy;
use crate::web::notice_view::NoticeView;
use crate::web::view::time_text;
use crate::web::view::{BidView, CardView, LotView};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    layout: Layout,
    bids: Vec<BidView>,
    leading: Vec<LotView>,
    won: Vec<LotView>,
    can_bid: bool,
    credentials: Vec<CredentialView>,
    notices: Vec<NoticeView>,
    watchlist: Vec<CardView>,
    /// The site's latest event id, read before the watchlist: its live prices resume here.
    cursor: i64,
}

/// A session or token on `/me`, with a button that ends it.
struct CredentialView {
    id: String,
    what: &'static str,
    kind: &'static str,
    this_browser: bool,
    created_iso: String,
    created_text: String,
    expires_iso: String,
    expires_text: String,
}

fn credential_views(list: Vec<Credential>, current: Option<String>) -> Vec<CredentialView> {
    list.into_iter()
        .map(|c| CredentialView {
            this_browser: current.as_deref() == Some(c.id.as_str()),
            kind: match c.kind {
                TokenKind::Session => "session",
                TokenKind::Api => "api",
            },
            what: match c.kind {
                TokenKind::Session => "Browser session",
                TokenKind::Api => "API token",
            },
            created_iso: crate::domain::json::rfc3339(c.created_at),
            created_text: time_text(c.created_at),
            expires_iso: crate::domain::json::rfc3339(c.expires_at),
            expires_text: time_text(c.expires_at),
            id: c.id,
        })
        .collect()
}

pub(crate) async fn me_page(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    hub: web::Data<std::sync::Arc<crate::live::Hub>>,
    house: web::Data<crate::auction::AuctionHouse>,
) -> Result<HttpResponse, PageError> {
    let user = viewer.require()?;
    let now = settings.clock.now();
    let view = |lots: Vec<crate::domain::Lot>| {
        lots.iter()
            .map(|l| LotView::new(l, &settings.currency, now, false))
            .collect::<Vec<_>>()
    };
    let current = CookiePolicy::of(&req)
        .session(&req)
        .map(|s| credential_id(&s));
    let credentials = credential_views(store.credentials_of(user.id, now).await?, current);
    let read_up_to = store.notices_read_up_to(user.id).await?;
    let notices = store
        .notices_after(user.id, 0, 50, true)
        .await?
        .iter()
        .map(|n| NoticeView::new(n, &settings.currency, read_up_to))
        .collect();
    let cursor = hub.latest_id();
    let watchlist = store
        .watchlist(user.id)
        .await?
        .into_iter()
        .map(|lot| match house.open_lots().get(lot.id()) {
            Some(open) => CardView::new(&open.lot, &settings.currency, now),
            None => CardView::new(&lot, &settings.currency, now),
        })
        .collect();
    let page = MePage {
        notices,
        watchlist,
        cursor,
        can_bid: user.role.can_bid(),
        credentials,
        layout: Layout::new(&req, Some(&user), "My account"),
        bids: store
            .bids_of_bidder(user.id, 200)
            .await?
            .iter()
            .map(|b| BidView::new(b, &settings.currency))
            .collect(),
        leading: view(store.lots_led_by(user.id).await?),
        won: view(store.lots_won_by(user.id).await?),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct ReadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    up_to: i64,
}

/// "Mark all as read" on `/me`.
pub(crate) async fn read_notices(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    form: web::Form<ReadForm>,
) -> Result<HttpResponse, PageError> {
    let user = viewer.require()?;
    check_csrf(&req, &form.csrf)?;
    store.mark_notices_read(user.id, form.up_to.max(0)).await?;
    Ok(see_other("/me#notices"))
}

/// Ends one of the user's sessions or tokens; ending this browser's session signs it out.
pub(crate) async fn end_credential(
    req: HttpRequest,
    viewer: Viewer,
    store: web::Data<Store>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let user = viewer.require()?;
    check_csrf(&req, &form.csrf)?;
    if !store.end_credential(user.id, &path).await? {
        return Err(PageError(crate::web::error::AppError::NotFound));
    }
    Ok(see_other("/me?notice=ended"))
}
