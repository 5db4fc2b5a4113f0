-- The first answer to a bid sent with an Idempotency-Key (API.md §3a), written in the same
-- transaction as the bid, so a retry finds it after a restart. Kept 24 hours.
CREATE TABLE idempotent_bids (
    user_id    TEXT NOT NULL,
    key        TEXT NOT NULL,
    request    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotent_bids_created ON idempotent_bids (created_at);
