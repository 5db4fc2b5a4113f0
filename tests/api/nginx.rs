//! Gavel behind nginx with the configuration docs/DEPLOY.md gives, read from that file: HTTP/2
//! to the client over TLS, and SSE and long-poll events arrive through nginx at once.

use crate::helpers::spawn_app;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn nginx_present() -> bool {
    let ok = Command::new("nginx").arg("-v").output().is_ok()
        && Command::new("curl").arg("--version").output().is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nginx and curl are needed under CI (apt-get install nginx-light curl)"
        );
        eprintln!(
            "skipped: the nginx test needs nginx and curl (apt-get install nginx-light curl)"
        );
    }
    ok
}

/// The ```nginx block of docs/DEPLOY.md.
fn documented_config() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/DEPLOY.md"))
        .expect("docs/DEPLOY.md");
    let start = doc.find("```nginx\n").expect("an nginx block") + 9;
    let end = doc[start..].find("```").expect("its end") + start;
    doc[start..end].to_owned()
}

struct Nginx(std::process::Child);

impl Drop for Nginx {
    /// SIGTERM to the master: it stops its workers too (SIGKILL would orphan them).
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.0.wait();
    }
}

#[actix_web::test]
async fn events_arrive_at_once_through_nginx_as_documented() {
    if !nginx_present() {
        return;
    }
    let app = spawn_app().await;
    let (admin, seller, bea) = app.cast().await;
    let lot = app.open_lot(&seller, &admin, 1000, None, 3600).await;

    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().display().to_string();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).expect("cert");
    std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).expect("key");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let site = documented_config()
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", app.port()))
        .replace("listen 443 ", &format!("listen 127.0.0.1:{port} "))
        .replace("/etc/ssl/gavel/fullchain.pem", &format!("{d}/cert.pem"))
        .replace("/etc/ssl/gavel/privkey.pem", &format!("{d}/key.pem"));
    // What nginx.conf around a site holds, kept in the test's folder.
    let conf = format!(
        "user root; daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;\n\
         events {{}}\n\
         http {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n{site}\n}}\n"
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("conf");
    let nginx = Nginx(
        Command::new("nginx")
            .args(["-c", &conf_path.display().to_string(), "-p", &d])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs"),
    );
    let base = format!("https://127.0.0.1:{port}");
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sk", "--max-time", "10"])
            .args(args)
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let health = format!("{base}/healthz");
    let mut up = false;
    for _ in 0..50 {
        if curl(&["--http2", "-w", " %{http_version}", &health]) == "ok 2" {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        up,
        "nginx serves Gavel over HTTP/2: {}",
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    );

    // A stream and a waiting poll through nginx; then a bid.
    let stream = Command::new("curl")
        .args([
            "-skN",
            "--http2",
            "--max-time",
            "6",
            &format!("{base}/lots/{lot}/events"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("stream");
    let cursor = curl(&[&format!("{base}/lots/{lot}/poll?timeout=0")]);
    let cursor: serde_json::Value = serde_json::from_str(&cursor).expect("cursor");
    let poll_url = format!(
        "{base}/lots/{lot}/poll?after={}&timeout=20",
        cursor["cursor"].as_i64().expect("cursor")
    );
    let poll = Command::new("curl")
        .args([
            "-sk",
            "--http2",
            "--max-time",
            "25",
            "-w",
            "\n%{time_total}",
            &poll_url,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("poll");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let bid_at = Instant::now();
    assert_eq!(app.bid(&bea, &lot, 2000).await.status(), 201);
    let polled = poll.wait_with_output().expect("poll answered");
    let waited = bid_at.elapsed();
    let polled = String::from_utf8_lossy(&polled.stdout);
    assert!(polled.contains("\"type\":\"bid\""), "{polled}");
    assert!(
        waited < Duration::from_secs(2),
        "the poll answered {waited:?} after the bid"
    );
    let streamed = stream.wait_with_output().expect("stream ended");
    let streamed = String::from_utf8_lossy(&streamed.stdout);
    assert!(streamed.contains("event: bid"), "{streamed}");
    drop(nginx);
}
