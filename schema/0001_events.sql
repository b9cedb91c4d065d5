-- 0001_events: the append-only, hash-chained event log. See schema/README.md.

CREATE TABLE events (
  seq          INTEGER PRIMARY KEY,          -- global order, 1, 2, 3, ... no gaps
  stream       TEXT    NOT NULL,             -- 'booking-<id>', 'provider-<id>', 'paystack-webhooks'
  version      INTEGER NOT NULL,             -- 1-based position inside the stream
  type         TEXT    NOT NULL,             -- 'BookingCreated', ...
  data         TEXT    NOT NULL,             -- JSON object, exactly as hashed
  meta         TEXT    NOT NULL,             -- JSON: actor {id, role}, request_id, causation_seq, idempotency_key, ...
  recorded_at  INTEGER NOT NULL,             -- unix milliseconds
  prev_hash    TEXT    NOT NULL,             -- hex of the previous event's hash; 64 zeros for seq 1
  hash         TEXT    NOT NULL,             -- hex SHA-256, see schema/README.md
  UNIQUE (stream, version)
) STRICT;

-- History is never rewritten: not by the service, not by a hand-typed statement.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

-- The database itself keeps the log gap-free, linked and in time order: a new event must take
-- the next seq, name the previous event's hash (64 zeros for the first), take the next version
-- of its stream and not be recorded before the event it follows. Each check is one lookup in
-- the rowid tree or in the UNIQUE (stream, version) index. This also refuses INSERT OR REPLACE
-- over an existing row, whose seq or (stream, version) is never the next one.
CREATE TRIGGER events_append_only_at_end BEFORE INSERT ON events
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM events)
  OR NEW.prev_hash IS NOT coalesce(
       (SELECT hash FROM events WHERE seq = NEW.seq - 1),
       '0000000000000000000000000000000000000000000000000000000000000000')
  OR NEW.version IS NOT (SELECT coalesce(max(version), 0) + 1 FROM events WHERE stream = NEW.stream)
  OR NEW.recorded_at < coalesce((SELECT recorded_at FROM events WHERE seq = NEW.seq - 1), 0)
BEGIN
  SELECT RAISE(ABORT, 'events must extend the chain: next seq, previous hash, next stream version, recorded_at not before the previous event');
END;
