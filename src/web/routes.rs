//! Every route of the site in one list, with who may call it. The router is built from these
//! lists, and the authorization test walks them, so no route exists without its row.

use super::api::{catalogue as api_catalogue, lots as api_lots, me as api_me, users as api_users};
use super::error::AppError;
use super::metrics;
use super::pages::{accounts, admin, lots, me, sales, sell};
use crate::live::{poll, stream};

/// Who may call an endpoint. Handlers enforce it; the authorization table checks each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Anyone,
    SignedIn,
    /// A bidder or seller, on a lot that is not their own.
    Bidder,
    Seller,
    /// The lot's own seller, or an admin.
    LotSeller,
    Admin,
}

#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub method: &'static str,
    /// The full path pattern, e.g. `/api/v1/lots/{id}`.
    pub path: &'static str,
    pub access: Access,
}

/// What a resource serving `methods` answers to: a GET route answers HEAD too (RFC 9110), and
/// every resource answers OPTIONS.
pub fn allow_list(methods: &[&str]) -> String {
    let mut allow: Vec<&str> = Vec::with_capacity(methods.len() + 2);
    for m in methods {
        allow.push(m);
        if *m == "GET" {
            allow.push("HEAD");
        }
    }
    allow.push("OPTIONS");
    allow.join(", ")
}

/// The route for one method; GET's also takes HEAD, whose answer actix sends without its body.
fn route_for(method: actix_web::http::Method) -> actix_web::Route {
    use actix_web::{guard, web};
    if method == actix_web::http::Method::GET {
        web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
    } else {
        web::method(method)
    }
}

/// OPTIONS: 204 with `Allow` (no CORS: the site serves its own pages).
fn options(allow: String) -> actix_web::Route {
    actix_web::web::route()
        .guard(actix_web::guard::Options())
        .to(move || {
            let allow = allow.clone();
            async move {
                actix_web::HttpResponse::NoContent()
                    .insert_header(("Allow", allow))
                    .finish()
            }
        })
}

/// The answer for a method a resource does not serve: 405 with `Allow`, in the shape `wrap`
/// gives errors (JSON for the API, the error page for the site).
fn refuse_method<E>(allow: &str, wrap: fn(AppError) -> E) -> actix_web::Route
where
    E: actix_web::ResponseError + 'static,
{
    let allow = allow.to_owned();
    actix_web::web::to(move || {
        let error = wrap(AppError::MethodNotAllowed(allow.clone()));
        async move { Err::<actix_web::HttpResponse, E>(error) }
    })
}

/// Declares a list of endpoints and the function that registers them: one resource per path,
/// whose other methods get 405 with `Allow` in the shape `$wrap` gives errors.
macro_rules! endpoints {
    ($list:ident, $register:ident, $prefix:literal, $wrap:path;
     $( $path:literal => { $( $method:ident $handler:path : $access:ident ),+ $(,)? } ),+ $(,)?) => {
        pub const $list: &[Endpoint] = &[
            $( $( Endpoint {
                method: stringify!($method),
                path: concat!($prefix, $path),
                access: Access::$access,
            }, )+ )+
        ];

        pub fn $register(cfg: &mut actix_web::web::ServiceConfig) {
            $(
                let allow = allow_list(&[$( stringify!($method) ),+]);
                cfg.service(
                    actix_web::web::resource($path)
                        $( .route(route_for(actix_web::http::Method::$method).to($handler)) )+
                        .route(options(allow.clone()))
                        .default_service(refuse_method(&allow, $wrap)),
                );
            )+
        }
    };
}

endpoints! { API, register_api, "/api/v1", std::convert::identity;
    // The bid first: the router tries patterns in order, and bids are the hot path.
    "/lots/{id}/bids" => { POST api_lots::place_bid: Bidder, GET api_lots::bids: Anyone },
    "/lots/{id}/bids/{bid_id}" => { DELETE api_lots::remove_bid: Admin },
    "/users" => { POST api_users::register: Anyone },
    "/tokens" => { POST api_users::issue_token: Anyone },
    "/tokens/current" => { DELETE api_users::revoke_token: SignedIn },
    "/lots" => { GET api_lots::list: Anyone, POST api_lots::create: Seller },
    "/lots/{id}" => { GET api_lots::show: Anyone },
    "/lots/{id}/approve" => { POST api_lots::approve: Admin },
    "/lots/{id}/reject" => { POST api_lots::reject: Admin },
    "/lots/{id}/close" => { POST api_lots::close: Admin },
    "/lots/{id}/cancel" => { POST api_lots::cancel: Admin },
    "/lots/{id}/watch" => { PUT api_me::watch: SignedIn, DELETE api_me::unwatch: SignedIn },
    "/me/notices" => { GET api_me::notices: SignedIn },
    "/me/notices/read" => { POST api_me::read: SignedIn },
    "/me/watchlist" => { GET api_me::watchlist: SignedIn },
    "/categories" => { GET api_catalogue::categories: Anyone, POST api_catalogue::add_category: Admin },
    "/categories/{slug}" => { PUT api_catalogue::rename_category: Admin },
    "/lots/{id}/images" => { POST api_catalogue::upload_image: LotSeller },
    "/lots/{id}/images/{image_id}" => { DELETE api_catalogue::delete_image: LotSeller },
    "/sales" => { GET api_catalogue::sales: Anyone, POST api_catalogue::create_sale: Admin },
    "/sales/{id}" => { GET api_catalogue::sale: Anyone },
}

endpoints! { SITE, register_site, "", super::pages::PageError;
    // Long polls first: 10,000 pollers send 40,000 a second during a bid's fan-out, and each
    // pattern tried before the match is a regex run (measured: 4% of the server's CPU).
    "/lots/{id}/poll" => { GET poll::lot_poll: Anyone },
    "/lots/{id}/next" => { GET poll::lot_next: Anyone },
    "/poll" => { GET poll::site_poll: Anyone },
    "/lots/{id}/events" => { GET stream::lot_events: Anyone },
    "/events" => { GET stream::site_events: Anyone },
    "/me/events" => { GET stream::notice_events: SignedIn },
    "/me/poll" => { GET poll::notice_poll: SignedIn },
    "/healthz" => { GET super::healthz: Anyone },
    "/static/{name}" => { GET super::assets::serve: Anyone },
    "/images/{file}" => { GET super::image_files::serve: Anyone },
    "/metrics" => { GET metrics::serve: Anyone },
    "/" => { GET lots::index: Anyone },
    "/lots/{id}" => { GET lots::show: Anyone },
    "/sales" => { GET sales::sales_page: Anyone },
    "/sales/{id}" => { GET sales::sale_page: Anyone },
    "/lots/{id}/bid" => { POST lots::bid: Bidder },
    "/lots/{id}/bids/{bid_id}/remove" => { POST lots::remove_bid: Admin },
    "/login" => { GET accounts::login_page: Anyone, POST accounts::login: Anyone },
    "/register" => { GET accounts::register_page: Anyone, POST accounts::register: Anyone },
    "/logout" => { GET accounts::logout_page: Anyone, POST accounts::logout: Anyone },
    "/sell" => { GET sell::sell_page: Seller, POST sell::submit: Seller },
    "/sell/lots/{id}/images" => { POST sell::add_image: LotSeller },
    "/sell/lots/{id}/images/{image_id}/remove" => { POST sell::remove_image: LotSeller },
    "/admin" => { GET admin::admin_page: Admin },
    "/admin/lots/{id}/{action}" => { POST admin::act: Admin },
    "/admin/categories" => { POST admin::add_category: Admin },
    "/admin/categories/{slug}" => { POST admin::rename_category: Admin },
    "/admin/sales" => { POST admin::create_sale: Admin },
    "/me" => { GET me::me_page: SignedIn },
    "/me/credentials/{id}/end" => { POST me::end_credential: SignedIn },
    "/me/notices/read" => { POST me::read_notices: SignedIn },
    "/lots/{id}/watch" => { POST lots::toggle_watch: SignedIn },
}

/// Every endpoint, API and site.
pub fn all() -> impl Iterator<Item = &'static Endpoint> {
    API.iter().chain(SITE.iter())
}
