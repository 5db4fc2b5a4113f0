//! What the house is asked to do, and what it answers.

use crate::domain::idempotency::IdempotencyKey;
use crate::domain::lot::StateError;
use crate::domain::{AcceptedBid, BidRejected, BidRequest, Lot, NewLot, UserRef};
use std::sync::Arc;
use tokio::sync::oneshot;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum HouseError {
    #[error("no such lot")]
    NotFound,
    #[error(transparent)]
    Bid(#[from] BidRejected),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the auction house is not running")]
    Unavailable,
    #[error("the change could not be stored")]
    Store,
    #[error("this idempotency key was used for a different request")]
    KeyReused,
}

/// An accepted bid, as committed.
#[derive(Debug, Clone)]
pub struct BidReceipt {
    pub bid: AcceptedBid,
    pub event_id: i64,
    pub lot: Lot,
    /// For a retry under the same idempotency key: the first answer's body, to send again.
    pub replayed: Option<Arc<str>>,
}

pub type Reply<T> = oneshot::Sender<Result<T, HouseError>>;

pub enum Action {
    Approve,
    Reject { reason: String },
    Close,
    Cancel,
}

pub enum Command {
    Create {
        seller: UserRef,
        offer: NewLot,
        reply: Reply<Lot>,
    },
    Change {
        lot_id: Uuid,
        action: Action,
        reply: Reply<Lot>,
    },
    Bid {
        lot_id: Uuid,
        request: BidRequest,
        key: Option<IdempotencyKey>,
        reply: Reply<BidReceipt>,
    },
    /// Finish what is queued before it, then stop; answered once stopped.
    Stop { done: oneshot::Sender<()> },
}
