//! Applying one command to the open batch: the domain decides, the batch records it.

use super::commands::{Action, Command, HouseError, Reply};
use super::keys::Seen;
use crate::domain::idempotency::bid_fingerprint;
use crate::domain::{Change, Lot, LotStatus, Time};
use crate::store::lots::write;
use uuid::Uuid;

use super::house::{House, Keyed, Pending};
use super::plan::Batch;
use crate::domain::notice::Before;

impl House {
    pub(super) async fn apply(&mut self, batch: &mut Batch, cmd: Command, now: Time) -> Pending {
        if self.health.refusing() {
            return self.refuse_for_storage(batch, cmd);
        }
        match cmd {
            Command::Create {
                seller,
                offer,
                reply,
            } => {
                let lot = Lot::new_pending(Uuid::now_v7(), seller, offer, now);
                let id = lot.id();
                batch.new_lots.push(id);
                batch.work.insert(id, lot);
                Pending::Lot(reply, id)
            }
            Command::Change {
                lot_id,
                action: Action::ApproveInto { sale },
                reply,
            } => {
                let placed = match self.place_in_sale(batch, sale, now).await {
                    Ok(placed) => placed,
                    Err(e) => return refuse_now(reply, e),
                };
                let pending = self
                    .change_lot(batch, lot_id, reply, now, |lot| {
                        lot.schedule_in(placed.0, placed.1)
                    })
                    .await;
                if matches!(pending, Pending::Answered) {
                    self.unplace(batch, sale);
                }
                pending
            }
            Command::Change {
                lot_id,
                action: Action::AddImage { image, by_admin },
                reply,
            } => {
                let added = image.clone();
                let pending = self
                    .change_lot(batch, lot_id, reply, now, |lot| {
                        lot.add_image(image, by_admin).map(|()| Vec::new())
                    })
                    .await;
                if !matches!(pending, Pending::Answered) {
                    batch.catalogue.image_adds.push((lot_id, added));
                }
                pending
            }
            Command::Change {
                lot_id,
                action: Action::RemoveImage { image, by_admin },
                reply,
            } => {
                let pending = self
                    .change_lot(batch, lot_id, reply, now, |lot| {
                        lot.remove_image(image, by_admin).map(|()| Vec::new())
                    })
                    .await;
                if !matches!(pending, Pending::Answered) {
                    batch.catalogue.image_removals.push((lot_id, image));
                }
                pending
            }
            Command::Change {
                lot_id,
                action,
                reply,
            } => {
                self.change_lot(batch, lot_id, reply, now, |lot| match action {
                    Action::Approve => lot.approve(now),
                    Action::Reject { reason } => lot.reject(&reason),
                    Action::Close => lot.close(now),
                    Action::Cancel => lot.cancel(now),
                    // Matched above.
                    Action::ApproveInto { .. }
                    | Action::AddImage { .. }
                    | Action::RemoveImage { .. } => Err(crate::domain::lot::StateError::NotPending),
                })
                .await
            }
            Command::CreateSale { sale, reply } => self.create_sale(batch, sale, reply),
            Command::RenameCategory { slug, name, reply } => {
                self.rename_category(batch, slug, name, reply)
            }
            Command::Bid {
                lot_id,
                request,
                key,
                reply,
            } => {
                let keyed = key.map(|key| Keyed {
                    user: request.bidder.id,
                    request: bid_fingerprint(lot_id, request.amount, request.max),
                    key,
                });
                if let Some(k) = &keyed {
                    match self.keys.check(k.user, &k.key, &k.request) {
                        Seen::New => {}
                        Seen::Same => return Pending::Replay(reply, k.user, k.key.clone()),
                        Seen::Different => return refuse_now(reply, HouseError::KeyReused),
                    }
                }
                let soft_close = self.soft_close;
                let mut before = None;
                let placed = self.working(batch, lot_id).await.and_then(|lot| {
                    let new_bidder = lot.maxima().of(request.bidder.id).is_none();
                    before = Some((Before::of(lot), new_bidder));
                    lot.place_bid(&mut Uuid::now_v7, request, now, soft_close)
                        .map_err(HouseError::from)
                });
                let placed = match placed {
                    Ok(placed) => placed,
                    Err(e) => {
                        self.unclaim(batch, lot_id);
                        return refuse_now(reply, e);
                    }
                };
                let bidder = placed.request.bidder.id;
                let own = placed.own_bid().cloned();
                let own_at = own.as_ref().and_then(|own| {
                    placed
                        .changes
                        .iter()
                        .position(|c| matches!(c, Change::Bid(b) if b.id == own.id))
                });
                let Some((before, new_bidder)) = before else {
                    return refuse_now(reply, HouseError::Store);
                };
                if new_bidder {
                    // Bidding on a lot watches it (API.md §7).
                    batch.watches.push((bidder, lot_id, now));
                }
                let showed_bid = placed
                    .changes
                    .first()
                    .is_some_and(|c| matches!(c, Change::Bid(_)));
                let request = placed.request;
                let ids = self.record(batch, lot_id, &before, placed.changes, now);
                let first_bid = ids.first().copied().filter(|_| showed_bid);
                batch.requests.push((lot_id, request, first_bid));
                let event_id = own_at.and_then(|i| ids.get(i).copied());
                if let Some(k) = &keyed {
                    // A maximum raised alone has no event: it is marked by the next id, so a
                    // failed batch forgets it with the rest (`KeyLedger::forget_from`).
                    let marker = ids.first().copied().unwrap_or(self.next_event_id);
                    self.keys
                        .record(k.user, k.key.clone(), k.request.clone(), marker, now);
                }
                Pending::Bid(reply, lot_id, bidder, own.zip(event_id), keyed)
            }
            Command::RemoveBid {
                lot_id,
                request_no,
                amount,
                reply,
            } => {
                let requests = match self.conn.as_mut() {
                    Some(conn) => write::requests_of(conn, lot_id).await.map_err(|e| {
                        tracing::error!(error = %e, "loading a lot's requests failed");
                        HouseError::Store
                    }),
                    None => Err(HouseError::Store),
                };
                let requests = match requests {
                    Ok(requests) => requests,
                    Err(e) => return refuse_now(reply, e),
                };
                self.change_lot(batch, lot_id, reply, now, |lot| {
                    lot.remove_request(request_no, amount, &requests, &mut Uuid::now_v7)
                })
                .await
            }
            Command::Stop { done } => {
                // The loop takes stops out before a batch is applied; answer anyway.
                let _ = done.send(());
                Pending::Answered
            }
        }
    }

    /// Applies `change` to the batch's copy of a lot and records what it did, with the notices
    /// it sends; a refusal is answered at once.
    async fn change_lot<E: Into<HouseError>>(
        &mut self,
        batch: &mut Batch,
        lot_id: Uuid,
        reply: Reply<Lot>,
        now: Time,
        change: impl FnOnce(&mut Lot) -> Result<Vec<Change>, E>,
    ) -> Pending {
        let lot = match self.working(batch, lot_id).await {
            Ok(lot) => lot,
            Err(e) => return refuse_now(reply, e),
        };
        let before = Before::of(lot);
        match change(lot) {
            Ok(changes) => {
                self.record(batch, lot_id, &before, changes, now);
                Pending::Lot(reply, lot_id)
            }
            Err(e) => refuse_now(reply, e.into()),
        }
    }

    /// While storage fails, writes are refused at once (503 `storage_unavailable`).
    fn refuse_for_storage(&self, batch: &Batch, cmd: Command) -> Pending {
        match cmd {
            Command::Create { reply, .. } => refuse_now(reply, HouseError::Store),
            Command::Change { reply, .. } | Command::RemoveBid { reply, .. } => {
                refuse_now(reply, HouseError::Store)
            }
            Command::CreateSale { reply, .. } | Command::RenameCategory { reply, .. } => {
                refuse_now(reply, HouseError::Store)
            }
            Command::Bid { lot_id, reply, .. } => {
                self.unclaim(batch, lot_id);
                refuse_now(reply, HouseError::Store)
            }
            Command::Stop { done } => {
                let _ = done.send(());
                Pending::Answered
            }
        }
    }

    /// A bid the house refused may have claimed the minimum at the handle: the minimum is the
    /// house's own again (see `minimums`). A lot the house does not hold open has no minimum.
    fn unclaim(&self, batch: &Batch, lot_id: Uuid) {
        let lot = batch.work.get(&lot_id).or_else(|| self.lots.get(&lot_id));
        if let Some(lot) = lot.filter(|l| l.status() == LotStatus::Open) {
            self.minimums.reset(lot_id, lot.min_next_bid());
        }
    }

    /// The batch's copy of a lot, loading it on first touch.
    pub(super) async fn working<'b>(
        &mut self,
        batch: &'b mut Batch,
        id: Uuid,
    ) -> Result<&'b mut Lot, HouseError> {
        // Not `entry()`: loading awaits the database while `batch` would stay borrowed.
        #[expect(clippy::map_entry, reason = "the insert follows an await")]
        if !batch.work.contains_key(&id) {
            let lot = match self.lots.get(&id) {
                Some(lot) => lot.clone(),
                None => write::lot_by_id(self.conn.as_mut().ok_or(HouseError::Store)?, id)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "loading a lot failed");
                        HouseError::Store
                    })?
                    .ok_or(HouseError::NotFound)?,
            };
            batch.work.insert(id, lot);
        }
        batch.work.get_mut(&id).ok_or(HouseError::NotFound)
    }
}

/// A refusal changes nothing, so it is answered at once rather than behind its batch's commit
/// and sync: an outbid bidder hears the new minimum while the winning bid is still on its way
/// to the disk, and can bid again at once. (A bid is confirmed only once durable, as before.)
fn refuse_now<T>(reply: Reply<T>, e: HouseError) -> Pending {
    let _ = reply.send(Err(e));
    Pending::Answered
}
