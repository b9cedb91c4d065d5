-- 0003_idempotency: Idempotency-Key records (api/idempotency.h). An operational table, not a
-- projection: it is not rebuilt from the log. Keys are kept; only a request that did not succeed
-- gives its key back (the row is deleted), so a refused request does not consume the key.

CREATE TABLE idempotency_keys (
  actor        TEXT    NOT NULL,   -- '<role>:<sub>' of the token that sent the key
  key          TEXT    NOT NULL,   -- the Idempotency-Key header, 1..255 printable ASCII
  fingerprint  TEXT    NOT NULL,   -- hex SHA-256 of method, route, target, content type and body
  method       TEXT    NOT NULL,
  route        TEXT    NOT NULL,   -- the route pattern, for operators reading the table
  owner        TEXT    NOT NULL,   -- random id of the process that claimed the key
  status       INTEGER,            -- the stored response's HTTP status; NULL while in flight
  headers      TEXT,               -- the stored response's headers, "name: value" lines
  body         TEXT,               -- the stored response's body
  created_at   INTEGER NOT NULL,   -- unix milliseconds of the claim
  completed_at INTEGER,            -- unix milliseconds the response was stored
  PRIMARY KEY (actor, key)
) STRICT;
