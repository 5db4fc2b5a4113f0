-- Each index entry a bid rewrites is a page written to the WAL at commit, so a bid touches
-- as few scattered pages as it can:
-- * a lot's bids are found through the event log's (lot_id, seq) index, and bids are keyed by
--   their event id, which only grows (its index is appended to, not scattered);
-- * the lots a user leads are found among the open lots (lots_status_ends), rather than
--   through an index on the leader that every bid would rewrite.
DROP INDEX bids_lot;
CREATE UNIQUE INDEX bids_event ON bids (event_id);
DROP INDEX lots_leader;
