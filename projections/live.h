// LiveProjections: the read models written inline, inside the writer's transaction, for every
// command the shell appends. They use the same row functions as a rebuild (tables.h), so
// `escrowctl verify` can demand that the live tables equal a fresh rebuild. The webhook log
// (webhook_log.h) writes its table through apply_webhook_events().
// Thread-safety: apply() runs on the store's single writer thread; available_balance() may run
// on any thread with its own connection.
#pragma once

#include <memory>

#include "ledger/store/shell.h"
#include "projections/tables.h"

namespace escrow::projections {

class LiveProjections final : public ProjectionSink {
 public:
  LiveProjections();
  ~LiveProjections() override;

  Status apply(sqlite::Db& db, const StreamStates& after,
               std::span<const RecordedEvent> recorded) override;
  // The webhook_deliveries rows of events of the paystack-webhooks stream (other streams'
  // events are left to apply()). Runs on the writer thread inside the command's SAVEPOINT; a
  // WebhookProcessed about a delivery that has no row is not_found.
  Status apply_webhook_events(sqlite::Db& db, std::span<const RecordedEvent> recorded);
  Result<Money> available_balance(sqlite::Db& db, std::string_view provider_id,
                                  Currency currency) override;

 private:
  struct Statements;
  Result<Statements*> statements(sqlite::Db& db);
  std::unique_ptr<Statements> statements_;
  sqlite3* statements_db_ = nullptr;
};

// Binds a row's values to a statement's parameters 1..n.
void bind_row(sqlite::Stmt& stmt, const Row& row);
// "INSERT INTO <table> (...) VALUES (...) ON CONFLICT (<key>) DO UPDATE SET ..." keeping the
// insert-only columns; `table_name` lets a rebuild aim at a shadow table.
std::string upsert_sql(const TableSpec& spec, const std::string& table_name);
std::string insert_sql(const TableSpec& spec, const std::string& table_name);
// "SELECT <the spec's columns> FROM <table> " followed by `rest` (WHERE, ORDER BY, ...).
std::string select_sql(const TableSpec& spec, std::string_view rest);
// The current result row of `stmt`, its first `columns` columns, as SqlValues.
Row read_row(const sqlite::Stmt& stmt, size_t columns);

}  // namespace escrow::projections
