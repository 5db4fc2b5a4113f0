-- Secrets the site makes for itself on first start (the key CSRF tokens are signed with), kept
-- with the data so a restart or a restored backup goes on accepting the forms it served.
CREATE TABLE site_keys (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
