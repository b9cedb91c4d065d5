#include "ledger/store/sqlite.h"

#include <unordered_map>
#include <utility>
#include <vector>

namespace escrow::sqlite {

Status status_from_code(int code, std::string_view what, sqlite3* db) {
  std::string message(what);
  message += ": ";
  message += db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  switch (code & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::ok();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status(StatusCode::busy, message);
    case SQLITE_CONSTRAINT:
      // UNIQUE(stream, version) or the primary key: somebody else wrote that slot first.
      if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        return Status(StatusCode::conflict, message);
      return Status(StatusCode::invalid_argument, message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status(StatusCode::corrupt, message);
    case SQLITE_NOTFOUND:
      return Status(StatusCode::not_found, message);
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_ERROR:
      return Status(StatusCode::invalid_argument, message);
    default:
      return Status(StatusCode::io_error, message);
  }
}

Result<Db> Db::open(const std::string& path, Mode mode) {
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case Mode::read_write_create:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
    case Mode::read_write:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case Mode::read_only:
      flags |= SQLITE_OPEN_READONLY;
      break;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);  // closes on every path, including a failed open
  if (rc != SQLITE_OK) return status_from_code(rc, "open " + path, raw);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

// Idle prepared statements by SQL text; owned by its Db, which finalizes them before it closes.
struct Db::StatementCache {
  static constexpr size_t idle_per_sql_max = 4;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> idle;

  void finalize_all() {
    for (auto& [sql, statements] : idle) {
      for (sqlite3_stmt* s : statements) sqlite3_finalize(s);
    }
    idle.clear();
  }
};

Db::~Db() {
  if (cache_) cache_->finalize_all();
  if (db_) sqlite3_close_v2(db_);
}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (cache_) cache_->finalize_all();
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

void Db::cache_statements() {
  if (!cache_) cache_ = std::make_shared<StatementCache>();
}

Status Db::exec(const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Status::ok();
  std::string message = error ? error : sqlite3_errstr(rc);
  sqlite3_free(error);
  Status status = status_from_code(sqlite3_extended_errcode(db_), "exec", db_);
  return Status(status.code(), "exec: " + message);
}

Result<Stmt> Db::prepare(std::string_view sql) {
  if (cache_) {
    std::string key(sql);
    if (auto it = cache_->idle.find(key); it != cache_->idle.end() && !it->second.empty()) {
      Stmt stmt(it->second.back());
      it->second.pop_back();
      stmt.cache_ = cache_;
      stmt.sql_ = std::move(key);
      return stmt;
    }
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) return status_from_code(rc, "prepare " + std::string(sql), db_);
  Stmt stmt(raw);
  if (cache_) {
    stmt.cache_ = cache_;
    stmt.sql_ = std::string(sql);
  }
  return stmt;
}

Status Db::error(std::string_view what) const {
  return status_from_code(sqlite3_extended_errcode(db_), what, db_);
}

void Stmt::release() {
  if (!stmt_) return;
  if (auto cache = cache_.lock()) {
    std::vector<sqlite3_stmt*>& idle = cache->idle[sql_];
    if (idle.size() < Db::StatementCache::idle_per_sql_max) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
      idle.push_back(std::exchange(stmt_, nullptr));
      return;
    }
  }
  sqlite3_finalize(std::exchange(stmt_, nullptr));
}

Stmt::~Stmt() {
  release();
}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    release();
    stmt_ = std::exchange(other.stmt_, nullptr);
    cache_ = std::move(other.cache_);
    sql_ = std::move(other.sql_);
  }
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Stmt& Stmt::bind_static(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  return status_from_code(sqlite3_extended_errcode(db), "step", db);
}

Status Stmt::run() {
  for (;;) {
    Result<bool> row = step();
    if (!row.is_ok()) {
      reset();
      return row.status();
    }
    if (!row.value()) break;
  }
  reset();
  return Status::ok();
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Stmt::column_text(int col) const {
  return std::string(column_view(col));
}

std::string_view Stmt::column_view(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (!text) return {};
  return std::string_view(reinterpret_cast<const char*>(text),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

Result<Transaction> Transaction::begin(Db& db, Kind kind) {
  Status status = db.exec(kind == Kind::immediate ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!status.is_ok()) return status;
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ && db_->in_transaction()) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  Status status = db_->exec("COMMIT");
  if (status.is_ok()) db_ = nullptr;
  return status;
}

}  // namespace escrow::sqlite
