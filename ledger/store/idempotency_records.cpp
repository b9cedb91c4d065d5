// Idempotency-Key records in SQLite; see idempotency_records.h.
#include "ledger/store/idempotency_records.h"

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>

#include "ledger/hash.h"
#include "ledger/store/sqlite.h"

namespace escrow {

namespace {

constexpr const char* select_sql =
    "SELECT fingerprint, owner, status, headers, body FROM idempotency_keys "
    "WHERE actor = ?1 AND key = ?2";
constexpr const char* insert_sql =
    "INSERT INTO idempotency_keys (actor, key, fingerprint, method, route, owner, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
// Takes over a claim a dead process left behind.
constexpr const char* take_over_sql =
    "UPDATE idempotency_keys SET owner = ?3, created_at = ?4 "
    "WHERE actor = ?1 AND key = ?2 AND status IS NULL";
constexpr const char* complete_sql =
    "UPDATE idempotency_keys SET status = ?4, headers = ?5, body = ?6, completed_at = ?7 "
    "WHERE actor = ?1 AND key = ?2 AND owner = ?3 AND status IS NULL";
// The same inside a command's transaction; a response stored earlier by the same request is
// replaced.
constexpr const char* store_in_sql =
    "UPDATE idempotency_keys SET status = ?4, headers = ?5, body = ?6, completed_at = ?7 "
    "WHERE actor = ?1 AND key = ?2 AND owner = ?3";
constexpr const char* release_sql =
    "DELETE FROM idempotency_keys WHERE actor = ?1 AND key = ?2 AND owner = ?3 AND status IS NULL";

// Resets a cached statement when the scope ends, whatever happened.
class StmtReset {
 public:
  explicit StmtReset(sqlite::Stmt& stmt) : stmt_(stmt) {}
  ~StmtReset() { stmt_.reset(); }
  StmtReset(const StmtReset&) = delete;
  StmtReset& operator=(const StmtReset&) = delete;

 private:
  sqlite::Stmt& stmt_;
};

// The event store's writer holds the write lock for a few milliseconds per group commit; a
// claim or a completion holds it for microseconds. Polling every 200 us (then every 1 ms)
// instead of SQLite's default back-off of up to 100 ms keeps an idempotent request from waiting
// much longer than the commit it queued behind. Gives up after about five seconds.
int busy_poll(void*, int attempts) {
  constexpr int fine_attempts = 500;  // 0.1 s at 200 us
  constexpr int attempts_max = fine_attempts + 4'900;
  if (attempts >= attempts_max) return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(attempts < fine_attempts ? 200 : 1'000));
  return 1;
}

std::string random_instance_id() {
  std::array<unsigned char, 16> bytes{};
  LEDGER_ASSERT(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1,
                "the OpenSSL random generator failed");
  return to_hex(bytes.data(), bytes.size());
}

}  // namespace

struct IdempotencyRecords::Impl {
  std::mutex mutex;  // guards db and the statements
  sqlite::Db db;     // declared first: the statements are finalized before it closes
  sqlite::Stmt select, insert, take_over, complete, release;
  std::string instance_id;

  explicit Impl(sqlite::Db db_in) : db(std::move(db_in)), instance_id(random_instance_id()) {}
};

IdempotencyRecords::IdempotencyRecords(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IdempotencyRecords::~IdempotencyRecords() = default;

const std::string& IdempotencyRecords::instance_id() const {
  return impl_->instance_id;
}

Result<std::unique_ptr<IdempotencyRecords>> IdempotencyRecords::open(const std::string& db_path) {
  Result<sqlite::Db> db = sqlite::Db::open(db_path, sqlite::Db::Mode::read_write);
  if (!db.is_ok()) return db.status();
  sqlite3_busy_handler(db->raw(), busy_poll, nullptr);
  Status status = db->exec("PRAGMA synchronous=NORMAL");
  if (!status.is_ok()) return status;
  auto impl = std::make_unique<Impl>(std::move(db).value());
  std::pair<sqlite::Stmt*, const char*> all[] = {{&impl->select, select_sql},
                                                 {&impl->insert, insert_sql},
                                                 {&impl->take_over, take_over_sql},
                                                 {&impl->complete, complete_sql},
                                                 {&impl->release, release_sql}};
  for (auto& [slot, sql] : all) {
    Result<sqlite::Stmt> stmt = impl->db.prepare(sql);
    if (!stmt.is_ok())
      return Status(stmt.status().code(),
                    "idempotency store (is the database migrated?): " + stmt.status().message());
    *slot = std::move(stmt).value();
  }
  return std::unique_ptr<IdempotencyRecords>(new IdempotencyRecords(std::move(impl)));
}

Result<IdempotencyClaim> IdempotencyRecords::claim(std::string_view actor, std::string_view key,
                                                   std::string_view method, std::string_view route,
                                                   std::string_view fingerprint, int64_t now_ms) {
  Impl& s = *impl_;
  std::lock_guard lock(s.mutex);
  Result<sqlite::Transaction> tx = sqlite::Transaction::begin(s.db);
  if (!tx.is_ok()) return tx.status();
  IdempotencyClaim claim;
  {
    StmtReset reset(s.select);
    Result<bool> row = s.select.bind(1, actor).bind(2, key).step();
    if (!row.is_ok()) return row.status();
    if (row.value()) {
      if (s.select.column_view(0) != fingerprint) {
        claim.kind = IdempotencyClaim::Kind::reused;
      } else if (!s.select.column_is_null(2)) {
        claim.kind = IdempotencyClaim::Kind::replay;
        claim.stored.status = static_cast<int>(s.select.column_int64(2));
        claim.stored.headers = s.select.column_text(3);
        claim.stored.body = s.select.column_text(4);
      } else if (s.select.column_view(1) == s.instance_id) {
        claim.kind = IdempotencyClaim::Kind::in_flight;
      } else {
        Status status =
            s.take_over.bind(1, actor).bind(2, key).bind(3, s.instance_id).bind(4, now_ms).run();
        if (!status.is_ok()) return status;
      }
      if (claim.kind != IdempotencyClaim::Kind::claimed) return claim;  // read only: rolled back
    } else {
      Status status = s.insert.bind(1, actor)
                          .bind(2, key)
                          .bind(3, fingerprint)
                          .bind(4, method)
                          .bind(5, route)
                          .bind(6, s.instance_id)
                          .bind(7, now_ms)
                          .run();
      if (!status.is_ok()) return status;
    }
  }
  Status committed = tx->commit();
  if (!committed.is_ok()) return committed;
  return claim;
}

Status IdempotencyRecords::complete(std::string_view actor, std::string_view key,
                                    const StoredResponse& response, int64_t now_ms) {
  Impl& s = *impl_;
  std::lock_guard lock(s.mutex);
  return s.complete.bind(1, actor)
      .bind(2, key)
      .bind(3, s.instance_id)
      .bind(4, response.status)
      .bind(5, response.headers)
      .bind(6, response.body)
      .bind(7, now_ms)
      .run();
}

Status IdempotencyRecords::release(std::string_view actor, std::string_view key) {
  Impl& s = *impl_;
  std::lock_guard lock(s.mutex);
  return s.release.bind(1, actor).bind(2, key).bind(3, s.instance_id).run();
}

Status IdempotencyRecords::store_in(sqlite::Db& db, std::string_view actor, std::string_view key,
                                    std::string_view owner, const StoredResponse& response,
                                    int64_t now_ms) {
  Result<sqlite::Stmt> stmt = db.prepare(store_in_sql);
  if (!stmt.is_ok()) return stmt.status();
  return stmt->bind(1, actor)
      .bind(2, key)
      .bind(3, owner)
      .bind(4, response.status)
      .bind(5, response.headers)
      .bind(6, response.body)
      .bind(7, now_ms)
      .run();
}

}  // namespace escrow
