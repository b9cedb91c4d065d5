-- 0005_notifications: outbound notifications (api/notifier.h). Operational tables, not
-- projections: delivery state cannot be rebuilt from the log. The event log is the outbox; the
-- notifier derives a notification from each event the marketplace must act on, and writes the
-- notifications and its advanced cursor in one transaction.

CREATE TABLE notification_cursor (
  id        INTEGER PRIMARY KEY CHECK (id = 1),  -- one row
  last_seq  INTEGER NOT NULL CHECK (last_seq >= 0)  -- the last event seq scanned
) STRICT;

CREATE TABLE notifications (
  id                  TEXT    PRIMARY KEY,      -- 'ntf_<seq>', the receiver's deduplication key
  seq                 INTEGER NOT NULL UNIQUE,  -- the event it was derived from
  type                TEXT    NOT NULL,         -- 'payment.held', 'funds.released', ...
  body                TEXT    NOT NULL,         -- the JSON POSTed, byte for byte
  attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at_ms  INTEGER NOT NULL,         -- unix milliseconds; due when <= now
  last_error          TEXT,                     -- 'HTTP 503', a transport error; never a secret
  delivered_at_ms     INTEGER                   -- NULL until a 2xx answer
) STRICT;

CREATE INDEX notifications_due ON notifications (next_attempt_at_ms, seq)
  WHERE delivered_at_ms IS NULL;
