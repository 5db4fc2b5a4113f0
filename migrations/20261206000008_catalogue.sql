-- no-transaction
-- The catalogue (API.md §8): categories, sales, images and search. Lots gain a status
-- (`scheduled`, in a sale until it starts), so the table is rebuilt the way SQLite documents:
-- foreign keys off outside the transaction, copy, swap, check, on again.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- A slug never changes (links and API filters keep working); the name may be edited.
CREATE TABLE categories (
    slug       TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);

-- A catalogue of lots opening together and closing one after another.
CREATE TABLE sales (
    id             TEXT PRIMARY KEY,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    starts_at      INTEGER NOT NULL,
    first_close_at INTEGER NOT NULL CHECK (first_close_at > starts_at),
    stagger_secs   INTEGER NOT NULL CHECK (stagger_secs >= 0),
    lot_count      INTEGER NOT NULL DEFAULT 0,
    opened         INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE lots_new (
    id                   TEXT PRIMARY KEY,
    seller_id            TEXT NOT NULL REFERENCES users (id),
    title                TEXT NOT NULL,
    description          TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('pending', 'scheduled', 'open', 'closed', 'cancelled', 'rejected')),
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
    last_event_id        INTEGER NOT NULL DEFAULT 0,
    ending_soon_sent     INTEGER NOT NULL DEFAULT 0,
    category             TEXT REFERENCES categories (slug),
    sale_id              TEXT REFERENCES sales (id),
    lot_number           INTEGER,
    UNIQUE (sale_id, lot_number)
);
INSERT INTO lots_new (id, seller_id, title, description, status, starting_price_cents, reserve_cents,
    duration_secs, created_at, ends_at, closed_at, current_price_cents, leader_id, leader_max_cents,
    bid_count, winner_id, final_price_cents, reject_reason, last_seq, last_event_id, ending_soon_sent)
SELECT id, seller_id, title, description, status, starting_price_cents, reserve_cents,
    duration_secs, created_at, ends_at, closed_at, current_price_cents, leader_id, leader_max_cents,
    bid_count, winner_id, final_price_cents, reject_reason, last_seq, last_event_id, ending_soon_sent
FROM lots;
DROP TABLE lots;
ALTER TABLE lots_new RENAME TO lots;
CREATE INDEX lots_status_ends ON lots (status, ends_at);
CREATE INDEX lots_seller ON lots (seller_id, created_at);
CREATE INDEX lots_winner ON lots (winner_id);
CREATE INDEX lots_category ON lots (category, status, ends_at);

-- Image bytes by the SHA-256 of their content: the same photograph is kept once, and its URL
-- never changes what it serves. In the database, so one backup (`VACUUM INTO`) holds everything.
CREATE TABLE image_blobs (
    hash         TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL
);

-- A lot's photographs in order; the first is its cover.
CREATE TABLE lot_images (
    id           TEXT PRIMARY KEY,
    lot_id       TEXT NOT NULL REFERENCES lots (id),
    position     INTEGER NOT NULL,
    hash         TEXT NOT NULL REFERENCES image_blobs (hash),
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    thumb_hash   TEXT NOT NULL REFERENCES image_blobs (hash),
    thumb_width  INTEGER NOT NULL,
    thumb_height INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX lot_images_lot ON lot_images (lot_id, position);

-- Words of titles and descriptions, case- and accent-insensitive, with prefix indexes for the
-- last word a searcher is still typing. Titles and descriptions never change once offered, so
-- a trigger on insert keeps it in step; prices and statuses are read from `lots` at query time.
CREATE VIRTUAL TABLE lot_search USING fts5 (
    lot_id UNINDEXED,
    title,
    description,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO lot_search (lot_id, title, description) SELECT id, title, description FROM lots;
CREATE TRIGGER lots_search_insert AFTER INSERT ON lots BEGIN
    INSERT INTO lot_search (lot_id, title, description) VALUES (new.id, new.title, new.description);
END;

COMMIT;
PRAGMA foreign_keys = ON;
