-- Read models fed by the events, written in the same transaction as the append and rebuildable
-- from the log at any time (escrowctl rebuild). Money columns are integer subunits; times are
-- unix milliseconds taken from the recorded_at of the events that touched the row.

CREATE TABLE bookings (
  id                   TEXT    PRIMARY KEY,
  client_id            TEXT    NOT NULL,
  provider_id          TEXT    NOT NULL,
  client_email         TEXT    NOT NULL,
  description          TEXT    NOT NULL,
  status               TEXT    NOT NULL,
  payment_status       TEXT    NOT NULL,
  currency             TEXT    NOT NULL,
  amount               INTEGER NOT NULL,
  plan                 TEXT    NOT NULL,   -- full | split
  deposit_bps          INTEGER NOT NULL,
  fee_bps              INTEGER NOT NULL,
  auto_confirm_after_s INTEGER NOT NULL,
  pay_by               INTEGER,
  amount_paid          INTEGER NOT NULL,   -- captured into escrow
  escrow_balance       INTEGER NOT NULL,   -- held now
  released             INTEGER NOT NULL,   -- gross released to the provider side
  refunded             INTEGER NOT NULL,   -- refunds requested and not failed
  platform_fee         INTEGER NOT NULL,   -- planned until released, then actual
  provider_net         INTEGER NOT NULL,
  auto_confirm_at      INTEGER,
  approved             INTEGER NOT NULL,   -- 0 | 1: completion approved (release may wait for payment)
  release_reason       TEXT    NOT NULL,
  proof                TEXT,               -- JSON {notes, files, attachments} once submitted
  created_seq          INTEGER NOT NULL,   -- seq of BookingCreated: "newest first" paging
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  version              INTEGER NOT NULL    -- the stream version
) STRICT;
CREATE INDEX bookings_by_client ON bookings (client_id, created_seq);
CREATE INDEX bookings_by_provider ON bookings (provider_id, created_seq);
CREATE INDEX bookings_by_created ON bookings (created_seq);

CREATE TABLE payments (
  reference               TEXT    PRIMARY KEY,  -- the Paystack transaction reference
  booking_id              TEXT    NOT NULL,
  installment             INTEGER NOT NULL,
  amount                  INTEGER NOT NULL,
  currency                TEXT    NOT NULL,
  status                  TEXT    NOT NULL,     -- pending | captured | failed | flagged
  paystack_transaction_id INTEGER NOT NULL,
  paystack_fee            INTEGER NOT NULL,
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX payments_by_booking ON payments (booking_id);

CREATE TABLE refunds (
  refund_id               TEXT    PRIMARY KEY,
  booking_id              TEXT    NOT NULL,
  client_id               TEXT    NOT NULL,
  payment_reference       TEXT    NOT NULL,
  paystack_transaction_id INTEGER NOT NULL,
  amount                  INTEGER NOT NULL,
  currency                TEXT    NOT NULL,
  status                  TEXT    NOT NULL,     -- queued | pending | processing | processed | failed | needs_attention
  reason                  TEXT    NOT NULL,
  attempt                 INTEGER NOT NULL,
  paystack_refund_id      INTEGER,
  failure_reason          TEXT    NOT NULL,
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX refunds_by_booking ON refunds (booking_id);
CREATE INDEX refunds_by_status ON refunds (status);

CREATE TABLE disputes (
  booking_id      TEXT    PRIMARY KEY,
  status          TEXT    NOT NULL,             -- open | resolved
  opened_by       TEXT    NOT NULL,
  role            TEXT    NOT NULL,
  reason          TEXT    NOT NULL,
  description     TEXT    NOT NULL,
  source          TEXT    NOT NULL,             -- party | chargeback
  outcome         TEXT    NOT NULL,             -- '' until resolved; release | refund | split
  provider_amount INTEGER NOT NULL,
  refund_amount   INTEGER NOT NULL,
  currency        TEXT    NOT NULL,
  note            TEXT    NOT NULL,
  resolved_by     TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX disputes_by_status ON disputes (status, created_at);

CREATE TABLE payouts (
  payout_id     TEXT    PRIMARY KEY,            -- also the Paystack transfer reference
  provider_id   TEXT    NOT NULL,
  amount        INTEGER NOT NULL,
  currency      TEXT    NOT NULL,
  status        TEXT    NOT NULL,               -- queued | pending | otp | success | failed | reversed
  source        TEXT    NOT NULL,               -- release | withdrawal | retry
  booking_id    TEXT,
  withdrawal_id TEXT,
  retry_of      TEXT,
  attempt       INTEGER NOT NULL,
  recipient_code TEXT   NOT NULL,
  transfer_code TEXT    NOT NULL,
  reason        TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX payouts_by_provider ON payouts (provider_id, created_at);
CREATE INDEX payouts_by_booking ON payouts (booking_id);
CREATE INDEX payouts_by_status ON payouts (status);

CREATE TABLE provider_balances (
  provider_id    TEXT    NOT NULL,
  currency       TEXT    NOT NULL,
  available      INTEGER NOT NULL,              -- released to them, not paid out
  pending_escrow INTEGER NOT NULL,              -- held in escrow on their bookings (gross)
  in_flight      INTEGER NOT NULL,              -- in a Paystack transfer not yet settled
  total_earned   INTEGER NOT NULL,              -- every release to them, net of the fee
  PRIMARY KEY (provider_id, currency)
) STRICT, WITHOUT ROWID;

-- One row per posting: `amount` moves from debit_account to credit_account.
CREATE TABLE ledger_entries (
  seq            INTEGER NOT NULL,              -- the event that caused it
  idx            INTEGER NOT NULL,              -- its position among that event's postings
  debit_account  TEXT    NOT NULL,
  credit_account TEXT    NOT NULL,
  amount         INTEGER NOT NULL,
  currency       TEXT    NOT NULL,
  PRIMARY KEY (seq, idx)
) STRICT, WITHOUT ROWID;

-- credits - debits per account and currency; sums to zero per currency.
CREATE TABLE account_balances (
  account  TEXT    NOT NULL,
  currency TEXT    NOT NULL,
  balance  INTEGER NOT NULL,
  PRIMARY KEY (account, currency)
) STRICT, WITHOUT ROWID;

-- The code version each projection was last built with; a change triggers a rebuild at start.
-- Projections are written inline with every append, so they are always at the head of the log;
-- built_seq is the head when the projection was last rebuilt from scratch.
CREATE TABLE projection_versions (
  name       TEXT    PRIMARY KEY,
  version    TEXT    NOT NULL,
  built_at   INTEGER NOT NULL,
  built_seq  INTEGER NOT NULL
) STRICT;
