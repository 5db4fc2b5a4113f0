//! Live push (API.md §4): the hub, and SSE, NDJSON and long polling as thin views over it.

pub(crate) mod cursor;
mod event;
mod hub;
mod limits;
pub mod metrics;
pub(crate) mod poll;
mod presence;
pub(crate) mod relay;
pub(crate) mod stream;

pub use event::LiveEvent;
pub use hub::{Filter, Hub, Push, Source};
pub use limits::{StreamGuard, StreamsFull, Transport, default_max_streams};
