// Idempotency-Key records in SQLite; see idempotency.h.
#include "api/idempotency.h"

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "ledger/hash.h"
#include "ledger/text.h"

namespace escrow::api {

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

// The response headers worth replaying: everything the handler set except the request id,
// which belongs to the request that is answered now. One "name: value" per line; header values
// hold no line breaks (the server refuses them).
std::string encode_headers(const Headers& headers) {
  std::string out;
  for (const Header& h : headers.all()) {
    if (ascii_iequals(h.name, "X-Request-Id")) continue;
    out += h.name;
    out += ": ";
    out += h.value;
    out += '\n';
  }
  return out;
}

Headers decode_headers(std::string_view text) {
  Headers headers;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    size_t colon = line.find(": ");
    if (colon != std::string_view::npos) headers.add(line.substr(0, colon), line.substr(colon + 2));
  }
  return headers;
}

void add_length_prefixed(Sha256& sha, std::string_view part) {
  sha.update(std::to_string(part.size()));
  sha.update(":");
  sha.update(part);
}

}  // namespace

bool idempotency_key_valid(std::string_view key) {
  if (key.empty() || key.size() > idempotency_key_bytes_max) return false;
  for (char c : key)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::string request_fingerprint(std::string_view method, std::string_view route,
                                const HttpRequest& request) {
  Sha256 sha;
  add_length_prefixed(sha, method);
  add_length_prefixed(sha, route);
  add_length_prefixed(sha, request.target);
  add_length_prefixed(sha, request.headers.get("Content-Type").value_or(""));
  add_length_prefixed(sha, request.body);
  return to_hex(sha.finish());
}

struct IdempotencyStore::Claim {
  enum class Kind { claimed, replay, reused, in_flight } kind = Kind::claimed;
  HttpResponse stored;  // for replay
};

struct IdempotencyStore::Statements {
  sqlite::Stmt select, insert, take_over, complete, release;
};

IdempotencyStore::IdempotencyStore(sqlite::Db db, std::string instance_id)
    : db_(std::move(db)),
      statements_(std::make_unique<Statements>()),
      instance_id_(std::move(instance_id)) {}

IdempotencyStore::~IdempotencyStore() = default;

Result<std::unique_ptr<IdempotencyStore>> IdempotencyStore::open(const std::string& db_path) {
  Result<sqlite::Db> db = sqlite::Db::open(db_path, sqlite::Db::Mode::read_write);
  if (!db.is_ok()) return db.status();
  sqlite3_busy_handler(db->raw(), busy_poll, nullptr);
  Status status = db->exec("PRAGMA synchronous=NORMAL");
  if (!status.is_ok()) return status;
  std::unique_ptr<IdempotencyStore> store(
      new IdempotencyStore(std::move(db).value(), random_instance_id()));
  Statements& s = *store->statements_;
  std::pair<sqlite::Stmt*, const char*> all[] = {{&s.select, select_sql},
                                                 {&s.insert, insert_sql},
                                                 {&s.take_over, take_over_sql},
                                                 {&s.complete, complete_sql},
                                                 {&s.release, release_sql}};
  for (auto& [slot, sql] : all) {
    Result<sqlite::Stmt> stmt = store->db_.prepare(sql);
    if (!stmt.is_ok())
      return Status(stmt.status().code(),
                    "idempotency store (is the database migrated?): " + stmt.status().message());
    *slot = std::move(stmt).value();
  }
  return store;
}

HttpResponse IdempotencyStore::run(std::string_view actor, std::string_view method,
                                   std::string_view route, const HttpRequest& request,
                                   const std::function<HttpResponse()>& handler, int64_t now_ms) {
  std::optional<std::string_view> key = request.headers.get(idempotency_key_header);
  if (!key) return handler();
  if (!idempotency_key_valid(*key))
    return error_response(400, "invalid_idempotency_key",
                          "Idempotency-Key must be 1 to 255 printable ASCII characters.");

  Result<Claim> claimed =
      claim(actor, *key, method, route, request_fingerprint(method, route, request), now_ms);
  if (!claimed.is_ok())
    return error_response(503, "unavailable",
                          "The idempotency record could not be read; nothing was done.");
  switch (claimed->kind) {
    case Claim::Kind::replay:
      claimed->stored.headers.set(idempotent_replayed_header, "true");
      return std::move(claimed->stored);
    case Claim::Kind::reused:
      return error_response(422, "idempotency_key_reused",
                            "This Idempotency-Key was used for a different request.");
    case Claim::Kind::in_flight:
      return error_response(409, "idempotency_in_flight",
                            "A request with this Idempotency-Key is still being processed.");
    case Claim::Kind::claimed:
      break;
  }

  HttpResponse response;
  try {
    response = handler();
  } catch (...) {
    (void)release(actor, *key);
    throw;
  }
  // When the response cannot be stored, the key is given back instead: a retry then runs the
  // command again, which the ledger answers without a second effect.
  bool success = response.status >= 200 && response.status <= 299;
  if (!success || !complete(actor, *key, response, now_ms).is_ok()) (void)release(actor, *key);
  return response;
}

Result<IdempotencyStore::Claim> IdempotencyStore::claim(
    std::string_view actor, std::string_view key, std::string_view method, std::string_view route,
    const std::string& fingerprint, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Result<sqlite::Transaction> tx = sqlite::Transaction::begin(db_);
  if (!tx.is_ok()) return tx.status();
  Statements& s = *statements_;
  Claim claim;
  {
    StmtReset reset(s.select);
    Result<bool> row = s.select.bind(1, actor).bind(2, key).step();
    if (!row.is_ok()) return row.status();
    if (row.value()) {
      if (s.select.column_view(0) != fingerprint) {
        claim.kind = Claim::Kind::reused;
      } else if (!s.select.column_is_null(2)) {
        claim.kind = Claim::Kind::replay;
        claim.stored.status = static_cast<int>(s.select.column_int64(2));
        claim.stored.headers = decode_headers(s.select.column_view(3));
        claim.stored.body = s.select.column_text(4);
      } else if (s.select.column_view(1) == instance_id_) {
        claim.kind = Claim::Kind::in_flight;
      } else {
        Status status =
            s.take_over.bind(1, actor).bind(2, key).bind(3, instance_id_).bind(4, now_ms).run();
        if (!status.is_ok()) return status;
      }
      if (claim.kind != Claim::Kind::claimed) return claim;  // read only: rolled back
    } else {
      Status status = s.insert.bind(1, actor)
                          .bind(2, key)
                          .bind(3, fingerprint)
                          .bind(4, method)
                          .bind(5, route)
                          .bind(6, instance_id_)
                          .bind(7, now_ms)
                          .run();
      if (!status.is_ok()) return status;
    }
  }
  Status committed = tx->commit();
  if (!committed.is_ok()) return committed;
  return claim;
}

Status IdempotencyStore::complete(std::string_view actor, std::string_view key,
                                  const HttpResponse& response, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  return statements_->complete.bind(1, actor)
      .bind(2, key)
      .bind(3, instance_id_)
      .bind(4, response.status)
      .bind(5, encode_headers(response.headers))
      .bind(6, response.body)
      .bind(7, now_ms)
      .run();
}

Status IdempotencyStore::release(std::string_view actor, std::string_view key) {
  std::lock_guard lock(mutex_);
  return statements_->release.bind(1, actor).bind(2, key).bind(3, instance_id_).run();
}

}  // namespace escrow::api
