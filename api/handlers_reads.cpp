// Read routes over the projections and the log (DESIGN section 5):
//   GET /transactions?party_id=&cursor=&limit=   a party's money history, newest first, paged:
//       payments and refunds where the party is the booking's client, payouts and withdrawals
//       where it is the provider. The party itself (client or provider whose sub is party_id),
//       service, admin and auditor.
//   GET /events?after=SEQ&limit=N                 the global log in seq order (admin, auditor),
//       each event with its exact stored data and meta, so its hash can be recomputed.
//   GET /admin/disputes?status=open|resolved     disputes with their booking (admin), newest
//       first, paged.
// Every list answers its rows under "data": the two paged lists with "next_cursor" (null on the
// last page), the log with "next_after" (the seq to pass as `after` next; `after` itself when the
// page is empty). Cursors are opaque: the hex of the sort key of the last row of the page.
// Thread-safety: each request leases its own read connection.
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "api/app.h"
#include "api/handler_support.h"
#include "ledger/store/read_pool.h"
#include "ledger/time_format.h"

namespace escrow::api {

namespace {

constexpr int64_t events_page_default = 100;
constexpr int64_t events_page_max = 1000;
constexpr int64_t disputes_page_default = 200;
constexpr int64_t disputes_page_max = 1000;

// ---- cursors ---------------------------------------------------------------------------------

std::string hex_encode(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The sort key of a row in a newest-first list: its time and up to two tie-breaking strings.
struct SortKey {
  int64_t at = 0;
  std::string first, second;
};

std::string encode_cursor(const SortKey& key) {
  return hex_encode(std::to_string(key.at) + '\n' + key.first + '\n' + key.second);
}

std::optional<SortKey> decode_cursor(std::string_view cursor) {
  std::optional<std::string> raw = hex_decode(cursor);
  if (!raw) return std::nullopt;
  size_t a = raw->find('\n');
  size_t b = a == std::string::npos ? a : raw->find('\n', a + 1);
  if (b == std::string::npos) return std::nullopt;
  std::optional<int64_t> at = parse_int(std::string_view(*raw).substr(0, a));
  if (!at) return std::nullopt;
  return SortKey{*at, raw->substr(a + 1, b - a - 1), raw->substr(b + 1)};
}

HttpResponse invalid_cursor() {
  return error_response(400, "invalid_query", "cursor is not one this service issued.");
}

// Binds the cursor to ?at, ?first, ?second (all NULL for the first page).
void bind_cursor(sqlite::Stmt& stmt, int at, const std::optional<SortKey>& key) {
  if (!key) {
    stmt.bind_null(at).bind_null(at + 1).bind_null(at + 2);
    return;
  }
  stmt.bind(at, key->at).bind(at + 1, key->first).bind(at + 2, key->second);
}

void write_next_cursor(JsonWriter& w, const std::optional<SortKey>& last) {
  write_optional(w, "next_cursor",
                 last ? std::optional<std::string>(encode_cursor(*last)) : std::nullopt);
}

std::optional<std::string> optional_text(const sqlite::Stmt& row, int col) {
  if (row.column_is_null(col)) return std::nullopt;
  return row.column_text(col);
}

// ---- GET /transactions -----------------------------------------------------------------------

constexpr const char* transactions_sql = R"sql(
SELECT kind, booking_id, amount, currency, status, reference, at, updated_at FROM (
  SELECT 'payment' AS kind, p.booking_id AS booking_id, p.amount AS amount,
         p.currency AS currency, p.status AS status, p.reference AS reference,
         p.created_at AS at, p.updated_at AS updated_at
    FROM payments p JOIN bookings b ON b.id = p.booking_id
   WHERE b.client_id = ?1 AND ?6 IN ('all', 'client')
  UNION ALL
  SELECT 'refund', booking_id, amount, currency, status, refund_id, created_at, updated_at
    FROM refunds WHERE client_id = ?1 AND ?6 IN ('all', 'client')
  UNION ALL
  SELECT CASE source WHEN 'withdrawal' THEN 'withdrawal' ELSE 'payout' END, booking_id, amount,
         currency, status, payout_id, created_at, updated_at
    FROM payouts WHERE provider_id = ?1 AND ?6 IN ('all', 'provider')
)
WHERE ?2 IS NULL OR (at, kind, reference) < (?2, ?3, ?4)
ORDER BY at DESC, kind DESC, reference DESC
LIMIT ?5)sql";

// Whose history the caller may read: a client or provider only their own, and only their side
// of it (client and provider ids are separate namespaces: a client never sees payouts made to a
// provider who happens to share their id, nor the reverse).
const char* transactions_side(Role role) {
  if (role == Role::client) return "client";
  if (role == Role::provider) return "provider";
  return "all";
}

HttpResult<std::string> transactions_party(const Principal& who, const Query& query) {
  std::optional<std::string_view> party = query.get("party_id");
  bool is_party = who.role == Role::client || who.role == Role::provider;
  if (!party || party->empty()) {
    if (is_party) return who.sub;
    return error_response(400, "invalid_query", "party_id is required.");
  }
  if (is_party && *party != who.sub)
    return error_response(403, "not_allowed", "A party may read only its own transactions.");
  return std::string(*party);
}

HttpResponse list_transactions(Services& services, const HttpRequest& request) {
  auto who = require(services, request,
                     {Role::client, Role::provider, Role::service, Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  auto party = transactions_party(who.value(), query.value());
  if (!party.is_ok()) return party.error();
  auto page = page_query(query.value());
  if (!page.is_ok()) return page.error();
  std::optional<SortKey> after;
  if (page.value().cursor && !(after = decode_cursor(*page.value().cursor)))
    return invalid_cursor();

  auto lease = services.reads.lease();
  if (!lease.is_ok()) return internal_error(lease.status());
  auto stmt = lease.value().db().prepare(transactions_sql);
  if (!stmt.is_ok()) return internal_error(stmt.status());
  stmt->bind(1, party.value());
  bind_cursor(stmt.value(), 2, after);
  stmt->bind(5, page.value().limit);
  stmt->bind_static(6, transactions_side(who.value().role));

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "data");
  w.StartArray();
  int64_t rows = 0;
  std::optional<SortKey> last;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.is_ok()) return internal_error(row.status());
    if (!row.value()) break;
    const sqlite::Stmt& r = stmt.value();
    w.StartObject();
    write_field(w, "kind", r.column_view(0));
    write_optional(w, "booking_id", optional_text(r, 1));
    write_field(w, "amount", r.column_int64(2));
    write_field(w, "currency", r.column_view(3));
    write_field(w, "status", r.column_view(4));
    write_field(w, "reference", r.column_view(5));
    write_time(w, "at", r.column_int64(6));
    write_time(w, "updated_at", r.column_int64(7));
    w.EndObject();
    last = SortKey{r.column_int64(6), r.column_text(0), r.column_text(5)};
    ++rows;
  }
  w.EndArray();
  write_next_cursor(w, rows == page.value().limit ? last : std::nullopt);
  w.EndObject();
  return json_response(200, buffer.GetString());
}

// ---- GET /events -----------------------------------------------------------------------------

HttpResponse list_events(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::admin, Role::auditor});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  int64_t after = 0;
  if (auto text = query.value().get("after")) {
    std::optional<int64_t> parsed = parse_int(*text);
    if (!parsed || *parsed < 0)
      return error_response(400, "invalid_query", "after must be a non-negative integer.");
    after = *parsed;
  }
  auto page = page_query(query.value(), events_page_default, events_page_max);
  if (!page.is_ok()) return page.error();

  auto lease = services.reads.lease();
  if (!lease.is_ok()) return internal_error(lease.status());
  auto stmt = lease.value().db().prepare(
      "SELECT seq, stream, version, type, data, meta, recorded_at, prev_hash, hash FROM events "
      "WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!stmt.is_ok()) return internal_error(stmt.status());
  stmt->bind(1, after).bind(2, page.value().limit);

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "data");
  w.StartArray();
  int64_t next_after = after;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.is_ok()) return internal_error(row.status());
    if (!row.value()) break;
    const sqlite::Stmt& r = stmt.value();
    w.StartObject();
    write_field(w, "seq", r.column_int64(0));
    write_field(w, "stream", r.column_view(1));
    write_field(w, "version", r.column_int64(2));
    write_field(w, "type", r.column_view(3));
    // The stored text itself (a JSON object), byte for byte, so the hash can be recomputed.
    std::string_view data = r.column_view(4), meta = r.column_view(5);
    write_key(w, "data");
    w.RawValue(data.data(), data.size(), rapidjson::kObjectType);
    write_key(w, "meta");
    w.RawValue(meta.data(), meta.size(), rapidjson::kObjectType);
    write_time(w, "recorded_at", r.column_int64(6));
    write_field(w, "recorded_at_ms", r.column_int64(6));
    write_field(w, "prev_hash", r.column_view(7));
    write_field(w, "hash", r.column_view(8));
    w.EndObject();
    next_after = r.column_int64(0);
  }
  w.EndArray();
  write_field(w, "next_after", next_after);
  w.EndObject();
  return json_response(200, buffer.GetString());
}

// ---- GET /admin/disputes ---------------------------------------------------------------------

constexpr const char* disputes_sql = R"sql(
SELECT d.booking_id, b.client_id, b.provider_id, b.amount, b.currency, b.escrow_balance,
       d.reason, d.description, d.opened_by, d.role, d.source, d.status, d.outcome,
       d.provider_amount, d.refund_amount, d.note, d.resolved_by, d.created_at, d.updated_at
  FROM disputes d JOIN bookings b ON b.id = d.booking_id
 WHERE (?1 IS NULL OR d.status = ?1)
   AND (?2 IS NULL OR (d.created_at, d.booking_id) < (?2, ?3))
 ORDER BY d.created_at DESC, d.booking_id DESC
 LIMIT ?4)sql";

void write_dispute(JsonWriter& w, const sqlite::Stmt& r) {
  bool resolved = r.column_view(11) == "resolved";
  w.StartObject();
  write_field(w, "booking_id", r.column_view(0));
  write_field(w, "client_id", r.column_view(1));
  write_field(w, "provider_id", r.column_view(2));
  write_field(w, "amount", r.column_int64(3));
  write_field(w, "currency", r.column_view(4));
  write_field(w, "held", r.column_int64(5));
  write_field(w, "reason", r.column_view(6));
  write_field(w, "description", r.column_view(7));
  write_field(w, "opened_by", r.column_view(8));
  write_field(w, "opened_by_role", r.column_view(9));
  write_field(w, "source", r.column_view(10));
  write_field(w, "status", r.column_view(11));
  auto when_resolved = [&](int col) {
    return resolved ? std::optional<std::string>(r.column_text(col)) : std::nullopt;
  };
  write_optional(w, "outcome", when_resolved(12));
  write_optional(w, "provider_amount",
                 resolved ? std::optional<int64_t>(r.column_int64(13)) : std::nullopt);
  write_optional(w, "refund_amount",
                 resolved ? std::optional<int64_t>(r.column_int64(14)) : std::nullopt);
  write_optional(w, "note", when_resolved(15));
  write_optional(w, "resolved_by", when_resolved(16));
  write_time(w, "opened_at", r.column_int64(17));
  write_time(w, "resolved_at",
             resolved ? std::optional<int64_t>(r.column_int64(18)) : std::nullopt);
  w.EndObject();
}

HttpResponse list_disputes(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::admin});
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  std::optional<std::string_view> status = query.value().get("status");
  if (status && *status != "open" && *status != "resolved")
    return error_response(400, "invalid_query", "status must be open or resolved.");
  auto page = page_query(query.value(), disputes_page_default, disputes_page_max);
  if (!page.is_ok()) return page.error();
  std::optional<SortKey> after;
  if (page.value().cursor && !(after = decode_cursor(*page.value().cursor)))
    return invalid_cursor();

  auto lease = services.reads.lease();
  if (!lease.is_ok()) return internal_error(lease.status());
  auto stmt = lease.value().db().prepare(disputes_sql);
  if (!stmt.is_ok()) return internal_error(stmt.status());
  if (status)
    stmt->bind(1, *status);
  else
    stmt->bind_null(1);
  if (after)
    stmt->bind(2, after->at).bind(3, after->first);
  else
    stmt->bind_null(2).bind_null(3);
  stmt->bind(4, page.value().limit);

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "data");
  w.StartArray();
  int64_t rows = 0;
  std::optional<SortKey> last;
  for (;;) {
    Result<bool> row = stmt->step();
    if (!row.is_ok()) return internal_error(row.status());
    if (!row.value()) break;
    write_dispute(w, stmt.value());
    last = SortKey{stmt->column_int64(17), stmt->column_text(0), ""};
    ++rows;
  }
  w.EndArray();
  write_next_cursor(w, rows == page.value().limit ? last : std::nullopt);
  w.EndObject();
  return json_response(200, buffer.GetString());
}

}  // namespace

void add_read_routes(Router& router, Services& services) {
  router.add("GET", "/transactions", [&services](const HttpRequest& request, const RouteParams&) {
    return list_transactions(services, request);
  });
  router.add("GET", "/events", [&services](const HttpRequest& request, const RouteParams&) {
    return list_events(services, request);
  });
  router.add("GET", "/admin/disputes", [&services](const HttpRequest& request, const RouteParams&) {
    return list_disputes(services, request);
  });
}

}  // namespace escrow::api
