//! Gavel: a live auction site. `Application` is what `main` and the tests both start.

pub mod auction;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod images;
pub mod live;
pub mod store;
pub mod web;

use actix_web::dev::{Server, ServerHandle};
use actix_web::web as aweb;
use auction::{AuctionHouse, HouseConfig};
use config::Settings;
use live::Hub;
use std::net::TcpListener;
use std::sync::Arc;
use store::Store;

/// Connections the kernel may hold for us before we accept them (capped by `somaxconn`).
/// `TcpListener::bind` asks for 128: a crowd arriving at once would have its SYNs dropped and
/// retried a second later.
const LISTEN_BACKLOG: i32 = 4096;

fn listen(bind: &str) -> std::io::Result<TcpListener> {
    use std::net::ToSocketAddrs;
    let addr = bind.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")
    })?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

pub struct Application {
    port: u16,
    server: Server,
    pub store: Store,
    pub house: AuctionHouse,
    pub hub: Arc<Hub>,
}

impl Application {
    /// Opens the database, starts the auction house and binds the listener (port 0 works).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let store = Store::open(&settings.database_url).await?;
        let purged = store.purge_expired_tokens(settings.clock.now()).await?
            + store
                .purge_old_idempotency_keys(settings.clock.now())
                .await?;
        if purged > 0 {
            tracing::info!(purged, "expired sessions and tokens removed");
        }
        if let Some((name, password)) = &settings.admin {
            ensure_admin(&store, &settings, name, password).await?;
        }
        let max_streams = settings
            .max_streams
            .unwrap_or_else(live::default_max_streams);
        store.spawn_checkpoints();
        let hub = Hub::new(store.clone(), max_streams, settings.heartbeat).await?;
        let publisher = hub.clone();
        let house = AuctionHouse::start(
            Store::writer(&settings.database_url).await?,
            HouseConfig {
                clock: settings.clock.clone(),
                soft_close: chrono::Duration::from_std(settings.soft_close)?,
                ending_soon: chrono::Duration::from_std(settings.ending_soon)?,
                on_commit: Box::new(move |events, notices| {
                    publisher.publish(events);
                    publisher.publish_notices(notices);
                }),
                wal: Store::wal_path(&settings.database_url)?,
                readers: store.clone(),
            },
        )
        .await?;
        if settings.demo {
            demo::start(&store, &house, &settings).await?;
        }

        let listener = listen(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let data = web::server::SiteData {
            store: aweb::Data::new(store.clone()),
            house: aweb::Data::new(house.clone()),
            settings: aweb::Data::new(settings.clone()),
            hub: aweb::Data::new(hub.clone()),
            limits: aweb::Data::new(web::limits::RateLimits::new(
                &settings.rate_limits,
                &settings.clock,
            )),
            csrf: aweb::Data::new(web::csrf::CsrfKey(store.site_key("csrf").await?)),
            deadline: aweb::Data::new(web::body_deadline::BodyDeadline::new(settings.body_timeout)),
            images: aweb::Data::new(images::Images::new(store.clone())),
            searches: aweb::Data::new(web::search_cache::SearchCache::new(
                hub.clone(),
                store.clone(),
            )),
            direct_live: aweb::Data::new(Default::default()),
        };
        spawn_forgetting_idle_limits(data.limits.clone().into_inner());
        spawn_purging_expired(store.clone(), settings.clock.clone());
        let server = match &settings.tls {
            Some((cert, key)) => {
                web::server::tls(listener, data, web::tls::server_config(cert, key)?)?
            }
            None => web::server::plain(listener, data)?,
        };
        Ok(Application {
            port,
            server,
            store,
            house,
            hub,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// For stopping the server from elsewhere (tests, signals).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Ends live streams (browsers reconnect), finishes in-flight requests, then stops.
    pub async fn shut_down(hub: &Hub, handle: &ServerHandle) {
        hub.shut_down();
        handle.stop(true).await;
    }

    /// Serves until stopped, then lets the auction house finish what is queued.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.house.stop().await;
        served
    }

    /// As `run_until_stopped`, and SIGTERM or SIGINT (Ctrl-C) stop it gracefully: no new
    /// connections, streams ended cleanly, requests in flight answered (API.md §3a).
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let (hub, handle) = (self.hub.clone(), self.handle());
        let signals = tokio::spawn(async move {
            if let Err(e) = stop_signal().await {
                tracing::error!(error = %e, "cannot listen for stop signals");
                return;
            }
            tracing::info!("stop signal: finishing requests, ending streams");
            Application::shut_down(&hub, &handle).await;
        });
        let served = self.server.await;
        signals.abort();
        self.house.stop().await;
        served
    }
}

/// Resolves at the first SIGTERM or SIGINT.
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

/// Keys quiet long enough to be full again are dropped now and then, so the limits' memory
/// follows the active clients, not every address ever seen.
fn spawn_forgetting_idle_limits(limits: Arc<web::limits::RateLimits>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            limits.forget_idle();
        }
    });
}

/// Expired sessions, tokens and idempotency keys leave the database hourly, not only at start.
fn spawn_purging_expired(store: Store, clock: crate::clock::Clock) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        every.tick().await;
        loop {
            every.tick().await;
            let now = clock.now();
            let purged = (
                store.purge_expired_tokens(now).await,
                store.purge_old_idempotency_keys(now).await,
            );
            if let (Err(e), _) | (_, Err(e)) = purged {
                tracing::warn!(error = %e, "purging expired credentials and keys failed");
            }
        }
    });
}

/// Creates the admin named by `GAVEL_ADMIN` if no user has that name yet.
async fn ensure_admin(
    store: &Store,
    settings: &Settings,
    name: &str,
    password: &str,
) -> anyhow::Result<()> {
    let username = domain::Username::parse(name)?;
    if store.user_by_name(username.as_str()).await?.is_some() {
        return Ok(());
    }
    let password = domain::Password::parse(password)?;
    let hash = web::auth::hash_password(password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .create_user(&username, &hash, domain::Role::Admin, settings.clock.now())
        .await?;
    tracing::info!(admin = %username, "admin created");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;
    use std::time::Duration;

    /// The kernel completes a crowd's handshakes into the listen queue before anyone accepts.
    /// With the 128 that `TcpListener::bind` asks for, the 129th SYN is dropped and its
    /// connect waits a second for the retry.
    #[test]
    fn the_listener_queues_a_crowd_before_accepting() -> std::io::Result<()> {
        let crowd = 300;
        let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(crowd);
        if somaxconn <= crowd {
            let why = format!("net.core.somaxconn is {somaxconn}, which caps any backlog");
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            println!("skipped the listen-backlog test: {why} (sysctl -w net.core.somaxconn=4096)");
            return Ok(());
        }
        let listener = super::listen("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let mut held = Vec::with_capacity(crowd);
        for n in 0..crowd {
            let conn = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
                .map_err(|e| std::io::Error::other(format!("connection {n} waited: {e}")))?;
            held.push(conn);
        }
        Ok(())
    }
}
