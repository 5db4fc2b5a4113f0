//! JSON API calls for the measuring tools (`gavel-load`, `gavel-seed`, `gavel-sale-bench`), over
//! the load tool's own plain HTTP client.

use crate::http;
use serde_json::{Value, json};

/// One request on a kept-alive connection: the status and the JSON answer (null if none).
pub async fn api(
    conn: &mut tokio::net::TcpStream,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let text = body.map(|b| b.to_string());
    let res = http::request(conn, method, path, token, text.as_deref()).await?;
    Ok((
        res.status,
        serde_json::from_slice(&res.body).unwrap_or(Value::Null),
    ))
}

/// A bearer token for an existing user.
pub async fn log_in(
    conn: &mut tokio::net::TcpStream,
    name: &str,
    password: &str,
) -> anyhow::Result<String> {
    let body = json!({"username": name, "password": password});
    let (status, body) = api(conn, "POST", "/api/v1/tokens", None, Some(body)).await?;
    anyhow::ensure!(status == 201, "could not log in {name}: {body}");
    Ok(body["token"].as_str().unwrap_or_default().to_owned())
}
