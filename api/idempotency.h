// IdempotencyStore: the Idempotency-Key contract of DESIGN section 5 for HTTP requests, its
// records kept below the HTTP layer (ledger/store/idempotency_records.h).
//
// A request with an Idempotency-Key runs its handler at most once per (actor, key):
// - the key is claimed (a row with no response) before the handler runs;
// - a 2xx response is stored and replayed to every later request with the same key and the same
//   fingerprint (method, route, target, Content-Type, body), with `Idempotent-Replayed: true`;
// - any other response (validation 4xx, 409 refusal, 502, 5xx) gives the key back: the row is
//   deleted, so a refused request does not consume its key;
// - the same key with another fingerprint is 422 `idempotency_key_reused`, whether the first
//   request finished or not;
// - the same key while the first request still runs in this process is 409
//   `idempotency_in_flight`;
// - a claim left by another process (each store takes a random instance id when opened) is
//   stale: that process died before answering, so the request runs again. That is safe because
//   every ledger command is idempotent (a second capture, release or payout of the same thing
//   changes nothing).
// - the response of a request that ran a command is stored in the command's own transaction
//   (store_answer(), called from the command's append by handler_support.h), so a crash after
//   the commit and before the answer leaves a response to replay, not a claim to re-run;
// A request without the header runs as usual; a malformed key (empty, over 255 bytes, not
// printable ASCII) is 400 `invalid_idempotency_key` and runs nothing.
//
// Thread-safety: run() may be called from any thread; the records are never locked while a
// handler runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "ledger/status.h"
#include "ledger/store/idempotency_records.h"

namespace escrow::api {

inline constexpr std::size_t idempotency_key_bytes_max = 255;
inline constexpr const char* idempotency_key_header = "Idempotency-Key";
inline constexpr const char* idempotent_replayed_header = "Idempotent-Replayed";

// True when `key` is 1..255 bytes of printable ASCII (0x20..0x7E).
bool idempotency_key_valid(std::string_view key);

// Hex SHA-256 over method, route, the request target, its Content-Type and its body, each
// length-prefixed so no two different requests share a fingerprint by concatenation.
std::string request_fingerprint(std::string_view method, std::string_view route,
                                const HttpRequest& request);

// The claim a request holds while its handler runs: where its response is stored.
struct IdempotencyHold {
  std::string actor, key, owner;
};

// Stores `response` for the claim inside the transaction `db` is in (a command's append).
Status store_answer(sqlite::Db& db, const IdempotencyHold& hold, const HttpResponse& response,
                    int64_t now_ms);

class IdempotencyStore {
 public:
  // Opens its own read-write connection to a migrated database (the App migrates first).
  static Result<std::unique_ptr<IdempotencyStore>> open(const std::string& db_path);

  ~IdempotencyStore();
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // Runs `handler` under the contract above and returns its response, the replay or the
  // refusal. `actor` scopes the key ("<role>:<sub>"); `route` is the matched pattern. A storage
  // failure before the handler ran is 503 `unavailable` (nothing ran); after it ran, the
  // handler's response is returned and the key is given back as well as the store can.
  HttpResponse run(std::string_view actor, std::string_view method, std::string_view route,
                   const HttpRequest& request, const std::function<HttpResponse()>& handler,
                   int64_t now_ms);

  // run() in two halves, for a handler that finishes on another thread: begin() answers the
  // replay or the refusal (the handler must not run), or nullopt when the request now holds its
  // claim (or has no key) and the handler runs; finish() then stores its 2xx response or gives
  // the key back, and abandon() gives it back for a handler that threw.
  std::optional<HttpResponse> begin(std::string_view actor, std::string_view method,
                                    std::string_view route, const HttpRequest& request,
                                    int64_t now_ms);
  void finish(std::string_view actor, const HttpRequest& request, const HttpResponse& response,
              int64_t now_ms);
  void abandon(std::string_view actor, const HttpRequest& request);

  const std::string& instance_id() const { return records_->instance_id(); }
  // The hold a request with a valid Idempotency-Key will have while run() runs its handler.
  std::shared_ptr<const IdempotencyHold> hold_for(std::string_view actor,
                                                  const HttpRequest& request) const;

 private:
  explicit IdempotencyStore(std::unique_ptr<IdempotencyRecords> records);
  std::unique_ptr<IdempotencyRecords> records_;
};

}  // namespace escrow::api
