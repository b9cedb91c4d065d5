// Reading the event log on every core for a fold (rebuild and verify, projections/rebuild.h).
//
// The log is cut into chunks of consecutive seqs. Whichever worker thread is free reads the next
// chunk on a read-only connection of its own: it checks the hash chain between the chunk's rows
// and the hash of every row (when asked), decodes each event and derives its postings. The
// chunks then go, strictly in seq order, to one or more lanes: sequential consumers (the fold,
// the writer of a rebuild) of which each sees every chunk once, in order, on one thread at a
// time. So a fold keeps the exact semantics of a single pass over the log, in seq order, while
// the per-event work around it (SQLite, SHA-256, JSON) is spread over the cores.
//
// The link into a chunk (its first row's seq and prev_hash against the previous chunk's last
// row) is checked in order when the chunk is handed over, so a break exactly at a chunk boundary
// is found as it would be anywhere else. The first problem (a gap, a broken link, an altered
// event, an event that does not decode) ends the scan: its chunk is the last one handed over,
// with the rows before the problem and the problem itself.
//
// Thread-safety: scan_log() starts and joins its own threads and returns when all is done. A lane
// runs on any of them, never on two at once, and sees chunk k only after chunk k - 1.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ledger/events.h"
#include "ledger/postings.h"
#include "ledger/status.h"
#include "projections/rebuild.h"

namespace escrow::projections {

// A decoded event of the log: a domain event, a webhook event, or nothing (an event of another
// subsystem, which feeds no projection).
using LogEvent = std::variant<std::monostate, Event, WebhookEvent>;

// Decodes one event by its stream; a bad event of a known stream or type is corrupt.
Result<LogEvent> decode_log_event(std::string_view stream, std::string_view type,
                                  std::string_view data);

struct ScannedEvent {
  int64_t seq = 0;
  int64_t version = 0;
  int64_t recorded_at_ms = 0;
  std::string stream;
  LogEvent event;
  // postings_for(event) for an event of a booking or provider stream; empty for the others.
  std::vector<Posting> postings;
};

struct ScanChunk {
  int64_t index = 0;
  int64_t rows_before = 0;           // rows of the log before this chunk's first row
  std::vector<ScannedEvent> events;  // the first `count` are this chunk's rows, in seq order
  size_t count = 0;
  // When set, the scan stops in this chunk: the row after the first `count` is bad (problem_seq
  // is its seq, problem says why: "seq N: ..."). No chunk follows.
  std::optional<int64_t> problem_seq;
  std::string problem;
  // The digest of the ledger_entries rows of the first `count` events (ledger_entry_row() of
  // each posting), taken while reading.
  TableDigest ledger_digest;

  // The chain at the chunk's edges, for the link into the next chunk (chain checks only).
  int64_t first_seq = 0;
  std::string first_prev_hash;
  bool first_hash_ok = true;
  int64_t last_seq = 0;
  std::string last_hash;
};

// A sequential consumer of the chunks; false stops the scan after this chunk.
using Lane = std::function<bool(const ScanChunk&)>;

struct ScanOptions {
  std::string path;      // the database file; read on connections of the scan's own
  int64_t last_seq = 0;  // events with seq <= last_seq
  bool chain = false;    // check the hash chain (reads meta, prev_hash and hash too)
  int threads = 0;       // workers including the calling thread; 0: one per core
  int64_t chunk_events = 4096;
  int chunks_in_flight_max = 0;  // read ahead of the slowest lane; 0: 4 per worker
};

// Reads the log and feeds every lane every chunk, in order, until the end or a problem. The
// first operating error (SQLite) of any worker stops everything and is returned.
Status scan_log(const ScanOptions& options, const std::vector<Lane>& lanes);

// The number of workers scan_log() uses for `threads` = 0.
int scan_threads_default();

}  // namespace escrow::projections
