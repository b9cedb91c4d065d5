// A pool of read-only SQLite connections for queries (lists, balances, webhook deliveries), so
// readers never wait for the writer (WAL) and never share a connection between threads.
//
//   auto lease = reads.lease();
//   if (!lease.is_ok()) return internal_error(lease.status());
//   sqlite::Db& db = lease.value().db();
//
// Thread-safety: lease() may be called from any thread; a Lease is used by one thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/store/sqlite.h"

namespace escrow {

class ReadPool {
 public:
  static constexpr size_t idle_max = 32;
  explicit ReadPool(std::string path) : path_(std::move(path)) {}

  class Lease {
   public:
    Lease(ReadPool* pool, std::unique_ptr<sqlite::Db> db) : pool_(pool), db_(std::move(db)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    sqlite::Db& db() { return *db_; }

   private:
    ReadPool* pool_;
    std::unique_ptr<sqlite::Db> db_;
  };

  Result<Lease> lease();
  size_t idle_count();  // connections waiting to be leased again

 private:
  void give_back(std::unique_ptr<sqlite::Db> db);
  std::string path_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<sqlite::Db>> idle_;
};

}  // namespace escrow
