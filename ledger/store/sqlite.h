// A thin RAII layer over the SQLite C API: move-only Db and Stmt, typed bind, and extended result
// codes mapped to Status. No ORM. Thread-safety: a Db and its Stmts belong to one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace escrow::sqlite {

class Stmt;

class Db {
 public:
  enum class Mode { read_write_create, read_write, read_only };

  static Result<Db> open(const std::string& path, Mode mode);
  Db() = default;
  ~Db();
  Db(Db&& other) noexcept : db_(other.db_), cache_(std::move(other.cache_)) { other.db_ = nullptr; }
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status exec(const std::string& sql);  // one or more statements, no results
  Result<Stmt> prepare(std::string_view sql);
  // From now on a statement prepared here is kept when its Stmt goes (reset, bindings cleared)
  // and handed out again by prepare() for the same SQL text, so a connection that runs the same
  // queries over and over (a read connection, the writer's) parses each once.
  void cache_statements();
  Status error(std::string_view what) const;  // Status from the last error on this connection
  int64_t changes() const { return sqlite3_changes64(db_); }
  bool in_transaction() const { return db_ && !sqlite3_get_autocommit(db_); }
  sqlite3* raw() const { return db_; }
  bool is_open() const { return db_ != nullptr; }

 private:
  friend class Stmt;
  struct StatementCache;
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
  std::shared_ptr<StatementCache> cache_;  // set by cache_statements()
};

class Stmt {
 public:
  Stmt() = default;
  ~Stmt();
  Stmt(Stmt&& other) noexcept
      : stmt_(other.stmt_), cache_(std::move(other.cache_)), sql_(std::move(other.sql_)) {
    other.stmt_ = nullptr;
  }
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT) unless bound with
  // bind_static, whose buffer must outlive the next step().
  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Stmt& bind(int index, std::string_view value);
  Stmt& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Stmt& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Stmt& bind_static(int index, std::string_view value);
  Stmt& bind_null(int index);

  // One step: a row (true), done (false) or an error.
  Result<bool> step();
  Status run();  // step to completion, ignoring rows; then reset
  void reset();  // reset and clear bindings

  int64_t column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string column_text(int col) const;
  std::string_view column_view(int col) const;  // valid until the next step/reset
  bool column_is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int column_count() const { return sqlite3_column_count(stmt_); }
  sqlite3_stmt* raw() const { return stmt_; }

 private:
  friend class Db;
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  void release();  // back to its connection's cache, or finalized
  sqlite3_stmt* stmt_ = nullptr;
  std::weak_ptr<Db::StatementCache> cache_;  // set when prepared on a caching connection
  std::string sql_;                          // the key it is cached under
};

// A transaction that rolls back in its destructor unless committed.
class Transaction {
 public:
  enum class Kind { deferred, immediate };
  static Result<Transaction> begin(Db& db, Kind kind = Kind::immediate);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Status commit();

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_ = nullptr;
};

// Maps an SQLite (extended) result code to a Status.
Status status_from_code(int code, std::string_view what, sqlite3* db = nullptr);

}  // namespace escrow::sqlite
