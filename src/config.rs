//! Settings, each a command-line flag and an environment variable (API.md §1).

use crate::clock::Clock;
use crate::domain::Currency;
use crate::web::limits::{Rate, RateSettings};
use clap::Args;
use ipnet::IpNet;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to serve on.
    #[arg(long, env = "GAVEL_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// SQLite database, created and migrated at start.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://gavel.db")]
    pub database_url: String,
    /// `name:password`: creates that admin at start if missing.
    #[arg(long, env = "GAVEL_ADMIN", hide_env_values = true)]
    pub admin: Option<String>,
    /// Seconds before the end within which a bid extends the auction (0 turns soft close off).
    #[arg(long, env = "GAVEL_SOFT_CLOSE_SECS", default_value_t = 120)]
    pub soft_close_secs: u64,
    /// Seconds before a lot's end at which its bidders and watchers get an ending-soon notice.
    #[arg(long, env = "GAVEL_ENDING_SOON_SECS", default_value_t = 600)]
    pub ending_soon_secs: u64,
    /// Longest silence on a held stream before a heartbeat comment.
    #[arg(long, env = "GAVEL_HEARTBEAT_SECS", default_value_t = 15)]
    pub heartbeat_secs: u64,
    /// Most held streams at once (default: what the open-file limit allows, less a reserve).
    #[arg(long, env = "GAVEL_MAX_STREAMS")]
    pub max_streams: Option<usize>,
    /// Server worker threads (default: one per core).
    #[arg(long, env = "GAVEL_WORKERS", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// The site's one currency (ISO 4217 code).
    #[arg(long, env = "GAVEL_CURRENCY", default_value = "EUR")]
    pub currency: String,
    /// Fill an empty database with sample users and lots, and run a bot that bids now and then.
    #[arg(long, env = "GAVEL_DEMO")]
    pub demo: bool,
    /// Failed logins per username: N/SECONDS (N at once, refilled over SECONDS) or off.
    #[arg(long, env = "GAVEL_LIMIT_LOGIN_PER_USER", default_value = "10/300")]
    pub limit_login_per_user: Rate,
    /// Failed logins per client address.
    #[arg(long, env = "GAVEL_LIMIT_LOGIN_PER_ADDRESS", default_value = "50/300")]
    pub limit_login_per_address: Rate,
    /// Registrations per client address.
    #[arg(
        long,
        env = "GAVEL_LIMIT_REGISTRATIONS_PER_ADDRESS",
        default_value = "20/3600"
    )]
    pub limit_registrations_per_address: Rate,
    /// Bids per user.
    #[arg(long, env = "GAVEL_LIMIT_BIDS_PER_USER", default_value = "30/10")]
    pub limit_bids_per_user: Rate,
    /// Proxies whose `X-Forwarded-For` names the client: addresses or networks, comma-separated.
    #[arg(long, env = "GAVEL_TRUSTED_PROXIES", default_value = "", value_parser = crate::web::client::parse_proxies)]
    pub trusted_proxies: std::vec::Vec<IpNet>,
    /// The address people reach the site at, e.g. https://auctions.example; https makes
    /// cookies Secure with the __Host- prefix and sends HSTS.
    #[arg(long, env = "GAVEL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds a request body may take to arrive in full (and 5 at most without a byte).
    #[arg(long, env = "GAVEL_BODY_TIMEOUT_SECS", default_value_t = 15)]
    pub body_timeout_secs: u64,
    /// PEM certificate chain: serve HTTPS (HTTP/2 and HTTP/1.1) with GAVEL_TLS_KEY.
    #[arg(long, env = "GAVEL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of GAVEL_TLS_CERT.
    #[arg(
        long,
        env = "GAVEL_TLS_KEY",
        requires = "tls_cert",
        hide_env_values = true
    )]
    pub tls_key: Option<std::path::PathBuf>,
}

/// Everything the running site needs to know, resolved once at start.
#[derive(Clone)]
pub struct Settings {
    pub bind: String,
    pub database_url: String,
    pub admin: Option<(String, String)>,
    pub soft_close: Duration,
    pub ending_soon: Duration,
    pub heartbeat: Duration,
    pub max_streams: Option<usize>,
    /// Server worker threads (`GAVEL_WORKERS`, else one per core).
    pub workers: usize,
    pub currency: Currency,
    pub demo: bool,
    pub session_ttl: Duration,
    pub clock: Clock,
    /// The address people reach the site at; `https://…` makes cookies `Secure` and `__Host-`
    /// and turns on HSTS.
    pub public_url: Option<String>,
    pub cookies: crate::web::cookies::CookiePolicy,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// Certificate and key files: the site serves HTTPS itself.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// A client that takes none of what we send for this long is disconnected by the kernel
    /// (TCP_USER_TIMEOUT), so a watcher that never reads cannot hold memory forever.
    pub stalled_after: Duration,
    pub rate_limits: RateSettings,
    pub trusted_proxies: Vec<IpNet>,
}

impl Settings {
    pub fn from_args(args: ServeArgs) -> anyhow::Result<Self> {
        let admin = match args.admin {
            None => None,
            Some(spec) => {
                let (name, password) = spec
                    .split_once(':')
                    .ok_or_else(|| anyhow::anyhow!("GAVEL_ADMIN must be name:password"))?;
                Some((name.to_owned(), password.to_owned()))
            }
        };
        if let Some(url) = &args.public_url {
            let lower = url.to_ascii_lowercase();
            anyhow::ensure!(
                lower.starts_with("https://") || lower.starts_with("http://"),
                "GAVEL_PUBLIC_URL must start with https:// or http://"
            );
        }
        Ok(Settings {
            bind: args.bind,
            admin,
            soft_close: Duration::from_secs(args.soft_close_secs),
            ending_soon: Duration::from_secs(args.ending_soon_secs),
            heartbeat: Duration::from_secs(args.heartbeat_secs.max(1)),
            max_streams: args.max_streams,
            workers: args.workers.map_or_else(one_per_core, usize::from),
            currency: Currency::new(&args.currency),
            demo: args.demo,
            rate_limits: RateSettings {
                login_failures_per_user: args.limit_login_per_user,
                login_failures_per_address: args.limit_login_per_address,
                registrations_per_address: args.limit_registrations_per_address,
                bids_per_user: args.limit_bids_per_user,
            },
            trusted_proxies: args.trusted_proxies,
            // Served over TLS directly, cookies are Secure whatever the public URL says.
            cookies: crate::web::cookies::CookiePolicy::for_public_url(
                args.public_url
                    .as_deref()
                    .or(args.tls_cert.as_ref().map(|_| "https://")),
            ),
            tls: args.tls_cert.zip(args.tls_key),
            public_url: args.public_url,
            body_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
            ..Settings::for_database(&args.database_url)
        })
    }

    /// Defaults for a database URL, as tests and tools start the site.
    pub fn for_database(database_url: &str) -> Self {
        Settings {
            bind: "127.0.0.1:0".into(),
            database_url: database_url.into(),
            admin: None,
            soft_close: Duration::from_secs(120),
            ending_soon: Duration::from_secs(600),
            heartbeat: Duration::from_secs(15),
            max_streams: None,
            workers: one_per_core(),
            currency: Currency::default(),
            demo: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            clock: Clock::system(),
            public_url: None,
            cookies: crate::web::cookies::CookiePolicy::default(),
            body_timeout: Duration::from_secs(15),
            tls: None,
            stalled_after: Duration::from_secs(30),
            rate_limits: RateSettings::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// actix's own default for worker threads.
fn one_per_core() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
