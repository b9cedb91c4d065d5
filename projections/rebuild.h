// Rebuilding and verifying the projections from the event log.
//
// Both fold the whole log in memory through the decider's evolve() and the row functions of
// tables.h. rebuild() writes the rows into shadow tables, compares each table's digest with the
// live table, and swaps the shadows in, all in one write transaction (so no append interleaves).
// verify() writes nothing: it re-checks the hash chain, the double-entry balance, the money
// invariants of DESIGN section 4 rule 10, the webhook log's (one delivery per dedupe key, each
// outcome about a stored delivery, attempts numbered 1, 2, 3, ...), and that every live table
// equals a fresh rebuild.
// A table digest is an order-independent sum of per-row 128-bit hashes plus the row count.
// The log is read, checked and decoded on every core (log_scan.h) and folded in seq order on one
// thread at a time; the rows of the fold's end state are made and digested on every core too.
// Thread-safety: each call uses the connection it is given and, for reading the log and the live
// tables, connections of its own to the same file.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/store/sqlite.h"
#include "projections/tables.h"

namespace escrow::projections {

struct TableDigest {
  std::array<uint64_t, 2> lanes{};
  uint64_t rows = 0;
  void add(const Row& row);
  void add_bytes(std::string_view serialized_row);
  void merge(const TableDigest& other);  // the digest of both sets of rows
  // add(ledger_entry_row(seq, idx, posting)) without making the row.
  void add_ledger_entry(int64_t seq, int idx, const Posting& posting);
  bool operator==(const TableDigest&) const = default;
  std::string hex() const;
};

using Progress = std::function<void(int64_t events_done, int64_t events_total)>;

// How the log is cut up for reading on every core (log_scan.h). The defaults suit any log; tests
// choose small chunks to put a chunk boundary where they want one.
struct ScanShape {
  int threads = 0;           // 0: one per core
  int64_t chunk_events = 0;  // 0: the scan's default
};

struct RebuildOptions {
  std::optional<std::string> projection;  // one projection by name; all when empty
  Progress progress;
};

struct RebuildReport {
  int64_t events = 0;
  double seconds = 0;
  std::vector<std::string> tables;    // rebuilt and swapped in
  std::vector<std::string> differed;  // whose live rows differed from the fresh ones
};

Result<RebuildReport> rebuild(sqlite::Db& db, const RebuildOptions& options,
                              const ScanShape& shape = {});

// Rebuilds every projection whose recorded version differs from the code's (or was never
// recorded), e.g. at start-up after an upgrade. Returns the names rebuilt.
Result<std::vector<std::string>> rebuild_stale(sqlite::Db& db);

struct VerifyReport {
  int64_t events = 0;
  double seconds = 0;
  std::optional<int64_t> first_bad_seq;  // the first event that breaks the chain or a rule
  std::vector<std::string> problems;     // human sentences, first problem first
  bool ok() const { return problems.empty(); }
};

Result<VerifyReport> verify(sqlite::Db& db, const Progress& progress = {},
                            const ScanShape& shape = {});

// Digest of a live table as it is now.
Result<TableDigest> table_digest(sqlite::Db& db, const TableSpec& spec,
                                 const std::string& table_name);

}  // namespace escrow::projections
