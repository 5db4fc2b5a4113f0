//! gavel-seed: fills a running Gavel with a catalogue for the catalogue benchmarks: categories,
//! thousands of open lots with searchable words, and one photograph. Prints what to measure.
//! Sends traffic only to the server it is given (meant for loopback).

#[path = "../common/api.rs"]
mod api;
#[path = "../gavel-load/http.rs"]
#[expect(
    dead_code,
    reason = "the seeder uses the load tool's plain requests, not its bids"
)]
mod http;

use api::{api, log_in};
use clap::Parser;
use serde_json::{Value, json};
use std::net::SocketAddr;

#[derive(Parser, Debug)]
#[command(name = "gavel-seed", about = "Fill a running Gavel with a catalogue")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8080")]
    server: SocketAddr,
    /// An admin's `name:password`.
    #[arg(long, default_value = "root:load-admin-password")]
    admin: String,
    #[arg(long, default_value_t = 10_000)]
    lots: usize,
    #[arg(long, default_value_t = 10)]
    categories: usize,
    /// Connections creating lots at once.
    #[arg(long, default_value_t = 16)]
    connections: usize,
}

const ADJECTIVES: [&str; 24] = [
    "brass",
    "oak",
    "silver",
    "antique",
    "vintage",
    "painted",
    "carved",
    "enamel",
    "copper",
    "walnut",
    "glass",
    "ceramic",
    "woollen",
    "leather",
    "marble",
    "gilded",
    "rustic",
    "folding",
    "miniature",
    "signed",
    "rare",
    "café",
    "crème",
    "naïve",
];
const NOUNS: [&str; 24] = [
    "lamp",
    "clock",
    "chair",
    "table",
    "mirror",
    "vase",
    "bowl",
    "print",
    "camera",
    "radio",
    "teapot",
    "desk",
    "trunk",
    "globe",
    "compass",
    "bicycle",
    "guitar",
    "rug",
    "cabinet",
    "stool",
    "kettle",
    "frame",
    "sculpture",
    "watch",
];
const PLACES: [&str; 12] = [
    "Lisbon", "Kraków", "Dublin", "Lyon", "Ghent", "Bergen", "Turin", "Malmö", "Porto", "Graz",
    "Utrecht", "Zürich",
];

/// Lot `n`'s words: the same `n` always gets the same ones.
fn words(n: usize) -> (String, String) {
    let pick = |list: &[&'static str], salt: usize| list[(n * 7 + salt * 13 + n / 11) % list.len()];
    let title = format!(
        "{} {} from {}",
        pick(&ADJECTIVES, 1),
        pick(&NOUNS, 2),
        pick(&PLACES, 3)
    );
    let description = format!(
        "A {} {} in good order, with a {} {}. Collected in {}; lot {n}.",
        pick(&ADJECTIVES, 4),
        pick(&NOUNS, 5),
        pick(&ADJECTIVES, 6),
        pick(&NOUNS, 7),
        pick(&PLACES, 8)
    );
    (title, description)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.server.ip().is_loopback(),
        "gavel-seed only sends traffic to loopback addresses"
    );
    let mut conn = http::connect(args.server, None).await?;
    let (admin_name, admin_password) = args
        .admin
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("--admin is name:password"))?;
    let admin = log_in(&mut conn, admin_name, admin_password).await?;
    let (status, body) = api(
        &mut conn,
        "POST",
        "/api/v1/users",
        None,
        Some(json!({"username": "seed-seller", "password": "seed-seller-password", "role": "seller"})),
    )
    .await?;
    anyhow::ensure!(status == 201 || status == 409, "seller: {body}");
    let seller = log_in(&mut conn, "seed-seller", "seed-seller-password").await?;
    let mut slugs = Vec::new();
    for k in 0..args.categories {
        let (status, body) = api(
            &mut conn,
            "POST",
            "/api/v1/categories",
            Some(&admin),
            Some(json!({ "name": format!("Category {k}") })),
        )
        .await?;
        anyhow::ensure!(status == 201, "category: {body}");
        slugs.push(body["slug"].as_str().unwrap_or_default().to_owned());
    }
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let (server, admin, seller, slugs) =
            (args.server, admin.clone(), seller.clone(), slugs.clone());
        let count = args.lots;
        let connections = args.connections;
        tasks.push(tokio::spawn(async move {
            let mut conn = http::connect(server, None).await?;
            let mut first = None;
            for n in (c..count).step_by(connections) {
                let (title, description) = words(n);
                let (status, lot) = api(
                    &mut conn,
                    "POST",
                    "/api/v1/lots",
                    Some(&seller),
                    Some(json!({"title": title, "description": description,
                        "starting_price_cents": 100 + (n as i64 * 37) % 50_000,
                        "duration_secs": 86_400 + (n as i64 * 61) % 500_000,
                        "category": slugs[n % slugs.len()]})),
                )
                .await?;
                anyhow::ensure!(status == 201, "lot: {lot}");
                let id = lot["id"].as_str().unwrap_or_default().to_owned();
                if n == 0 {
                    first = Some(id.clone());
                }
                let path = format!("/api/v1/lots/{id}/approve");
                let (status, body) =
                    api(&mut conn, "POST", &path, Some(&admin), Some(json!({}))).await?;
                anyhow::ensure!(status == 200, "approve: {body}");
            }
            Ok::<_, anyhow::Error>(first)
        }));
    }
    let mut first = None;
    for t in tasks {
        if let Some(id) = t.await?? {
            first = Some(id);
        }
    }
    let first = first.ok_or_else(|| anyhow::anyhow!("no lot made"))?;
    eprintln!(
        "{} lots in {:.1} s",
        args.lots,
        started.elapsed().as_secs_f64()
    );
    // One photograph (drawn here, uploaded as a real multipart form) for the image benchmark.
    let drawn = gavel::images::draw::still_life(7)?;
    let boundary = "gavel-seed-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&drawn.display.bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut request = format!(
        "POST /api/v1/lots/{first}/images HTTP/1.1\r\nHost: gavel\r\nAuthorization: Bearer {admin}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let mut buf = Vec::new();
    // A fresh connection: the first one sat idle past the server's keep-alive while lots were made.
    let mut conn = http::connect(args.server, None).await?;
    let (status, range) = http::exchange(&mut conn, &request, &mut buf).await?;
    let answer: Value = serde_json::from_slice(&buf[range]).unwrap_or(Value::Null);
    anyhow::ensure!(status == 201, "image: {answer}");
    // What the benchmark asks for: one word and one category, and the image's two addresses.
    // Shell assignments, quoted (a query holds `&`).
    println!("SEARCH='/?q=lamp&category={}'", slugs[0]);
    println!(
        "IMAGE='{}'",
        answer["image"]["url"].as_str().unwrap_or_default()
    );
    println!(
        "THUMB='{}'",
        answer["image"]["thumb_url"].as_str().unwrap_or_default()
    );
    Ok(())
}
