-- 0004_webhooks: the Paystack webhook deliveries as the admin console lists them, projected from
-- the `paystack-webhooks` stream (WebhookReceived, WebhookProcessed) in the same transaction as
-- the events, and rebuildable from them like the projections of 0002.

CREATE TABLE webhook_deliveries (
  id             INTEGER PRIMARY KEY,       -- seq of the delivery's WebhookReceived event
  dedupe_key     TEXT    NOT NULL UNIQUE,   -- a redelivery with the same key is not stored again
  event          TEXT    NOT NULL,          -- Paystack's event name, e.g. charge.success
  reference      TEXT    NOT NULL,          -- the reference it concerns; '' when it names none
  status         TEXT    NOT NULL,          -- received | processed | ignored | failed
  attempts       INTEGER NOT NULL,          -- processing attempts recorded so far
  last_error     TEXT    NOT NULL,          -- the last attempt's error, or why it was ignored
  received_at_ms INTEGER NOT NULL,
  updated_at_ms  INTEGER NOT NULL,          -- of the last event about the delivery
  payload        TEXT    NOT NULL           -- the raw body, exactly as received
) STRICT;
CREATE INDEX webhook_deliveries_by_status ON webhook_deliveries (status, updated_at_ms);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event, id);
CREATE INDEX webhook_deliveries_by_reference ON webhook_deliveries (reference, id);
CREATE INDEX webhook_deliveries_by_received ON webhook_deliveries (received_at_ms);
