-- Proxy bidding (API.md §6). Every bid request a lot took is kept: the bidders' maxima are
-- folded from them, and an admin's removal of one replays the rest. Keyed by lot, so a lot's
-- requests are one range of one tree.
CREATE TABLE bid_requests (
    lot_id       TEXT NOT NULL,
    number       INTEGER NOT NULL,
    bidder_id    TEXT NOT NULL,
    amount_cents INTEGER,
    max_cents    INTEGER NOT NULL,
    placed_at    INTEGER NOT NULL,
    removed      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (lot_id, number)
) WITHOUT ROWID;

-- Each bid placed before maxima existed was its own request.
INSERT INTO bid_requests (lot_id, number, bidder_id, amount_cents, max_cents, placed_at)
SELECT lot_id, ROW_NUMBER() OVER (PARTITION BY lot_id ORDER BY event_id), bidder_id,
       amount_cents, COALESCE(max_cents, amount_cents), placed_at
  FROM bids;

-- A bid shown by the site for a bidder is a proxy bid; each bid names the request that holds
-- it. A removal writes the replayed history under its one `bid_removed` event, numbered by `n`.
ALTER TABLE bids ADD COLUMN proxy INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bids ADD COLUMN request_no INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bids ADD COLUMN n INTEGER NOT NULL DEFAULT 0;
UPDATE bids SET request_no = (SELECT COUNT(*) FROM bids b2
                               WHERE b2.lot_id = bids.lot_id AND b2.event_id <= bids.event_id);
DROP INDEX bids_event;
CREATE UNIQUE INDEX bids_event ON bids (event_id, n);
