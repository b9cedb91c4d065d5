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

// One attempt at a command, decided on the streams' states of the moment: either its answer
// without an append (a refusal, a no-op, a failed read) or the append and the states after it.
struct CommandShell::Attempt {
  std::optional<CommandResult> answered;
  std::vector<StreamAppend> appends;
  std::shared_ptr<StreamStates> states;
  std::vector<std::string> streams;  // forgotten from the cache when the append conflicts
  // The states the decision was made on: where a redecision on the writer starts from.
  std::optional<BookingState> booking_before;
  std::optional<ProviderState> provider_before;
  std::string provider_before_stream;
};

// Where prepare() reads the streams it decides on: the cache and a read connection, or (for a
// redecision) the writer's connection inside its transaction, from the states the last attempt
// decided on.
struct CommandShell::Source {
  sqlite::Db* writer = nullptr;
  const Attempt* last = nullptr;
};

template <class State>
Result<State> CommandShell::load_from(const std::string& stream, const Source& source,
                                      EventReader* reader) {
  if (!source.writer) return load<State>(stream, reader);
  State base;
  if constexpr (std::is_same_v<State, BookingState>) {
    if (source.last && source.last->booking_before &&
        booking_stream(source.last->booking_before->terms.booking_id) == stream)
      base = *source.last->booking_before;
  } else {
    if (source.last && source.last->provider_before &&
        source.last->provider_before_stream == stream)
      base = *source.last->provider_before;
  }
  auto events = read_stream(*source.writer, stream, base.version);
  if (!events.is_ok()) return events.status();
  return fold(std::span<const RecordedEvent>(events.value()), std::move(base));
}

Result<ProviderState> CommandShell::load_provider_with_balance(
    std::string_view provider_id,
    const std::function<std::optional<Currency>(const ProviderState&)>& currency_of,
    Money& available, const Source& source) {
  // The stream and the available balance are read in one snapshot: every decrease of the balance
  // is an event of the provider stream, so the stream's expected version at the append protects
  // the amount. On the writer's connection both are what the batch has made of them so far.
  std::optional<ReaderLease> lease;
  sqlite::Db* db = source.writer;
  if (!db) {
    lease.emplace(*this);
    if (Status s = lease->open(); !s.is_ok()) return s;
    db = &lease->reader().db();
    if (Status s = db->exec("BEGIN"); !s.is_ok()) return s;
  }
  Result<ProviderState> state = load_from<ProviderState>(provider_stream(provider_id), source,
                                                         lease ? &lease->reader() : nullptr);
  std::optional<Currency> currency = state.is_ok() ? currency_of(state.value()) : std::nullopt;
  Result<Money> balance = currency ? projections_.available_balance(*db, provider_id, *currency)
                                   : Result<Money>(Money{0, available.currency});
  if (lease) (void)db->exec("COMMIT");
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

template <class Command>
AppendCommand CommandShell::append_command(const std::shared_ptr<Attempt>& attempt,
                                           const std::string& owner, const Command& command,
                                           const CommandContext& context,
                                           std::shared_ptr<const void> keep_alive) {
  CommandHook extra = context.extra_hook;
  AppendCommand out;
  out.appends = std::move(attempt->appends);
  out.hook = [this, states = attempt->states, extra](sqlite::Db& db,
                                                     std::span<const RecordedEvent> recorded) {
    Status status = projections_.apply(db, *states, recorded);
    if (status.is_ok() && extra) status = extra(db, *states, recorded);
    return status;
  };
  // `owner`, `command` and `context` outlive the append: the caller waits for it, or
  // `keep_alive` holds them.
  out.redecide = [this, attempt, owner = &owner, command = &command, context = &context,
                  keep_alive = std::move(keep_alive)](sqlite::Db& db, AppendCommand& again) {
    Attempt next = prepare(*owner, *command, *context, Source{&db, attempt.get()});
    if (next.answered) {
      attempt->answered = std::move(next.answered);
      again.appends.clear();
      again.hook = {};
      return true;
    }
    *attempt->states = std::move(*next.states);  // what the hook writes the projections from
    attempt->streams = std::move(next.streams);
    attempt->booking_before = std::move(next.booking_before);
    attempt->provider_before = std::move(next.provider_before);
    attempt->provider_before_stream = std::move(next.provider_before_stream);
    again.appends = std::move(next.appends);
    return true;
  };
  return out;
}

CommandResult CommandShell::finish(AppendOutcome outcome, Attempt& attempt) {
  // Decided again on the writer and refused (or nothing left to do): that is the answer.
  if (outcome.status.is_ok() && attempt.answered) return std::move(*attempt.answered);
  const StreamStates& states = *attempt.states;
  CommandResult result{outcome.status, std::nullopt, std::move(outcome.events), states};
  if (result.status.code() == StatusCode::conflict) {
    std::lock_guard lock(cache_mutex_);
    for (const std::string& stream : attempt.streams) {
      booking_cache_.erase(stream);
      provider_cache_.erase(stream);
    }
  }
  if (!result.status.is_ok()) return result;
  if (hooks_.committed) hooks_.committed(result.events);
  if (states.booking) remember(booking_stream(states.booking->terms.booking_id), *states.booking);
  if (states.provider) remember(provider_stream(states.provider->provider_id), *states.provider);
  return result;
}

CommandShell::Attempt CommandShell::prepare(const std::string& booking_id,
                                            const BookingCommand& command,
                                            const CommandContext& context, const Source& source) {
  const std::string stream = booking_stream(booking_id);
  Attempt attempt;
  Result<BookingState> state = load_from<BookingState>(stream, source, nullptr);
  if (!state.is_ok()) {
    attempt.answered = CommandResult{state.status(), {}, {}, {}};
    return attempt;
  }
  Decision decision = decide(state.value(), command, context.actor, clock_.now_ms());
  if (decision.rejected() || decision.events.empty()) {
    attempt.answered = CommandResult{Status::ok(), decision.rejection, {}, {state.value(), {}, {}}};
    return attempt;
  }

  attempt.booking_before = state.value();
  BookingState after = state.value();
  for (const Event& e : decision.events) evolve(after, e);
  std::string meta = meta_json(context);
  attempt.appends.push_back({stream, state->version, to_new_events(decision.events, meta)});
  attempt.streams.push_back(stream);
  StreamStates states{after, std::nullopt, decision.events};

  Money net = released_to_provider(decision.events, after.currency());
  if (net.amount_minor > 0) {
    const std::string& provider_id = after.terms.provider_id;
    Money available{0, net.currency};
    Result<ProviderState> provider = load_provider_with_balance(
        provider_id, [&](const ProviderState&) { return std::optional(net.currency); }, available,
        source);
    if (!provider.is_ok()) {
      attempt.answered = CommandResult{provider.status(), {}, {}, {}};
      return attempt;
    }
    Decision payout =
        decide(provider.value(), provider_id, PayOutRelease{after.terms.booking_id, net, available},
               Actor{"", Role::system});
    LEDGER_ASSERT(!payout.rejected(), "paying out a release is never refused");
    attempt.provider_before = provider.value();
    attempt.provider_before_stream = provider_stream(provider_id);
    ProviderState provider_after = provider.value();
    provider_after.provider_id = provider_id;
    for (const Event& e : payout.events) evolve(provider_after, e);
    attempt.appends.push_back(
        {provider_stream(provider_id), provider->version, to_new_events(payout.events, meta)});
    attempt.streams.push_back(provider_stream(provider_id));
    states.provider = std::move(provider_after);
    states.events.insert(states.events.end(), payout.events.begin(), payout.events.end());
  }
  attempt.states = std::make_shared<StreamStates>(std::move(states));
  return attempt;
}

CommandShell::Attempt CommandShell::prepare(const std::string& provider_id,
                                            const ProviderCommand& command,
                                            const CommandContext& context, const Source& source) {
  const std::string stream = provider_stream(provider_id);
  Attempt attempt;
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
  Result<ProviderState> state =
      load_provider_with_balance(provider_id, currency_of, available, source);
  if (!state.is_ok()) {
    attempt.answered = CommandResult{state.status(), {}, {}, {}};
    return attempt;
  }
  if (auto* w = std::get_if<RequestWithdrawal>(&decided)) w->available = available;
  if (auto* r = std::get_if<RetryPayout>(&decided)) r->available = available;
  Decision decision = decide(state.value(), provider_id, decided, context.actor);
  if (decision.rejected() || decision.events.empty()) {
    attempt.answered =
        CommandResult{Status::ok(), decision.rejection, {}, {std::nullopt, state.value(), {}}};
    return attempt;
  }
  attempt.provider_before = state.value();
  attempt.provider_before_stream = stream;
  ProviderState after = state.value();
  after.provider_id = provider_id;
  for (const Event& e : decision.events) evolve(after, e);
  attempt.appends.push_back(
      {stream, state->version, to_new_events(decision.events, meta_json(context))});
  attempt.streams.push_back(stream);
  attempt.states =
      std::make_shared<StreamStates>(StreamStates{std::nullopt, after, decision.events});
  return attempt;
}

template <class Command>
CommandResult CommandShell::run(std::string_view id, const Command& command,
                                const CommandContext& context) {
  const std::string owner(id);
  for (int attempt_no = 1; attempt_no <= append_attempts_max; ++attempt_no) {
    auto attempt = std::make_shared<Attempt>(prepare(owner, command, context, Source{}));
    if (attempt->answered) return std::move(*attempt->answered);
    if (hooks_.before_append) hooks_.before_append();
    AppendOutcome outcome =
        store_.append(append_command(attempt, owner, command, context, nullptr));
    CommandResult result = finish(std::move(outcome), *attempt);
    if (result.status.code() != StatusCode::conflict) return result;
  }
  return CommandResult{Status(StatusCode::conflict, "stream kept moving; gave up"), {}, {}, {}};
}

// A command submitted without waiting: decided on the submitter's thread, decided again on the
// writer when a stream moved on meanwhile, and answered from the writer's completion.
template <class Command>
struct CommandShell::Submitted {
  std::string id;
  Command command;
  CommandContext context;
  CommandDone done;
  int attempt_no = 0;
};

template <class Command>
void CommandShell::attempt_async(std::shared_ptr<Submitted<Command>> submitted) {
  if (++submitted->attempt_no > append_attempts_max) {
    return submitted->done(
        CommandResult{Status(StatusCode::conflict, "stream kept moving; gave up"), {}, {}, {}});
  }
  auto attempt = std::make_shared<Attempt>(
      prepare(submitted->id, submitted->command, submitted->context, Source{}));
  if (attempt->answered) return submitted->done(std::move(*attempt->answered));
  AppendCommand append =
      append_command(attempt, submitted->id, submitted->command, submitted->context, submitted);
  store_.submit(std::move(append), [this, submitted, attempt](AppendOutcome outcome) {
    CommandResult result = finish(std::move(outcome), *attempt);
    if (result.status.code() == StatusCode::conflict) return attempt_async(submitted);
    submitted->done(std::move(result));
  });
}

CommandResult CommandShell::execute(std::string_view booking_id, const BookingCommand& command,
                                    const CommandContext& context) {
  return run(booking_id, command, context);
}

CommandResult CommandShell::execute(std::string_view provider_id, const ProviderCommand& command,
                                    const CommandContext& context) {
  return run(provider_id, command, context);
}

void CommandShell::submit(std::string_view booking_id, BookingCommand command,
                          CommandContext context, CommandDone done) {
  attempt_async(std::make_shared<Submitted<BookingCommand>>(Submitted<BookingCommand>{
      std::string(booking_id), std::move(command), std::move(context), std::move(done)}));
}

void CommandShell::submit(std::string_view provider_id, ProviderCommand command,
                          CommandContext context, CommandDone done) {
  attempt_async(std::make_shared<Submitted<ProviderCommand>>(Submitted<ProviderCommand>{
      std::string(provider_id), std::move(command), std::move(context), std::move(done)}));
}

}  // namespace escrow
