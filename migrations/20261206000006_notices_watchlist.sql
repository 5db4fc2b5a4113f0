-- Personal notices (API.md §7): one id sequence for the site, each notice for one user, written
-- in the same transaction as the change that caused it. Its JSON is what the user's streams send.
CREATE TABLE notices (
    id      INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    lot_id  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    at      INTEGER NOT NULL,
    data    TEXT NOT NULL
);
CREATE INDEX notices_user ON notices (user_id, id);

-- How far each user has read: `unread` counts the notices after it.
CREATE TABLE notice_reads (
    user_id TEXT PRIMARY KEY,
    up_to   INTEGER NOT NULL
) WITHOUT ROWID;

-- The lots a user watches (bidding on a lot also watches it).
CREATE TABLE watchlist (
    user_id    TEXT NOT NULL,
    lot_id     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, lot_id)
) WITHOUT ROWID;
CREATE INDEX watchlist_lot ON watchlist (lot_id, user_id);

-- Set once a lot's ending-soon notices are written, so a restart never sends them again.
ALTER TABLE lots ADD COLUMN ending_soon_sent INTEGER NOT NULL DEFAULT 0;

-- Every bidder already on a lot watches it.
INSERT OR IGNORE INTO watchlist (user_id, lot_id, created_at)
SELECT DISTINCT bidder_id, lot_id, MIN(placed_at) FROM bids GROUP BY bidder_id, lot_id;
