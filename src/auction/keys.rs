//! Idempotency keys of bids the house accepted recently, so a copy arriving while the first is
//! still on its way to the disk (or just after) is answered with the first answer rather than
//! placed again. Older keys are found in the database by the handler before it asks the house;
//! this ledger covers the gap between that look and the house, so it keeps only minutes.

use super::commands::BidReceipt;
use crate::domain::Time;
use crate::domain::idempotency::IdempotencyKey;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use uuid::Uuid;

/// Far longer than a request can wait between the handler's look and the house.
const KEEP_SECS: i64 = 600;

type Id = (Uuid, IdempotencyKey);

struct Entry {
    request: String,
    event_id: i64,
    /// The first answer, once its batch was sealed.
    answer: Option<(BidReceipt, Arc<str>)>,
}

pub(super) enum Seen {
    New,
    /// The same request again: its first answer, or `None` while that is in the open batch.
    Same,
    Different,
}

#[derive(Default)]
pub(super) struct KeyLedger {
    entries: HashMap<Id, Entry>,
    order: VecDeque<(Time, Id)>,
}

impl KeyLedger {
    pub(super) fn check(&self, user: Uuid, key: &IdempotencyKey, request: &str) -> Seen {
        match self.entries.get(&(user, key.clone())) {
            None => Seen::New,
            Some(e) if e.request == request => Seen::Same,
            Some(_) => Seen::Different,
        }
    }

    pub(super) fn record(
        &mut self,
        user: Uuid,
        key: IdempotencyKey,
        request: String,
        event_id: i64,
        now: Time,
    ) {
        let id = (user, key);
        self.order.push_back((now, id.clone()));
        self.entries.insert(
            id,
            Entry {
                request,
                event_id,
                answer: None,
            },
        );
    }

    pub(super) fn answered(
        &mut self,
        user: Uuid,
        key: &IdempotencyKey,
        receipt: &BidReceipt,
        body: Arc<str>,
    ) {
        if let Some(e) = self.entries.get_mut(&(user, key.clone())) {
            e.answer = Some((receipt.clone(), body));
        }
    }

    /// The first answer, marked as a replay.
    pub(super) fn replay(&self, user: Uuid, key: &IdempotencyKey) -> Option<BidReceipt> {
        let (receipt, body) = self.entries.get(&(user, key.clone()))?.answer.as_ref()?;
        let mut again = receipt.clone();
        again.replayed = Some(body.clone());
        Some(again)
    }

    /// A batch failed: the bids it and later ones held were never placed.
    pub(super) fn forget_from(&mut self, first_event_id: i64) {
        self.entries.retain(|_, e| e.event_id < first_event_id);
    }

    /// Drops keys older than `KEEP_SECS` on the site's clock: the database answers for them.
    pub(super) fn prune(&mut self, now: Time) {
        while let Some((at, _)) = self.order.front() {
            if (now - *at).num_seconds() < KEEP_SECS {
                break;
            }
            if let Some((_, id)) = self.order.pop_front() {
                self.entries.remove(&id);
            }
        }
    }
}
