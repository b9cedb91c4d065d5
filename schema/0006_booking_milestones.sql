-- 0006_booking_milestones: when a booking reached each step, shown on the booking (DESIGN
-- section 5: paid_at, proof_at, approved_at, released_at, cancelled_at). Milliseconds since the
-- epoch, the recorded_at of the event that reached it; NULL until then. Filled from the log by the
-- projection rebuild that the bookings projection's new version triggers at start-up.
ALTER TABLE bookings ADD COLUMN paid_at INTEGER;
ALTER TABLE bookings ADD COLUMN proof_at INTEGER;
ALTER TABLE bookings ADD COLUMN approved_at INTEGER;
ALTER TABLE bookings ADD COLUMN released_at INTEGER;
ALTER TABLE bookings ADD COLUMN cancelled_at INTEGER;
