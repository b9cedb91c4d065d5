// IdempotencyRecords: the storage of the Idempotency-Key contract (DESIGN section 5), the
// `idempotency_keys` table of schema/0003_idempotency.sql, below the HTTP layer that applies it
// (api/idempotency.h).
//
// One record per (actor, key): the request's fingerprint, the instance that claimed it (`owner`),
// and once the request succeeded, the response to replay (status, headers as the caller encoded
// them, body). claim() decides in one write transaction, so two claims racing each other see one
// winner:
// - no record: it is inserted, owned by this instance (claimed);
// - another fingerprint: reused, whatever the record's state;
// - a stored response: replay;
// - a claim of this instance, still open: in_flight;
// - a claim of another instance (a process that died before answering): taken over (claimed).
// complete() stores the response of a claim this instance holds; release() deletes such a claim
// (the key is given back). store_in() stores it inside a transaction of another connection: the
// event store's writer calls it from a command's append, so the command's events and the response
// to replay commit together, and a crash between the commit and the answer cannot make a retry
// run the command again (the retry replays).
//
// Storage: a read-write connection of its own (the event store's writer writes the same WAL
// file), with synchronous=NORMAL, since a record lost to a power cut only means the request runs
// again, which the ledger makes harmless; and a busy handler that polls finely, since the
// writer's commits are short. Each open() takes a random instance id.
// Thread-safety: every method may be called from any thread (one connection, under a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace escrow {

namespace sqlite {
class Db;
}

struct StoredResponse {
  int status = 0;
  std::string headers;  // opaque to the store
  std::string body;
};

struct IdempotencyClaim {
  enum class Kind { claimed, replay, reused, in_flight } kind = Kind::claimed;
  StoredResponse stored;  // for replay
};

class IdempotencyRecords {
 public:
  // Opens its own connection to a migrated database.
  static Result<std::unique_ptr<IdempotencyRecords>> open(const std::string& db_path);
  ~IdempotencyRecords();
  IdempotencyRecords(const IdempotencyRecords&) = delete;
  IdempotencyRecords& operator=(const IdempotencyRecords&) = delete;

  Result<IdempotencyClaim> claim(std::string_view actor, std::string_view key,
                                 std::string_view method, std::string_view route,
                                 std::string_view fingerprint, int64_t now_ms);
  Status complete(std::string_view actor, std::string_view key, const StoredResponse& response,
                  int64_t now_ms);
  Status release(std::string_view actor, std::string_view key);

  // complete() on `db` (a write connection inside its transaction), for the claim `owner` holds.
  // Overwrites a response stored earlier in the same request (a request that runs two commands
  // answers after the last). Prepares its statement each time: it runs once per keyed command.
  static Status store_in(sqlite::Db& db, std::string_view actor, std::string_view key,
                         std::string_view owner, const StoredResponse& response, int64_t now_ms);

  const std::string& instance_id() const;

 private:
  struct Impl;
  explicit IdempotencyRecords(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace escrow
