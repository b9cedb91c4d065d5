// The SQLite event store: one writer thread with group commit, read-only readers, the hash
// chain. See event_store.h for the contract and schema/README.md for the stored format.
#include "ledger/store/event_store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "ledger/hash.h"
#include "ledger/store/migrations.h"

namespace escrow {
namespace {

// Feeds SHA-256 through a small stack buffer, so the short fields of an event cost one update()
// together instead of one each; long fields (data, meta) go straight through.
class HashFeeder {
 public:
  explicit HashFeeder(Sha256& sha) : sha_(sha) {}

  void text(std::string_view bytes) {
    if (bytes.empty()) return;
    if (bytes.size() > sizeof(buffer_) - size_) {
      flush();
      if (bytes.size() > sizeof(buffer_) / 2) {
        sha_.update(bytes);
        return;
      }
    }
    std::memcpy(buffer_ + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
  }

  void number(int64_t value) {
    char digits[24];
    auto result = std::to_chars(digits, digits + sizeof(digits), value);
    LEDGER_ASSERT(result.ec == std::errc(), "an int64 fits in 24 characters");
    text(std::string_view(digits, static_cast<size_t>(result.ptr - digits)));
  }

  Sha256Digest finish() {
    flush();
    return sha_.finish();
  }

 private:
  void flush() {
    if (size_ > 0) sha_.update(std::string_view(buffer_, size_));
    size_ = 0;
  }

  Sha256& sha_;
  char buffer_[512];
  size_t size_ = 0;
};

AppendOutcome refused_outcome(Status status) {
  AppendOutcome outcome;
  outcome.status = std::move(status);
  return outcome;
}

Status validate(const AppendCommand& command) {
  for (const StreamAppend& append : command.appends) {
    if (append.stream.empty()) return Status(StatusCode::invalid_argument, "empty stream name");
    if (append.expected_version < 0 && append.expected_version != StreamAppend::any_version) {
      return Status(StatusCode::invalid_argument, "negative expected_version for " + append.stream);
    }
    for (const NewEvent& event : append.events) {
      if (event.type.empty()) {
        return Status(StatusCode::invalid_argument, "event without a type for " + append.stream);
      }
    }
  }
  return Status::ok();
}

const char* synchronous_name(Synchronous synchronous) {
  switch (synchronous) {
    case Synchronous::off:
      return "OFF";
    case Synchronous::normal:
      return "NORMAL";
    case Synchronous::full:
      return "FULL";
  }
  return "FULL";
}

// Reads the columns of `select_columns`, in that order, from the current row.
constexpr const char* select_columns =
    "SELECT seq, stream, version, type, data, meta, recorded_at, prev_hash, hash FROM events ";

RecordedEvent event_from_row(const sqlite::Stmt& stmt) {
  RecordedEvent event;
  event.seq = stmt.column_int64(0);
  event.stream = stmt.column_text(1);
  event.version = stmt.column_int64(2);
  event.type = stmt.column_text(3);
  event.data = stmt.column_text(4);
  event.meta = stmt.column_text(5);
  event.recorded_at_ms = stmt.column_int64(6);
  event.prev_hash = stmt.column_text(7);
  event.hash = stmt.column_text(8);
  return event;
}

Status read_rows(sqlite::Stmt& stmt, std::vector<RecordedEvent>& out) {
  for (;;) {
    Result<bool> row = stmt.step();
    if (!row.is_ok()) {
      stmt.reset();
      return row.status();
    }
    if (!row.value()) break;
    out.push_back(event_from_row(stmt));
  }
  stmt.reset();
  return Status::ok();
}

Status prepare_into(sqlite::Db& db, sqlite::Stmt& slot, const char* sql) {
  Result<sqlite::Stmt> stmt = db.prepare(sql);
  if (!stmt.is_ok()) return stmt.status();
  slot = std::move(stmt.value());
  return Status::ok();
}

}  // namespace

std::string event_hash(const EventHashFields& fields) {
  thread_local Sha256 sha;
  HashFeeder feed(sha);
  feed.text(fields.prev_hash);
  feed.text("\n");
  feed.number(fields.seq);
  feed.text("\n");
  feed.text(fields.stream);
  feed.text("\n");
  feed.number(fields.version);
  feed.text("\n");
  feed.text(fields.type);
  feed.text("\n");
  feed.number(fields.recorded_at_ms);
  feed.text("\n");
  feed.text(fields.data);
  feed.text("\n");
  feed.text(fields.meta);
  return to_hex(feed.finish());
}

std::string event_hash(const RecordedEvent& event) {
  return event_hash(EventHashFields{event.prev_hash, event.seq, event.stream, event.version,
                                    event.type, event.recorded_at_ms, event.data, event.meta});
}

// ----------------------------------------------------------------------------------------------
// EventStore

struct EventStore::Impl {
  struct Pending {
    AppendCommand command;
    AppendDone done;
  };

  EventStoreOptions options;
  SystemClock system_clock;
  const Clock* clock = nullptr;

  // Owned by the writer thread once it runs. The Db is declared first so that the statements
  // are finalized before it closes.
  sqlite::Db db;
  sqlite::Stmt begin, commit, rollback, savepoint, release, rollback_to;
  sqlite::Stmt head, stream_version, insert;
  int64_t last_seq = 0;  // of the last event written in the open transaction (or committed)
  std::string last_hash = genesis_hash;
  int64_t last_recorded_at_ms = 0;

  // Shared with submitters.
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Pending> queue;  // bounded by options.queue_commands_max
  bool stopping = false;
  std::string failure;  // why the store failed; guarded by mutex
  std::atomic<bool> failed{false};
  std::atomic<int64_t> committed_seq{0};
  std::atomic<uint64_t> commits{0}, commands{0}, events{0};
  std::thread writer;

  Status open_connection();
  Status read_head();
  Status store_failed_status();

  void run();
  bool take_batch(std::vector<Pending>& batch);
  void process_batch(std::vector<Pending>& batch);
  AppendOutcome apply_command(AppendCommand& command, int64_t now_ms);
  Status write_command(AppendCommand& command, int64_t now_ms, AppendOutcome& outcome);
  Status run_hook(const AppendCommand& command, const std::vector<RecordedEvent>& events);
  Result<int64_t> current_version(const std::string& stream);
  Status insert_event(const RecordedEvent& event);
  void fail_store(std::vector<Pending>& batch, const Status& status, const char* what);
};

Status EventStore::Impl::open_connection() {
  const std::string& path = options.path;
  Result<sqlite::Db> opened = sqlite::Db::open(path, sqlite::Db::Mode::read_write);
  if (!opened.is_ok()) {
    return Status(opened.status().code(),
                  opened.status().message() + " (create it with `escrowctl migrate`)");
  }
  db = std::move(opened.value());
  db.cache_statements();  // the append hooks' queries (projections, dedupe) are parsed once
  if (!schema_is_current(db)) {
    Result<int> version = schema_version(db);
    std::string have = version.is_ok() ? std::to_string(version.value()) : "unknown";
    std::string want =
        embedded_migrations().empty() ? "0" : std::to_string(embedded_migrations().back().version);
    return Status(StatusCode::invalid_argument,
                  "the schema of " + path + " is not current (version " + have +
                      ", this binary needs " + want + "): run `escrowctl migrate`");
  }
  Status status = db.exec("PRAGMA journal_mode=WAL");
  if (status.is_ok())
    status = db.exec(std::string("PRAGMA synchronous=") + synchronous_name(options.synchronous));
  if (status.is_ok()) status = db.exec("PRAGMA foreign_keys=ON");
  const std::pair<sqlite::Stmt*, const char*> statements[] = {
      {&begin, "BEGIN IMMEDIATE"},
      {&commit, "COMMIT"},
      {&rollback, "ROLLBACK"},
      {&savepoint, "SAVEPOINT append_command"},
      {&release, "RELEASE append_command"},
      {&rollback_to, "ROLLBACK TO append_command"},
      {&head, "SELECT seq, hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1"},
      {&stream_version, "SELECT coalesce(max(version), 0) FROM events WHERE stream = ?"},
      {&insert,
       "INSERT INTO events (seq, stream, version, type, data, meta, recorded_at, prev_hash, hash)"
       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"},
  };
  for (const auto& [slot, sql] : statements) {
    if (status.is_ok()) status = prepare_into(db, *slot, sql);
  }
  return status;
}

// Re-read at the start of every batch (inside BEGIN IMMEDIATE), so the chain stays right even if
// another process appended since our last commit.
Status EventStore::Impl::read_head() {
  Result<bool> row = head.step();
  if (!row.is_ok()) {
    head.reset();
    return row.status();
  }
  if (row.value()) {
    last_seq = head.column_int64(0);
    last_hash = head.column_text(1);
    last_recorded_at_ms = head.column_int64(2);
  } else {
    last_seq = 0;
    last_hash = genesis_hash;
    last_recorded_at_ms = 0;
  }
  head.reset();
  return Status::ok();
}

Status EventStore::Impl::store_failed_status() {
  std::lock_guard lock(mutex);
  return Status(StatusCode::store_failed,
                "the event store refuses writes until restarted: " + failure);
}

void EventStore::Impl::run() {
  std::vector<Pending> batch;
  batch.reserve(options.group_commit ? options.batch_commands_max : 1);
  while (take_batch(batch)) {
    process_batch(batch);
    batch.clear();
  }
}

// Waits for work; takes what queued up (at most batch_commands_max, exactly 1 without group
// commit). Returns false once stopping and the queue is drained.
bool EventStore::Impl::take_batch(std::vector<Pending>& batch) {
  std::unique_lock lock(mutex);
  wake.wait(lock, [this] { return stopping || !queue.empty(); });
  if (queue.empty()) return false;
  size_t count = options.group_commit ? std::min(queue.size(), options.batch_commands_max) : 1;
  for (size_t i = 0; i < count; ++i) {
    batch.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  return true;
}

void EventStore::Impl::process_batch(std::vector<Pending>& batch) {
  if (failed.load()) {
    Status refused = store_failed_status();
    for (Pending& pending : batch) pending.done(AppendOutcome{refused, {}, {}, 0});
    return;
  }
  Status status = begin.run();
  if (status.is_ok()) status = read_head();
  if (!status.is_ok()) return fail_store(batch, status, "BEGIN");

  // One timestamp per batch, never before the event the batch follows.
  const int64_t now_ms = std::max(clock->now_ms(), last_recorded_at_ms);
  std::vector<AppendOutcome> outcomes;
  outcomes.reserve(batch.size());
  for (Pending& pending : batch) {
    outcomes.push_back(apply_command(pending.command, now_ms));
    // SQLite rolls the whole transaction back by itself on some errors (disk full, I/O, out of
    // memory); the commands before this one are then gone as well.
    if (!db.in_transaction()) return fail_store(batch, outcomes.back().status, "transaction");
  }
  status = commit.run();
  if (!status.is_ok()) return fail_store(batch, status, "COMMIT");

  uint64_t events_committed = 0;
  for (const AppendOutcome& outcome : outcomes) events_committed += outcome.events.size();
  committed_seq.store(last_seq);
  commits.fetch_add(1);
  commands.fetch_add(batch.size());
  events.fetch_add(events_committed);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(outcomes[i]));
}

// One command inside its own SAVEPOINT: all of it, or none of it and the reason.
AppendOutcome EventStore::Impl::apply_command(AppendCommand& command, int64_t now_ms) {
  AppendOutcome outcome;
  outcome.status = savepoint.run();
  if (!outcome.status.is_ok()) return outcome;
  const int64_t seq_before = last_seq;
  std::string hash_before = last_hash;
  Status status = write_command(command, now_ms, outcome);
  for (int round = 0; status.code() == StatusCode::conflict && command.redecide &&
                      round < AppendCommand::redecisions_max;
       ++round) {
    // Undo what this command wrote so far and let it decide again on what is there now.
    (void)rollback_to.run();
    last_seq = seq_before;
    last_hash = hash_before;
    outcome.events.clear();
    outcome.conflict_stream.clear();
    outcome.actual_version = 0;
    bool again = false;
    try {
      again = command.redecide(db, command);
    } catch (const std::exception& error) {
      status = Status(StatusCode::invalid_argument,
                      std::string("append redecision threw: ") + error.what());
      break;
    }
    if (!again) break;
    status = validate(command);
    if (status.is_ok()) status = write_command(command, now_ms, outcome);
  }
  if (status.is_ok()) status = run_hook(command, outcome.events);
  if (status.is_ok()) status = release.run();
  if (status.is_ok()) return outcome;

  (void)rollback_to.run();
  (void)release.run();
  last_seq = seq_before;
  last_hash = std::move(hash_before);
  outcome.status = std::move(status);
  outcome.events.clear();
  return outcome;
}

// Checks every stream's version (unless any_version), then inserts the events with the next seqs
// and versions. The command's event texts are moved into the recorded events: the command is not
// used afterwards.
Status EventStore::Impl::write_command(AppendCommand& command, int64_t now_ms,
                                       AppendOutcome& outcome) {
  for (StreamAppend& append : command.appends) {
    Result<int64_t> version = current_version(append.stream);
    if (!version.is_ok()) return version.status();
    const bool any = append.expected_version == StreamAppend::any_version;
    if (!any && version.value() != append.expected_version) {
      outcome.conflict_stream = append.stream;
      outcome.actual_version = version.value();
      return Status(StatusCode::conflict, "stream " + append.stream + " is at version " +
                                              std::to_string(version.value()) + ", not " +
                                              std::to_string(append.expected_version));
    }
    int64_t stream_version_next = version.value();
    for (NewEvent& event : append.events) {
      RecordedEvent recorded{last_seq + 1,
                             append.stream,
                             ++stream_version_next,
                             std::move(event.type),
                             std::move(event.data),
                             std::move(event.meta),
                             now_ms,
                             last_hash,
                             {}};
      recorded.hash = event_hash(recorded);
      Status status = insert_event(recorded);
      if (!status.is_ok()) return status;
      last_seq = recorded.seq;
      last_hash = recorded.hash;
      outcome.events.push_back(std::move(recorded));
    }
  }
  return Status::ok();
}

Status EventStore::Impl::run_hook(const AppendCommand& command,
                                  const std::vector<RecordedEvent>& recorded) {
  if (!command.hook) return Status::ok();
  Status status;
  try {
    status = command.hook(db, std::span<const RecordedEvent>(recorded));
  } catch (const std::exception& error) {
    status =
        Status(StatusCode::invalid_argument, std::string("append hook threw: ") + error.what());
  }
  if (!status.is_ok()) return status;
  // A deferred foreign key left unresolved would fail the COMMIT of the whole batch.
  int deferred = 0, highwater = 0;
  sqlite3_db_status(db.raw(), SQLITE_DBSTATUS_DEFERRED_FKS, &deferred, &highwater, 0);
  if (deferred != 0) {
    return Status(StatusCode::invalid_argument, "append hook left a deferred foreign key violated");
  }
  return Status::ok();
}

// Uses the UNIQUE (stream, version) index: one lookup.
Result<int64_t> EventStore::Impl::current_version(const std::string& stream) {
  stream_version.bind_static(1, stream);
  Result<bool> row = stream_version.step();
  int64_t version = row.is_ok() && row.value() ? stream_version.column_int64(0) : 0;
  stream_version.reset();
  if (!row.is_ok()) return row.status();
  return version;
}

Status EventStore::Impl::insert_event(const RecordedEvent& event) {
  insert.bind(1, event.seq).bind_static(2, event.stream).bind(3, event.version);
  insert.bind_static(4, event.type).bind_static(5, event.data).bind_static(6, event.meta);
  insert.bind(7, event.recorded_at_ms).bind_static(8, event.prev_hash).bind_static(9, event.hash);
  return insert.run();
}

// The outcome of this batch is unknown or lost: refuse it and everything after it.
void EventStore::Impl::fail_store(std::vector<Pending>& batch, const Status& status,
                                  const char* what) {
  if (db.in_transaction()) (void)rollback.run();
  {
    std::lock_guard lock(mutex);
    failure = std::string(what) + " failed: " + status.to_string();
  }
  failed.store(true);
  Status refused = store_failed_status();
  for (Pending& pending : batch) pending.done(AppendOutcome{refused, {}, {}, 0});
}

Result<std::unique_ptr<EventStore>> EventStore::open(EventStoreOptions options) {
  if (options.batch_commands_max == 0 || options.queue_commands_max == 0) {
    return Status(StatusCode::invalid_argument,
                  "batch_commands_max and queue_commands_max must be > 0");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->clock = impl->options.clock ? impl->options.clock : &impl->system_clock;
  Status status = impl->open_connection();
  if (status.is_ok()) status = impl->read_head();
  if (!status.is_ok()) return status;
  impl->committed_seq.store(impl->last_seq);
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] { raw->run(); });
  return std::unique_ptr<EventStore>(new EventStore(std::move(impl)));
}

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStore::~EventStore() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  impl_->writer.join();
}

void EventStore::submit(AppendCommand command, AppendDone done) {
  Status status = validate(command);
  if (!status.is_ok()) return done(refused_outcome(std::move(status)));
  if (impl_->failed.load()) return done(refused_outcome(impl_->store_failed_status()));
  {
    std::unique_lock lock(impl_->mutex);
    if (impl_->queue.size() >= impl_->options.queue_commands_max) {
      lock.unlock();
      return done(refused_outcome(Status(StatusCode::busy, "the append queue is full")));
    }
    impl_->queue.push_back(Impl::Pending{std::move(command), std::move(done)});
  }
  impl_->wake.notify_one();
}

std::future<AppendOutcome> EventStore::submit(AppendCommand command) {
  auto promise = std::make_shared<std::promise<AppendOutcome>>();
  std::future<AppendOutcome> future = promise->get_future();
  submit(std::move(command),
         [promise](AppendOutcome outcome) { promise->set_value(std::move(outcome)); });
  return future;
}

bool EventStore::failed() const {
  return impl_->failed.load();
}
int64_t EventStore::last_seq() const {
  return impl_->committed_seq.load();
}
const std::string& EventStore::path() const {
  return impl_->options.path;
}

EventStore::Stats EventStore::stats() const {
  return Stats{impl_->commits.load(), impl_->commands.load(), impl_->events.load()};
}

// ----------------------------------------------------------------------------------------------
// EventReader

Result<EventReader> EventReader::open(const std::string& path) {
  Result<sqlite::Db> db = sqlite::Db::open(path, sqlite::Db::Mode::read_only);
  if (!db.is_ok()) return db.status();
  return EventReader(std::move(db.value()));
}

Result<sqlite::Stmt*> EventReader::cached(sqlite::Stmt& slot, const char* sql) {
  if (!slot.raw()) {
    Status status = prepare_into(db_, slot, sql);
    if (!status.is_ok()) return status;
  }
  return &slot;
}

namespace {

const std::string& read_stream_sql() {
  static const std::string sql =
      std::string(select_columns) + "WHERE stream = ? AND version > ? ORDER BY version";
  return sql;
}
const std::string& read_log_sql() {
  static const std::string sql = std::string(select_columns) + "WHERE seq > ? ORDER BY seq LIMIT ?";
  return sql;
}

Result<std::vector<RecordedEvent>> stream_from(sqlite::Stmt& stmt, const std::string& stream,
                                               int64_t after_version) {
  stmt.bind_static(1, stream).bind(2, after_version);
  std::vector<RecordedEvent> events;
  Status status = read_rows(stmt, events);
  if (!status.is_ok()) return status;
  return events;
}

Result<std::vector<RecordedEvent>> log_from(sqlite::Stmt& stmt, int64_t after_seq, int64_t limit) {
  limit = std::clamp<int64_t>(limit, 0, EventReader::read_page_events_max);
  stmt.bind(1, after_seq).bind(2, limit);
  std::vector<RecordedEvent> events;
  events.reserve(static_cast<size_t>(limit));
  Status status = read_rows(stmt, events);
  if (!status.is_ok()) return status;
  return events;
}

}  // namespace

Result<std::vector<RecordedEvent>> EventReader::read_stream(const std::string& stream,
                                                            int64_t after_version) {
  Result<sqlite::Stmt*> stmt = cached(read_stream_stmt_, read_stream_sql().c_str());
  if (!stmt.is_ok()) return stmt.status();
  return stream_from(**stmt, stream, after_version);
}

Result<std::vector<RecordedEvent>> EventReader::read_all(int64_t after_seq, int64_t limit) {
  Result<sqlite::Stmt*> stmt = cached(read_all_stmt_, read_log_sql().c_str());
  if (!stmt.is_ok()) return stmt.status();
  return log_from(**stmt, after_seq, limit);
}

Result<std::vector<RecordedEvent>> read_stream(sqlite::Db& db, const std::string& stream,
                                               int64_t after_version) {
  Result<sqlite::Stmt> stmt = db.prepare(read_stream_sql());
  if (!stmt.is_ok()) return stmt.status();
  return stream_from(stmt.value(), stream, after_version);
}

Result<std::vector<RecordedEvent>> read_log(sqlite::Db& db, int64_t after_seq, int64_t limit) {
  Result<sqlite::Stmt> stmt = db.prepare(read_log_sql());
  if (!stmt.is_ok()) return stmt.status();
  return log_from(stmt.value(), after_seq, limit);
}

Result<int64_t> EventReader::stream_version(const std::string& stream) {
  Result<sqlite::Stmt*> stmt =
      cached(stream_version_stmt_, "SELECT coalesce(max(version), 0) FROM events WHERE stream = ?");
  if (!stmt.is_ok()) return stmt.status();
  (*stmt)->bind_static(1, stream);
  Result<bool> row = (*stmt)->step();
  int64_t version = row.is_ok() && row.value() ? (*stmt)->column_int64(0) : 0;
  (*stmt)->reset();
  if (!row.is_ok()) return row.status();
  return version;
}

}  // namespace escrow
