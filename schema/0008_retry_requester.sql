-- 0008_retry_requester: who asked for a retried payout or refund (an admin, the provider, the
-- service); empty for the first attempt, which the ledger itself decides. Filled from the log by
-- the rebuild that the payouts and refunds projections' new versions trigger at start-up.
ALTER TABLE payouts ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';
