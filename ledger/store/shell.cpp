#include "ledger/store/shell.h"

#include <type_traits>
#include <utility>

namespace escrow {

namespace {

template <class State>
Result<State> fold(std::span<const RecordedEvent> events, State state) {
  for (const RecordedEvent& recorded : events) {
    Result<Event> event = decode_event(recorded.type, recorded.data);
    if (!event.is_ok()) {
      return Status(StatusCode::corrupt,
                    "seq " + std::to_string(recorded.seq) + ": " + event.status().message());
    }
    LEDGER_ASSERT(recorded.version == state.version + 1, "stream events arrive in order");
    evolve(state, event.value());
  }
  return state;
}

std::vector<NewEvent> to_new_events(const std::vector<Event>& events, const std::string& meta) {
  std::vector<NewEvent> out;
  out.reserve(events.size());
  for (const Event& e : events) out.push_back(to_new_event(e, meta));
  return out;
}

// The provider's share of a release decided in `events` (0 when nothing is released).
Money released_to_provider(const std::vector<Event>& events, Currency currency) {
  Money net{0, currency};
  for (const Event& e : events) {
    if (const auto* r = std::get_if<FundsReleased>(&e))
      net.amount_minor += r->provider_net.amount_minor;
    if (const auto* r = std::get_if<DisputeResolved>(&e))
      net.amount_minor += r->provider_net.amount_minor;
  }
  return net;
}

}  // namespace

Result<BookingState> fold_booking(std::span<const RecordedEvent> events, BookingState state) {
  return fold(events, std::move(state));
}

Result<ProviderState> fold_provider(std::span<const RecordedEvent> events, ProviderState state) {
  return fold(events, std::move(state));
}

// Borrows an idle read connection from the pool, or opens one; returns it when done.
class CommandShell::ReaderLease {
 public:
  explicit ReaderLease(CommandShell& shell) : shell_(shell) {
    std::lock_guard lock(shell_.readers_mutex_);
    if (!shell_.readers_.empty()) {
      reader_ = std::move(shell_.readers_.back());
      shell_.readers_.pop_back();
    }
  }
  ~ReaderLease() {
    if (!reader_) return;
    std::lock_guard lock(shell_.readers_mutex_);
    if (shell_.readers_.size() < readers_max) shell_.readers_.push_back(std::move(reader_));
  }
  Status open() {
    if (reader_) return Status::ok();
    Result<EventReader> reader = EventReader::open(shell_.store_.path());
    if (!reader.is_ok()) return reader.status();
    reader_ = std::make_unique<EventReader>(std::move(reader).value());
    return Status::ok();
  }
  EventReader& reader() { return *reader_; }

 private:
  CommandShell& shell_;
  std::unique_ptr<EventReader> reader_;
};

CommandShell::CommandShell(EventStore& store, ProjectionSink& projections, const Clock& clock)
    : store_(store), projections_(projections), clock_(clock) {}

template <class State>
Result<State> CommandShell::load(const std::string& stream, EventReader* reader) {
  State state;
  {
    std::lock_guard lock(cache_mutex_);
    if constexpr (std::is_same_v<State, BookingState>) {
      if (auto it = booking_cache_.find(stream); it != booking_cache_.end()) state = it->second;
    } else {
      if (auto it = provider_cache_.find(stream); it != provider_cache_.end()) state = it->second;
    }
  }
  std::optional<ReaderLease> lease;
  if (!reader) {
    lease.emplace(*this);
    if (Status s = lease->open(); !s.is_ok()) return s;
    reader = &lease->reader();
  }
  auto events = reader->read_stream(stream, state.version);
  if (!events.is_ok()) return events.status();
  return fold(std::span<const RecordedEvent>(events.value()), std::move(state));
}

template <class State>
void CommandShell::remember(const std::string& stream, const State& state) {
  std::lock_guard lock(cache_mutex_);
  auto& cache = [&]() -> auto& {
    if constexpr (std::is_same_v<State, BookingState>)
      return booking_cache_;
    else
      return provider_cache_;
  }
  ();
  if (cache.size() >= cached_streams_max) cache.clear();  // bounded; states reload on demand
  auto [it, inserted] = cache.try_emplace(stream, state);
  if (!inserted && it->second.version < state.version) it->second = state;
}

Result<ProviderState> CommandShell::load_provider_with_balance(
    std::string_view provider_id,
    const std::function<std::optional<Currency>(const ProviderState&)>& currency_of,
    Money& available) {
  // The stream and the available balance are read in one snapshot: every decrease of the balance
  // is an event of the provider stream, so the stream's expected version at the append protects
  // the amount.
  ReaderLease lease(*this);
  if (Status s = lease.open(); !s.is_ok()) return s;
  sqlite::Db& db = lease.reader().db();
  if (Status s = db.exec("BEGIN"); !s.is_ok()) return s;
  Result<ProviderState> state = load<ProviderState>(provider_stream(provider_id), &lease.reader());
  std::optional<Currency> currency = state.is_ok() ? currency_of(state.value()) : std::nullopt;
  Result<Money> balance = currency ? projections_.available_balance(db, provider_id, *currency)
                                   : Result<Money>(Money{0, available.currency});
  (void)db.exec("COMMIT");
  if (!state.is_ok()) return state.status();
  if (!balance.is_ok()) return balance.status();
  available = balance.value();
  return state;
}

Result<BookingState> CommandShell::load_booking(std::string_view booking_id) {
  return load<BookingState>(booking_stream(booking_id), nullptr);
}

Result<ProviderState> CommandShell::load_provider(std::string_view provider_id) {
  return load<ProviderState>(provider_stream(provider_id), nullptr);
}

std::string CommandShell::meta_json(const CommandContext& context) const {
  return encode_meta(EventMeta{context.actor.id, context.actor.role, context.request_id,
                               context.idempotency_key, context.causation_seq});
}

CommandResult CommandShell::append(std::vector<StreamAppend> appends, StreamStates after,
                                   const CommandContext& context) {
  auto states = std::make_shared<StreamStates>(std::move(after));
  CommandHook extra = context.extra_hook;
  AppendCommand command{
      std::move(appends),
      [this, states, extra](sqlite::Db& db, std::span<const RecordedEvent> recorded) {
        Status status = projections_.apply(db, *states, recorded);
        if (status.is_ok() && extra) status = extra(db, *states, recorded);
        return status;
      }};
  if (hooks_.before_append) hooks_.before_append();
  AppendOutcome outcome = store_.append(std::move(command));
  CommandResult result{outcome.status, std::nullopt, std::move(outcome.events), *states};
  if (!result.status.is_ok()) return result;
  if (hooks_.committed) hooks_.committed(result.events);
  if (states->booking)
    remember(booking_stream(states->booking->terms.booking_id), *states->booking);
  if (states->provider) remember(provider_stream(states->provider->provider_id), *states->provider);
  return result;
}

CommandResult CommandShell::execute(std::string_view booking_id, const BookingCommand& command,
                                    const CommandContext& context) {
  const std::string stream = booking_stream(booking_id);
  for (int attempt = 1; attempt <= append_attempts_max; ++attempt) {
    Result<BookingState> state = load<BookingState>(stream, nullptr);
    if (!state.is_ok()) return CommandResult{state.status(), {}, {}, {}};
    Decision decision = decide(state.value(), command, context.actor, clock_.now_ms());
    if (decision.rejected() || decision.events.empty())
      return CommandResult{Status::ok(), decision.rejection, {}, {state.value(), {}, {}}};

    BookingState after = state.value();
    for (const Event& e : decision.events) evolve(after, e);
    std::string meta = meta_json(context);
    std::vector<StreamAppend> appends{
        {stream, state->version, to_new_events(decision.events, meta)}};
    StreamStates states{after, std::nullopt, decision.events};

    Money net = released_to_provider(decision.events, after.currency());
    if (net.amount_minor > 0) {
      const std::string& provider_id = after.terms.provider_id;
      Money available{0, net.currency};
      Result<ProviderState> provider = load_provider_with_balance(
          provider_id, [&](const ProviderState&) { return std::optional(net.currency); },
          available);
      if (!provider.is_ok()) return CommandResult{provider.status(), {}, {}, {}};
      Decision payout =
          decide(provider.value(), provider_id,
                 PayOutRelease{after.terms.booking_id, net, available}, Actor{"", Role::system});
      LEDGER_ASSERT(!payout.rejected(), "paying out a release is never refused");
      ProviderState provider_after = provider.value();
      provider_after.provider_id = provider_id;
      for (const Event& e : payout.events) evolve(provider_after, e);
      appends.push_back(
          {provider_stream(provider_id), provider->version, to_new_events(payout.events, meta)});
      states.provider = std::move(provider_after);
      states.events.insert(states.events.end(), payout.events.begin(), payout.events.end());
    }

    CommandResult result = append(std::move(appends), std::move(states), context);
    if (result.status.code() != StatusCode::conflict) return result;
    std::lock_guard lock(cache_mutex_);
    booking_cache_.erase(stream);
    provider_cache_.erase(provider_stream(after.terms.provider_id));
  }
  return CommandResult{Status(StatusCode::conflict, "stream kept moving; gave up"), {}, {}, {}};
}

CommandResult CommandShell::execute(std::string_view provider_id, const ProviderCommand& command,
                                    const CommandContext& context) {
  const std::string stream = provider_stream(provider_id);
  for (int attempt = 1; attempt <= append_attempts_max; ++attempt) {
    ProviderCommand decided = command;
    // The balance a withdrawal or a retry is checked against (in the currency it moves).
    auto currency_of = [&](const ProviderState& s) -> std::optional<Currency> {
      if (auto* w = std::get_if<RequestWithdrawal>(&decided)) return w->amount.currency;
      if (auto* r = std::get_if<RetryPayout>(&decided)) {
        const PayoutRecord* p = s.find_payout(r->payout_id);
        return p ? p->amount.currency : Currency::NGN;
      }
      return std::nullopt;
    };
    Money available;
    Result<ProviderState> state = load_provider_with_balance(provider_id, currency_of, available);
    if (!state.is_ok()) return CommandResult{state.status(), {}, {}, {}};
    if (auto* w = std::get_if<RequestWithdrawal>(&decided)) w->available = available;
    if (auto* r = std::get_if<RetryPayout>(&decided)) r->available = available;
    Decision decision = decide(state.value(), provider_id, decided, context.actor);
    if (decision.rejected() || decision.events.empty())
      return CommandResult{Status::ok(), decision.rejection, {}, {std::nullopt, state.value(), {}}};
    ProviderState after = state.value();
    after.provider_id = std::string(provider_id);
    for (const Event& e : decision.events) evolve(after, e);
    std::vector<StreamAppend> appends{
        {stream, state->version, to_new_events(decision.events, meta_json(context))}};
    CommandResult result =
        append(std::move(appends), StreamStates{std::nullopt, after, decision.events}, context);
    if (result.status.code() != StatusCode::conflict) return result;
    std::lock_guard lock(cache_mutex_);
    provider_cache_.erase(stream);
  }
  return CommandResult{Status(StatusCode::conflict, "stream kept moving; gave up"), {}, {}, {}};
}

}  // namespace escrow
