// Outbound notifications from the event log; see notifier.h for the contract.
#include "service/notifier.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/hash.h"
#include "ledger/store/event_store.h"
#include "ledger/store/sqlite.h"
#include "ledger/time_format.h"
#include "net/http_client.h"
#include "service/log.h"
#include "service/worker.h"

namespace escrow::service {

namespace {

constexpr int scan_pages_max = 16;  // pages of notify_scan_events_max per run_once
constexpr std::size_t last_error_bytes_max = 300;

// The event types the marketplace must act on, and the notification each becomes.
std::optional<std::string_view> notification_type_of(std::string_view event_type) {
  static constexpr std::pair<std::string_view, std::string_view> table[] = {
      {"PaymentCaptured", "payment.held"},
      {"ProofSubmitted", "completion.requested"},
      {"AutoConfirmed", "booking.auto_confirmed"},
      {"FundsReleased", "funds.released"},
      {"PayoutSucceeded", "payout.paid"},
      {"PayoutFailed", "payout.failed"},
      {"PayoutReversed", "payout.reversed"},
      {"DisputeOpened", "dispute.opened"},
      {"DisputeResolved", "dispute.resolved"},
      {"RefundProcessed", "refund.processed"},
      {"PaymentFlagged", "payment.flagged"},
      {"PaymentFailed", "payment.failed"},
      {"BookingCancelled", "booking.cancelled"},
      {"BookingExpired", "booking.expired"},
      {"RefundFailed", "refund.failed"},
      {"PayoutAwaitingOtp", "payout.awaiting_otp"},
      {"WithdrawalRequested", "withdrawal.requested"},
      {"ChargebackOpened", "chargeback.opened"},
      {"ChargebackResolved", "chargeback.resolved"},
  };
  for (const auto& [event, notification] : table) {
    if (event == event_type) return notification;
  }
  return std::nullopt;
}

std::optional<std::string> string_member(const rapidjson::Document& data, const char* name) {
  if (!data.IsObject()) return std::nullopt;
  auto member = data.FindMember(name);
  if (member == data.MemberEnd() || !member->value.IsString()) return std::nullopt;
  return std::string(member->value.GetString(), member->value.GetStringLength());
}

// The notification `event` becomes, if any. A refund Paystack cannot complete without the
// customer's bank details (RefundUpdated to needs_attention) is one; its other updates are not.
std::optional<std::string_view> notification_type(const RecordedEvent& event) {
  if (event.type == "RefundUpdated") {
    rapidjson::Document data;
    data.Parse(event.data.data(), event.data.size());
    if (!data.HasParseError() && string_member(data, "status") == "needs_attention")
      return "refund.needs_attention";
    return std::nullopt;
  }
  return notification_type_of(event.type);
}

std::string notification_id(int64_t seq) {
  return "ntf_" + std::to_string(seq);
}

// Who a booking is between, for the notifications of its events.
struct Parties {
  std::string client_id, provider_id;
};

// The JSON body of the notification derived from `event` (see notifier.h); `parties` are the
// booking's, when the event names one.
Result<std::string> notification_body(const RecordedEvent& event, std::string_view type,
                                      const std::optional<Parties>& parties) {
  rapidjson::Document data;
  data.Parse(event.data.data(), event.data.size());
  if (data.HasParseError() || !data.IsObject())
    return Status(StatusCode::corrupt, "notifier: event " + std::to_string(event.seq) +
                                           " has data that is not a JSON object");
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto field = [&](const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  field("id", notification_id(event.seq));
  field("type", type);
  field("created_at", format_iso8601_ms(event.recorded_at_ms));
  if (auto booking_id = string_member(data, "booking_id")) field("booking_id", *booking_id);
  if (parties) field("client_id", parties->client_id);
  if (auto provider_id = string_member(data, "provider_id"))
    field("provider_id", *provider_id);
  else if (parties)
    field("provider_id", parties->provider_id);
  w.Key("data");
  w.RawValue(event.data.data(), event.data.size(), rapidjson::kObjectType);
  w.Key("seq");
  w.Int64(event.seq);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The notify URL as the HTTP client takes it: an origin ("https://host:port") for the client
// and a request target ("/path?query") for each request.
struct SplitUrl {
  std::string origin, target;
};

Result<SplitUrl> split_url(std::string_view url) {
  auto refuse = [](std::string why) {
    return Status(StatusCode::invalid_argument, "ESCROW_NOTIFY_URL: " + why);
  };
  std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return refuse("not an absolute http(s) URL");
  std::size_t path_start = std::min(url.find_first_of("/?#", scheme_end + 3), url.size());
  SplitUrl split{std::string(url.substr(0, path_start)), std::string(url.substr(path_start))};
  if (split.target.find('#') != std::string::npos) return refuse("a fragment is not allowed");
  if (split.target.empty() || split.target.front() == '?') split.target.insert(0, "/");
  bool printable = std::all_of(split.target.begin(), split.target.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (!printable) return refuse("the path must be printable ASCII without spaces");
  return split;
}

int64_t backoff_ms(int64_t attempts_before) {
  int64_t shift = std::min<int64_t>(attempts_before, 20);
  return std::min(notify_backoff_ms_min << shift, notify_backoff_ms_max);
}

struct Due {
  std::string id, body;
  int64_t attempts = 0;
};

}  // namespace

std::string notify_signature(std::string_view secret, int64_t unix_s, std::string_view body) {
  std::string t = std::to_string(unix_s);
  std::string message = t + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  const unsigned char* result =
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_size);
  LEDGER_ASSERT(result != nullptr && mac_size == 32, "HMAC-SHA256 failed");
  return "t=" + t + ",v1=" + to_hex(mac, mac_size);
}

struct Notifier::Impl {
  Options options;
  const Clock& clock;
  std::function<void(std::string_view)> on_attempt;
  std::string target;
  std::shared_ptr<net::HttpTransport> http;
  sqlite::Db db;  // declared before its statements: they are finalized first
  std::optional<EventReader> reader;
  sqlite::Stmt read_cursor, advance_cursor, insert, select_due, mark_delivered, mark_failed;
  sqlite::Stmt booking_parties;

  std::mutex run_mutex;          // one run_once at a time
  std::optional<Worker> worker;  // built by Notifier::open, stopped before the rest goes

  Impl(Options o, const Clock& c, std::function<void(std::string_view)> a)
      : options(std::move(o)), clock(c), on_attempt(std::move(a)) {}

  Status prepare();
  Status run_once();
  Status scan_page(bool& more);
  Status deliver_due();
  Status record_attempt(const Due& due, const Result<net::HttpResponse>& response);
  int64_t pass();  // run_once(), logged; the worker's pass
};

Status Notifier::Impl::prepare() {
  // First start: notifications begin now; the history before is not replayed.
  Status status = db.exec(
      "INSERT OR IGNORE INTO notification_cursor (id, last_seq) "
      "SELECT 1, coalesce(max(seq), 0) FROM events");
  if (!status.is_ok()) return status;
  const std::pair<sqlite::Stmt*, const char*> statements[] = {
      {&read_cursor, "SELECT last_seq FROM notification_cursor WHERE id = 1"},
      {&booking_parties, "SELECT client_id, provider_id FROM bookings WHERE id = ?"},
      {&advance_cursor,
       "UPDATE notification_cursor SET last_seq = ?2 WHERE id = 1 AND last_seq = ?1"},
      {&insert,
       "INSERT OR IGNORE INTO notifications (id, seq, type, body, attempts, next_attempt_at_ms) "
       "VALUES (?, ?, ?, ?, 0, ?)"},
      {&select_due,
       "SELECT id, body, attempts FROM notifications "
       "WHERE delivered_at_ms IS NULL AND next_attempt_at_ms <= ? ORDER BY seq LIMIT ?"},
      {&mark_delivered,
       "UPDATE notifications SET attempts = attempts + 1, delivered_at_ms = ?2, last_error = NULL "
       "WHERE id = ?1"},
      {&mark_failed,
       "UPDATE notifications SET attempts = attempts + 1, next_attempt_at_ms = ?2, "
       "last_error = ?3 WHERE id = ?1"},
  };
  for (const auto& [slot, sql] : statements) {
    Result<sqlite::Stmt> prepared = db.prepare(sql);
    if (!prepared.is_ok()) return prepared.status();
    *slot = std::move(prepared.value());
  }
  return Status::ok();
}

// Derives the notifications of one page of events after the cursor and advances it, in one
// transaction. `more` is set when the page was full.
Status Notifier::Impl::scan_page(bool& more) {
  more = false;
  Result<bool> row = read_cursor.step();
  if (!row.is_ok()) return row.status();
  LEDGER_ASSERT(row.value(), "notification_cursor has its row once prepare() ran");
  const int64_t cursor = read_cursor.column_int64(0);
  read_cursor.reset();
  Result<std::vector<RecordedEvent>> events = reader->read_all(cursor, notify_scan_events_max);
  if (!events.is_ok()) return events.status();
  if (events.value().empty()) return Status::ok();

  Result<sqlite::Transaction> tx = sqlite::Transaction::begin(db);
  if (!tx.is_ok()) return tx.status();
  const int64_t now_ms = clock.now_ms();
  for (const RecordedEvent& event : events.value()) {
    std::optional<std::string_view> type = notification_type(event);
    if (!type) continue;
    std::optional<Parties> parties;
    if (event.stream.starts_with("booking-")) {
      booking_parties.bind(1, std::string_view(event.stream).substr(8));
      Result<bool> found = booking_parties.step();
      if (!found.is_ok()) return found.status();
      if (found.value())
        parties = Parties{booking_parties.column_text(0), booking_parties.column_text(1)};
      booking_parties.reset();
    }
    Result<std::string> body = notification_body(event, *type, parties);
    if (!body.is_ok()) return body.status();
    insert.bind(1, notification_id(event.seq)).bind(2, event.seq).bind(3, *type);
    insert.bind(4, body.value()).bind(5, now_ms);
    Status status = insert.run();
    if (!status.is_ok()) return status;
  }
  advance_cursor.bind(1, cursor).bind(2, events.value().back().seq);
  Status status = advance_cursor.run();
  if (!status.is_ok()) return status;
  if (db.changes() != 1) return Status::ok();  // another notifier moved the cursor: roll back
  status = tx.value().commit();
  if (!status.is_ok()) return status;
  more = static_cast<int64_t>(events.value().size()) == notify_scan_events_max;
  return Status::ok();
}

Status Notifier::Impl::deliver_due() {
  std::vector<Due> due;
  select_due.bind(1, clock.now_ms()).bind(2, notify_deliveries_max);
  for (;;) {
    Result<bool> row = select_due.step();
    if (!row.is_ok()) {
      select_due.reset();
      return row.status();
    }
    if (!row.value()) break;
    due.push_back(
        Due{select_due.column_text(0), select_due.column_text(1), select_due.column_int64(2)});
  }
  select_due.reset();  // no read transaction stays open while we wait on the network

  for (const Due& notification : due) {
    std::string signature =
        notify_signature(options.secret, clock.now_ms() / 1000, notification.body);
    net::HttpRequest request{net::HttpMethod::post, target, notification.body};
    request.headers = {{"X-Escrow-Signature", signature},
                       {"X-Escrow-Notification-Id", notification.id}};
    Result<net::HttpResponse> response = http->send(request);
    Status status = record_attempt(notification, response);
    if (!status.is_ok()) return status;
    bool delivered = response.is_ok() && response->status >= 200 && response->status < 300;
    if (!delivered) break;  // the receiver is likely down: leave the rest for the next round
  }
  return Status::ok();
}

Status Notifier::Impl::record_attempt(const Due& due, const Result<net::HttpResponse>& response) {
  const int64_t now_ms = clock.now_ms();
  if (response.is_ok() && response.value().status >= 200 && response.value().status < 300) {
    mark_delivered.bind(1, due.id).bind(2, now_ms);
    if (on_attempt) on_attempt("delivered");
    return mark_delivered.run();
  }
  std::string error = response.is_ok() ? "HTTP " + std::to_string(response.value().status)
                                       : response.status().message();
  if (error.size() > last_error_bytes_max) error.resize(last_error_bytes_max);
  logging::warn("notification not delivered",
                {{"id", due.id}, {"attempt", due.attempts + 1}, {"error", error}});
  mark_failed.bind(1, due.id).bind(2, now_ms + backoff_ms(due.attempts)).bind(3, error);
  if (on_attempt) on_attempt(response.is_ok() ? "http_error" : "transport_error");
  return mark_failed.run();
}

Status Notifier::Impl::run_once() {
  std::lock_guard run(run_mutex);
  bool more = true;
  for (int page = 0; more && page < scan_pages_max; ++page) {
    Status status = scan_page(more);
    if (!status.is_ok()) return status;
  }
  return deliver_due();
}

int64_t Notifier::Impl::pass() {
  Status status = run_once();
  if (!status.is_ok()) logging::warn("notifier", {{"error", status.to_string()}});
  return options.poll_interval_ms;
}

Result<std::unique_ptr<Notifier>> Notifier::open(Options options, const Clock& clock,
                                                 std::function<void(std::string_view)> on_attempt) {
  if (options.secret.empty())
    return Status(StatusCode::invalid_argument, "ESCROW_NOTIFY_SECRET must be set");
  if (options.poll_interval_ms <= 0)
    return Status(StatusCode::invalid_argument, "notifier: poll interval must be positive");
  Result<SplitUrl> url = split_url(options.url);
  if (!url.is_ok()) return url.status();
  auto impl = std::make_unique<Impl>(std::move(options), clock, std::move(on_attempt));
  impl->target = url.value().target;

  if (impl->options.transport) {
    impl->http = impl->options.transport;
  } else {
    net::HttpClientConfig http;
    http.base_url = url.value().origin;
    http.user_agent = "escrowd-notifier/0.1";
    http.connect_timeout_ms = notify_connect_timeout_ms;
    http.request_timeout_ms = notify_request_timeout_ms;
    Result<std::unique_ptr<net::HttpClient>> client = net::HttpClient::create(http);
    if (!client.is_ok())
      return Status(StatusCode::invalid_argument,
                    "ESCROW_NOTIFY_URL: " + client.status().message());
    impl->http = std::move(client).value();
  }

  Result<sqlite::Db> db = sqlite::Db::open(impl->options.db_path, sqlite::Db::Mode::read_write);
  if (!db.is_ok()) return db.status();
  impl->db = std::move(db).value();
  Result<EventReader> reader = EventReader::open(impl->options.db_path);
  if (!reader.is_ok()) return reader.status();
  impl->reader.emplace(std::move(reader).value());
  Status status = impl->prepare();
  if (!status.is_ok()) return status;
  Impl* raw = impl.get();
  impl->worker.emplace(Worker::Options{"notifier", 1}, [raw] { return raw->pass(); });
  return std::unique_ptr<Notifier>(new Notifier(std::move(impl)));
}

Notifier::Notifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Notifier::~Notifier() {
  stop();
}

void Notifier::start() {
  impl_->worker->start();
}

void Notifier::stop() {
  impl_->worker->stop();
}

Status Notifier::run_once() {
  return impl_->run_once();
}

}  // namespace escrow::service
