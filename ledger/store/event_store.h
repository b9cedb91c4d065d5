// EventStore: the append-only, hash-chained event log in SQLite, with group commit.
//
// Contract (see schema/README.md for the format):
// - Every event gets the next global `seq` (1, 2, 3, ... no gaps) and the next `version` of its
//   stream (1-based). `hash` chains each event to the previous one.
// - An append states, per stream, the version its decision was made on. If the stream has moved
//   on, the whole command is refused with StatusCode::conflict and nothing of it is written.
//   StreamAppend::any_version instead appends at the stream's version of the moment (the events
//   still take the next versions and seqs, hashed as any other).
// - One writer thread owns the write connection. Commands that queue up while a commit runs are
//   committed together in one transaction, with a SAVEPOINT per command, so a refused or failing
//   command does not undo its neighbours. Every caller learns its outcome only after COMMIT.
//   submit() with a callback parks no thread while the command waits for its commit.
// - A failed COMMIT puts the store in the failed state: every later append is refused with
//   StatusCode::store_failed until the process restarts (the outcome of that commit is unknown,
//   so it is never retried).
//
// Thread-safety: submit()/append() may be called from any thread. EventReader is one per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/clock.h"
#include "ledger/records.h"
#include "ledger/status.h"
#include "ledger/store/sqlite.h"

namespace escrow {

struct StreamAppend {
  // For a stream that records facts no decision depends on (webhook deliveries): append at
  // whatever version the stream has when the writer reaches the command, never a conflict.
  static constexpr int64_t any_version = std::numeric_limits<int64_t>::min();

  std::string stream;
  int64_t expected_version = 0;  // the stream's version the decision saw; 0 = stream is new
  std::vector<NewEvent> events;
};

// Runs on the writer thread inside the command's SAVEPOINT, after its events were inserted, with
// the write connection. Projections and operational tables (idempotency keys, outbox) are written
// here so they commit atomically with the events. A non-ok Status rolls back the whole command.
using AppendHook = std::function<Status(sqlite::Db&, std::span<const RecordedEvent>)>;

struct AppendCommand;

// Asked by the writer when a stream of the command has moved on: decide again on the writer's
// connection, where every command before this one in the batch is visible, and replace the
// command's appends (and hook) with the new decision (empty appends for a refusal or a no-op).
// False gives up: the command is answered `conflict`. It runs on the writer thread inside the
// command's SAVEPOINT (rolled back to its start first), so a stream written by many callers at
// once (a provider's) is decided in order instead of conflicting again and again.
using Redecide = std::function<bool(sqlite::Db&, AppendCommand&)>;

struct AppendCommand {
  static constexpr int redecisions_max = 8;  // then the command is answered `conflict`

  std::vector<StreamAppend> appends;  // one or more streams, written atomically
  AppendHook hook;                    // optional
  Redecide redecide;                  // optional
};

struct AppendOutcome {
  Status status;                      // ok, conflict, busy, io_error, store_failed, ...
  std::vector<RecordedEvent> events;  // what was recorded, in seq order (empty unless ok)
  std::string conflict_stream;        // on conflict: the stream that moved on
  int64_t actual_version = 0;         // on conflict: its version now
};

// Called exactly once with a command's outcome: on the writer thread after the batch's COMMIT
// (or its failure), or on the submitting thread when the command is refused before it queues
// (invalid, store failed, queue full). It must be quick and must not wait for another append:
// the next batch waits for it.
using AppendDone = std::function<void(AppendOutcome)>;

enum class Synchronous { off, normal, full };

struct EventStoreOptions {
  std::string path;          // the SQLite file; must already be migrated
  bool group_commit = true;  // false: one transaction per command (for comparison)
  Synchronous synchronous = Synchronous::full;
  size_t batch_commands_max = 1024;   // commands in one group commit
  size_t queue_commands_max = 65536;  // queued commands before submit() answers busy
  const Clock* clock = nullptr;       // recorded_at; defaults to the system clock
};

class EventStore {
 public:
  static Result<std::unique_ptr<EventStore>> open(EventStoreOptions options);
  ~EventStore();  // drains the queue, then stops the writer

  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Queues `command`; `done` learns its outcome. Nothing waits: thousands of commands may be in
  // flight on a handful of threads.
  void submit(AppendCommand command, AppendDone done);
  std::future<AppendOutcome> submit(AppendCommand command);
  AppendOutcome append(AppendCommand command) { return submit(std::move(command)).get(); }

  bool failed() const;       // a commit failed; writes are refused
  int64_t last_seq() const;  // of the last committed event
  const std::string& path() const;

  struct Stats {
    uint64_t commits = 0;   // transactions committed
    uint64_t commands = 0;  // commands answered from a committed transaction (ok or refused)
    uint64_t events = 0;    // events committed
  };
  Stats stats() const;

 private:
  struct Impl;
  explicit EventStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Read-only access on a connection of its own. One per thread.
class EventReader {
 public:
  static constexpr int64_t read_page_events_max = 10000;

  static Result<EventReader> open(const std::string& path);

  // Events of one stream with version > after_version, in order.
  Result<std::vector<RecordedEvent>> read_stream(const std::string& stream,
                                                 int64_t after_version = 0);
  // The global log after a seq, at most `limit` events (clamped to read_page_events_max).
  Result<std::vector<RecordedEvent>> read_all(int64_t after_seq, int64_t limit);
  Result<int64_t> stream_version(const std::string& stream);  // 0 if the stream is unknown
  sqlite::Db& db() { return db_; }

 private:
  explicit EventReader(sqlite::Db db) : db_(std::move(db)) {}
  Result<sqlite::Stmt*> cached(sqlite::Stmt& slot, const char* sql);

  sqlite::Db db_;  // declared first: the statements below are finalized before it closes
  sqlite::Stmt read_stream_stmt_;
  sqlite::Stmt read_all_stmt_;
  sqlite::Stmt stream_version_stmt_;
};

// The same reads as EventReader's on a connection the caller holds (a leased read connection),
// each preparing its statement afresh.
Result<std::vector<RecordedEvent>> read_stream(sqlite::Db& db, const std::string& stream,
                                               int64_t after_version = 0);
Result<std::vector<RecordedEvent>> read_log(sqlite::Db& db, int64_t after_seq, int64_t limit);

// The hash of DESIGN section 3, over the fields of `event` (its own `hash` is ignored).
std::string event_hash(const RecordedEvent& event);

// The same hash over borrowed fields, so a verifier can hash rows straight from a statement
// without copying them into a RecordedEvent.
struct EventHashFields {
  std::string_view prev_hash;
  int64_t seq = 0;
  std::string_view stream;
  int64_t version = 0;
  std::string_view type;
  int64_t recorded_at_ms = 0;
  std::string_view data;
  std::string_view meta;
};
std::string event_hash(const EventHashFields& fields);

inline constexpr const char* genesis_hash =
    "0000000000000000000000000000000000000000000000000000000000000000";

}  // namespace escrow
