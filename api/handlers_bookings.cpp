// The booking routes of DESIGN section 5: create, list, read, history and replay, pay, proof,
// release, dispute, resolution, cancellation, and POST /payments/verify.
//
// Every handler authenticates and checks the role first (401/403), then the object: a client or
// provider acts only on bookings where they are the party, and any other booking answers 404
// `booking_not_found` exactly as an unknown one does, so a stranger learns nothing. Business
// rules stay in the decider: handlers read and validate input, run one command and write the
// booking back. A command that queued a payout or refund wakes the outbox.
//
// Paying and verifying a payment are service/checkout.h's (the Paystack checkout, adopting a
// reference Paystack already holds, settling); the handlers here check who asks and answer.
#include <openssl/rand.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <span>

#include "api/app.h"
#include "api/auth.h"
#include "api/handler_support.h"
#include "api/uploads.h"
#include "api/views.h"
#include "ledger/hash.h"
#include "ledger/time_format.h"
#include "paystack/client.h"
#include "service/checkout.h"
#include "service/outbox.h"
#include "service/payments.h"

namespace escrow::api {
namespace {

constexpr std::size_t booking_id_chars_max = 64;
constexpr std::size_t party_id_bytes_max = jwt_sub_bytes_max;  // ids the parties' tokens carry
constexpr std::size_t email_bytes_max = 254;
constexpr std::size_t description_bytes_max = 2000;
constexpr std::size_t reason_bytes_max = 200;
constexpr std::size_t text_bytes_max = 5000;  // dispute descriptions, resolution notes
constexpr std::size_t url_bytes_max = 2048;
constexpr std::size_t reference_bytes_max = 100;
constexpr int64_t auto_confirm_after_s_max = 365LL * 24 * 3600;

const std::initializer_list<Role> readers = {Role::client, Role::provider, Role::admin,
                                             Role::service, Role::auditor};

// ---- small helpers ---------------------------------------------------------------------------

bool booking_id_valid(std::string_view id) {
  if (id.empty() || id.size() > booking_id_chars_max) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> new_booking_id() {
  uint8_t bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return std::nullopt;
  return "bk_" + to_hex(bytes, sizeof bytes);
}

bool is_http_url(std::string_view url) {
  return url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0;
}

HttpResponse invalid_field(std::string_view field, std::string_view expectation) {
  return error_response(
      400, "invalid_field",
      "Field '" + std::string(field) + "' must be " + std::string(expectation) + ".");
}

// A JSON object body; an empty body counts as {} (routes whose fields are all optional).
HttpResult<rapidjson::Document> optional_json_body(const HttpRequest& request) {
  if (!request.body.empty()) return parse_json_body(request);
  rapidjson::Document empty;
  empty.SetObject();
  return empty;
}

// A party sees and touches only their own bookings; the other roles are limited by the route.
bool visible_to(const Principal& who, const BookingState& state) {
  switch (who.role) {
    case Role::client:
      return state.terms.client_id == who.sub;
    case Role::provider:
      return state.terms.provider_id == who.sub;
    default:
      return true;
  }
}

HttpResult<BookingState> load_visible(Services& services, const Principal& who,
                                      const std::string& id) {
  auto state = services.shell.load_booking(id);
  if (!state.is_ok()) return internal_error(state.status());
  if (!state->exists() || !visible_to(who, state.value()))
    return rejection_response(Rejection::booking_not_found);
  return std::move(state).value();
}

// booking_response() inside the command's transaction (answering_context()).
Render booking_render(int status) {
  return [status](sqlite::Db& db, const StreamStates& after) -> std::optional<HttpResponse> {
    auto outside = projections::booking_outside_on(db, after.booking->terms.booking_id);
    if (!outside.is_ok()) return internal_error(outside.status());
    return json_response(status,
                         booking_json(*after.booking, extras_from(std::move(outside).value())));
  };
}

void wake_outbox_if_queued(Services& services, const CommandResult& result) {
  if (service::queued_money(result)) services.outbox.wake();
}

// Runs `command` on a booking the principal may see and answers 200 with the booking after it.
Task<HttpResponse> run_on_booking(Services& services, const HttpRequest& request,
                                  const Principal& who, const std::string& id,
                                  const BookingCommand& command) {
  auto visible = load_visible(services, who, id);
  if (!visible.is_ok()) co_return visible.error();
  std::optional<HttpResponse> answered;
  CommandResult result =
      co_await commit(services, request, id, command,
                      answering_context(services, who, request, booking_render(200), answered));
  if (auto failed = command_failure(result)) co_return *failed;
  wake_outbox_if_queued(services, result);
  if (answered) co_return std::move(*answered);
  co_return booking_response(services, 200, *result.states.booking);
}

// ---- POST /bookings --------------------------------------------------------------------------

// payment_plan, absent for a full plan; the 400 that says what is wrong with it, if anything.
std::optional<HttpResponse> read_plan(const rapidjson::Document& body, CreateBooking& c) {
  auto plan = body.FindMember("payment_plan");
  if (plan == body.MemberEnd() || plan->value.IsNull()) return std::nullopt;
  if (!plan->value.IsObject())
    return invalid_field("payment_plan", R"(an object {"type": "full"|"split", "deposit_bps"})");
  BodyReader in(plan->value);
  c.plan = in.required_enum<PaymentPlan>("type");
  if (c.plan == PaymentPlan::split)
    c.deposit_bps = static_cast<int>(in.required_int("deposit_bps", 1, bps_max - 1));
  if (!in.ok()) return in.error();
  return std::nullopt;
}

HttpResult<CreateBooking> parse_create(const rapidjson::Document& body, const Config& config) {
  BodyReader in(body);
  CreateBooking c;
  std::optional<std::string> id = in.optional_string("id", booking_id_chars_max);
  c.client_id = in.required_string("client_id", party_id_bytes_max);
  c.provider_id = in.required_string("provider_id", party_id_bytes_max);
  c.client_email = in.required_string("client_email", email_bytes_max);
  c.description = in.required_string("description", description_bytes_max);
  c.amount.amount_minor = in.required_int("amount", 1, amount_minor_max);
  c.amount.currency = in.required_currency("currency");
  c.fee_bps = static_cast<int>(in.optional_int("fee_bps", 0, bps_max).value_or(config.fee_bps));
  c.auto_confirm_after_s = in.optional_int("auto_confirm_after_s", 0, auto_confirm_after_s_max)
                               .value_or(config.auto_confirm_after_s);
  std::optional<std::string> pay_by = in.optional_string("pay_by", 64);
  if (!in.ok()) return in.error();

  if (id && !booking_id_valid(*id)) return invalid_field("id", "1 to 64 of [A-Za-z0-9_-]");
  if (c.client_id.empty()) return invalid_field("client_id", "a non-empty string");
  if (c.provider_id.empty()) return invalid_field("provider_id", "a non-empty string");
  if (c.client_email.find('@') == std::string::npos ||
      c.client_email.find_first_of(" \t\r\n") != std::string::npos)
    return invalid_field("client_email", "an email address");
  if (pay_by) {
    c.pay_by_ms = parse_iso8601_ms(*pay_by);
    if (!c.pay_by_ms) return invalid_field("pay_by", "an ISO 8601 time");
  }
  if (auto plan_error = read_plan(body, c)) return std::move(*plan_error);

  if (id) {
    c.booking_id = *id;
  } else if (auto generated = new_booking_id()) {
    c.booking_id = *generated;
  } else {
    return error_response(500, "internal_error", "No random booking id could be generated.");
  }
  return c;
}

Task<HttpResponse> create_booking(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::service, Role::admin});
  if (!who.is_ok()) co_return who.error();
  auto body = parse_json_body(request);
  if (!body.is_ok()) co_return body.error();
  auto command = parse_create(body.value(), services.config);
  if (!command.is_ok()) co_return command.error();
  const std::string id = command.value().booking_id;
  std::optional<HttpResponse> answered;
  CommandResult result = co_await commit(
      services, request, id, command.value(),
      answering_context(services, who.value(), request, booking_render(201), answered));
  if (auto failed = command_failure(result)) co_return *failed;
  if (answered) co_return std::move(*answered);
  // The decider answers a repeated create with the same terms with no events: already so.
  if (result.events.empty()) co_return booking_response(services, 200, *result.states.booking);
  // A new booking has nothing outside its stream yet but its creation time, its first event's:
  // answered without reading the projections back.
  BookingExtras fresh{result.events.front().recorded_at_ms, std::vector<projections::PayoutRow>{},
                      projections::Milestones{}};
  co_return json_response(201, booking_json(*result.states.booking, fresh));
}

// ---- GET /bookings ---------------------------------------------------------------------------

// Whether `value` is a status a booking can be listed by: BookingStatus::none is only the state
// before a booking exists, never a stored one.
bool listable_status(std::string_view value) {
  std::optional<BookingStatus> status = parse_booking_status(value);
  return status && *status != BookingStatus::none;
}

struct ListFilter {
  projections::BookingFilter filter;
  projections::PageRequest page;
  bool matches_nothing = false;  // a party asked for another party's bookings
};

HttpResult<ListFilter> list_filter(const Principal& who, const Query& query) {
  auto page = page_request(query);
  if (!page.is_ok()) return page.error();
  ListFilter list{{}, page.value()};
  projections::BookingFilter& f = list.filter;
  std::pair<const char*, std::optional<std::string>*> columns[] = {
      {"client_id", &f.client_id},
      {"provider_id", &f.provider_id},
      {"status", &f.status},
      {"payment_status", &f.payment_status}};
  for (auto& [column, slot] : columns) {
    auto value = query.get(column);
    if (!value) continue;
    bool known = true;
    if (std::string_view(column) == "status") known = listable_status(*value);
    if (std::string_view(column) == "payment_status")
      known = parse_payment_status(*value).has_value();
    if (!known)
      return error_response(400, "invalid_query", std::string(column) + " is not a known status.");
    *slot = std::string(*value);
  }
  // A party lists only their own bookings, whatever the query asks: another party's id matches
  // nothing.
  auto only_own = [&](std::optional<std::string>& slot) {
    if (slot && *slot != who.sub) list.matches_nothing = true;
    slot = who.sub;
  };
  if (who.role == Role::client) only_own(f.client_id);
  if (who.role == Role::provider) only_own(f.provider_id);
  return list;
}

HttpResponse list_bookings(Services& services, const HttpRequest& request) {
  auto who = require(services, request, readers);
  if (!who.is_ok()) return who.error();
  auto query = parse_query(request.query());
  if (!query.is_ok()) return query.error();
  auto list = list_filter(who.value(), query.value());
  if (!list.is_ok()) return list.error();
  projections::Page<projections::BookingSummaryRow> page;
  if (!list->matches_nothing) {
    auto found = services.queries.bookings(list->filter, list->page);
    if (!found.is_ok()) return internal_error(found.status());
    page = std::move(found).value();
  }
  return json_response(200, page_json(page, write_booking_summary));
}

// ---- GET /bookings/:id, /events, /at ---------------------------------------------------------

// A booking whose pay_by has passed with nothing captured and no checkout still open expires
// when it is read, before the scheduler's next pass reaches it: a reader never sees a booking
// waiting for a payment it can no longer take. One with an open checkout is left to the
// scheduler, which asks Paystack about it first (a read never waits for Paystack).
Task<std::optional<HttpResponse>> expire_on_read(Services& services, const HttpRequest& request,
                                                 const BookingState& state) {
  bool due = expiry_due(state, services.clock.now_ms());
  bool open_checkout =
      std::any_of(state.charges.begin(), state.charges.end(),
                  [](const ChargeRecord& c) { return c.status == ChargeStatus::pending; });
  if (!due || open_checkout) co_return std::nullopt;
  CommandContext system;
  system.actor = Actor{"expiry", Role::system};
  CommandResult result =
      co_await commit(services, request, state.terms.booking_id, ExpireBooking{}, system);
  if (!result.status.is_ok()) co_return internal_error(result.status);
  if (result.rejection || !result.states.booking) co_return std::nullopt;  // moved on: as it is
  co_return booking_response(services, 200, *result.states.booking);
}

Task<HttpResponse> get_booking(Services& services, const HttpRequest& request,
                               const std::string& id) {
  auto who = require(services, request, readers);
  if (!who.is_ok()) co_return who.error();
  auto state = load_visible(services, who.value(), id);
  if (!state.is_ok()) co_return state.error();
  if (auto expired = co_await expire_on_read(services, request, state.value())) co_return *expired;
  co_return booking_response(services, 200, state.value());
}

void write_actor(JsonWriter& w, const std::string& meta) {
  rapidjson::Document doc;
  doc.Parse(meta.c_str(), meta.size());
  auto text = [&](const char* name) -> std::string {
    if (!doc.IsObject()) return "";
    auto m = doc.FindMember(name);
    return m != doc.MemberEnd() && m->value.IsString() ? m->value.GetString() : "";
  };
  write_key(w, "actor");
  w.StartObject();
  write_field(w, "id", text("actor_id"));
  write_field(w, "role", text("actor_role"));
  w.EndObject();
}

// Raw JSON text stored with the event, copied verbatim so an auditor can re-hash it.
void write_raw_object(JsonWriter& w, std::string_view key, const std::string& json) {
  write_key(w, key);
  w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

void write_event(JsonWriter& w, const RecordedEvent& e) {
  w.StartObject();
  write_field(w, "seq", e.seq);
  write_field(w, "stream", e.stream);
  write_field(w, "version", e.version);
  write_field(w, "type", e.type);
  write_time(w, "recorded_at", e.recorded_at_ms);
  write_field(w, "recorded_at_ms", e.recorded_at_ms);
  write_actor(w, e.meta);
  write_field(w, "hash", e.hash);
  write_field(w, "prev_hash", e.prev_hash);
  write_raw_object(w, "data", e.data);
  write_raw_object(w, "meta", e.meta);
  w.EndObject();
}

HttpResponse booking_events(Services& services, const HttpRequest& request, const std::string& id) {
  auto who = require(services, request, readers);
  if (!who.is_ok()) return who.error();
  auto state = load_visible(services, who.value(), id);
  if (!state.is_ok()) return state.error();
  // The booking's stream, oldest first (a booking stream is short: the decider bounds it).
  auto events = services.queries.stream(booking_stream(id));
  if (!events.is_ok()) return internal_error(events.status());
  return json_response(200, json_text([&](JsonWriter& w) {
                         w.StartObject();
                         write_key(w, "data");
                         w.StartArray();
                         for (const RecordedEvent& e : events.value()) write_event(w, e);
                         w.EndArray();
                         w.EndObject();
                       }));
}

struct AsOf {
  std::optional<int64_t> seq, time_ms;
};

HttpResult<AsOf> as_of(const HttpRequest& request) {
  auto parsed = parse_query(request.query());
  if (!parsed.is_ok()) return parsed.error();
  const Query& query = parsed.value();
  AsOf at;
  if (auto seq = query.get("seq")) {
    int64_t n = 0;
    auto [end, error] = std::from_chars(seq->data(), seq->data() + seq->size(), n);
    if (error != std::errc() || end != seq->data() + seq->size() || n < 1)
      return error_response(400, "invalid_query", "seq must be a positive integer.");
    at.seq = n;
  }
  if (auto time = query.get("time")) {
    at.time_ms = parse_iso8601_ms(*time);
    if (!at.time_ms) return error_response(400, "invalid_query", "time must be an ISO 8601 time.");
  }
  if (at.seq.has_value() == at.time_ms.has_value())
    return error_response(400, "invalid_query", "Give exactly one of seq and time.");
  return at;
}

HttpResponse booking_at(Services& services, const HttpRequest& request, const std::string& id) {
  auto who = require(services, request, readers);
  if (!who.is_ok()) return who.error();
  auto asked = as_of(request);
  if (!asked.is_ok()) return asked.error();
  const AsOf& at = asked.value();
  auto current = load_visible(services, who.value(), id);
  if (!current.is_ok()) return current.error();
  // The booking's stream, oldest first (a booking stream is short: the decider bounds it).
  auto events = services.queries.stream(booking_stream(id));
  if (!events.is_ok()) return internal_error(events.status());
  std::vector<RecordedEvent>& all = events.value();
  auto after = std::find_if(all.begin(), all.end(), [&](const RecordedEvent& e) {
    return at.seq ? e.seq > *at.seq : e.recorded_at_ms > *at.time_ms;
  });
  std::span<const RecordedEvent> then(all.data(), static_cast<size_t>(after - all.begin()));
  if (then.empty()) return rejection_response(Rejection::booking_not_found);  // not yet created
  auto state = fold_booking(then);
  if (!state.is_ok()) return internal_error(state.status());
  BookingExtras extras{then.front().recorded_at_ms, std::nullopt};
  return json_response(200, json_text([&](JsonWriter& w) {
                         w.StartObject();
                         write_key(w, "as_of");
                         w.StartObject();
                         write_field(w, "seq", then.back().seq);
                         write_time(w, "recorded_at", then.back().recorded_at_ms);
                         w.EndObject();
                         write_key(w, "booking");
                         write_booking(w, state.value(), extras);
                         w.EndObject();
                       }));
}

// ---- POST /bookings/:id/pay ------------------------------------------------------------------

HttpResponse paystack_failure(const paystack::ApiError& error) {
  switch (error.kind) {
    case paystack::ErrorKind::unavailable:
    case paystack::ErrorKind::rate_limited:
    case paystack::ErrorKind::unexpected:
    case paystack::ErrorKind::invalid_key:
      return error_response(502, "paystack_unavailable",
                            "Paystack could not be reached or gave no usable answer; try again.");
    default:
      return error_response(502, "paystack_refused",
                            "Paystack refused the request: " + error.message);
  }
}

// {reference, authorization_url, access_code, amount, currency, installment, booking}: 201 for a
// checkout just opened, 200 for the pending one answered again.
HttpResponse checkout_json(int status, const std::string& reference, const std::string& url,
                           const std::string& access_code, Money amount, int installment,
                           const BookingState& booking, const BookingExtras& extras) {
  return json_response(status, json_text([&](JsonWriter& w) {
                         w.StartObject();
                         write_field(w, "reference", reference);
                         write_field(w, "authorization_url", url);
                         write_field(w, "access_code", access_code);
                         write_field(w, "amount", amount.amount_minor);
                         write_field(w, "currency", currency_code(amount.currency));
                         write_field(w, "installment", int64_t{installment});
                         write_key(w, "booking");
                         write_booking(w, booking, extras);
                         w.EndObject();
                       }));
}

HttpResponse checkout_response(Services& services, const service::CheckoutOutcome::Opened& opened) {
  auto extras = extras_of(services, opened.booking.terms.booking_id);
  if (!extras.is_ok()) return internal_error(extras.status());
  const PaymentDue& due = opened.due;
  return checkout_json(opened.reused ? 200 : 201, due.reference, opened.checkout.authorization_url,
                       opened.checkout.access_code, due.amount, due.installment, opened.booking,
                       extras.value());
}

// The checkout's answer inside the command that records it (the PaymentInitiated it appends):
// stored under the request's Idempotency-Key with the events. The commands that adopt a
// reference Paystack already held and settle it, before the real checkout, answer nothing
// (their re-run is harmless: adopting and settling are idempotent).
Render checkout_render() {
  return [](sqlite::Db& db, const StreamStates& after) -> std::optional<HttpResponse> {
    const PaymentInitiated* initiated = nullptr;
    for (const Event& e : after.events)
      if (const auto* p = std::get_if<PaymentInitiated>(&e)) initiated = p;
    if (!initiated || initiated->authorization_url.empty()) return std::nullopt;
    auto outside = projections::booking_outside_on(db, after.booking->terms.booking_id);
    if (!outside.is_ok()) return internal_error(outside.status());
    return checkout_json(201, initiated->reference, initiated->authorization_url,
                         initiated->access_code, initiated->amount, initiated->installment,
                         *after.booking, extras_from(std::move(outside).value()));
  };
}

// The checkout itself is service/checkout.h's: this parses, checks who asks, and answers.
HttpResponse pay(Services& services, service::Checkouts& checkouts, const HttpRequest& request,
                 const std::string& id) {
  auto who = require(services, request, {Role::client, Role::service});
  if (!who.is_ok()) return who.error();
  auto body = optional_json_body(request);
  if (!body.is_ok()) return body.error();
  BodyReader in(body.value());
  std::optional<std::string> callback = in.optional_string("callback_url", url_bytes_max);
  if (!in.ok()) return in.error();
  if (callback && !is_http_url(*callback))
    return invalid_field("callback_url", "an http:// or https:// URL");

  auto state = load_visible(services, who.value(), id);
  if (!state.is_ok()) return state.error();
  std::optional<HttpResponse> answered;
  auto out = checkouts.open(
      id, callback.value_or(""),
      answering_context(services, who.value(), request, checkout_render(), answered));
  if (!out.is_ok()) return internal_error(out.status());
  if (out->money_queued) services.outbox.wake();
  if (out->opened && answered && !out->opened->reused) return std::move(*answered);
  if (out->opened) return checkout_response(services, *out->opened);
  if (out->refused) return rejection_response(*out->refused);
  if (out->failed) {
    if (auto failed = command_failure(*out->failed)) return *failed;
  }
  if (out->paystack) return paystack_failure(*out->paystack);
  return error_response(409, "conflict", "The payment could not be opened; retry it.");
}

// ---- proof -----------------------------------------------------------------------------------

Task<HttpResponse> complete(Services& services, const HttpRequest& request, const std::string& id) {
  auto who = require(services, request, {Role::provider});
  if (!who.is_ok()) co_return who.error();
  // Visibility before parsing: a stranger's upload is never stored.
  auto visible = load_visible(services, who.value(), id);
  if (!visible.is_ok()) co_return visible.error();
  // The booking's own refusals (proof already in, nothing held, a dispute open) before any file
  // is stored, so a refused upload leaves no orphan blobs behind. The command is decided again,
  // with the files, when it runs.
  Decision precheck = decide(visible.value(), SubmitProof{"precheck", {}, {}},
                             actor_of(who.value()), services.clock.now_ms());
  if (precheck.rejection) co_return rejection_response(*precheck.rejection);
  auto proof = parse_proof_request(request, services.blobs);
  if (!proof.is_ok()) co_return proof.error();
  co_return co_await run_on_booking(services, request, who.value(), id, proof.value());
}

HttpResponse proof_file(Services& services, const HttpRequest& request, const std::string& id,
                        const std::string& sha256) {
  // The marketplace's backend (service) shows proof to its users without minting party tokens.
  auto who = require(services, request, {Role::client, Role::provider, Role::service, Role::admin});
  if (!who.is_ok()) return who.error();
  auto state = load_visible(services, who.value(), id);
  if (!state.is_ok()) return state.error();
  const ProofFile* file = nullptr;
  if (state.value().proof) {
    for (const ProofFile& f : state.value().proof->files) {
      if (f.sha256 == sha256) file = &f;
    }
  }
  if (file == nullptr) return error_response(404, "not_found", "This booking has no such file.");
  auto bytes = services.blobs.get(sha256);
  if (!bytes.is_ok()) return internal_error(bytes.status());
  if (!bytes.value()) return error_response(404, "not_found", "The file is not in the store.");
  HttpResponse response;
  response.status = 200;
  response.headers.set("Content-Type", file->content_type);
  response.headers.set("X-Content-Type-Options", "nosniff");
  response.headers.set("Content-Disposition", "attachment");
  response.body = std::move(*bytes.value());
  return response;
}

// ---- release, dispute, resolution, cancellation ----------------------------------------------

// The body's command, or the 400 that says what is wrong with it.
using CommandParser = std::function<HttpResult<BookingCommand>(BodyReader&)>;

// A coroutine: what it takes by reference must outlive it, so the roles and the parser are
// taken by value (the request and `id` live in the pipeline's frame).
Task<HttpResponse> action(Services& services, const HttpRequest& request, const std::string& id,
                          std::vector<Role> roles, CommandParser parse) {
  auto who = require(services, request, roles);
  if (!who.is_ok()) co_return who.error();
  auto body = optional_json_body(request);
  if (!body.is_ok()) co_return body.error();
  BodyReader in(body.value());
  auto command = parse(in);
  if (!command.is_ok()) co_return command.error();
  co_return co_await run_on_booking(services, request, who.value(), id, command.value());
}

HttpResult<BookingCommand> parse_dispute(BodyReader& in) {
  OpenDispute c;
  c.reason = in.required_string("reason", reason_bytes_max);
  c.description = in.optional_string("description", text_bytes_max).value_or("");
  if (!in.ok()) return in.error();
  if (c.reason.empty()) return invalid_field("reason", "a non-empty string");
  return BookingCommand{c};
}

HttpResult<BookingCommand> parse_resolution(BodyReader& in) {
  ResolveDispute c;
  c.outcome = in.required_enum<ResolutionOutcome>("outcome");
  c.provider_amount_minor = in.optional_int("provider_amount", 0, amount_minor_max);
  c.refund_amount_minor = in.optional_int("refund_amount", 0, amount_minor_max);
  c.note = in.required_string("note", text_bytes_max);
  if (!in.ok()) return in.error();
  if (c.note.empty()) return invalid_field("note", "a non-empty string");
  if (c.outcome == ResolutionOutcome::split && !(c.provider_amount_minor && c.refund_amount_minor))
    return invalid_field("provider_amount", "given with refund_amount for a split");
  return BookingCommand{c};
}

HttpResult<BookingCommand> parse_cancel(BodyReader& in) {
  CancelBooking c;
  c.reason = in.required_string("reason", reason_bytes_max);
  if (!in.ok()) return in.error();
  if (c.reason.empty()) return invalid_field("reason", "a non-empty string");
  return BookingCommand{c};
}

// ---- POST /payments/verify -------------------------------------------------------------------

// The same answer for "no such payment" and "not yours": a stranger learns nothing.
HttpResponse unknown_payment() {
  return rejection_response(Rejection::unknown_payment);
}

HttpResponse settlement_response(Services& services, const std::string& reference,
                                 const service::SettleOutcome& settled) {
  if (settled.settlement == service::Settlement::unknown_reference) return unknown_payment();
  if (settled.settlement == service::Settlement::refused && settled.result.rejection)
    return rejection_response(*settled.result.rejection);
  std::optional<BookingState> state = settled.result.states.booking;
  if (!state) {  // in progress: nothing was executed
    auto loaded = services.shell.load_booking(settled.booking_id);
    if (!loaded.is_ok()) return internal_error(loaded.status());
    state = std::move(loaded).value();
  }
  auto extras = extras_of(services, settled.booking_id);
  if (!extras.is_ok()) return internal_error(extras.status());
  return json_response(200, json_text([&](JsonWriter& w) {
                         w.StartObject();
                         write_field(w, "reference", reference);
                         write_field(w, "settlement", service::settlement_name(settled.settlement));
                         write_key(w, "booking");
                         write_booking(w, *state, extras.value());
                         w.EndObject();
                       }));
}

HttpResponse verify_payment(Services& services, const HttpRequest& request) {
  auto who = require(services, request, {Role::client, Role::provider, Role::service, Role::admin});
  if (!who.is_ok()) return who.error();
  auto body = parse_json_body(request);
  if (!body.is_ok()) return body.error();
  BodyReader in(body.value());
  std::string reference = in.required_string("reference", reference_bytes_max);
  if (!in.ok()) return in.error();
  if (reference.empty()) return invalid_field("reference", "a non-empty string");

  // A reference we never recorded can only be tied to a booking by Paystack's metadata: only
  // the marketplace and admins may ask for that; a party checks the payments of their bookings.
  auto known = service::booking_of_reference(services.service, reference);
  if (!known.is_ok()) return internal_error(known.status());
  if (known.value()) {
    if (!load_visible(services, who.value(), *known.value()).is_ok()) return unknown_payment();
  } else if (who.value().role != Role::service && who.value().role != Role::admin) {
    return unknown_payment();
  }
  auto checked = service::check_payment(services.service, reference, known.value(),
                                        context_for(who.value(), request));
  if (!checked.is_ok()) return internal_error(checked.status());
  if (checked->unknown) return unknown_payment();
  if (checked->paystack) return paystack_failure(*checked->paystack);
  wake_outbox_if_queued(services, checked->settled.result);
  return settlement_response(services, reference, checked->settled);
}

}  // namespace

void add_booking_routes(Router& router, Services& services) {
  Services* s = &services;
  auto checkouts = std::make_shared<service::Checkouts>(services.service);
  // The commands whose handlers only read before they run one may run on an I/O thread.
  constexpr bool only_waits_on_commit = true;
  router.add_async(
      "POST", "/bookings",
      [s](const HttpRequest& r, const RouteParams&) { return create_booking(*s, r); },
      only_waits_on_commit);
  router.add("GET", "/bookings",
             [s](const HttpRequest& r, const RouteParams&) { return list_bookings(*s, r); });
  // A point read, and at most an expiry it waits for.
  router.add_async(
      "GET", "/bookings/:id",
      [s](const HttpRequest& r, const RouteParams& p) { return get_booking(*s, r, p.get("id")); },
      only_waits_on_commit);
  router.add("GET", "/bookings/:id/events", [s](const HttpRequest& r, const RouteParams& p) {
    return booking_events(*s, r, p.get("id"));
  });
  router.add("GET", "/bookings/:id/at", [s](const HttpRequest& r, const RouteParams& p) {
    return booking_at(*s, r, p.get("id"));
  });
  router.add("POST", "/bookings/:id/pay",
             [s, checkouts](const HttpRequest& r, const RouteParams& p) {
               return pay(*s, *checkouts, r, p.get("id"));
             });
  router.add_async(
      "POST", "/bookings/:id/complete",
      [s](const HttpRequest& r, const RouteParams& p) { return complete(*s, r, p.get("id")); });
  router.add("GET", "/bookings/:id/proof/:sha256", [s](const HttpRequest& r, const RouteParams& p) {
    return proof_file(*s, r, p.get("id"), p.get("sha256"));
  });
  router.add_async(
      "POST", "/bookings/:id/release-payment",
      [s](const HttpRequest& r, const RouteParams& p) {
        return action(*s, r, p.get("id"), {Role::client, Role::admin},
                      [](BodyReader&) -> HttpResult<BookingCommand> {
                        return BookingCommand{ConfirmCompletion{}};
                      });
      },
      only_waits_on_commit);
  router.add_async(
      "POST", "/bookings/:id/dispute",
      [s](const HttpRequest& r, const RouteParams& p) {
        return action(*s, r, p.get("id"), {Role::client, Role::provider}, parse_dispute);
      },
      only_waits_on_commit);
  router.add_async(
      "POST", "/bookings/:id/dispute/resolve",
      [s](const HttpRequest& r, const RouteParams& p) {
        return action(*s, r, p.get("id"), {Role::admin}, parse_resolution);
      },
      only_waits_on_commit);
  router.add_async(
      "POST", "/bookings/:id/cancel",
      [s](const HttpRequest& r, const RouteParams& p) {
        return action(*s, r, p.get("id"), {Role::client, Role::provider, Role::admin},
                      parse_cancel);
      },
      only_waits_on_commit);
  router.add("POST", "/payments/verify",
             [s](const HttpRequest& r, const RouteParams&) { return verify_payment(*s, r); });
}

}  // namespace escrow::api
