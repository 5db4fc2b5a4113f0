//! Just enough HTTP/1.1 over raw sockets for a load tool: no client library in the way.

use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

pub async fn connect(server: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Writes a request (a JSON body if any) into `out`, which a fast client keeps and reuses.
pub fn write_request(
    out: &mut Vec<u8>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) {
    use std::io::Write;
    out.clear();
    let _ = write!(
        out,
        "{method} {path} HTTP/1.1\r\nHost: gavel\r\nAccept: application/json\r\n"
    );
    if let Some(t) = token {
        let _ = write!(out, "Authorization: Bearer {t}\r\n");
    }
    if let Some(b) = body {
        let _ = write!(
            out,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        );
    }
    out.extend_from_slice(b"\r\n");
    if let Some(b) = body {
        out.extend_from_slice(b.as_bytes());
    }
}

/// Sends one request on a kept-alive connection and reads a Content-Length response.
pub async fn request(
    conn: &mut TcpStream,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> std::io::Result<Response> {
    let mut out = Vec::new();
    write_request(&mut out, method, path, token, body);
    let mut buf = Vec::new();
    let (status, body) = exchange(conn, &out, &mut buf).await?;
    Ok(Response {
        status,
        body: buf[body].to_vec(),
    })
}

/// Sends a ready-made request and reads its Content-Length response into `buf`, which the
/// caller keeps from one request to the next: a client bidding flat out allocates nothing per
/// request, so the load tool leaves the shared cores to the server. The status and where the
/// body lies in `buf`.
pub async fn exchange(
    conn: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> std::io::Result<(u16, std::ops::Range<usize>)> {
    conn.write_all(request).await?;
    buf.clear();
    let header_end = loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            break end;
        }
        read_more(conn, buf).await?;
    };
    let head = &buf[..header_end];
    let status = head
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok()?.parse().ok())
        .unwrap_or(0);
    let length = header(head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let start = header_end + 4;
    while buf.len() < start + length {
        read_more(conn, buf).await?;
    }
    Ok((status, start..start + length))
}

/// A header's value in a response head (case-insensitive name, value trimmed).
pub fn header<'a>(head: &'a [u8], name: &str) -> Option<&'a str> {
    head.split(|&b| b == b'\n').find_map(|line| {
        let line = std::str::from_utf8(line).ok()?;
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

async fn read_more(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.reserve(8192);
    if conn.read_buf(buf).await? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "closed",
        ));
    }
    Ok(())
}

/// A vectorized search: each SSE frame is scanned for its id line, and a byte-by-byte scan of
/// ~800 bytes took a microsecond a delivery of the cores the server shares with the tool.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Only what a bidder reads from a bid's answer; serde skips the rest without building it.
#[derive(serde::Deserialize)]
pub struct BidAnswer {
    pub bid: Option<PlacedBid>,
    lot: Option<MinNext>,
    error: Option<MinNext>,
}

#[derive(serde::Deserialize)]
pub struct PlacedBid {
    pub event_id: i64,
}

#[derive(serde::Deserialize)]
struct MinNext {
    min_next_bid_cents: Option<i64>,
}

impl BidAnswer {
    /// The minimum next bid the answer tells: the lot's after a 201, the refusal's after a 422.
    pub fn min_next(&self) -> Option<i64> {
        self.lot
            .as_ref()
            .or(self.error.as_ref())
            .and_then(|m| m.min_next_bid_cents)
    }
}

pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
