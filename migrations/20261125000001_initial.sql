-- Times are integer milliseconds since the Unix epoch (UTC); money is integer cents.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'seller', 'bidder')),
    suspended     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- Browser sessions and API bearer tokens; only a SHA-256 of the secret is stored.
CREATE TABLE auth_tokens (
    token_hash TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

CREATE TABLE lots (
    id                   TEXT PRIMARY KEY,
    seller_id            TEXT NOT NULL REFERENCES users (id),
    title                TEXT NOT NULL,
    description          TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('pending', 'open', 'closed', 'cancelled', 'rejected')),
    starting_price_cents INTEGER NOT NULL CHECK (starting_price_cents > 0),
    reserve_cents        INTEGER,
    duration_secs        INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    ends_at              INTEGER,
    closed_at            INTEGER,
    current_price_cents  INTEGER,
    leader_id            TEXT REFERENCES users (id),
    leader_max_cents     INTEGER,
    bid_count            INTEGER NOT NULL DEFAULT 0,
    winner_id            TEXT REFERENCES users (id),
    final_price_cents    INTEGER,
    reject_reason        TEXT,
    last_seq             INTEGER NOT NULL DEFAULT 0,
    last_event_id        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX lots_status_ends ON lots (status, ends_at);
CREATE INDEX lots_seller ON lots (seller_id, created_at);
CREATE INDEX lots_leader ON lots (leader_id);
CREATE INDEX lots_winner ON lots (winner_id);

CREATE TABLE bids (
    id           TEXT PRIMARY KEY,
    lot_id       TEXT NOT NULL REFERENCES lots (id),
    bidder_id    TEXT NOT NULL REFERENCES users (id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    max_cents    INTEGER,
    placed_at    INTEGER NOT NULL,
    event_id     INTEGER NOT NULL
);
CREATE INDEX bids_lot ON bids (lot_id, event_id);
CREATE INDEX bids_bidder ON bids (bidder_id, event_id);

-- The event log: one site-wide id in commit order, a gapless seq per lot, the full JSON.
CREATE TABLE events (
    id     INTEGER PRIMARY KEY,
    lot_id TEXT NOT NULL REFERENCES lots (id),
    seq    INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    at     INTEGER NOT NULL,
    data   TEXT NOT NULL,
    UNIQUE (lot_id, seq)
);
