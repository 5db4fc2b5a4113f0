//! HTTPS without a proxy (GAVEL_TLS_CERT, GAVEL_TLS_KEY): HTTP/2 and HTTP/1.1 by ALPN, checked
//! with curl (a client we did not write) against the real binary and a self-signed
//! certificate. Many event streams share one HTTP/2 connection, and events arrive on them.

use std::process::{Command, Stdio};
use std::time::Duration;

struct Tls {
    child: std::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Tls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn curl_present() -> bool {
    let ok = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("HTTP2"));
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "curl with HTTP/2 is needed under CI"
        );
        eprintln!("skipped: the TLS test needs curl with HTTP/2 (apt-get install curl)");
    }
    ok
}

/// What `curl -sk ARGS` prints (a `-w` format comes last in it).
fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sk", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn start() -> Tls {
    let dir = tempfile::tempdir().expect("dir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("cert written");
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("key written");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/g.db", dir.path().display()),
        )
        .env("GAVEL_TLS_CERT", &cert_path)
        .env("GAVEL_TLS_KEY", &key_path)
        .env("GAVEL_ADMIN", "root:correct horse")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("gavel runs");
    let tls = Tls {
        child,
        base: format!("https://127.0.0.1:{port}"),
        _dir: dir,
    };
    for _ in 0..100 {
        if curl(&[&format!("{}/healthz", tls.base)]) == "ok" {
            return tls;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the TLS server did not start");
}

fn json_post(tls: &Tls, path: &str, token: Option<&str>, body: &str) -> serde_json::Value {
    let url = format!("{}{path}", tls.base);
    let auth = token.map(|t| format!("Authorization: Bearer {t}"));
    let mut args = vec![
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        body,
    ];
    if let Some(a) = &auth {
        args.extend(["-H", a.as_str()]);
    }
    args.push(&url);
    serde_json::from_str(&curl(&args)).expect("json")
}

#[actix_web::test]
async fn https_serves_http2_and_http1_and_multiplexes_streams() {
    if !curl_present() {
        return;
    }
    let tls = start().await;
    let health = format!("{}/healthz", tls.base);
    assert_eq!(
        curl(&[
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            &health
        ]),
        "2"
    );
    assert_eq!(
        curl(&[
            "--http1.1",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            &health
        ]),
        "1.1"
    );
    // Cookies from a TLS site are Secure with the __Host- prefix.
    let login = curl(&["-D", "-", "-o", "/dev/null", &format!("{}/login", tls.base)]);
    assert!(
        login
            .to_lowercase()
            .contains("set-cookie: __host-gavel_csrf="),
        "{login}"
    );
    assert!(login.contains("Secure"), "{login}");

    let admin = json_post(
        &tls,
        "/api/v1/tokens",
        None,
        r#"{"username":"root","password":"correct horse"}"#,
    )["token"]
        .as_str()
        .expect("admin token")
        .to_owned();
    json_post(
        &tls,
        "/api/v1/users",
        None,
        r#"{"username":"sam","password":"correct horse","role":"seller"}"#,
    );
    json_post(
        &tls,
        "/api/v1/users",
        None,
        r#"{"username":"bea","password":"correct horse"}"#,
    );
    let token = |name: &str| {
        json_post(
            &tls,
            "/api/v1/tokens",
            None,
            &format!(r#"{{"username":"{name}","password":"correct horse"}}"#),
        )["token"]
            .as_str()
            .expect("token")
            .to_owned()
    };
    let (sam, bea) = (token("sam"), token("bea"));
    let lot = json_post(
        &tls,
        "/api/v1/lots",
        Some(&sam),
        r#"{"title":"Lamp","starting_price_cents":100,"duration_secs":3600}"#,
    )["id"]
        .as_str()
        .expect("lot")
        .to_owned();
    json_post(
        &tls,
        &format!("/api/v1/lots/{lot}/approve"),
        Some(&admin),
        "{}",
    );

    // Twenty event streams at once from one curl over HTTP/2: one connection carries them all,
    // and a bid placed meanwhile reaches every one.
    let url = format!("{}/lots/{lot}/events", tls.base);
    let mut args: Vec<String> = [
        "-sk",
        "--http2",
        "-N",
        "-Z",
        "--parallel-max",
        "20",
        "--max-time",
        "4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for _ in 0..20 {
        args.push(url.clone());
    }
    args.extend([
        "-w".into(),
        "conn=%{num_connects} proto=%{http_version}\n".into(),
    ]);
    let streams = Command::new("curl")
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl streams");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let bid = json_post(
        &tls,
        &format!("/api/v1/lots/{lot}/bids"),
        Some(&bea),
        r#"{"amount_cents":500}"#,
    );
    assert!(bid["bid"]["id"].is_string(), "{bid}");
    let out = streams.wait_with_output().expect("streams ended");
    let out = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.matches("event: bid").count(), 20, "{out}");
    let connects: usize = out
        .lines()
        .filter_map(|l| l.strip_prefix("conn="))
        .filter_map(|l| l.split_whitespace().next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(connects, 1, "one connection for twenty streams: {out}");
    assert_eq!(out.matches("proto=2").count(), 20, "{out}");
}
