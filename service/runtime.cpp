// Opening the service's parts; see runtime.h.
#include "service/runtime.h"

#include <filesystem>

#include "ledger/store/migrations.h"
#include "ledger/store/sqlite.h"
#include "projections/rebuild.h"

namespace escrow::service {

namespace {

Status prepare_database(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error) {
    return Status(StatusCode::io_error,
                  "cannot create the directory of ESCROW_DB: " + error.message());
  }
  auto migrated = migrate_file(path);
  if (!migrated.is_ok()) return migrated.status();
  auto db = sqlite::Db::open(path, sqlite::Db::Mode::read_write);
  if (!db.is_ok()) return db.status();
  auto stale = projections::rebuild_stale(db.value());  // a projection whose code changed
  if (!stale.is_ok()) return stale.status();
  return Status::ok();
}

}  // namespace

Runtime::Runtime(const Options& options, const Clock& clock, std::unique_ptr<EventStore> store,
                 std::unique_ptr<paystack::Client> paystack)
    : clock_(clock),
      store_(std::move(store)),
      shell_(*store_, projections_, clock),
      reads_(options.db_path),
      webhooks_(*store_, projections_),
      paystack_(std::move(paystack)) {}

Runtime::~Runtime() = default;

Result<std::unique_ptr<Runtime>> Runtime::open(const Options& options, const Clock& clock) {
  auto paystack = paystack::Client::create(options.paystack);
  if (!paystack.is_ok()) return paystack.status();
  return open(options, clock, std::move(paystack).value());
}

Result<std::unique_ptr<Runtime>> Runtime::open(const Options& options, const Clock& clock,
                                               std::unique_ptr<paystack::Client> paystack) {
  Status prepared = prepare_database(options.db_path);
  if (!prepared.is_ok()) return prepared;

  EventStoreOptions store_options;
  store_options.path = options.db_path;
  store_options.synchronous = options.synchronous;
  store_options.clock = &clock;
  auto store = EventStore::open(store_options);
  if (!store.is_ok()) return store.status();

  return std::unique_ptr<Runtime>(
      new Runtime(options, clock, std::move(store).value(), std::move(paystack)));
}

}  // namespace escrow::service
