// The imperative shell around the decider: fetch state, decide, append with the expected stream
// versions, re-decide on a version conflict (bounded), and let the projections write in the same
// transaction as the events.
//
// A release (FundsReleased, or a DisputeResolved with a provider part) is followed in the same
// atomic append by the provider's PayoutRequested when the provider has a payout account
// (rule 5): the booking and provider streams move together or not at all.
//
// States are cached per stream (bounded); a cached state is brought up to date by reading only the
// events after its version, so a long provider history is not re-read on every command.
//
// When a stream moved on between the decision and the append (another command, or another
// escrowd instance, appended to it), the writer asks the command to decide again on its own
// connection, where everything before it in the batch is visible (AppendCommand::redecide):
// many releases to one provider at once are decided one after the other inside one batch, not
// retried batch after batch. The expected versions are still checked at every append.
// Thread-safety: execute_*() may be called from many threads at once.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ledger/clock.h"
#include "ledger/decider.h"
#include "ledger/store/event_store.h"

namespace escrow {

// The state of every stream a command wrote, after the command, and the events it decided in
// the order they are appended (so projections need not decode them again).
struct StreamStates {
  std::optional<BookingState> booking;
  std::optional<ProviderState> provider;
  std::vector<Event> events;
};

// Read models written inside the command's transaction (implemented in projections/).
class ProjectionSink {
 public:
  virtual ~ProjectionSink() = default;
  // Called on the writer thread inside the command's SAVEPOINT.
  virtual Status apply(sqlite::Db& db, const StreamStates& after,
                       std::span<const RecordedEvent> recorded) = 0;
  // The provider's available balance as the read models know it, on a read connection.
  virtual Result<Money> available_balance(sqlite::Db& db, std::string_view provider_id,
                                          Currency currency) = 0;
};

// Runs on the writer thread inside the command's SAVEPOINT, after the projections, with the
// states after the command: what must commit with the events or not at all (the response stored
// under the request's Idempotency-Key). It runs again if the append is re-decided after a
// conflict; a non-ok Status rolls the command back.
using CommandHook =
    std::function<Status(sqlite::Db&, const StreamStates&, std::span<const RecordedEvent>)>;

struct CommandContext {
  Actor actor;
  std::optional<std::string> request_id, idempotency_key;
  std::optional<int64_t> causation_seq;
  CommandHook extra_hook;  // optional
};

struct CommandResult {
  Status status;                       // operating errors: io_error, store_failed, busy, ...
  std::optional<Rejection> rejection;  // a business refusal (status is ok)
  std::vector<RecordedEvent> events;   // what was appended (empty for a refusal or a no-op)
  StreamStates states;                 // the streams' states after the command
  bool ok() const { return status.is_ok() && !rejection; }
};

class CommandShell {
 public:
  static constexpr int append_attempts_max = 8;
  static constexpr size_t cached_streams_max = 100'000;
  static constexpr size_t readers_max = 64;

  CommandShell(EventStore& store, ProjectionSink& projections, const Clock& clock);

  // Seams for escrow-sim (tools/sim), empty in escrowd; set before any command runs.
  struct Hooks {
    // After a command decided and before its append, on the calling thread: the simulation runs
    // a competing command on the same stream there, as a concurrent request would, so that the
    // append meets a version conflict and the command is decided again.
    std::function<void()> before_append;
    // The events of every command whose append committed, as the append returns (on the
    // calling thread for execute(), on the writer thread for submit()): where one command's
    // events end and the next one's begin.
    std::function<void(std::span<const RecordedEvent>)> committed;
  };
  void set_hooks(Hooks hooks) { hooks_ = std::move(hooks); }

  // Runs a command and waits for its commit (or its refusal).
  CommandResult execute(std::string_view booking_id, const BookingCommand& command,
                        const CommandContext& context);
  CommandResult execute(std::string_view provider_id, const ProviderCommand& command,
                        const CommandContext& context);

  // The same without waiting: the command is decided on the calling thread and queued to the
  // writer, and `done` gets its result exactly once, on the calling thread when nothing is
  // appended (a refusal, a no-op) or on the writer thread after the commit. `done` must be quick
  // (hand the result to another thread); a conflict is decided again on the writer thread.
  // Hooks::before_append is not called on this path.
  using CommandDone = std::function<void(CommandResult)>;
  void submit(std::string_view booking_id, BookingCommand command, CommandContext context,
              CommandDone done);
  void submit(std::string_view provider_id, ProviderCommand command, CommandContext context,
              CommandDone done);

  // Current states, for reads and for next_payment(); a missing booking has status none.
  Result<BookingState> load_booking(std::string_view booking_id);
  Result<ProviderState> load_provider(std::string_view provider_id);

 private:
  class ReaderLease;
  struct Attempt;
  struct Source;
  template <class State>
  Result<State> load(const std::string& stream, EventReader* reader);
  template <class State>
  void remember(const std::string& stream, const State& state);
  // The provider's state and, when `currency_of(state)` names a currency, its available balance
  // in it (into `available`), in one read snapshot.
  Result<ProviderState> load_provider_with_balance(
      std::string_view provider_id,
      const std::function<std::optional<Currency>(const ProviderState&)>& currency_of,
      Money& available, const Source& source);
  template <class Command>
  struct Submitted;
  template <class State>
  Result<State> load_from(const std::string& stream, const Source& source, EventReader* reader);
  Attempt prepare(const std::string& booking_id, const BookingCommand& command,
                  const CommandContext& context, const Source& source);
  Attempt prepare(const std::string& provider_id, const ProviderCommand& command,
                  const CommandContext& context, const Source& source);
  template <class Command>
  AppendCommand append_command(const std::shared_ptr<Attempt>& attempt, const std::string& owner,
                               const Command& command, const CommandContext& context,
                               std::shared_ptr<const void> keep_alive);
  CommandResult finish(AppendOutcome outcome, Attempt& attempt);
  template <class Command>
  CommandResult run(std::string_view id, const Command& command, const CommandContext& context);
  template <class Command>
  void attempt_async(std::shared_ptr<Submitted<Command>> submitted);
  std::string meta_json(const CommandContext& context) const;

  EventStore& store_;
  ProjectionSink& projections_;
  const Clock& clock_;
  Hooks hooks_;

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<EventReader>> readers_;  // idle read connections

  std::mutex cache_mutex_;
  std::unordered_map<std::string, BookingState> booking_cache_;
  std::unordered_map<std::string, ProviderState> provider_cache_;
};

// Folds stored events into a state; a stored event that does not decode is corrupt.
Result<BookingState> fold_booking(std::span<const RecordedEvent> events, BookingState state = {});
Result<ProviderState> fold_provider(std::span<const RecordedEvent> events,
                                    ProviderState state = {});

}  // namespace escrow
