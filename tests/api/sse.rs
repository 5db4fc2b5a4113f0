//! A small, real SSE client for tests: reads the response body and splits it into frames.

use reqwest::Response;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Default, Clone)]
pub struct Frame {
    pub id: Option<i64>,
    pub event: Option<String>,
    pub data: String,
    pub comment: bool,
    pub retry: Option<u64>,
}

impl Frame {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("event data is JSON")
    }
}

pub struct SseClient {
    res: Response,
    buf: String,
}

impl SseClient {
    pub fn new(res: Response) -> Self {
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        SseClient {
            res,
            buf: String::new(),
        }
    }

    pub fn response(&self) -> &Response {
        &self.res
    }

    /// The next frame, or `None` if the stream ends or nothing comes within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                return Some(parse(&raw));
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk())
                .await
                .ok()?;
            match chunk {
                Ok(Some(bytes)) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// The next frame that is an event (skipping retry, comments and presence).
    pub async fn next_event(&mut self, wait: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = self.next(left).await?;
            if frame.id.is_some() {
                return Some(frame);
            }
        }
    }

    /// Every event that arrives until `quiet` passes with none.
    pub async fn drain_events(&mut self, quiet: Duration) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(f) = self.next_event(quiet).await {
            out.push(f);
        }
        out
    }
}

fn parse(raw: &str) -> Frame {
    let mut frame = Frame::default();
    let mut data = Vec::new();
    for line in raw.lines() {
        if line.starts_with(':') {
            frame.comment = true;
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => frame.id = value.parse().ok(),
                "event" => frame.event = Some(value.to_owned()),
                "data" => data.push(value.to_owned()),
                "retry" => frame.retry = value.parse().ok(),
                _ => {}
            }
        }
    }
    frame.data = data.join("\n");
    frame
}
