// verify() and rebuild() read the log in chunks on several threads (projections/log_scan.h); what
// they find must not depend on where the chunks begin and end, nor on how many threads read them.
// How: a small real log (bookings paid, released and paid out, a refund) is verified and rebuilt
// with chunks of 1 to 7 events and with one big chunk, on 1 to 3 threads; every shape must agree
// with the others and with the live tables. Then copies of the file are broken exactly at chunk
// boundaries (the first and the last event of a chunk, the first event of the log, the last):
// an event altered, its stored hash or prev_hash changed, an event removed, an event appended
// behind the decider's back that overdraws an account. Every shape must name the same first bad
// seq, the same problem and the same number of events checked as one sequential chunk does.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "ledger/store/event_store.h"
#include "ledger/store/shell.h"
#include "projections/rebuild.h"
#include "test/ledger_db.h"

using namespace escrow;

namespace {

const Actor service{"marketplace", Role::service};
const Actor paystack_system{"paystack", Role::system};
const Actor provider_1{"provider-1", Role::provider};
const Actor client_1{"client-1", Role::client};

// Every scan shape the tests try: chunk sizes that put boundaries everywhere, and one chunk.
std::vector<projections::ScanShape> shapes() {
  std::vector<projections::ScanShape> out;
  for (int threads : {1, 2, 3}) {
    for (int64_t chunk : {1, 2, 3, 4, 5, 7, 1 << 20}) out.push_back({threads, chunk});
  }
  return out;
}

struct Log : LedgerDb {
  void run(const std::string& booking, BookingCommand command, Actor actor) {
    CommandResult r =
        shell->execute(booking, command, CommandContext{std::move(actor), {}, {}, {}, {}});
    REQUIRE(r.status.is_ok());
    REQUIRE(r.ok());
  }
  void pay(const std::string& id, int64_t n) {
    auto state = shell->load_booking(id);
    REQUIRE(state.is_ok());
    auto due = next_payment(state.value(), clock.now_ms());
    REQUIRE(std::holds_alternative<PaymentDue>(due));
    const PaymentDue& d = std::get<PaymentDue>(due);
    run(id, InitiatePayment{d.reference, d.installment, d.amount, "https://checkout/x", "x"},
        client_1);
    run(id,
        CapturePayment{d.reference, std::nullopt, d.amount, 4'100'000'000LL + n,
                       Money{100, Currency::NGN}, "card", std::nullopt, "webhook"},
        paystack_system);
  }
  // About thirty events over a provider stream and several booking streams, interleaved.
  void write_history() {
    CommandResult registered = shell->execute(
        "provider-1", RegisterPayoutAccount{"RCP_1", "058", "Bola", "6789", Currency::NGN},
        CommandContext{service, {}, {}, {}, {}});
    REQUIRE(registered.ok());
    for (int i = 1; i <= 4; ++i) {
      std::string id = "b" + std::to_string(i);
      CreateBooking c{id,
                      "client-1",
                      "provider-1",
                      "ada@example.com",
                      "Deep clean",
                      Money{100'000 * i, Currency::NGN},
                      PaymentPlan::full,
                      0,
                      500,
                      3 * 24 * 3600,
                      std::nullopt};
      run(id, c, service);
      pay(id, i);
    }
    for (int i = 1; i <= 3; ++i) {
      std::string id = "b" + std::to_string(i);
      run(id, SubmitProof{"done", {}, {}}, provider_1);
      run(id, ConfirmCompletion{}, client_1);
    }
    run("b4", CancelBooking{"changed plans"}, client_1);
  }
  int64_t last_seq() { return integer("SELECT MAX(seq) FROM events"); }

  // A consistent copy of the database, to break.
  std::string copy(const std::string& name) {
    std::string to = dir.path + "/" + name + ".db";
    sqlite::Db db = connect();
    REQUIRE(db.exec("VACUUM INTO '" + to + "'").is_ok());
    return to;
  }
};

sqlite::Db open(const std::string& path, sqlite::Db::Mode mode = sqlite::Db::Mode::read_only) {
  auto db = sqlite::Db::open(path, mode);
  REQUIRE(db.is_ok());
  return std::move(db).value();
}

// Lets UPDATE and DELETE through on `events`, whatever its triggers are called.
void drop_event_triggers(sqlite::Db& db) {
  auto triggers =
      db.prepare("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='events'");
  REQUIRE(triggers.is_ok());
  std::vector<std::string> names;
  while (triggers->step().value()) names.push_back(triggers->column_text(0));
  triggers = sqlite::Stmt();
  for (const std::string& name : names) REQUIRE(db.exec("DROP TRIGGER " + name).is_ok());
}

struct Found {
  std::optional<int64_t> first_bad_seq;
  std::string problem;
  int64_t events = 0;
  bool operator==(const Found&) const = default;
};

Found verify_with(const std::string& path, const projections::ScanShape& shape) {
  sqlite::Db db = open(path);
  auto report = projections::verify(db, {}, shape);
  REQUIRE(report.is_ok());
  return Found{report->first_bad_seq, report->ok() ? "" : report->problems.front(), report->events};
}

// Verifies `path` in every shape; each must find what one sequential chunk finds.
Found verify_every_shape(const std::string& path) {
  Found expected = verify_with(path, {1, 1 << 20});
  for (const projections::ScanShape& shape : shapes()) {
    INFO("threads " << shape.threads << ", chunks of " << shape.chunk_events);
    CHECK(verify_with(path, shape) == expected);
  }
  return expected;
}

// The digests of every projection table as they are.
std::vector<std::string> table_digests(const std::string& path) {
  sqlite::Db db = open(path);
  std::vector<std::string> out;
  for (const projections::TableSpec& s : projections::table_specs()) {
    auto digest = projections::table_digest(db, s, s.name);
    REQUIRE(digest.is_ok());
    out.push_back(std::string(s.name) + " " + digest->hex());
  }
  return out;
}

}  // namespace

TEST_CASE("a ledger entry is digested as its row would be") {
  for (const Posting& p :
       {Posting{"escrow:b1", "provider:p1:available", Money{950'000, Currency::NGN}},
        Posting{"", "paystack:clearing", Money{-1, Currency::NGN}},
        Posting{"client:c\n1:refund_in_flight", "x", Money{0, Currency::NGN}}}) {
    projections::TableDigest direct, by_row;
    direct.add_ledger_entry(42, 1, p);
    by_row.add(projections::ledger_entry_row(42, 1, p));
    CHECK(direct == by_row);
  }
}

TEST_CASE("verify and rebuild agree whatever the chunks and threads") {
  Log log;
  log.write_history();
  int64_t n = log.last_seq();
  REQUIRE(n >= 25);
  Found ok = verify_every_shape(log.path);
  CHECK(ok == Found{std::nullopt, "", n});
  std::vector<std::string> live = table_digests(log.path);
  for (const projections::ScanShape& shape : shapes()) {
    INFO("threads " << shape.threads << ", chunks of " << shape.chunk_events);
    sqlite::Db db = open(log.path, sqlite::Db::Mode::read_write);
    auto rebuilt = projections::rebuild(db, {}, shape);
    REQUIRE(rebuilt.is_ok());
    CHECK(rebuilt->events == n);
    CHECK(rebuilt->differed.empty());
    CHECK(table_digests(log.path) == live);
  }
  log.expect_verified();
}

TEST_CASE("a break exactly at a chunk boundary is found as anywhere else") {
  Log log;
  log.write_history();
  int64_t n = log.last_seq();
  // With chunks of 4 events, seq 4 ends a chunk and seq 5 starts one; 1 and n are the log's ends.
  for (int64_t seq : {int64_t{1}, int64_t{4}, int64_t{5}, int64_t{8}, int64_t{9}, n}) {
    std::string at = std::to_string(seq);
    INFO("seq " << seq);
    struct Break {
      const char* name;
      std::string sql;
      int64_t first_bad_seq;
      std::string why;
    };
    std::vector<Break> breaks = {
        {"altered", "UPDATE events SET data = replace(data, '\"', ' \"') WHERE seq = " + at, seq,
         "hash does not match the event's content (altered)"},
        {"rehashed",
         "UPDATE events SET hash = replace(hash, substr(hash, 1, 1), 'x') WHERE seq = " + at, seq,
         "hash does not match the event's content (altered)"},
        {"relinked",
         "UPDATE events SET prev_hash = replace(prev_hash, substr(prev_hash, 1, 1), 'x') WHERE "
         "seq = " +
             at,
         seq, "prev_hash does not match the hash of seq"},
        {"removed", "DELETE FROM events WHERE seq = " + at, seq + 1,
         "expected seq " + at + " (a gap)"},
    };
    for (const Break& b : breaks) {
      INFO(b.name);
      if (b.first_bad_seq > n) continue;  // removing the last event leaves a shorter, sound log
      std::string path = log.copy(std::string(b.name) + at);
      {
        sqlite::Db db = open(path, sqlite::Db::Mode::read_write);
        drop_event_triggers(db);
        REQUIRE(db.exec(b.sql).is_ok());
        REQUIRE(db.changes() == 1);
      }
      Found found = verify_every_shape(path);
      CHECK(found.first_bad_seq == b.first_bad_seq);
      CHECK(found.problem.find("seq " + std::to_string(b.first_bad_seq) + ": ") == 0);
      CHECK(found.problem.find(b.why) != std::string::npos);
      // Every row before the bad one was checked, and the bad one (after a gap, the row after it).
      CHECK(found.events == seq);
      std::filesystem::remove(path);
    }
  }
}

TEST_CASE("an overdraft appended behind the decider's back at a chunk boundary is found") {
  // The overdraft lands on the first event of a chunk of 4 (seq % 4 == 1), then on the last.
  for (int64_t target_mod : {1, 0}) {
    INFO("seq % 4 == " << target_mod);
    Log log;
    log.write_history();
    while (log.last_seq() % 4 != (target_mod + 3) % 4) {
      std::string id = "pad" + std::to_string(log.last_seq());
      CreateBooking c{id,
                      "client-2",
                      "provider-2",
                      "bo@example.com",
                      "Windows",
                      Money{50'000, Currency::NGN},
                      PaymentPlan::full,
                      0,
                      500,
                      3 * 24 * 3600,
                      std::nullopt};
      log.run(id, c, service);
    }
    auto state = log.shell->load_provider("provider-1");
    REQUIRE(state.is_ok());
    PayoutRequested overdraft{"provider-1",
                              "po-x",
                              "ref-x",
                              "RCP_1",
                              Money{900'000'000, Currency::NGN},
                              PayoutSource::withdrawal,
                              std::nullopt,
                              "w-x",
                              std::nullopt,
                              1,
                              std::nullopt};
    AppendOutcome out = log.store->append(AppendCommand{
        {StreamAppend{provider_stream("provider-1"),
                      state->version,
                      {to_new_event(Event{overdraft},
                                    encode_meta(EventMeta{"x", Role::system, {}, {}, {}}))}}},
        {}});
    REQUIRE(out.status.is_ok());
    int64_t seq = out.events.front().seq;
    CHECK(seq % 4 == target_mod);
    Found found = verify_every_shape(log.path);
    CHECK(found.first_bad_seq == seq);
    CHECK(found.problem == "seq " + std::to_string(seq) +
                               ": account provider:provider-1:available would go negative");
    CHECK(found.events == seq);
  }
}
