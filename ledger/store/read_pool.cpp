// Read-only SQLite connections, recycled; see read_pool.h.
#include "ledger/store/read_pool.h"

namespace escrow {

ReadPool::Lease::~Lease() {
  if (pool_ != nullptr && db_ != nullptr) pool_->give_back(std::move(db_));
}

Result<ReadPool::Lease> ReadPool::lease() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<sqlite::Db> db = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(db));
    }
  }
  auto db = sqlite::Db::open(path_, sqlite::Db::Mode::read_only);
  if (!db.is_ok()) return db.status();
  db->cache_statements();  // the queries run the same statements on every request
  return Lease(this, std::make_unique<sqlite::Db>(std::move(db).value()));
}

size_t ReadPool::idle_count() {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

void ReadPool::give_back(std::unique_ptr<sqlite::Db> db) {
  if (db->in_transaction()) return;  // a reader left a transaction open: drop the connection
  std::lock_guard lock(mutex_);
  if (idle_.size() < idle_max) idle_.push_back(std::move(db));
}

}  // namespace escrow
