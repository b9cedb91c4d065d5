-- 0007_chargebacks: one row per Paystack chargeback (dispute) on a booking's payment (DESIGN
-- section 4, rule 6b), keyed by Paystack's dispute id. Amounts in subunits of `currency`; times in
-- milliseconds since the epoch. Rebuilt from the log like every projection.
CREATE TABLE chargebacks (
  dispute_id        INTEGER PRIMARY KEY,          -- Paystack's dispute id
  booking_id        TEXT    NOT NULL,
  provider_id       TEXT    NOT NULL,
  client_id         TEXT    NOT NULL,
  payment_reference TEXT    NOT NULL,             -- the transaction charged back
  refund_amount     INTEGER NOT NULL,             -- what the customer claims back
  currency          TEXT    NOT NULL,
  status            TEXT    NOT NULL,             -- awaiting-merchant-feedback | awaiting-bank-feedback | pending | resolved
  resolution        TEXT    NOT NULL,             -- '' until resolved; merchant-accepted | declined | auto-accepted
  due_at            INTEGER,                      -- answer at Paystack before this
  response          TEXT    NOT NULL,             -- '' | accept | decline: the admin's answer
  response_message  TEXT    NOT NULL,
  answered_by       TEXT    NOT NULL,
  from_escrow       INTEGER NOT NULL,             -- once resolved for the customer: taken from escrow,
  from_provider     INTEGER NOT NULL,             --   recovered from the provider's balance,
  platform_loss     INTEGER NOT NULL,             --   and the platform's loss
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX chargebacks_by_status ON chargebacks (status, dispute_id);
CREATE INDEX chargebacks_by_booking ON chargebacks (booking_id);
