// The Idempotency-Key contract for HTTP requests; see idempotency.h.
#include "api/idempotency.h"

#include <optional>
#include <utility>

#include "ledger/hash.h"
#include "ledger/text.h"

namespace escrow::api {

namespace {

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

IdempotencyStore::IdempotencyStore(std::unique_ptr<IdempotencyRecords> records)
    : records_(std::move(records)) {}

IdempotencyStore::~IdempotencyStore() = default;

Result<std::unique_ptr<IdempotencyStore>> IdempotencyStore::open(const std::string& db_path) {
  auto records = IdempotencyRecords::open(db_path);
  if (!records.is_ok()) return records.status();
  return std::unique_ptr<IdempotencyStore>(new IdempotencyStore(std::move(records).value()));
}

Status store_answer(sqlite::Db& db, const IdempotencyHold& hold, const HttpResponse& response,
                    int64_t now_ms) {
  return IdempotencyRecords::store_in(
      db, hold.actor, hold.key, hold.owner,
      StoredResponse{response.status, encode_headers(response.headers), response.body}, now_ms);
}

std::shared_ptr<const IdempotencyHold> IdempotencyStore::hold_for(
    std::string_view actor, const HttpRequest& request) const {
  std::optional<std::string_view> key = request.headers.get(idempotency_key_header);
  if (!key || !idempotency_key_valid(*key)) return nullptr;
  return std::make_shared<const IdempotencyHold>(
      IdempotencyHold{std::string(actor), std::string(*key), records_->instance_id()});
}

std::optional<HttpResponse> IdempotencyStore::begin(std::string_view actor, std::string_view method,
                                                    std::string_view route,
                                                    const HttpRequest& request, int64_t now_ms) {
  std::optional<std::string_view> key = request.headers.get(idempotency_key_header);
  if (!key) return std::nullopt;
  if (!idempotency_key_valid(*key))
    return error_response(400, "invalid_idempotency_key",
                          "Idempotency-Key must be 1 to 255 printable ASCII characters.");

  Result<IdempotencyClaim> claimed = records_->claim(
      actor, *key, method, route, request_fingerprint(method, route, request), now_ms);
  if (!claimed.is_ok())
    return error_response(503, "unavailable",
                          "The idempotency record could not be read; nothing was done.");
  switch (claimed->kind) {
    case IdempotencyClaim::Kind::replay: {
      HttpResponse stored;
      stored.status = claimed->stored.status;
      stored.headers = decode_headers(claimed->stored.headers);
      stored.body = std::move(claimed->stored.body);
      stored.headers.set(idempotent_replayed_header, "true");
      return stored;
    }
    case IdempotencyClaim::Kind::reused:
      return error_response(422, "idempotency_key_reused",
                            "This Idempotency-Key was used for a different request.");
    case IdempotencyClaim::Kind::in_flight:
      return error_response(409, "idempotency_in_flight",
                            "A request with this Idempotency-Key is still being processed.");
    case IdempotencyClaim::Kind::claimed:
      break;
  }
  return std::nullopt;
}

void IdempotencyStore::finish(std::string_view actor, const HttpRequest& request,
                              const HttpResponse& response, int64_t now_ms) {
  std::optional<std::string_view> key = request.headers.get(idempotency_key_header);
  if (!key) return;
  // When the response cannot be stored, the key is given back instead: a retry then runs the
  // command again, which the ledger answers without a second effect.
  bool success = response.status >= 200 && response.status <= 299;
  if (!success || !records_
                       ->complete(actor, *key,
                                  StoredResponse{response.status, encode_headers(response.headers),
                                                 response.body},
                                  now_ms)
                       .is_ok()) {
    (void)records_->release(actor, *key);
  }
}

void IdempotencyStore::abandon(std::string_view actor, const HttpRequest& request) {
  if (std::optional<std::string_view> key = request.headers.get(idempotency_key_header))
    (void)records_->release(actor, *key);
}

HttpResponse IdempotencyStore::run(std::string_view actor, std::string_view method,
                                   std::string_view route, const HttpRequest& request,
                                   const std::function<HttpResponse()>& handler, int64_t now_ms) {
  if (auto answered = begin(actor, method, route, request, now_ms)) return std::move(*answered);
  HttpResponse response;
  try {
    response = handler();
  } catch (...) {
    abandon(actor, request);
    throw;
  }
  finish(actor, request, response, now_ms);
  return response;
}

}  // namespace escrow::api
