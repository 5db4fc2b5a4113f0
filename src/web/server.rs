//! The HTTP server: the site's one `App`, served over TLS by actix-web's `HttpServer`, and over
//! plain HTTP by actix-server with every connection starting in `live_connections`.

use super::live_connections::{Polls, Replayed, serve};
use crate::config::Settings;
use crate::live::Hub;
use crate::store::Store;
use actix_http::{HttpService, KeepAlive, Protocol};
use actix_service::{
    IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt, fn_factory, fn_service,
    map_config,
};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web as aweb};
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// What every worker's `App` shares.
#[derive(Clone)]
pub struct SiteData {
    pub store: aweb::Data<Store>,
    pub house: aweb::Data<crate::auction::AuctionHouse>,
    pub settings: aweb::Data<Settings>,
    pub hub: aweb::Data<Arc<Hub>>,
    pub limits: aweb::Data<super::limits::RateLimits>,
    pub csrf: aweb::Data<super::csrf::CsrfKey>,
    pub deadline: aweb::Data<super::body_deadline::BodyDeadline>,
    pub images: aweb::Data<crate::images::Images>,
    pub searches: aweb::Data<super::search_cache::SearchCache>,
    pub direct_live: aweb::Data<super::live_connections::Answered>,
}

/// The site: its middleware, shared data and routes.
pub fn site(
    data: SiteData,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let secure = data.settings.cookies.secure;
    App::new()
        .wrap(super::site_headers(secure))
        .wrap(from_fn(super::csrf::ensure_cookie))
        .wrap(from_fn(super::body_deadline::bound_bodies))
        .wrap(from_fn(super::trace_requests))
        .wrap(from_fn(super::fast_polls::answer_polls))
        .app_data(data.store.clone())
        .app_data(data.house.clone())
        .app_data(data.settings.clone())
        .app_data(data.hub.clone())
        .app_data(data.limits.clone())
        .app_data(data.csrf.clone())
        .app_data(data.deadline.clone())
        .app_data(data.images.clone())
        .app_data(data.searches.clone())
        .app_data(data.direct_live.clone())
        .configure(super::routes)
        .default_service(aweb::to(super::pages::not_found))
}

/// Seconds a stopping server gives requests in flight.
const SHUTDOWN_TIMEOUT: u64 = 10;
/// After an answer that closes the connection (a body cut at its deadline), the rest of the
/// body is read and dropped for at most this long.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The site over TLS (HTTP/2 and HTTP/1.1 by ALPN), by actix-web's own server.
pub fn tls(
    listener: TcpListener,
    data: SiteData,
    config: rustls::ServerConfig,
) -> std::io::Result<Server> {
    let stalled_after = data.settings.stalled_after;
    let workers = data.settings.workers;
    Ok(HttpServer::new(move || {
        // Runs on each worker thread.
        crate::live::relay::allow_here();
        site(data.clone())
    })
    .on_connect(move |conn, _| super::connections::drop_when_stalled(conn, stalled_after))
    // A watcher that hangs up is dropped at once, not at the next heartbeat.
    .h1_allow_half_closed(false)
    .max_connection_rate(4096)
    .shutdown_timeout(SHUTDOWN_TIMEOUT)
    .client_disconnect_timeout(DISCONNECT_TIMEOUT)
    .workers(workers)
    .disable_signals()
    .listen_rustls_0_23(listener, config)?
    .run())
}

/// The site over plain HTTP: each connection is served by `live_connections` while it only
/// long-polls or streams, then by actix-http configured as `HttpServer` would be (and as `tls` is).
pub fn plain(listener: TcpListener, data: SiteData) -> std::io::Result<Server> {
    let addr = listener.local_addr()?;
    let builder = Server::build().workers(data.settings.workers);
    let shutdown = builder.graceful_shutdown_signal();
    let polls = Arc::new(Polls::new(
        data.hub.get_ref().clone(),
        data.direct_live.clone().into_inner(),
        data.settings.cookies.secure,
        data.settings.stalled_after,
        shutdown.clone(),
    ));
    Ok(builder
        .shutdown_timeout(SHUTDOWN_TIMEOUT)
        .disable_signals()
        .listen("gavel", listener, move || {
            let signal = shutdown.clone();
            let app = site(data.clone())
                .into_factory()
                .map_err(|e: actix_web::Error| e.error_response());
            let http = HttpService::<Replayed, _, _>::build()
                .graceful_shutdown_signal(move || {
                    let signal = signal.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(DISCONNECT_TIMEOUT)
                .h1_allow_half_closed(false)
                .local_addr(addr)
                .finish(map_config(app, |_| AppConfig::default()));
            let polls = polls.clone();
            fn_factory(move || {
                // Runs on each worker thread.
                crate::live::relay::allow_here();
                let http = http.new_service(());
                let polls = polls.clone();
                async move {
                    let http = Rc::new(http.await.map_err(|e| {
                        tracing::error!(error = ?e, "the site's service could not start");
                    })?);
                    Ok::<_, ()>(fn_service(move |io| {
                        let (polls, http) = (polls.clone(), http.clone());
                        async move {
                            serve(io, polls, |replayed, peer| {
                                http.call((replayed, Protocol::Http1, peer))
                            })
                            .await;
                            Ok::<_, ()>(())
                        }
                    }))
                }
            })
        })?
        .run())
}
