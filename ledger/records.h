// The event log's two records as plain values: an event to append (NewEvent) and an event as
// stored, with its place in the global order, its stream version and its hash (RecordedEvent).
// The event store (ledger/store/) writes and reads them; the domain encodes events into them
// (events.h) without knowing how they are stored.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>

namespace escrow {

struct NewEvent {
  std::string type;  // 'BookingCreated', ...
  std::string data;  // JSON object text, stored and hashed exactly as given
  std::string meta;  // JSON object text: actor, request_id, causation_seq, idempotency_key, ...
};

struct RecordedEvent {
  int64_t seq = 0;
  std::string stream;
  int64_t version = 0;
  std::string type;
  std::string data;
  std::string meta;
  int64_t recorded_at_ms = 0;
  std::string prev_hash;
  std::string hash;
};

}  // namespace escrow
