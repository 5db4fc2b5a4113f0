//! What the house is asked to do, and what it answers.

use crate::domain::lot::StateError;
use crate::domain::{AcceptedBid, BidRejected, BidRequest, Lot, NewLot, UserRef};
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
}

/// An accepted bid, as committed.
#[derive(Debug, Clone)]
pub struct BidReceipt {
    pub bid: AcceptedBid,
    pub event_id: i64,
    pub lot: Lot,
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
        reply: Reply<BidReceipt>,
    },
    /// Finish what is queued before it, then stop; answered once stopped.
    Stop { done: oneshot::Sender<()> },
}
