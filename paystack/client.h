// Paystack API client: typed calls (types.h) over an HttpTransport, with the retry policy of
// DESIGN section 6.
//
// Retries. Only calls that change nothing at Paystack (GETs: verify, fetch, list, balance,
// banks, resolve) are retried, up to RetryPolicy::attempts_max attempts in all, after a 5xx, a
// 429 or a network failure, with exponential backoff and jitter; a 429 waits for its
// x-ratelimit-reset (capped) instead. Calls that create something or move money (initialize,
// create recipient, initiate and finalize transfer, create refund) are sent exactly once: on a
// 5xx, a timeout or a dropped connection they return `unavailable`, because Paystack may have
// acted on them. The caller then looks the outcome up (verify_transfer, list_refunds with the
// transaction, verify_transaction) before anything is sent again (DESIGN section 6).
//
// Transfers. initiate_transfer() never resends. Paystack refuses a reused transfer reference
// (`duplicate_transfer_reference`) instead of replaying the original, so
// initiate_or_lookup_transfer() turns that refusal into GET /transfer/verify/:reference and
// returns the transfer that already exists. Calling it again with the same request after an
// `unavailable` is therefore safe: it can never create a second transfer.
//
// Errors are ApiError values (api_error.h); no exception leaves this module. The secret key is
// never part of an error message.
//
// Errors are scrubbed before they are returned: the secret key becomes "[redacted]" and every run
// of 10 or more digits (an account number echoed back) keeps only its last 4 ("******6789").
//
// Thread-safety: a Client may be shared between threads if its transport may. Client::create
// gives it a PooledTransport of ClientConfig::connections_max connections, so that calls run in
// parallel and one slow call holds up only its own connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_client.h"
#include "paystack/api_error.h"
#include "paystack/types.h"

namespace escrow::paystack {

inline constexpr int attempts_max_default = 4;
inline constexpr int backoff_base_ms_default = 250;
inline constexpr int backoff_max_ms_default = 4'000;
inline constexpr int rate_limit_wait_ms_max_default = 30'000;

struct RetryPolicy {
  int attempts_max =
      attempts_max_default;  // attempts in all, for safe calls; unsafe calls make one
  int backoff_base_ms = backoff_base_ms_default;                // the first wait, before jitter
  int backoff_max_ms = backoff_max_ms_default;                  // cap of the exponential wait
  int rate_limit_wait_ms_max = rate_limit_wait_ms_max_default;  // cap of a 429's x-ratelimit-reset
};

// The wait after failed attempt `attempt` (1-based): min(max, base * 2^(attempt-1)) scaled by
// a jitter factor in [0.5, 1.0] taken from `unit_random` in [0, 1).
int64_t backoff_delay_ms(const RetryPolicy& policy, int attempt, double unit_random);

// The wait after a 429: its x-ratelimit-reset (seconds) when sent and positive, capped at
// rate_limit_wait_ms_max; otherwise the ordinary backoff.
int64_t rate_limit_delay_ms(const RetryPolicy& policy, const ApiError& error, int attempt,
                            double unit_random);

using SleepFn = std::function<void(std::chrono::milliseconds)>;

// Told once per call that reached the transport (retries included in that one call), with the
// endpoint name ("transaction.verify", "transfer.initiate", ...) and the outcome: "ok" or the
// error_kind_name() of the failure. Calls refused locally before sending are not reported.
// Runs on the calling thread; it must be cheap and must not call the client.
using CallObserver = std::function<void(std::string_view endpoint, std::string_view outcome)>;

struct ClientConfig {
  std::string base_url = "https://api.paystack.co";  // the caller applies PAYSTACK_BASE_URL
  std::string secret_key;                            // PAYSTACK_SECRET_KEY
  int connect_timeout_ms = connect_timeout_ms_default;
  int request_timeout_ms = request_timeout_ms_default;
  size_t response_body_bytes_max = response_body_bytes_max_default;
  int connections_max = connections_max_default;  // parallel calls; more wait for a connection
  RetryPolicy retry;
};

// `text` with every run of 10 or more ASCII digits masked but for its last 4: account numbers
// never reach a log through an error message.
std::string mask_digit_runs(std::string_view text);

class Client {
 public:
  // A client over a PooledTransport of HttpClients. `invalid_argument` for an empty key, a
  // malformed base URL, a plain-http URL to a host that is not loopback or connections_max < 1.
  static Result<std::unique_ptr<Client>> create(const ClientConfig& config);

  // Over any transport (tests inject fakes). `sleep` defaults to std::this_thread::sleep_for;
  // `secret_key` is used only to scrub it from error text.
  explicit Client(std::shared_ptr<HttpTransport> transport, RetryPolicy retry = {},
                  SleepFn sleep = {}, std::string secret_key = {});

  // Set once at start-up, before the client is shared between threads.
  void set_observer(CallObserver observer) { observer_ = std::move(observer); }

  // ---- transactions (DESIGN section 6: pay, capture) ------------------------------------------
  ApiResult<InitializedTransaction> initialize_transaction(
      const InitializeTransactionRequest& request);                                    // once
  ApiResult<Transaction> verify_transaction(std::string_view reference);               // retried
  ApiResult<Transaction> fetch_transaction(int64_t id);                                // retried
  ApiResult<Page<Transaction>> list_transactions(const ListTransactionsQuery& query);  // retried

  // ---- payouts --------------------------------------------------------------------------------
  ApiResult<Recipient> create_transfer_recipient(const CreateRecipientRequest& request);  // once
  ApiResult<Page<Recipient>> list_transfer_recipients(std::optional<int> page,
                                                      std::optional<int> per_page);
  ApiResult<Page<Bank>> list_banks(const ListBanksQuery& query);  // retried
  ApiResult<ResolvedAccount> resolve_account(std::string_view account_number,
                                             std::string_view bank_code);
  // Sent once; the reference must pass transfer_reference_valid() (else `validation`, nothing
  // sent).
  ApiResult<Transfer> initiate_transfer(const InitiateTransferRequest& request);
  // initiate_transfer(), and on `duplicate_transfer_reference` the transfer already stored under
  // the reference (GET /transfer/verify/:reference, retried). If that transfer's amount or
  // recipient differs from `request`, the duplicate error is returned (with the existing
  // transfer code in its message): the reference was reused for something else.
  ApiResult<Transfer> initiate_or_lookup_transfer(const InitiateTransferRequest& request);
  ApiResult<Transfer> verify_transfer(std::string_view reference);  // retried
  ApiResult<Transfer> finalize_transfer(std::string_view transfer_code,
                                        std::string_view otp);                // once
  ApiResult<Page<Transfer>> list_transfers(const ListTransfersQuery& query);  // retried

  // ---- refunds --------------------------------------------------------------------------------
  ApiResult<Refund> create_refund(const CreateRefundRequest& request);  // once
  ApiResult<Page<Refund>> list_refunds(const ListRefundsQuery& query);  // retried
  ApiResult<Refund> fetch_refund(int64_t id);                           // retried

  // ---- disputes (chargebacks) -----------------------------------------------------------------
  ApiResult<Dispute> fetch_dispute(int64_t id);                            // retried
  ApiResult<Page<Dispute>> list_disputes(const ListDisputesQuery& query);  // retried
  // PUT /dispute/:id/resolve, sent once. Its answer is Paystack's short record of the dispute
  // (the transaction as an id): fetch_dispute() gives the whole.
  ApiResult<Dispute> resolve_dispute(const ResolveDisputeRequest& request);

  // ---- balance --------------------------------------------------------------------------------
  ApiResult<std::vector<Balance>> balance();  // retried

 private:
  struct Exchange {
    HttpResponse response;
    int attempts = 1;
  };
  ApiResult<Exchange> send(const HttpRequest& request);
  double unit_random();
  void scrub(ApiError& error) const;
  template <class T>
  ApiResult<T> call(std::string_view endpoint, const HttpRequest& request,
                    ApiResult<T> (*decode)(const HttpResponse&));

  std::shared_ptr<HttpTransport> transport_;
  RetryPolicy retry_;
  SleepFn sleep_;
  std::string secret_key_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
  CallObserver observer_;
};

}  // namespace escrow::paystack
