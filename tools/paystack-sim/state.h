// The simulated Paystack integration as plain C++: transactions, customers, transfer recipients,
// transfers, refunds, disputes (chargebacks), the merchant balance per currency and the
// simulator's behaviour switches.
// Every Paystack operation returns an ApiResult: the HTTP status, the exact JSON body Paystack
// would send (envelope, messages and error bodies of shared/paystack/FACTS.md and the official
// samples) and the Effects the shell must carry out (webhooks to send, later state changes to
// schedule). No sockets, no clocks other than now_ms(), no Beast.
//
// Thread-safety: none; the server drives it from its single io_context thread.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "json_out.h"

namespace paystack_sim {

inline constexpr int64_t kOpeningBalanceDefault = 100'000'000'000;
inline constexpr size_t kTransactionsMax = 200'000;
inline constexpr size_t kCustomersMax = 200'000;
inline constexpr size_t kRecipientsMax = 50'000;
inline constexpr size_t kTransfersMax = 200'000;
inline constexpr size_t kRefundsMax = 100'000;
inline constexpr size_t kDisputesMax = 100'000;
inline constexpr int64_t kDelayMsMax = 60'000;
inline constexpr int kWebhookDuplicatesMax = 10;
// How long a pending transfer or refund waits before its next status (and webhook).
inline constexpr int64_t kSettleDelayMs = 250;
// Paystack abandons a transfer whose OTP is not given within 30 minutes.
inline constexpr int64_t kOtpExpiryMs = 30 * 60 * 1000;
inline constexpr std::string_view kValidOtp = "123456";
// The dashboard user the simulated merchant acts as (refunded_by, merchant notes).
inline constexpr std::string_view kMerchantEmail = "merchant@paystack-sim.test";
// Who a bank decision (control resolve) is recorded as in a dispute's history.
inline constexpr std::string_view kDisputeDeskEmail = "disputes@paystack-sim.test";
// The merchant must answer a chargeback within this time (the simulator's guess; dueAt).
inline constexpr int64_t kDisputeDueMs = 72LL * 3600 * 1000;

enum class TransferMode { success, pending, otp, fail, reverse };
enum class RefundMode { processed, failed, needs_attention };

struct SimConfig {
  TransferMode transfer_mode = TransferMode::success;
  RefundMode refund_mode = RefundMode::processed;
  int64_t webhook_delay_ms = 0;
  int webhook_duplicates = 0;
  bool webhook_shuffle = false;
  double webhook_drop_rate = 0;
  double error_rate = 0;
  int64_t latency_ms = 0;
  std::string webhook_url;
};

enum class TxStatus { abandoned, success, failed, reversed };
enum class TransferStatus { pending, otp, success, failed, reversed, abandoned };
enum class RefundStatus { pending, processing, processed, failed, needs_attention };
enum class DisputeStatus { awaiting_merchant_feedback, awaiting_bank_feedback, pending, resolved };
enum class DisputeResolution { merchant_accepted, declined, auto_accepted };

struct Customer {
  uint64_t id = 0;
  std::string email;
  std::string code;                // CUS_...
  std::string authorization_code;  // AUTH_..., the test card it "pays" with
  std::string card_signature;      // SIG_...
};

struct Transaction {
  uint64_t id = 0;
  std::string reference;
  std::string access_code;
  std::string currency;
  std::string callback_url;
  std::string metadata_json;  // exactly as given at initialize; empty when none was given
  int64_t requested_amount = 0;
  int64_t amount = 0;  // what was charged (a wrong-amount payment changes it)
  std::optional<int64_t> fees;
  TxStatus status = TxStatus::abandoned;
  std::string gateway_response = "The transaction was not completed";
  size_t customer = 0;
  int64_t created_ms = 0;
  std::optional<int64_t> paid_ms;
  std::optional<int64_t> attempted_ms;  // when checkout last succeeded or failed
  int64_t refunds_open_or_done = 0;     // sum of refunds that have not failed
  int64_t refunds_processed = 0;
  std::optional<size_t> open_dispute;  // index of its unresolved dispute: at most one at a time
};

struct Recipient {
  uint64_t id = 0;
  std::string code;  // RCP_...
  std::string type;
  std::string name;
  std::string account_number;
  std::optional<std::string> account_name;
  std::string bank_code;
  std::string bank_name;
  std::string currency;
  std::string description;
  std::optional<std::string> email;
  std::string metadata_json;
  int64_t created_ms = 0;
};

struct Transfer {
  uint64_t id = 0;
  uint64_t request_id = 0;
  std::string reference;
  std::string code;  // TRF_...
  std::string reason;
  std::string currency;
  int64_t amount = 0;
  int64_t fee = 0;
  size_t recipient = 0;
  TransferMode mode = TransferMode::success;
  TransferStatus status = TransferStatus::pending;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::optional<int64_t> transferred_ms;
};

struct Refund {
  uint64_t id = 0;
  size_t transaction = 0;
  int64_t amount = 0;
  std::string currency;
  std::string customer_note;
  std::string merchant_note;
  RefundMode mode = RefundMode::processed;
  RefundStatus status = RefundStatus::pending;
  std::optional<std::string> refund_reference;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::optional<int64_t> refunded_ms;
};

struct DisputeEvent {  // one history entry: a status and who set it
  std::string status;
  std::string by;
  int64_t created_ms = 0;
};

struct DisputeMessage {
  uint64_t id = 0;
  std::string sender;
  std::string body;
  int64_t created_ms = 0;
};

struct Dispute {
  uint64_t id = 0;
  size_t transaction = 0;
  int64_t refund_amount = 0;
  std::string currency;
  DisputeStatus status = DisputeStatus::awaiting_merchant_feedback;
  std::optional<DisputeResolution> resolution;
  std::optional<std::string> attachments;  // the uploaded_filename the merchant gave
  std::optional<uint64_t> evidence;        // the evidence id the merchant gave
  std::vector<DisputeEvent> history;       // bounded: a dispute changes status at most 3 times
  std::vector<DisputeMessage> messages;    // bounded: the complaint and one merchant answer
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t due_ms = 0;
  std::optional<int64_t> resolved_ms;
};

// A webhook the shell must deliver: `body` is the exact compact JSON to sign and send.
struct WebhookOut {
  std::string event;
  std::string reference;
  std::string body;
};

enum class FollowUpKind { transfer_settle, transfer_otp_expiry, refund_advance };

// A state change that happens later on its own (a pending transfer settles, a refund advances).
struct FollowUp {
  FollowUpKind kind = FollowUpKind::transfer_settle;
  uint64_t id = 0;
  int64_t delay_ms = 0;
  uint64_t generation = 0;  // a reset makes older follow-ups void
};

struct Effects {
  std::vector<WebhookOut> webhooks;
  std::vector<FollowUp> follow_ups;
};

struct ApiResult {
  int status = 200;
  std::string body;
  Effects effects;
};

using Query = std::map<std::string, std::string, std::less<>>;

enum class PayOutcome { success, failed, abandoned };

struct PayRequest {
  PayOutcome outcome = PayOutcome::success;
  std::optional<int64_t> amount;  // overrides what is charged (a wrong-amount payment)
  std::optional<std::string> currency;
};

struct SimOptions {
  std::string public_url;  // base of authorization_url, no trailing slash
  int64_t opening_balance = kOpeningBalanceDefault;
  std::string webhook_url;
};

class SimState {
 public:
  explicit SimState(SimOptions options);

  // Paystack API; the caller has checked the secret key.
  ApiResult initialize_transaction(const rapidjson::Value& body);
  ApiResult verify_transaction(std::string_view reference) const;
  ApiResult list_transactions(const Query& query) const;
  ApiResult fetch_transaction(std::string_view id_text) const;
  ApiResult create_recipient(const rapidjson::Value& body);
  ApiResult list_recipients(const Query& query) const;
  ApiResult initiate_transfer(const rapidjson::Value& body);
  ApiResult finalize_transfer(const rapidjson::Value& body);
  ApiResult list_transfers(const Query& query) const;
  ApiResult verify_transfer(std::string_view reference) const;
  ApiResult create_refund(const rapidjson::Value& body);
  ApiResult retry_refund(std::string_view id_text, const rapidjson::Value& body);
  ApiResult list_refunds(const Query& query) const;
  ApiResult fetch_refund(std::string_view id_text) const;
  ApiResult list_banks(const Query& query) const;
  ApiResult resolve_account(const Query& query) const;
  ApiResult fetch_balance() const;
  ApiResult list_disputes(const Query& query) const;
  ApiResult fetch_dispute(std::string_view id_text) const;
  ApiResult resolve_dispute(std::string_view id_text, const rapidjson::Value& body);

  // Control API and checkout.
  ApiResult pay(std::string_view reference, const PayRequest& request);
  ApiResult pay_by_access_code(std::string_view access_code, PayOutcome outcome);
  ApiResult set_config(const rapidjson::Value& body);
  // A chargeback on a paid transaction, a reminder, and the bank's decision (DESIGN.md 7).
  ApiResult open_chargeback(std::string_view reference, const rapidjson::Value& body);
  ApiResult remind_dispute(std::string_view id_text);
  ApiResult bank_resolve_dispute(std::string_view id_text, const rapidjson::Value& body);
  void reset();
  // {transactions, transfers, refunds, recipients, disputes, balance, config} members, without
  // braces.
  void write_state_members(JsonOut& out) const;
  const Transaction* find_by_access_code(std::string_view access_code) const;
  const Customer& customer_of(const Transaction& tx) const { return customers_[tx.customer]; }
  const SimConfig& config() const { return config_; }

  Effects run_follow_up(const FollowUp& follow_up);

 private:
  Transaction* find_transaction(std::string_view id_or_reference);
  const Transaction* find_transaction(std::string_view id_or_reference) const;
  size_t customer_for(const std::string& email);
  Effects complete_payment(Transaction& tx, const PayRequest& request);
  Effects settle_transfer(Transfer& transfer, TransferStatus outcome);
  Effects advance_refund(Refund& refund);
  Dispute* find_dispute(std::string_view id_text);
  const Dispute* find_dispute(std::string_view id_text) const;
  Effects finish_dispute(Dispute& dispute, DisputeResolution resolution, std::string_view by);
  void credit(const std::string& currency, int64_t amount);
  std::optional<ApiResult> validate_transfer(const rapidjson::Value& body,
                                             const Recipient*& recipient, int64_t& amount,
                                             std::string& reference) const;
  FollowUp follow_up(FollowUpKind kind, uint64_t id, int64_t delay_ms) const;
  WebhookOut transaction_webhook(const Transaction& tx) const;
  WebhookOut transfer_webhook(const Transfer& transfer) const;
  WebhookOut refund_webhook(const Refund& refund) const;
  WebhookOut dispute_webhook(const Dispute& dispute, std::string_view event) const;

  // Views: the JSON shapes of the official samples for each operation (views.cpp).
  enum class TxView { verify, fetch, list, webhook };
  void write_transaction(JsonOut& out, const Transaction& tx, TxView view) const;
  void write_transaction_tail(JsonOut& out, const Transaction& tx, TxView view) const;
  void write_customer(JsonOut& out, const Customer& c, TxView view) const;
  void write_authorization(JsonOut& out, const Transaction& tx) const;
  void write_recipient(JsonOut& out, const Recipient& r, bool webhook, bool snake_times) const;
  void write_transfer_short(JsonOut& out, const Transfer& t, bool initiate) const;
  void write_transfer_full(JsonOut& out, const Transfer& t) const;
  void write_refund_created(JsonOut& out, const Refund& r) const;
  void write_refund(JsonOut& out, const Refund& r, bool boolean_flags) const;
  void write_dispute(JsonOut& out, const Dispute& d, bool webhook) const;
  void write_dispute_transaction(JsonOut& out, const Transaction& tx, bool webhook) const;
  void write_dispute_resolved(JsonOut& out, const Dispute& d) const;

  SimOptions options_;
  SimConfig config_;
  uint64_t generation_ = 0;
  std::map<std::string, int64_t, std::less<>> balance_;
  std::vector<Customer> customers_;
  std::unordered_map<std::string, size_t> customer_by_email_;
  std::vector<Transaction> transactions_;
  std::unordered_map<std::string, size_t> tx_by_reference_;
  std::unordered_map<std::string, size_t> tx_by_access_code_;
  std::vector<Recipient> recipients_;
  std::unordered_map<std::string, size_t> recipient_by_code_;
  std::vector<Transfer> transfers_;
  std::unordered_map<std::string, size_t> transfer_by_reference_;
  std::unordered_map<std::string, size_t> transfer_by_code_;
  std::vector<Refund> refunds_;
  std::vector<Dispute> disputes_;
  uint64_t dispute_messages_ = 0;  // messages ever written, for their ids
};

// Names as Paystack spells them.
std::string_view tx_status_name(TxStatus s);
std::string_view transfer_status_name(TransferStatus s);
std::string_view refund_status_name(RefundStatus s);
std::string_view dispute_status_name(DisputeStatus s);
std::string_view dispute_resolution_name(DisputeResolution r);
std::string_view transfer_mode_name(TransferMode m);
std::string_view refund_mode_name(RefundMode m);

bool supported_currency(std::string_view currency);  // NGN, GHS, ZAR, KES, USD

// Paystack-like fee on a successful charge, in subunits (NGN local card: 1.5% + 100 NGN, the
// 100 NGN waived under 2,500 NGN, capped at 2,000 NGN).
int64_t charge_fee(std::string_view currency, int64_t amount);
// Fee debited with a transfer, by currency and amount band; reported as fee_charged.
int64_t transfer_fee(std::string_view currency, std::string_view recipient_type, int64_t amount);

// Envelope helpers shared by the views and the router.
ApiResult error_result(int status, std::string_view message);
ApiResult coded_error(int status, std::string_view message, std::string_view next_step,
                      std::string_view type, std::string_view code);

}  // namespace paystack_sim
