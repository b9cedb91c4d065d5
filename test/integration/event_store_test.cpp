// Contract suite of the event store (ledger/store/event_store.h) and the schema migrations
// (ledger/store/migrations.h), run against real SQLite files.
//
// How: every test migrates a fresh database file in its own mkdtemp directory under /tmp
// (removed afterwards), opens an EventStore on it and checks what the contract promises through
// the public API and through direct SQL on a second connection: order, versions, gap-free seqs,
// optimistic concurrency, append-only triggers, the hash chain (against an independent
// computation), group commit with a SAVEPOINT per command, hooks committing and rolling back with
// their events, paging, migrations and the failed-store state. Batches are formed
// deterministically: a "gate" command whose hook blocks the writer thread until the test has
// queued the commands it wants in the next batch. A failing COMMIT is produced honestly by a
// fault-injecting SQLite VFS that makes writes to the WAL file fail. Hooks run on the writer
// thread, so they only record what they see; the assertions are made on the test thread. The
// callback form of submit() is checked to answer after COMMIT with no thread waiting per command,
// and the statement cache of a connection to hand statements back reset.
#include "ledger/store/event_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ledger/hash.h"
#include "ledger/store/migrations.h"
#include "ledger/store/sqlite.h"
#include "test/temp_dir.h"

using namespace escrow;
using namespace std::chrono_literals;

namespace {

constexpr auto wait_max = 10s;  // a test that waits longer than this has failed

// A migrated database file, plus helpers to open stores, readers and raw connections on it.
struct Fixture {
  TempDir dir;
  std::string db_path = dir.path + "/escrow.db";
  ManualClock clock{1'700'000'000'000};

  Fixture() {
    Result<MigrationReport> report = migrate_file(db_path);
    REQUIRE(report.is_ok());
  }

  std::unique_ptr<EventStore> open_store(bool group_commit = true) {
    EventStoreOptions options;
    options.path = db_path;
    options.group_commit = group_commit;
    options.synchronous = Synchronous::normal;  // durability is not under test; speed is welcome
    options.clock = &clock;
    return open_store(options);
  }

  std::unique_ptr<EventStore> open_store(EventStoreOptions options) {
    Result<std::unique_ptr<EventStore>> store = EventStore::open(std::move(options));
    INFO(store.status().to_string());
    REQUIRE(store.is_ok());
    return std::move(store).value();
  }

  EventReader reader() {
    Result<EventReader> reader = EventReader::open(db_path);
    REQUIRE(reader.is_ok());
    return std::move(reader).value();
  }

  sqlite::Db raw_db() {
    Result<sqlite::Db> db = sqlite::Db::open(db_path, sqlite::Db::Mode::read_write);
    REQUIRE(db.is_ok());
    return std::move(db).value();
  }

  std::vector<RecordedEvent> all_events() {
    EventReader events = reader();
    Result<std::vector<RecordedEvent>> all = events.read_all(0, EventReader::read_page_events_max);
    REQUIRE(all.is_ok());
    return all.value();
  }
};

NewEvent event(std::string type, std::string data = "{}") {
  return NewEvent{std::move(type), std::move(data), R"({"actor":{"id":"test","role":"admin"}})"};
}

AppendCommand command(std::string stream, int64_t expected_version, int event_count = 1,
                      AppendHook hook = {}) {
  StreamAppend append{std::move(stream), expected_version, {}};
  for (int i = 0; i < event_count; ++i) {
    append.events.push_back(
        event("Thing" + std::to_string(i), R"({"n":)" + std::to_string(i) + "}"));
  }
  AppendCommand result;
  result.appends.push_back(std::move(append));
  result.hook = std::move(hook);
  return result;
}

int64_t count_rows(sqlite::Db& db, const std::string& sql) {
  Result<sqlite::Stmt> stmt = db.prepare(sql);
  REQUIRE(stmt.is_ok());
  Result<bool> row = stmt->step();
  REQUIRE(row.is_ok());
  REQUIRE(row.value());
  return stmt->column_int64(0);
}

// Checks the whole log: seqs 1..n without gaps, versions 1.. per stream, hashes recomputed and
// linked, the first one to 64 zeros.
void check_chain(const std::vector<RecordedEvent>& events) {
  std::map<std::string, int64_t> versions;
  std::string prev_hash = genesis_hash;
  for (size_t i = 0; i < events.size(); ++i) {
    const RecordedEvent& e = events[i];
    INFO("seq " << e.seq);
    CHECK(e.seq == static_cast<int64_t>(i) + 1);
    CHECK(e.version == ++versions[e.stream]);
    CHECK(e.prev_hash == prev_hash);
    CHECK(e.hash == event_hash(e));
    prev_hash = e.hash;
  }
}

// A command whose hook holds the writer thread until released, so that the commands submitted
// meanwhile queue up and form the next batch.
struct Gate {
  std::promise<void> entered;
  std::promise<void> opened;
  std::shared_future<void> opened_future = opened.get_future().share();

  AppendCommand command(std::string stream) {
    return ::command(std::move(stream), 0, 1, [this](sqlite::Db&, std::span<const RecordedEvent>) {
      entered.set_value();
      if (opened_future.wait_for(wait_max) != std::future_status::ready) {
        return Status(StatusCode::io_error, "gate never opened");
      }
      return Status::ok();
    });
  }
  void wait_entered() {
    REQUIRE(entered.get_future().wait_for(wait_max) == std::future_status::ready);
  }
  void open() { opened.set_value(); }
};

AppendOutcome outcome_of(std::future<AppendOutcome>& future) {
  REQUIRE(future.wait_for(wait_max) == std::future_status::ready);
  return future.get();
}

// The hook used to show that a hook's writes share the fate of the command's events.
AppendHook insert_note(std::string note, Status result = Status::ok()) {
  return [note, result](sqlite::Db& db, std::span<const RecordedEvent> events) {
    Result<sqlite::Stmt> stmt = db.prepare("INSERT INTO notes (note, seq) VALUES (?, ?)");
    if (!stmt.is_ok()) return stmt.status();
    stmt->bind(1, note).bind(2, events.empty() ? int64_t{0} : events.back().seq);
    Status status = stmt->run();
    if (!status.is_ok()) return status;
    return result;
  };
}

void create_notes_table(Fixture& f) {
  sqlite::Db db = f.raw_db();
  REQUIRE(db.exec("CREATE TABLE notes (note TEXT NOT NULL, seq INTEGER NOT NULL) STRICT").is_ok());
}

}  // namespace

TEST_CASE("appended events read back in order with every field", "[event_store]") {
  Fixture f;
  auto store = f.open_store();
  AppendCommand cmd;
  cmd.appends.push_back({"booking-b1",
                         0,
                         {event("BookingCreated", R"({"amount":250000})"),
                          event("PaymentRequested", R"({"reference":"r1"})")}});
  AppendOutcome outcome = store->append(std::move(cmd));
  REQUIRE(outcome.status.is_ok());
  REQUIRE(outcome.events.size() == 2);
  CHECK(store->last_seq() == 2);

  EventReader reader = f.reader();
  Result<std::vector<RecordedEvent>> read = reader.read_stream("booking-b1");
  REQUIRE(read.is_ok());
  REQUIRE(read->size() == 2);
  const RecordedEvent& first = read.value()[0];
  CHECK(first.seq == 1);
  CHECK(first.stream == "booking-b1");
  CHECK(first.version == 1);
  CHECK(first.type == "BookingCreated");
  CHECK(first.data == R"({"amount":250000})");
  CHECK(first.meta == R"({"actor":{"id":"test","role":"admin"}})");
  CHECK(first.recorded_at_ms == 1'700'000'000'000);
  CHECK(read.value()[1].type == "PaymentRequested");
  CHECK(read.value()[1].version == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(read.value()[i].hash == outcome.events[i].hash);
    CHECK(read.value()[i].seq == outcome.events[i].seq);
  }
  Result<std::vector<RecordedEvent>> after = reader.read_stream("booking-b1", 1);
  REQUIRE(after.is_ok());
  REQUIRE(after->size() == 1);
  CHECK(after.value()[0].version == 2);
  CHECK(reader.stream_version("booking-b1").value() == 2);
  CHECK(reader.stream_version("booking-unknown").value() == 0);
  CHECK(reader.read_stream("booking-unknown")->empty());
}

TEST_CASE("versions are 1-based per stream and seqs gap-free across streams", "[event_store]") {
  Fixture f;
  auto store = f.open_store();
  REQUIRE(store->append(command("a", 0, 2)).status.is_ok());
  REQUIRE(store->append(command("b", 0, 1)).status.is_ok());
  REQUIRE(store->append(command("a", 2, 1)).status.is_ok());
  AppendCommand two_streams = command("c", 0, 2);
  two_streams.appends.push_back({"b", 1, {event("Other")}});
  AppendOutcome outcome = store->append(std::move(two_streams));
  REQUIRE(outcome.status.is_ok());
  REQUIRE(outcome.events.size() == 3);
  CHECK(outcome.events[0].seq == 5);
  CHECK(outcome.events[2].seq == 7);
  CHECK(outcome.events[2].stream == "b");
  CHECK(outcome.events[2].version == 2);

  std::vector<RecordedEvent> all = f.all_events();
  REQUIRE(all.size() == 7);
  check_chain(all);
  EventReader reader = f.reader();
  CHECK(reader.stream_version("a").value() == 3);
  CHECK(reader.stream_version("b").value() == 2);
  CHECK(reader.stream_version("c").value() == 2);
  CHECK(store->stats().events == 7);
}

TEST_CASE("a wrong expected version is a conflict and writes nothing of the command",
          "[event_store]") {
  Fixture f;
  create_notes_table(f);
  auto store = f.open_store();
  REQUIRE(store->append(command("y", 0, 1)).status.is_ok());

  SECTION("a later stream of the command is stale: the earlier stream is not written either") {
    AppendCommand cmd = command("x", 0, 2, insert_note("should not exist"));
    cmd.appends.push_back({"y", 3, {event("Late")}});
    AppendOutcome outcome = store->append(std::move(cmd));
    CHECK(outcome.status.code() == StatusCode::conflict);
    CHECK(outcome.conflict_stream == "y");
    CHECK(outcome.actual_version == 1);
    CHECK(outcome.events.empty());
  }
  SECTION("a new stream (expected 0) that already exists") {
    AppendOutcome outcome = store->append(command("y", 0, 1));
    CHECK(outcome.status.code() == StatusCode::conflict);
    CHECK(outcome.conflict_stream == "y");
    CHECK(outcome.actual_version == 1);
  }
  SECTION("an expected version ahead of the stream") {
    AppendOutcome outcome = store->append(command("y", 5, 1));
    CHECK(outcome.status.code() == StatusCode::conflict);
    CHECK(outcome.actual_version == 1);
  }
  CHECK(store->last_seq() == 1);
  sqlite::Db db = f.raw_db();
  CHECK(count_rows(db, "SELECT count(*) FROM events") == 1);
  CHECK(count_rows(db, "SELECT count(*) FROM notes") == 0);

  // The refused command left no hole: the next event takes seq 2 and links to seq 1.
  AppendOutcome next = store->append(command("x", 0, 1));
  REQUIRE(next.status.is_ok());
  CHECK(next.events[0].seq == 2);
  check_chain(f.all_events());
}

TEST_CASE("a command without events only checks versions and runs its hook", "[event_store]") {
  Fixture f;
  create_notes_table(f);
  auto store = f.open_store();
  REQUIRE(store->append(command("s", 0, 1)).status.is_ok());

  AppendCommand ok_check = command("s", 1, 0, insert_note("checked"));
  AppendOutcome outcome = store->append(std::move(ok_check));
  REQUIRE(outcome.status.is_ok());
  CHECK(outcome.events.empty());

  AppendOutcome stale = store->append(command("s", 0, 0, insert_note("stale")));
  CHECK(stale.status.code() == StatusCode::conflict);

  AppendCommand hook_only;
  hook_only.hook = insert_note("no appends at all");
  CHECK(store->append(std::move(hook_only)).status.is_ok());

  sqlite::Db db = f.raw_db();
  CHECK(count_rows(db, "SELECT count(*) FROM events") == 1);
  CHECK(count_rows(db, "SELECT count(*) FROM notes WHERE note = 'checked'") == 1);
  CHECK(count_rows(db, "SELECT count(*) FROM notes WHERE note = 'stale'") == 0);
  CHECK(count_rows(db, "SELECT count(*) FROM notes") == 2);
}

TEST_CASE("malformed commands are refused before they reach the writer", "[event_store]") {
  Fixture f;
  auto store = f.open_store();
  CHECK(store->append(command("", 0, 1)).status.code() == StatusCode::invalid_argument);
  CHECK(store->append(command("s", -1, 1)).status.code() == StatusCode::invalid_argument);
  AppendCommand untyped = command("s", 0, 1);
  untyped.appends[0].events[0].type.clear();
  CHECK(store->append(std::move(untyped)).status.code() == StatusCode::invalid_argument);
  CHECK(store->last_seq() == 0);
  CHECK_FALSE(store->failed());
}

TEST_CASE("events are immutable: UPDATE, DELETE and REPLACE are refused", "[event_store][schema]") {
  Fixture f;
  {
    auto store = f.open_store();
    REQUIRE(store->append(command("s", 0, 3)).status.is_ok());
  }
  std::vector<RecordedEvent> before = f.all_events();
  sqlite::Db db = f.raw_db();

  Status update = db.exec("UPDATE events SET data = '{\"amount\":1}' WHERE seq = 2");
  CHECK_FALSE(update.is_ok());
  CHECK_THAT(update.message(), Catch::Contains("events are append-only"));
  Status del = db.exec("DELETE FROM events WHERE seq = 3");
  CHECK_FALSE(del.is_ok());
  CHECK_THAT(del.message(), Catch::Contains("events are append-only"));
  Status wipe = db.exec("DELETE FROM events");
  CHECK_FALSE(wipe.is_ok());
  Status replace = db.exec(
      "INSERT OR REPLACE INTO events SELECT seq, stream, version, type, '{}', meta, recorded_at,"
      " prev_hash, hash FROM events WHERE seq = 1");
  CHECK_FALSE(replace.is_ok());
  Status upsert = db.exec(
      "INSERT INTO events SELECT * FROM events WHERE seq = 1 ON CONFLICT DO UPDATE SET type = 'X'");
  CHECK_FALSE(upsert.is_ok());

  std::vector<RecordedEvent> after = f.all_events();
  REQUIRE(after.size() == before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    CHECK(after[i].data == before[i].data);
    CHECK(after[i].type == before[i].type);
    CHECK(after[i].hash == before[i].hash);
  }
}

TEST_CASE("the insert trigger refuses an event that does not extend the chain",
          "[event_store][schema]") {
  Fixture f;
  {
    auto store = f.open_store();
    REQUIRE(store->append(command("s", 0, 2)).status.is_ok());
  }
  std::vector<RecordedEvent> before = f.all_events();
  sqlite::Db db = f.raw_db();
  Result<sqlite::Stmt> insert = db.prepare(
      "INSERT INTO events (seq, stream, version, type, data, meta, recorded_at, prev_hash, hash)"
      " VALUES (?, ?, ?, 'Manual', '{}', '{}', ?, ?, 'h')");
  REQUIRE(insert.is_ok());
  const int64_t now = 1'700'000'000'000;
  auto try_insert = [&](int64_t seq, const std::string& stream, int64_t version, int64_t at,
                        const std::string& prev_hash) {
    insert->bind(1, seq).bind(2, stream).bind(3, version).bind(4, at).bind(5, prev_hash);
    return insert->run();
  };
  const std::string& last_hash = before.back().hash;

  Status gap = try_insert(4, "t", 1, now, last_hash);
  CHECK_FALSE(gap.is_ok());
  CHECK_THAT(gap.message(), Catch::Contains("events must extend the chain"));
  CHECK_FALSE(try_insert(2, "t", 1, now, before[0].hash).is_ok());  // an existing seq
  CHECK_FALSE(try_insert(3, "t", 1, now, before[0].hash).is_ok());  // wrong prev_hash
  CHECK_FALSE(try_insert(3, "t", 1, now, genesis_hash).is_ok());    // wrong prev_hash
  CHECK_FALSE(try_insert(3, "s", 2, now, last_hash).is_ok());       // stream version taken
  CHECK_FALSE(try_insert(3, "s", 4, now, last_hash).is_ok());       // stream version skipped
  CHECK_FALSE(try_insert(3, "t", 2, now, last_hash).is_ok());       // new stream must start at 1
  CHECK_FALSE(try_insert(3, "t", 1, now - 1, last_hash).is_ok());   // recorded before seq 2
  CHECK(f.all_events().size() == 2);

  // The trigger is not refusing everything: the one correct row goes in, and the store, which
  // re-reads the head of the log in every batch, continues the chain after it.
  REQUIRE(try_insert(3, "t", 1, now, last_hash).is_ok());
  auto store = f.open_store();
  AppendOutcome next = store->append(command("t", 1, 1));
  REQUIRE(next.status.is_ok());
  CHECK(next.events[0].seq == 4);
  CHECK(next.events[0].prev_hash == "h");
}

TEST_CASE("the hash chain links every event and recomputes", "[event_store][hash]") {
  Fixture f;
  auto store = f.open_store();
  for (int i = 0; i < 5; ++i) {
    f.clock.advance_ms(7);
    REQUIRE(store->append(command("s" + std::to_string(i % 2), (i / 2) * 2, 2)).status.is_ok());
  }
  std::vector<RecordedEvent> all = f.all_events();
  REQUIRE(all.size() == 10);
  CHECK(all.front().prev_hash == std::string(64, '0'));
  check_chain(all);
  for (const RecordedEvent& e : all) {
    CHECK(e.hash.size() == 64);
    CHECK(e.hash.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
}

TEST_CASE("event_hash matches the formula computed independently", "[hash]") {
  RecordedEvent e;
  e.prev_hash = genesis_hash;
  e.seq = 1;
  e.stream = "booking-b1";
  e.version = 1;
  e.type = "BookingCreated";
  e.recorded_at_ms = 1'700'000'000'000;
  e.data = R"({"amount":250000,"currency":"NGN"})";
  e.meta = R"({"actor":{"id":"svc","role":"service"}})";
  // Computed with Python's hashlib over "\n".join(fields).
  CHECK(event_hash(e) == "a338ccf340645884857457eadfa8982a2639f8ba0530fa7998acebc704c2fe6e");

  auto joined = [](const RecordedEvent& x) {
    return x.prev_hash + "\n" + std::to_string(x.seq) + "\n" + x.stream + "\n" +
           std::to_string(x.version) + "\n" + x.type + "\n" + std::to_string(x.recorded_at_ms) +
           "\n" + x.data + "\n" + x.meta;
  };
  CHECK(event_hash(e) == sha256_hex(joined(e)));

  // Long fields, empty fields, non-ASCII text and large numbers take the other paths of the
  // buffered hashing.
  e.prev_hash = std::string(64, 'f');
  e.seq = 9'007'199'254'740'993;
  e.version = 123'456;
  e.data = R"({"description":")" + std::string(5000, 'x') + "\u20a6 caf\u00e9\"}";
  e.meta = "";
  e.type = std::string(300, 'T');
  e.recorded_at_ms = 0;
  CHECK(event_hash(e) == sha256_hex(joined(e)));
  EventHashFields fields{e.prev_hash,      e.seq,  e.stream, e.version, e.type,
                         e.recorded_at_ms, e.data, e.meta};
  CHECK(event_hash(fields) == event_hash(e));
  e.meta = "{}";
  CHECK(event_hash(e) != event_hash(fields));
}

TEST_CASE("recorded_at never goes back, even when the clock does", "[event_store]") {
  Fixture f;
  auto store = f.open_store();
  REQUIRE(store->append(command("s", 0, 1)).status.is_ok());
  f.clock.set_ms(1'600'000'000'000);
  AppendOutcome outcome = store->append(command("s", 1, 1));
  REQUIRE(outcome.status.is_ok());
  CHECK(outcome.events[0].recorded_at_ms == 1'700'000'000'000);
}

TEST_CASE("group commit: concurrent submitters all succeed in fewer commits",
          "[event_store][group_commit]") {
  Fixture f;
  auto store = f.open_store();
  constexpr int threads_count = 8;
  constexpr int commands_per_thread = 50;

  // The gate holds the writer until every thread has queued its first command, so at least one
  // batch holds several commands whatever the scheduling.
  std::atomic<int> queued{0};
  AppendCommand gate =
      command("gate", 0, 1, [&queued](sqlite::Db&, std::span<const RecordedEvent>) {
        auto deadline = std::chrono::steady_clock::now() + wait_max;
        while (queued.load() < threads_count && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(1ms);
        }
        return Status::ok();
      });
  std::future<AppendOutcome> gate_future = store->submit(std::move(gate));

  std::vector<std::thread> threads;
  std::vector<int> failures(threads_count, 0);
  for (int t = 0; t < threads_count; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < commands_per_thread; ++i) {
        std::future<AppendOutcome> future = store->submit(command("t" + std::to_string(t), i, 1));
        if (i == 0) queued.fetch_add(1);
        if (!future.get().status.is_ok()) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  REQUIRE(outcome_of(gate_future).status.is_ok());
  for (int t = 0; t < threads_count; ++t) CHECK(failures[t] == 0);

  const int64_t total = 1 + threads_count * commands_per_thread;
  EventStore::Stats stats = store->stats();
  CHECK(stats.commands == static_cast<uint64_t>(total));
  CHECK(stats.events == static_cast<uint64_t>(total));
  CHECK(stats.commits < stats.commands);
  CHECK(store->last_seq() == total);
  std::vector<RecordedEvent> all = f.all_events();
  REQUIRE(all.size() == static_cast<size_t>(total));
  check_chain(all);
}

TEST_CASE("a refused command in a batch is rolled back while its neighbours commit",
          "[event_store][group_commit]") {
  Fixture f;
  create_notes_table(f);
  auto store = f.open_store();
  REQUIRE(store->append(command("taken", 0, 1)).status.is_ok());

  Gate gate;
  std::future<AppendOutcome> first = store->submit(gate.command("gate"));
  gate.wait_entered();
  // Queued while the writer is held: these five form the next batch.
  std::future<AppendOutcome> before = store->submit(command("before", 0, 2, insert_note("before")));
  std::future<AppendOutcome> conflict =
      store->submit(command("taken", 0, 1, insert_note("conflict")));
  std::future<AppendOutcome> hook_fails = store->submit(
      command("hook", 0, 3, insert_note("hook", Status(StatusCode::invalid_argument, "no"))));
  std::future<AppendOutcome> throws = store->submit(
      command("throws", 0, 1, [](sqlite::Db&, std::span<const RecordedEvent>) -> Status {
        throw std::runtime_error("boom");
      }));
  std::future<AppendOutcome> after = store->submit(command("after", 0, 1, insert_note("after")));
  gate.open();

  REQUIRE(outcome_of(first).status.is_ok());
  AppendOutcome before_outcome = outcome_of(before);
  AppendOutcome after_outcome = outcome_of(after);
  REQUIRE(before_outcome.status.is_ok());
  REQUIRE(after_outcome.status.is_ok());
  CHECK(outcome_of(conflict).status.code() == StatusCode::conflict);
  AppendOutcome hook_outcome = outcome_of(hook_fails);
  CHECK(hook_outcome.status.code() == StatusCode::invalid_argument);
  CHECK(hook_outcome.status.message() == "no");
  CHECK(hook_outcome.events.empty());
  AppendOutcome throws_outcome = outcome_of(throws);
  CHECK(throws_outcome.status.code() == StatusCode::invalid_argument);
  CHECK_THAT(throws_outcome.status.message(), Catch::Contains("boom"));

  // One commit for the first append, one for the gate, one for the batch of five.
  EventStore::Stats stats = store->stats();
  CHECK(stats.commits == 3);
  CHECK(stats.commands == 7);
  CHECK(stats.events == 5);
  CHECK(before_outcome.events[1].seq == 4);
  CHECK(after_outcome.events[0].seq == 5);
  CHECK(after_outcome.events[0].prev_hash == before_outcome.events[1].hash);

  std::vector<RecordedEvent> all = f.all_events();
  REQUIRE(all.size() == 5);
  check_chain(all);
  sqlite::Db db = f.raw_db();
  CHECK(count_rows(db, "SELECT count(*) FROM notes") == 2);
  CHECK(count_rows(db, "SELECT count(*) FROM notes WHERE note = 'before' AND seq = 4") == 1);
  CHECK(count_rows(db, "SELECT count(*) FROM notes WHERE note = 'after' AND seq = 5") == 1);
  CHECK(count_rows(db, "SELECT count(*) FROM events WHERE stream IN ('hook', 'throws')") == 0);
}

TEST_CASE("submit with a callback: a thousand commands in flight from one thread share a commit",
          "[event_store][group_commit]") {
  Fixture f;
  auto store = f.open_store();
  Gate gate;
  std::future<AppendOutcome> first = store->submit(gate.command("gate"));
  gate.wait_entered();

  // One thread queues every command and waits for none of them: a handler that awaits its
  // commit instead of blocking on it.
  constexpr int in_flight = 1000;
  struct Seen {
    std::mutex mutex;
    std::condition_variable all_in;
    int answered = 0;
    int ok = 0;
    int answered_before_commit = 0;  // a callback that ran before its events were committed
  } seen;
  for (int i = 0; i < in_flight; ++i) {
    store->submit(command("s-" + std::to_string(i), 0), [&seen, &store](AppendOutcome outcome) {
      std::lock_guard lock(seen.mutex);
      if (outcome.status.is_ok()) {
        ++seen.ok;
        if (store->last_seq() < outcome.events.back().seq) ++seen.answered_before_commit;
      }
      if (++seen.answered == in_flight) seen.all_in.notify_all();
    });
  }
  {
    std::lock_guard lock(seen.mutex);
    CHECK(seen.answered == 0);  // the writer is held: nothing is answered before its commit
  }
  gate.open();
  REQUIRE(outcome_of(first).status.is_ok());
  {
    std::unique_lock lock(seen.mutex);
    REQUIRE(seen.all_in.wait_for(lock, wait_max, [&] { return seen.answered == in_flight; }));
    CHECK(seen.ok == in_flight);
    CHECK(seen.answered_before_commit == 0);
  }
  // The gate's commit, then the thousand in one transaction (batch_commands_max is 1024).
  EventStore::Stats stats = store->stats();
  CHECK(stats.commits == 2);
  CHECK(stats.commands == in_flight + 1);
  check_chain(f.all_events());
}

TEST_CASE("submit with a callback answers a refusal before it queues on the calling thread",
          "[event_store]") {
  Fixture f;
  auto store = f.open_store();
  std::optional<AppendOutcome> refused;
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id answered_on;
  store->submit(command("", 0), [&](AppendOutcome outcome) {
    answered_on = std::this_thread::get_id();
    refused = std::move(outcome);
  });
  REQUIRE(refused);
  CHECK(refused->status.code() == StatusCode::invalid_argument);
  CHECK(answered_on == caller);
}

TEST_CASE("a hook's writes commit with the events and roll back with them", "[event_store][hook]") {
  Fixture f;
  create_notes_table(f);
  auto store = f.open_store();

  std::vector<int64_t> seen_seqs;
  AppendCommand ok =
      command("s", 0, 2, [&seen_seqs](sqlite::Db& db, std::span<const RecordedEvent> events) {
        for (const RecordedEvent& e : events) seen_seqs.push_back(e.seq);
        return insert_note("ok")(db, events);
      });
  REQUIRE(store->append(std::move(ok)).status.is_ok());
  CHECK(seen_seqs == std::vector<int64_t>{1, 2});

  // The hook wrote its row, then refused: its row and the command's events are gone.
  AppendOutcome refused = store->append(
      command("s", 2, 1, insert_note("refused", Status(StatusCode::conflict, "stale"))));
  CHECK(refused.status.code() == StatusCode::conflict);

  // A hook whose own statement fails (NOT NULL) rolls back the same way.
  AppendOutcome failed_statement = store->append(command("s", 2, 1, [](sqlite::Db& db, auto) {
    return db.exec("INSERT INTO notes (note, seq) VALUES (NULL, 1)");
  }));
  CHECK(failed_statement.status.code() == StatusCode::invalid_argument);

  sqlite::Db db = f.raw_db();
  CHECK(count_rows(db, "SELECT count(*) FROM notes") == 1);
  CHECK(count_rows(db, "SELECT count(*) FROM notes WHERE note = 'ok' AND seq = 2") == 1);
  CHECK(count_rows(db, "SELECT count(*) FROM events") == 2);
  CHECK_FALSE(store->failed());
}

TEST_CASE("a hook leaving a deferred foreign key violated is refused alone",
          "[event_store][hook]") {
  Fixture f;
  {
    sqlite::Db db = f.raw_db();
    REQUIRE(db.exec("CREATE TABLE parents (id INTEGER PRIMARY KEY) STRICT;"
                    "CREATE TABLE children (parent_id INTEGER NOT NULL"
                    " REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED) STRICT;")
                .is_ok());
  }
  auto store = f.open_store();
  Gate gate;
  std::future<AppendOutcome> first = store->submit(gate.command("gate"));
  gate.wait_entered();
  std::future<AppendOutcome> orphan =
      store->submit(command("orphan", 0, 1, [](sqlite::Db& db, auto) {
        return db.exec("INSERT INTO children (parent_id) VALUES (42)");
      }));
  std::future<AppendOutcome> neighbour = store->submit(command("neighbour", 0, 1));
  gate.open();
  REQUIRE(outcome_of(first).status.is_ok());
  CHECK(outcome_of(orphan).status.code() == StatusCode::invalid_argument);
  CHECK(outcome_of(neighbour).status.is_ok());
  CHECK_FALSE(store->failed());
  check_chain(f.all_events());
  CHECK(f.all_events().size() == 2);
}

TEST_CASE("without group commit every command is its own transaction",
          "[event_store][group_commit]") {
  Fixture f;
  auto store = f.open_store(/*group_commit=*/false);
  Gate gate;
  std::future<AppendOutcome> first = store->submit(gate.command("gate"));
  gate.wait_entered();
  std::vector<std::future<AppendOutcome>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(store->submit(command("s", i, 1)));
  gate.open();
  REQUIRE(outcome_of(first).status.is_ok());
  for (auto& future : queued) CHECK(outcome_of(future).status.is_ok());
  EventStore::Stats stats = store->stats();
  CHECK(stats.commands == 6);
  CHECK(stats.commits == 6);
  check_chain(f.all_events());
}

TEST_CASE("submit answers busy when the queue is full", "[event_store]") {
  Fixture f;
  EventStoreOptions options;
  options.path = f.db_path;
  options.synchronous = Synchronous::normal;
  options.queue_commands_max = 2;
  auto store = f.open_store(options);
  Gate gate;
  std::future<AppendOutcome> first = store->submit(gate.command("gate"));
  gate.wait_entered();  // the writer took it: the queue is empty again
  std::future<AppendOutcome> a = store->submit(command("a", 0, 1));
  std::future<AppendOutcome> b = store->submit(command("b", 0, 1));
  std::future<AppendOutcome> c = store->submit(command("c", 0, 1));
  REQUIRE(c.wait_for(0s) == std::future_status::ready);
  CHECK(c.get().status.code() == StatusCode::busy);
  gate.open();
  CHECK(outcome_of(first).status.is_ok());
  CHECK(outcome_of(a).status.is_ok());
  CHECK(outcome_of(b).status.is_ok());
  CHECK(store->last_seq() == 3);
}

TEST_CASE("the destructor answers every queued command before it returns", "[event_store]") {
  Fixture f;
  std::vector<std::future<AppendOutcome>> futures;
  {
    Gate gate;  // outlives the store: its hook runs while the destructor drains the queue
    auto store = f.open_store();
    futures.push_back(store->submit(gate.command("gate")));
    gate.wait_entered();
    for (int i = 0; i < 20; ++i) futures.push_back(store->submit(command("s", i, 1)));
    gate.open();
  }
  for (auto& future : futures) {
    REQUIRE(future.wait_for(0s) == std::future_status::ready);
    CHECK(future.get().status.is_ok());
  }
  CHECK(f.all_events().size() == 21);
}

TEST_CASE("a caching connection hands a statement back reset, bindings cleared, for the same SQL",
          "[sqlite]") {
  Fixture f;
  sqlite::Db db = f.raw_db();
  db.cache_statements();
  sqlite3_stmt* first = nullptr;
  {
    auto stmt = db.prepare("SELECT ?1");
    REQUIRE(stmt.is_ok());
    stmt->bind(1, int64_t{5});
    REQUIRE(stmt->step().value());
    CHECK(stmt->column_int64(0) == 5);
    first = stmt->raw();  // left mid-result: going back to the cache resets it
  }
  {
    auto again = db.prepare("SELECT ?1");
    REQUIRE(again.is_ok());
    CHECK(again->raw() == first);  // parsed once
    REQUIRE(again->step().value());
    CHECK(again->column_is_null(0));       // the old binding is gone
    auto other = db.prepare("SELECT ?1");  // while the cached one is out: a new one
    REQUIRE(other.is_ok());
    CHECK(other->raw() != first);
  }
  CHECK_FALSE(db.in_transaction());
  // A statement that outlives its connection finalizes on its own.
  std::optional<sqlite::Stmt> orphan;
  {
    sqlite::Db short_lived = f.raw_db();
    short_lived.cache_statements();
    auto stmt = short_lived.prepare("SELECT 1");
    REQUIRE(stmt.is_ok());
    orphan.emplace(std::move(stmt).value());
  }
  orphan.reset();
}

TEST_CASE("read_all pages through the log with after_seq and limit", "[event_store][reader]") {
  Fixture f;
  {
    auto store = f.open_store();
    for (int i = 0; i < 25; ++i)
      REQUIRE(store->append(command("s" + std::to_string(i % 3), i / 3, 1)).status.is_ok());
  }
  EventReader reader = f.reader();
  std::vector<int64_t> seqs;
  int64_t after = 0;
  int pages = 0;
  for (;;) {
    Result<std::vector<RecordedEvent>> page = reader.read_all(after, 10);
    REQUIRE(page.is_ok());
    if (page->empty()) break;
    CHECK(page->size() <= 10);
    for (const RecordedEvent& e : page.value()) seqs.push_back(e.seq);
    after = page->back().seq;
    ++pages;
  }
  CHECK(pages == 3);
  REQUIRE(seqs.size() == 25);
  for (size_t i = 0; i < seqs.size(); ++i) CHECK(seqs[i] == static_cast<int64_t>(i) + 1);
  CHECK(reader.read_all(20, 3)->front().seq == 21);
  CHECK(reader.read_all(20, 3)->size() == 3);
  CHECK(reader.read_all(25, 10)->empty());
  CHECK(reader.read_all(0, 0)->empty());
  CHECK(reader.read_all(0, -5)->empty());
  CHECK(reader.read_all(0, EventReader::read_page_events_max * 10)->size() == 25);
}

TEST_CASE("migrations apply once, are recorded, and detect tampering", "[migrations]") {
  TempDir dir;
  const std::string path = dir.path + "/m.db";
  Result<MigrationReport> first = migrate_file(path);
  REQUIRE(first.is_ok());
  const int newest = embedded_migrations().back().version;
  CHECK(first->version == newest);
  CHECK(first->applied.size() == embedded_migrations().size());
  CHECK(first->applied.front() == "0001_events");

  Result<MigrationReport> second = migrate_file(path);
  REQUIRE(second.is_ok());
  CHECK(second->applied.empty());
  CHECK(second->version == newest);

  Result<sqlite::Db> db = sqlite::Db::open(path, sqlite::Db::Mode::read_write);
  REQUIRE(db.is_ok());
  CHECK(schema_version(db.value()).value() == newest);
  CHECK(schema_is_current(db.value()));
  CHECK(count_rows(db.value(), "SELECT count(*) FROM schema_migrations") ==
        static_cast<int64_t>(embedded_migrations().size()));
  CHECK(count_rows(db.value(),
                   "SELECT count(*) FROM schema_migrations WHERE version = 1 AND checksum = '" +
                       sha256_hex(embedded_migrations().front().sql) + "'") == 1);

  SECTION("a tampered checksum is reported as corrupt, and the store will not open") {
    REQUIRE(db->exec("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1").is_ok());
    Result<MigrationReport> again = migrate(db.value());
    REQUIRE_FALSE(again.is_ok());
    CHECK(again.status().code() == StatusCode::corrupt);
    CHECK_THAT(again.status().message(), Catch::Contains("0001_events"));
    CHECK_FALSE(schema_is_current(db.value()));
    EventStoreOptions options;
    options.path = path;
    CHECK_FALSE(EventStore::open(options).is_ok());
  }
  SECTION("a database migrated by a newer binary is refused") {
    REQUIRE(db->exec("INSERT INTO schema_migrations VALUES (9999, '9999_future', 'c', 0)").is_ok());
    Result<MigrationReport> again = migrate(db.value());
    REQUIRE_FALSE(again.is_ok());
    CHECK_THAT(again.status().message(), Catch::Contains("9999_future"));
    CHECK_FALSE(schema_is_current(db.value()));
  }
}

TEST_CASE("the store refuses a database that is missing or not migrated",
          "[event_store][migrations]") {
  TempDir dir;
  EventStoreOptions options;
  options.path = dir.path + "/missing.db";
  Result<std::unique_ptr<EventStore>> missing = EventStore::open(options);
  REQUIRE_FALSE(missing.is_ok());
  CHECK_THAT(missing.status().message(), Catch::Contains("escrowctl migrate"));

  options.path = dir.path + "/empty.db";
  { REQUIRE(sqlite::Db::open(options.path, sqlite::Db::Mode::read_write_create).is_ok()); }
  Result<std::unique_ptr<EventStore>> empty = EventStore::open(options);
  REQUIRE_FALSE(empty.is_ok());
  CHECK_THAT(empty.status().message(), Catch::Contains("escrowctl migrate"));
  Result<sqlite::Db> db = sqlite::Db::open(options.path, sqlite::Db::Mode::read_write);
  CHECK(schema_version(db.value()).value() == 0);
  CHECK_FALSE(schema_is_current(db.value()));
}

// ----------------------------------------------------------------------------------------------
// A VFS that forwards to the default one but, while `fail_wal_writes` is set, fails every write
// and sync of a WAL file: in WAL mode that is exactly what COMMIT does, and nothing else in an
// append writes to the WAL (the page cache holds a small transaction until it commits).
namespace fault_vfs {

std::atomic<bool> fail_wal_writes{false};
sqlite3_vfs* base = nullptr;
sqlite3_vfs vfs;
sqlite3_io_methods methods;

struct File {
  sqlite3_file file;   // must be first: SQLite sees this
  sqlite3_file* real;  // the base VFS's file, stored right after this struct
  bool is_wal;
};

sqlite3_file* real(sqlite3_file* file) {
  return reinterpret_cast<File*>(file)->real;
}
bool failing(sqlite3_file* file) {
  return reinterpret_cast<File*>(file)->is_wal && fail_wal_writes.load();
}

int x_close(sqlite3_file* f) {
  return real(f)->pMethods->xClose(real(f));
}
int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return real(f)->pMethods->xRead(real(f), buf, n, off);
}
int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (failing(f)) return SQLITE_IOERR_WRITE;
  return real(f)->pMethods->xWrite(real(f), buf, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  if (failing(f)) return SQLITE_IOERR_FSYNC;
  return real(f)->pMethods->xSync(real(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real(f)->pMethods->xFileSize(real(f), size);
}
int x_lock(sqlite3_file* f, int lock) {
  return real(f)->pMethods->xLock(real(f), lock);
}
int x_unlock(sqlite3_file* f, int lock) {
  return real(f)->pMethods->xUnlock(real(f), lock);
}
int x_check_reserved(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  return real(f)->pMethods->xSectorSize(real(f));
}
int x_device(sqlite3_file* f) {
  return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  real(f)->pMethods->xShmBarrier(real(f));
}
int x_shm_unmap(sqlite3_file* f, int del) {
  return real(f)->pMethods->xShmUnmap(real(f), del);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return real(f)->pMethods->xFetch(real(f), off, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return real(f)->pMethods->xUnfetch(real(f), off, p);
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  File* file = reinterpret_cast<File*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  file->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  std::memset(file->real, 0, static_cast<size_t>(base->szOsFile));
  int rc = base->xOpen(base, name, file->real, flags, out_flags);
  file->file.pMethods = file->real->pMethods ? &methods : nullptr;
  return rc;
}

// Makes the fault VFS the default for connections opened from now on.
void install() {
  base = sqlite3_vfs_find(nullptr);
  REQUIRE(base != nullptr);
  REQUIRE(base->iVersion >= 3);
  vfs = *base;
  vfs.zName = "escrow-fault";
  vfs.szOsFile = static_cast<int>(sizeof(File)) + base->szOsFile;
  vfs.xOpen = x_open;
  methods = sqlite3_io_methods{3,           x_close,          x_read,         x_write,
                               x_truncate,  x_sync,           x_file_size,    x_lock,
                               x_unlock,    x_check_reserved, x_file_control, x_sector_size,
                               x_device,    x_shm_map,        x_shm_lock,     x_shm_barrier,
                               x_shm_unmap, x_fetch,          x_unfetch};
  REQUIRE(sqlite3_vfs_register(&vfs, 1) == SQLITE_OK);
}

void uninstall() {
  sqlite3_vfs_register(base, 1);
  sqlite3_vfs_unregister(&vfs);
}

}  // namespace fault_vfs

TEST_CASE("a failed COMMIT puts the store in the failed state", "[event_store][failure]") {
  Fixture f;
  fault_vfs::install();
  {
    auto store = f.open_store();
    REQUIRE(store->append(command("s", 0, 1)).status.is_ok());

    fault_vfs::fail_wal_writes.store(true);
    Gate gate;
    std::future<AppendOutcome> in_failed_batch = store->submit(gate.command("gate"));
    gate.wait_entered();
    std::future<AppendOutcome> neighbour = store->submit(command("s", 1, 1));
    gate.open();
    AppendOutcome outcome = outcome_of(in_failed_batch);
    CHECK(outcome.status.code() == StatusCode::store_failed);
    CHECK_THAT(outcome.status.message(), Catch::Contains("COMMIT"));
    CHECK(outcome_of(neighbour).status.code() == StatusCode::store_failed);
    fault_vfs::fail_wal_writes.store(false);

    CHECK(store->failed());
    CHECK(store->last_seq() == 1);
    // Refused at once, without reaching the writer, even though the disk works again.
    std::future<AppendOutcome> later = store->submit(command("other", 0, 1));
    REQUIRE(later.wait_for(0s) == std::future_status::ready);
    CHECK(later.get().status.code() == StatusCode::store_failed);
  }
  fault_vfs::uninstall();

  // A restart (a new store) finds an intact log and continues it.
  auto store = f.open_store();
  CHECK_FALSE(store->failed());
  CHECK(store->last_seq() == 1);
  AppendOutcome next = store->append(command("s", 1, 1));
  REQUIRE(next.status.is_ok());
  CHECK(next.events[0].seq == 2);
  check_chain(f.all_events());
}

// Not run by default (hidden tag): `event_store_test "[.bench]"` measures append throughput and
// the speed of event_hash.
TEST_CASE("append throughput and hash speed", "[.bench]") {
  Fixture f;
  EventStoreOptions options;
  options.path = f.db_path;  // synchronous = FULL, system clock: the production defaults
  auto store = f.open_store(options);
  constexpr int threads_count = 64;
  constexpr int commands_per_thread = 500;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_count; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < commands_per_thread; ++i) {
        AppendCommand cmd = command("booking-" + std::to_string(t), i, 1);
        cmd.appends[0].events[0].data =
            R"({"amount":250000,"currency":"NGN","description":"cleaning, 3 rooms"})";
        (void)store->append(std::move(cmd));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EventStore::Stats stats = store->stats();
  WARN("appended " << stats.events << " events in " << stats.commits << " commits, " << seconds
                   << " s: " << static_cast<int64_t>(stats.events / seconds) << " events/s");

  std::vector<RecordedEvent> page = f.all_events();
  constexpr int rounds = 1'000'000;
  start = std::chrono::steady_clock::now();
  size_t sink = 0;
  for (int i = 0; i < rounds; ++i)
    sink += event_hash(page[static_cast<size_t>(i) % page.size()]).size();
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("event_hash: " << static_cast<int64_t>(rounds / seconds) << " hashes/s (" << sink << ")");
}
