use chrono::{DateTime, TimeZone, Utc};
use gavel::Application;
use gavel::clock::Clock;
use gavel::config::Settings;
use gavel::store::Store;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

pub struct TestApp {
    pub address: String,
    pub api: Client,
    pub store: Store,
    pub clock: Clock,
    pub db_url: String,
    pub dir: TempDir,
    pub hub: std::sync::Arc<gavel::live::Hub>,
    handle: actix_web::dev::ServerHandle,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub struct Options {
    pub manual_clock: bool,
    pub soft_close_secs: u64,
    pub admin: Option<(String, String)>,
    pub heartbeat_secs: u64,
    pub max_streams: Option<usize>,
    pub stalled_after_secs: u64,
    /// Serve on this port (to restart "the same" server); 0 picks a free one.
    pub port: u16,
    /// Off unless a test is about them: most tests register and bid far faster than a person.
    pub rate_limits: gavel::web::limits::RateSettings,
    /// GAVEL_PUBLIC_URL.
    pub public_url: Option<String>,
    pub body_timeout_secs: u64,
    pub ending_soon_secs: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            manual_clock: false,
            soft_close_secs: 120,
            admin: None,
            heartbeat_secs: 15,
            max_streams: None,
            port: 0,
            stalled_after_secs: 30,
            rate_limits: gavel::web::limits::RateSettings::off(),
            public_url: None,
            body_timeout_secs: 15,
            ending_soon_secs: 600,
        }
    }
}

pub fn fixed_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid time")
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(options: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}", dir.path().join("gavel-test.db").display());
    let clock = if options.manual_clock {
        Clock::manual(fixed_start())
    } else {
        Clock::system()
    };
    start(dir, db_url, clock, options).await
}

async fn start(dir: TempDir, db_url: String, clock: Clock, options: Options) -> TestApp {
    let mut settings = Settings::for_database(&db_url);
    settings.clock = clock.clone();
    settings.soft_close = Duration::from_secs(options.soft_close_secs);
    settings.admin = options.admin;
    settings.heartbeat = Duration::from_secs(options.heartbeat_secs);
    settings.max_streams = options.max_streams;
    settings.stalled_after = Duration::from_secs(options.stalled_after_secs);
    settings.bind = format!("127.0.0.1:{}", options.port);
    settings.rate_limits = options.rate_limits;
    settings.cookies =
        gavel::web::cookies::CookiePolicy::for_public_url(options.public_url.as_deref());
    settings.public_url = options.public_url;
    settings.body_timeout = Duration::from_secs(options.body_timeout_secs);
    settings.ending_soon = Duration::from_secs(options.ending_soon_secs);
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let store = app.store.clone();
    let hub = app.hub.clone();
    let handle = app.handle();
    let running = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        api: Client::new(),
        store,
        clock,
        db_url,
        dir,
        hub,
        handle,
        running,
    }
}

impl TestApp {
    /// Stops this server, runs `meanwhile`, then starts a new one on the same database and clock.
    pub async fn restart_after(self, meanwhile: impl FnOnce()) -> TestApp {
        self.restart_with(meanwhile, Options::default()).await
    }

    pub fn port(&self) -> u16 {
        self.address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Stops the server the way an operator does (streams end, requests finish).
    pub async fn stop(&mut self) {
        self.hub.shut_down();
        self.handle.stop(true).await;
        let _ = (&mut self.running).await;
    }

    pub async fn restart_with(mut self, meanwhile: impl FnOnce(), options: Options) -> TestApp {
        self.hub.shut_down();
        self.handle.stop(true).await;
        let _ = (&mut self.running).await;
        meanwhile();
        let TestApp {
            dir, db_url, clock, ..
        } = self;
        start(dir, db_url, clock, options).await
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.api
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        let mut req = self.api.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.api.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    /// A GET with one more header (`Last-Event-ID`, `Accept`, …).
    pub async fn get_with(&self, path: &str, (name, value): (&str, &str)) -> Response {
        let req = self.api.get(self.url(path)).header(name, value);
        req.send().await.expect("request sent")
    }

    /// Registers a user over the API and returns a bearer token.
    pub async fn user(&self, name: &str, role: &str) -> String {
        let res = self
            .post_json(
                "/api/v1/users",
                None,
                json!({"username": name, "password": "correct horse", "role": role}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "register {name}");
        self.token(name, "correct horse").await
    }

    pub async fn token(&self, name: &str, password: &str) -> String {
        let res = self
            .post_json(
                "/api/v1/tokens",
                None,
                json!({"username": name, "password": password}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "token for {name}");
        let body: Value = res.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// An admin, made as the operator would (directly in the database).
    pub async fn admin(&self) -> String {
        let name = gavel::domain::Username::parse("root").expect("name");
        let password = gavel::domain::Password::parse("correct horse").expect("password");
        let hash = gavel::web::auth::hash_password(password)
            .await
            .expect("hash");
        self.store
            .create_user(&name, &hash, gavel::domain::Role::Admin, Utc::now())
            .await
            .expect("admin created");
        self.token("root", "correct horse").await
    }

    /// The usual cast: an admin, a seller `sam` and a bidder `bea`; their tokens.
    pub async fn cast(&self) -> (String, String, String) {
        let admin = self.admin().await;
        let seller = self.user("sam", "seller").await;
        let bidder = self.user("bea", "bidder").await;
        (admin, seller, bidder)
    }

    /// A pending lot offered by `seller`.
    pub async fn offer(
        &self,
        seller: &str,
        start_cents: i64,
        reserve: Option<i64>,
        secs: i64,
    ) -> Value {
        let mut body = json!({
            "title": "Brass lamp", "description": "Works.",
            "starting_price_cents": start_cents, "duration_secs": secs
        });
        if let Some(r) = reserve {
            body["reserve_cents"] = json!(r);
        }
        let res = self.post_json("/api/v1/lots", Some(seller), body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.expect("json")
    }

    /// An open lot: offered by `seller`, approved by `admin`.
    pub async fn open_lot(
        &self,
        seller: &str,
        admin: &str,
        start_cents: i64,
        reserve: Option<i64>,
        secs: i64,
    ) -> String {
        let lot = self.offer(seller, start_cents, reserve, secs).await;
        let id = lot["id"].as_str().expect("id").to_owned();
        let res = self
            .post_json(
                &format!("/api/v1/lots/{id}/approve"),
                Some(admin),
                json!({}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        id
    }

    pub async fn bid(&self, token: &str, lot: &str, amount: i64) -> Response {
        self.post_json(
            &format!("/api/v1/lots/{lot}/bids"),
            Some(token),
            json!({ "amount_cents": amount }),
        )
        .await
    }

    pub async fn lot(&self, id: &str, token: Option<&str>) -> Value {
        let res = self.get_json(&format!("/api/v1/lots/{id}"), token).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    /// A browser: keeps cookies, does not follow redirects so tests can see them.
    pub fn browser(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub async fn page(&self, browser: &Client, path: &str) -> (StatusCode, String) {
        let res = browser.get(self.url(path)).send().await.expect("page");
        let status = res.status();
        (status, res.text().await.expect("text"))
    }

    /// Gets a page, then posts a form on it with the page's CSRF token.
    pub async fn submit(
        &self,
        browser: &Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let (_, html) = self.page(browser, page).await;
        let csrf = csrf_of(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        browser
            .post(self.url(action))
            .form(&form)
            .send()
            .await
            .expect("form posted")
    }

    /// Logs a browser in through the login form.
    pub async fn login_browser(&self, name: &str) -> Client {
        let browser = self.browser();
        let res = self
            .submit(
                &browser,
                "/login",
                "/login",
                &[("username", name), ("password", "correct horse")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login {name}");
        browser
    }
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    let end = html[start..].find('"').expect("end quote") + start;
    html[start..end].to_owned()
}

pub async fn error_code(res: Response) -> (StatusCode, String, Value) {
    let status = res.status();
    let body: Value = res.json().await.expect("error body is JSON");
    let code = body["error"]["code"].as_str().unwrap_or("").to_owned();
    assert!(
        body["error"]["message"].is_string(),
        "error has a message: {body}"
    );
    (status, code, body)
}

/// The real binary on a free port with a database in `dir`, logging errors to `dir/log`;
/// killed when dropped, pass or fail. Admin `root`, bid and registration limits off, no soft
/// close, unless `env` says otherwise.
pub struct Gavel {
    pub child: Child,
    pub base: String,
    pub dir: PathBuf,
    pub client: Client,
    _owned: Option<TempDir>,
}

impl Gavel {
    /// On a fresh database of its own.
    pub async fn start(env: &[(&str, &str)]) -> Gavel {
        let dir = tempfile::tempdir().expect("dir");
        let mut gavel = Gavel::launch(dir.path(), None, env).await;
        gavel._owned = Some(dir);
        gavel
    }

    pub fn db_url(&self) -> String {
        format!("sqlite://{}/g.db", self.dir.display())
    }

    pub async fn launch(dir: &Path, uid: Option<u32>, env: &[(&str, &str)]) -> Gavel {
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("log"))
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gavel"));
        cmd.args(["--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", format!("sqlite://{}/g.db", dir.display()))
            .env("RUST_LOG", "error")
            .env("GAVEL_ADMIN", "root:correct horse")
            .env("GAVEL_LIMIT_BIDS_PER_USER", "off")
            .env("GAVEL_LIMIT_REGISTRATIONS_PER_ADDRESS", "off")
            .env("GAVEL_SOFT_CLOSE_SECS", "0")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(uid) = uid {
            cmd.uid(uid).gid(uid);
        }
        let child = cmd.spawn().expect("gavel runs");
        let gavel = Gavel {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir: dir.to_owned(),
            _owned: None,
            // One connection, kept: with no descriptor left the server cannot accept another.
            client: Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        };
        for _ in 0..150 {
            if gavel.client.get(gavel.url("/healthz")).send().await.is_ok() {
                return gavel;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not start");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("answered")
    }

    pub async fn token(&self, name: &str) -> String {
        let res = self
            .post(
                "/api/v1/tokens",
                None,
                json!({"username": name, "password": "correct horse"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "token for {name}");
        let body: Value = res.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    pub async fn user(&self, name: &str, role: &str) -> String {
        let res = self
            .post(
                "/api/v1/users",
                None,
                json!({"username": name, "password": "correct horse", "role": role}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "register {name}");
        self.token(name).await
    }

    /// An approved lot ending in `secs`.
    pub async fn open_lot(&self, seller: &str, admin: &str, secs: i64) -> String {
        let res = self
            .post(
                "/api/v1/lots",
                Some(seller),
                json!({"title": "Lamp", "starting_price_cents": 100, "duration_secs": secs}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let lot: Value = res.json().await.expect("json");
        let id = lot["id"].as_str().expect("id").to_owned();
        let res = self
            .post(
                &format!("/api/v1/lots/{id}/approve"),
                Some(admin),
                json!({}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        id
    }

    pub async fn lot(&self, id: &str) -> Value {
        let res = self
            .client
            .get(self.url(&format!("/api/v1/lots/{id}")))
            .send()
            .await
            .expect("answered");
        assert_eq!(res.status(), StatusCode::OK, "reads go on");
        res.json().await.expect("json")
    }

    pub async fn bid_ids(&self, lot: &str) -> Vec<String> {
        let res = self
            .client
            .get(self.url(&format!("/api/v1/lots/{lot}/bids")))
            .send()
            .await
            .expect("answered");
        let body: Value = res.json().await.expect("json");
        body["bids"]
            .as_array()
            .expect("bids")
            .iter()
            .map(|b| b["id"].as_str().expect("id").to_owned())
            .collect()
    }

    pub async fn healthz(&self) -> StatusCode {
        self.client
            .get(self.url("/healthz"))
            .send()
            .await
            .expect("answered")
            .status()
    }

    /// CPU seconds the server has used (user + system).
    pub fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }

    pub fn log_lines(&self) -> usize {
        std::fs::read_to_string(self.dir.join("log"))
            .map(|l| l.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for Gavel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
