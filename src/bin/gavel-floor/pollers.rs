//! The framework's floor under long polling: a bare actix-web poller with Gavel's URLs and JSON
//! shapes but none of its work (no lots, auth, database, middleware or metrics). Polls wait on a
//! tokio broadcast as Gavel's do; a POST of `{"amount_cents":N}` publishes one event to every
//! waiting poll. Run by `scripts/longpoll-vs-nchan.sh` beside Nchan and Gavel, so the same
//! independent load client measures all three in one run.
//!
//! `gavel-floor --serve-pollers 127.0.0.1:8094` serves until killed:
//! `GET /poll?after=N&timeout=S` answers `{"events":[…],"cursor":M}` (at once when events after
//! N exist, else at the next publish or after S seconds); `POST /pub` publishes.

use actix_web::{App, HttpResponse, HttpServer, web};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;

struct Channel {
    /// Every event's JSON, event id k at index k − 1.
    events: RwLock<Vec<Arc<str>>>,
    woken: broadcast::Sender<()>,
}

#[derive(serde::Deserialize)]
struct PollQuery {
    after: Option<u64>,
    timeout: Option<u64>,
}

#[derive(serde::Deserialize)]
struct Publish {
    amount_cents: i64,
}

impl Channel {
    fn latest(&self) -> u64 {
        self.events.read().map_or(0, |e| e.len() as u64)
    }

    fn answer(&self, after: u64) -> HttpResponse {
        let events = match self.events.read() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        let from = (after as usize).min(events.len());
        let mut body = String::with_capacity(64 + 48 * (events.len() - from));
        body.push_str("{\"events\":[");
        for (i, e) in events[from..].iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(e);
        }
        body.push_str(&format!("],\"cursor\":{}}}", events.len().max(from)));
        HttpResponse::Ok()
            .content_type("application/json")
            .body(body)
    }
}

async fn poll(channel: web::Data<Channel>, query: web::Query<PollQuery>) -> HttpResponse {
    let Some(after) = query.after else {
        return channel.answer(channel.latest());
    };
    // Subscribed before looking, so a publish between the look and the wait still wakes us.
    let mut woken = channel.woken.subscribe();
    if channel.latest() <= after {
        let wait = Duration::from_secs(query.timeout.unwrap_or(25).min(55));
        let _ = tokio::time::timeout(wait, woken.recv()).await;
    }
    channel.answer(after)
}

async fn publish(channel: web::Data<Channel>, body: web::Json<Publish>) -> HttpResponse {
    let id = match channel.events.write() {
        Ok(mut events) => {
            let id = events.len() + 1;
            events.push(format!("{{\"id\":{id},\"amount_cents\":{}}}", body.amount_cents).into());
            id
        }
        Err(_) => return HttpResponse::InternalServerError().finish(),
    };
    let _ = channel.woken.send(());
    HttpResponse::Created().json(serde_json::json!({ "id": id }))
}

pub fn serve(bind: &str) -> anyhow::Result<()> {
    let channel = web::Data::new(Channel {
        events: RwLock::new(Vec::new()),
        woken: broadcast::channel(16).0,
    });
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            App::new()
                .app_data(channel.clone())
                .route("/poll", web::get().to(poll))
                .route("/pub", web::post().to(publish))
        })
        .bind(bind)?
        .run(),
    )?;
    Ok(())
}
