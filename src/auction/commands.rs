//! What the house is asked to do, and what it answers.

use crate::domain::catalogue::{ImageRef, SaleTimes};
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
    #[error("no such sale")]
    NoSuchSale,
    #[error("the sale has started: lots can no longer be added to it")]
    SaleStarted,
    #[error(transparent)]
    Image(#[from] crate::domain::lot::ImageRefused),
}

/// An accepted request, as committed: the requester's own bid it showed with that bid's event
/// id (none for a maximum raised alone), and the lot.
#[derive(Debug, Clone)]
pub struct BidReceipt {
    pub bid: Option<(AcceptedBid, i64)>,
    pub bidder: Uuid,
    pub lot: Lot,
    /// For a retry under the same idempotency key: the first answer's body, to send again.
    pub replayed: Option<Arc<str>>,
}

pub type Reply<T> = oneshot::Sender<Result<T, HouseError>>;

pub enum Action {
    Approve,
    /// Approve into a sale that has not started: the lot waits for it (API.md §8).
    ApproveInto {
        sale: Uuid,
    },
    AddImage {
        image: ImageRef,
        by_admin: bool,
    },
    RemoveImage {
        image: Uuid,
        by_admin: bool,
    },
    Reject {
        reason: String,
    },
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
    /// An admin takes a request out of an open lot; the rest are replayed.
    RemoveBid {
        lot_id: Uuid,
        request_no: i64,
        amount: crate::domain::Cents,
        reply: Reply<Lot>,
    },
    CreateSale {
        sale: NewSale,
        reply: Reply<()>,
    },
    /// A category's new name, in the open lots too (its slug stays).
    RenameCategory {
        slug: String,
        name: String,
        reply: Reply<()>,
    },
    /// Finish what is queued before it, then stop; answered once stopped.
    Stop {
        done: oneshot::Sender<()>,
    },
}

/// A sale an admin creates.
#[derive(Debug, Clone)]
pub struct NewSale {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub times: SaleTimes,
}
