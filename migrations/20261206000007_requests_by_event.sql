-- Bid requests keyed by the event id of the first bid each showed: ids only grow, so a batch's
-- requests append to one page instead of landing on one page per lot (the (lot_id, number) key
-- of `bid_requests` cost the 100-lot bid scenario a third of its rate). A lot's requests are
-- found through the event log's (lot_id, seq) index, as its bids are. A maximum raised alone
-- shows no bid, so it has no event: those few go to `max_raises`, keyed by lot.
CREATE TABLE requests (
    event_id     INTEGER PRIMARY KEY,
    number       INTEGER NOT NULL,
    bidder_id    TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    max_cents    INTEGER NOT NULL,
    placed_at    INTEGER NOT NULL,
    removed      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE max_raises (
    lot_id    TEXT NOT NULL,
    number    INTEGER NOT NULL,
    bidder_id TEXT NOT NULL,
    max_cents INTEGER NOT NULL,
    placed_at INTEGER NOT NULL,
    removed   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (lot_id, number)
) WITHOUT ROWID;

-- A request's first bid is the earliest bid that names it.
INSERT OR IGNORE INTO requests (event_id, number, bidder_id, amount_cents, max_cents, placed_at, removed)
SELECT first_bid, number, bidder_id, amount_cents, max_cents, placed_at, removed
  FROM (SELECT r.*, (SELECT MIN(b.event_id) FROM bids b
                      WHERE b.lot_id = r.lot_id AND b.request_no = r.number) AS first_bid
          FROM bid_requests r WHERE r.amount_cents IS NOT NULL)
 WHERE first_bid IS NOT NULL;

INSERT INTO max_raises (lot_id, number, bidder_id, max_cents, placed_at, removed)
SELECT lot_id, number, bidder_id, max_cents, placed_at, removed
  FROM bid_requests WHERE amount_cents IS NULL;

DROP TABLE bid_requests;
