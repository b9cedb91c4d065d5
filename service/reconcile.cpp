// Paystack's records for a period against the ledger's; see reconcile.h.
#include "service/reconcile.h"

#include <rapidjson/document.h>

#include <set>
#include <utility>

#include "ledger/overloaded.h"
#include "service/outbox.h"
#include "service/payments.h"

namespace escrow::service {
namespace {

// ---- the ledger's side (projections) -----------------------------------------------------------

struct LedgerPayment {
  std::string reference, booking_id, status;
  std::optional<Money> amount;  // absent for a currency this build does not know
};

struct LedgerPayout {
  std::string payout_id, provider_id, status;
  std::optional<std::string> booking_id;
  std::optional<Money> amount;
};

struct LedgerRefund {
  std::string refund_id, booking_id, payment_reference, status;
  int64_t paystack_transaction_id = 0;
  std::optional<int64_t> paystack_refund_id;
  std::optional<Money> amount;
};

std::optional<Money> money_of(const sqlite::Stmt& row, int amount_col, int currency_col) {
  auto currency = parse_currency(row.column_view(currency_col));
  if (!currency) return std::nullopt;
  return Money{row.column_int64(amount_col), *currency};
}

std::string money_text(const std::optional<Money>& money) {
  return money ? money->to_string() : std::string("an unknown currency");
}

// Rows of `stmt` (already bound), each read by `read`.
template <class Row, class Read>
Result<std::vector<Row>> rows_of(sqlite::Stmt& stmt, Read read) {
  std::vector<Row> out;
  while (true) {
    auto step = stmt.step();
    if (!step.is_ok()) return step.status();
    if (!step.value()) break;
    out.push_back(read(stmt));
  }
  stmt.reset();
  return out;
}

constexpr const char* payment_columns =
    "SELECT reference, booking_id, status, amount, currency FROM payments ";
LedgerPayment read_payment(const sqlite::Stmt& row) {
  return LedgerPayment{row.column_text(0), row.column_text(1), row.column_text(2),
                       money_of(row, 3, 4)};
}

constexpr const char* payout_columns =
    "SELECT payout_id, provider_id, status, booking_id, amount, currency FROM payouts ";
LedgerPayout read_payout(const sqlite::Stmt& row) {
  LedgerPayout p{row.column_text(0), row.column_text(1), row.column_text(2), std::nullopt,
                 money_of(row, 4, 5)};
  if (!row.column_is_null(3)) p.booking_id = row.column_text(3);
  return p;
}

constexpr const char* refund_columns =
    "SELECT refund_id, booking_id, payment_reference, status, paystack_transaction_id, "
    "paystack_refund_id, amount, currency FROM refunds ";
LedgerRefund read_refund(const sqlite::Stmt& row) {
  LedgerRefund r{row.column_text(0),  row.column_text(1), row.column_text(2), row.column_text(3),
                 row.column_int64(4), std::nullopt,       money_of(row, 6, 7)};
  if (!row.column_is_null(5)) r.paystack_refund_id = row.column_int64(5);
  return r;
}

Status paystack_failure(std::string_view doing, const paystack::ApiError& error) {
  return Status(error.to_status().code(), std::string(doing) + ": " + error.to_string());
}

// Every page of a Paystack list. Pages may shift while they are read (new objects come first),
// so an object seen twice is kept once (by id).
template <class T, class Fetch>
paystack::ApiResult<std::vector<T>> every_page(Fetch fetch) {
  std::vector<T> all;
  std::set<int64_t> ids;
  for (int page = 1;; ++page) {
    auto got = fetch(page);
    if (!got.is_ok()) return got.error();
    size_t count = got->items.size();
    for (T& item : got->items) {
      if (ids.insert(item.id).second) all.push_back(std::move(item));
    }
    if (count < static_cast<size_t>(reconcile_page_size)) break;
    if (got->meta.page_count && page >= *got->meta.page_count) break;
  }
  return all;
}

bool payout_final(std::string_view status) {
  return status == "success" || status == "failed" || status == "reversed";
}
bool refund_final(std::string_view status) {
  return status == "processed" || status == "failed";
}

Difference difference(std::string kind, std::string reference,
                      std::optional<std::string> booking_id, std::string ledger,
                      std::string paystack, std::string action, Fix fix = {}) {
  Difference d;
  d.kind = std::move(kind);
  d.reference = std::move(reference);
  d.booking_id = std::move(booking_id);
  d.ledger = std::move(ledger);
  d.paystack = std::move(paystack);
  d.action = std::move(action);
  d.fix = std::move(fix);
  return d;
}

// ---- the comparison ----------------------------------------------------------------------------

class Comparer {
 public:
  Comparer(sqlite::Db& db, paystack::Client& paystack, const ReconcilePeriod& period)
      : db_(db), paystack_(paystack) {
    report_.period = period;
  }

  Result<ReconcileReport> run() {
    for (auto step :
         {&Comparer::listed_transactions, &Comparer::unlisted_payments, &Comparer::listed_transfers,
          &Comparer::unlisted_payouts, &Comparer::listed_refunds, &Comparer::unlisted_refunds}) {
      Status s = (this->*step)();
      if (!s.is_ok()) return s;
    }
    return std::move(report_);
  }

 private:
  void add(Difference d) { report_.differences.push_back(std::move(d)); }

  template <class Row, class Read>
  Result<std::optional<Row>> one(std::string_view sql, std::string_view key, Read read) {
    auto stmt = db_.prepare(sql);
    if (!stmt.is_ok()) return stmt.status();
    stmt->bind(1, key);
    auto rows = rows_of<Row>(stmt.value(), read);
    if (!rows.is_ok()) return rows.status();
    if (rows->empty()) return std::optional<Row>();
    return std::optional<Row>(std::move(rows->front()));
  }

  template <class Row, class Read>
  Result<std::vector<Row>> in_period(std::string_view sql, Read read) {
    auto stmt = db_.prepare(sql);
    if (!stmt.is_ok()) return stmt.status();
    stmt->bind(1, report_.period.from_ms).bind(2, report_.period.to_ms);
    return rows_of<Row>(stmt.value(), read);
  }

  Result<bool> booking_exists(std::string_view booking_id) {
    auto stmt = db_.prepare("SELECT 1 FROM bookings WHERE id = ?");
    if (!stmt.is_ok()) return stmt.status();
    stmt->bind(1, booking_id);
    return stmt->step();
  }

  // Refunds of ours on `reference` that did not fail, and chargebacks on it resolved for the
  // customer: a transaction they cover in full reads "reversed" at Paystack once they are
  // processed (a refund still open in the ledger is then reported as a refund_status difference
  // of its own).
  Result<int64_t> refunds_not_failed(std::string_view reference) {
    auto stmt = db_.prepare(
        "SELECT (SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE payment_reference = ?1 "
        "AND status <> 'failed') + (SELECT COALESCE(SUM(refund_amount), 0) FROM chargebacks "
        "WHERE payment_reference = ?1 AND resolution IN ('merchant-accepted', 'auto-accepted'))");
    if (!stmt.is_ok()) return stmt.status();
    stmt->bind(1, reference);
    auto row = stmt->step();
    if (!row.is_ok()) return row.status();
    return stmt->column_int64(0);
  }

  // ---- transactions ----

  Status listed_transactions() {
    auto listed = every_page<paystack::Transaction>([&](int page) {
      paystack::ListTransactionsQuery q;
      q.page = page;
      q.per_page = reconcile_page_size;
      q.from_ms = report_.period.from_ms;
      q.to_ms = report_.period.to_ms;
      return paystack_.list_transactions(q);
    });
    if (!listed.is_ok()) return paystack_failure("listing Paystack transactions", listed.error());
    for (const paystack::Transaction& tx : listed.value()) {
      auto row = one<LedgerPayment>(std::string(payment_columns) + "WHERE reference = ?",
                                    tx.reference, read_payment);
      if (!row.is_ok()) return row.status();
      Status s = check_transaction(tx, row.value());
      if (!s.is_ok()) return s;
    }
    return Status::ok();
  }

  // Charges of the period Paystack's list did not name (created at its edge, or unknown there).
  Status unlisted_payments() {
    auto rows = in_period<LedgerPayment>(
        std::string(payment_columns) +
            "WHERE created_at BETWEEN ? AND ? AND status IN ('pending', 'captured', 'flagged')",
        read_payment);
    if (!rows.is_ok()) return rows.status();
    for (const LedgerPayment& p : rows.value()) {
      if (seen_payments_.count(p.reference)) continue;
      auto tx = paystack_.verify_transaction(p.reference);
      if (tx.is_ok()) {
        Status s = check_transaction(tx.value(), p);
        if (!s.is_ok()) return s;
      } else if (tx.error().kind != paystack::ErrorKind::not_found) {
        return paystack_failure("verifying transaction " + p.reference, tx.error());
      } else if (p.status != "pending") {
        add(difference("capture_not_at_paystack", p.reference, p.booking_id,
                       "payment " + p.status + " " + money_text(p.amount),
                       "no transaction with this reference", "none: review by hand"));
      }
    }
    return Status::ok();
  }

  Status check_transaction(const paystack::Transaction& tx,
                           const std::optional<LedgerPayment>& row) {
    ++report_.transactions;
    seen_payments_.insert(tx.reference);
    std::string said = tx.status_text + " " + tx.amount.to_string();
    using S = paystack::TransactionStatus;
    bool success = tx.status == S::success;
    bool failed = tx.status == S::failed || tx.status == S::reversed;
    if (!row) {
      if (!success) return Status::ok();  // no money moved, or none of ours
      std::string booking_id = read_metadata(tx.metadata_json).booking_id;
      auto exists = booking_id.empty() ? Result<bool>(false) : booking_exists(booking_id);
      if (!exists.is_ok()) return exists.status();
      if (!exists.value()) {
        add(difference("charge_not_in_ledger", tx.reference, std::nullopt, "no payment", said,
                       "none: no booking of ours; review by hand"));
        return Status::ok();
      }
      add(difference("missed_capture", tx.reference, booking_id, "no payment", said,
                     "capture (settle the transaction)", SettleFix{tx}));
      return Status::ok();
    }
    std::string ledger = "payment " + row->status + " " + money_text(row->amount);
    bool held = row->status == "captured" || row->status == "flagged";
    if (success && (row->status == "pending" || row->status == "failed")) {
      add(difference("missed_capture", tx.reference, row->booking_id, ledger, said,
                     "capture (settle the transaction)", SettleFix{tx}));
    } else if (success && held && row->amount != tx.amount) {
      add(difference("amount_mismatch", tx.reference, row->booking_id, ledger, said,
                     "none: review by hand"));
    } else if (held && (failed || tx.status == S::abandoned)) {
      auto refunded = refunds_not_failed(tx.reference);
      if (!refunded.is_ok()) return refunded.status();
      bool refunded_in_full =
          tx.status == S::reversed && row->amount && refunded.value() >= row->amount->amount_minor;
      if (!refunded_in_full) {
        add(difference("charge_status", tx.reference, row->booking_id, ledger, said,
                       "none: review by hand"));
      }
    } else if (failed && row->status == "pending") {
      add(difference("missed_failure", tx.reference, row->booking_id, ledger, said,
                     "fail the payment (settle the transaction)", SettleFix{tx}));
    }
    return Status::ok();
  }

  // ---- transfers ----

  Status listed_transfers() {
    auto listed = every_page<paystack::Transfer>([&](int page) {
      paystack::ListTransfersQuery q;
      q.page = page;
      q.per_page = reconcile_page_size;
      q.from_ms = report_.period.from_ms;
      q.to_ms = report_.period.to_ms;
      return paystack_.list_transfers(q);
    });
    if (!listed.is_ok()) return paystack_failure("listing Paystack transfers", listed.error());
    for (const paystack::Transfer& t : listed.value()) {
      std::optional<LedgerPayout> row;
      if (!t.reference.empty()) {
        auto found = one<LedgerPayout>(std::string(payout_columns) + "WHERE payout_id = ?",
                                       t.reference, read_payout);
        if (!found.is_ok()) return found.status();
        row = std::move(found).value();
      }
      check_transfer(t, row);
    }
    return Status::ok();
  }

  Status unlisted_payouts() {
    auto rows = in_period<LedgerPayout>(
        std::string(payout_columns) +
            "WHERE created_at BETWEEN ? AND ? AND status IN ('queued', 'pending', 'otp', "
            "'success')",
        read_payout);
    if (!rows.is_ok()) return rows.status();
    for (const LedgerPayout& p : rows.value()) {
      if (seen_payouts_.count(p.payout_id)) continue;
      auto t = paystack_.verify_transfer(p.payout_id);
      if (t.is_ok()) {
        check_transfer(t.value(), p);
      } else if (t.error().kind != paystack::ErrorKind::not_found) {
        return paystack_failure("verifying transfer " + p.payout_id, t.error());
      } else if (p.status != "queued") {  // a queued payout may not be sent yet
        add(difference("payout_not_at_paystack", p.payout_id, p.booking_id,
                       "payout " + p.status + " " + money_text(p.amount),
                       "no transfer with this reference", "none: review by hand"));
      }
    }
    return Status::ok();
  }

  void check_transfer(const paystack::Transfer& t, const std::optional<LedgerPayout>& row) {
    ++report_.transfers;
    std::string said = "transfer " + t.status_text + " " + t.amount.to_string();
    if (!row) {
      std::string reference = t.reference.empty() ? t.transfer_code : t.reference;
      add(difference("transfer_not_in_ledger", reference, std::nullopt, "no payout", said,
                     "none: review by hand"));
      return;
    }
    seen_payouts_.insert(row->payout_id);
    std::string ledger = "payout " + row->status + " " + money_text(row->amount);
    if (row->amount != t.amount) {
      add(difference("amount_mismatch", row->payout_id, row->booking_id, ledger, said,
                     "none: review by hand"));
      return;
    }
    PayoutStatus theirs = payout_status_of(t.status);
    if (row->status == payout_status_name(theirs)) return;
    Difference d = difference("transfer_status", row->payout_id, row->booking_id, ledger, said, "");
    // The ledger moves on from an open payout, and from success only to reversed (decider).
    bool movable = !payout_final(row->status) ||
                   (row->status == "success" && theirs == PayoutStatus::reversed);
    if (movable) {
      d.action = std::string("record the payout ") + payout_status_name(theirs);
      d.fix = PayoutFix{row->provider_id,
                        parse_payout_status(row->status).value_or(PayoutStatus::queued), t};
    } else {
      d.action = "none: the ledger's payout is final; review by hand";
    }
    add(std::move(d));
  }

  // ---- refunds ----

  Status listed_refunds() {
    auto listed = every_page<paystack::Refund>([&](int page) {
      paystack::ListRefundsQuery q;
      q.page = page;
      q.per_page = reconcile_page_size;
      q.from_ms = report_.period.from_ms;
      q.to_ms = report_.period.to_ms;
      return paystack_.list_refunds(q);
    });
    if (!listed.is_ok()) return paystack_failure("listing Paystack refunds", listed.error());
    for (const paystack::Refund& r : listed.value()) {
      auto row = ledger_refund_of(r);
      if (!row.is_ok()) return row.status();
      check_refund(r, row.value());
    }
    return Status::ok();
  }

  // Ours by Paystack's id once recorded, else by our refund id in merchant_note (DESIGN rule 9).
  Result<std::optional<LedgerRefund>> ledger_refund_of(const paystack::Refund& r) {
    auto stmt = db_.prepare(std::string(refund_columns) + "WHERE paystack_refund_id = ?");
    if (!stmt.is_ok()) return stmt.status();
    stmt->bind(1, r.id);
    auto rows = rows_of<LedgerRefund>(stmt.value(), read_refund);
    if (!rows.is_ok()) return rows.status();
    if (!rows->empty()) return std::optional<LedgerRefund>(rows->front());
    if (r.merchant_note.empty()) return std::optional<LedgerRefund>();
    return one<LedgerRefund>(std::string(refund_columns) + "WHERE refund_id = ?", r.merchant_note,
                             read_refund);
  }

  Status unlisted_refunds() {
    auto rows = in_period<LedgerRefund>(
        std::string(refund_columns) +
            "WHERE created_at BETWEEN ? AND ? AND status IN ('queued', 'pending', 'processing', "
            "'processed', 'needs_attention')",
        read_refund);
    if (!rows.is_ok()) return rows.status();
    for (const LedgerRefund& row : rows.value()) {
      if (seen_refunds_.count(row.refund_id)) continue;
      paystack::ListRefundsQuery q;
      q.transaction = row.paystack_transaction_id != 0 ? std::to_string(row.paystack_transaction_id)
                                                       : row.payment_reference;
      q.per_page = reconcile_page_size;
      auto listed = paystack_.list_refunds(q);
      if (!listed.is_ok() && listed.error().kind != paystack::ErrorKind::not_found)
        return paystack_failure("listing the refunds of " + row.payment_reference, listed.error());
      const paystack::Refund* match = nullptr;
      if (listed.is_ok()) {
        for (const paystack::Refund& r : listed->items) {
          bool same = row.paystack_refund_id ? r.id == *row.paystack_refund_id
                                             : r.merchant_note == row.refund_id;
          if (same) match = &r;
        }
      }
      if (match) {
        check_refund(*match, row);
      } else if (row.status != "queued") {  // a queued refund may not be sent yet
        add(difference("refund_not_at_paystack", row.refund_id, row.booking_id,
                       "refund " + row.status + " " + money_text(row.amount),
                       "no refund of transaction " + row.payment_reference + " matches",
                       "none: review by hand"));
      }
    }
    return Status::ok();
  }

  void check_refund(const paystack::Refund& r, const std::optional<LedgerRefund>& row) {
    ++report_.refunds;
    std::string said =
        "refund " + std::to_string(r.id) + " " + r.status_text + " " + r.amount.to_string();
    if (!row) {
      std::string reference = r.transaction_reference.empty()
                                  ? "paystack-refund-" + std::to_string(r.id)
                                  : r.transaction_reference;
      add(difference("refund_not_in_ledger", reference, std::nullopt, "no refund", said,
                     "none: review by hand"));
      return;
    }
    seen_refunds_.insert(row->refund_id);
    std::string ledger = "refund " + row->status + " " + money_text(row->amount);
    if (row->amount != r.amount) {
      add(difference("amount_mismatch", row->refund_id, row->booking_id, ledger, said,
                     "none: review by hand"));
      return;
    }
    std::optional<RefundStatus> theirs = refund_status_of(r.status);
    if (!theirs || row->status == refund_status_name(*theirs)) return;
    Difference d = difference("refund_status", row->refund_id, row->booking_id, ledger, said, "");
    if (!refund_final(row->status)) {
      d.action = std::string("record the refund ") + refund_status_name(*theirs);
      d.fix = RefundFix{row->booking_id, row->refund_id, *theirs, r.id};
    } else {
      d.action = "none: the ledger's refund is final; review by hand";
    }
    add(std::move(d));
  }

  sqlite::Db& db_;
  paystack::Client& paystack_;
  ReconcileReport report_;
  std::set<std::string> seen_payments_, seen_payouts_, seen_refunds_;
};

// ---- applying ----------------------------------------------------------------------------------

CommandContext reconcile_context() {
  return CommandContext{
      Actor{"reconcile", Role::system}, std::nullopt, std::nullopt, std::nullopt, {}};
}

// "recorded", "unchanged" (the ledger already had it) or "refused: <code>".
std::string outcome_of(const CommandResult& result) {
  if (result.rejection) return std::string("refused: ") + rejection_code(*result.rejection);
  return result.events.empty() ? "unchanged" : "recorded";
}

Status apply_settle(const Context& ctx, Difference& d, const SettleFix& fix) {
  auto out = settle_transaction(ctx, fix.transaction, "reconcile", reconcile_context());
  if (!out.is_ok()) return out.status();
  d.outcome = settlement_name(out->settlement);
  if (out->result.rejection)
    d.outcome += std::string(": ") + rejection_code(*out->result.rejection);
  d.applied = !out->result.events.empty();
  return Status::ok();
}

// As a transfer webhook records it; a transfer code that arrives with a final status for a payout
// still queued is recorded first (PayoutSent), as the outbox does, so the payout keeps it.
Status apply_payout(const Context& ctx, Difference& d, const PayoutFix& fix) {
  const paystack::Transfer& t = fix.transfer;
  PayoutStatus status = payout_status_of(t.status);
  std::optional<int64_t> transfer_id;
  if (t.id != 0) transfer_id = t.id;
  bool final_status = status != PayoutStatus::pending && status != PayoutStatus::otp;
  if (final_status && fix.ledger_status == PayoutStatus::queued && !t.transfer_code.empty()) {
    RecordPayoutOutcome sent{d.reference, PayoutStatus::pending, t.transfer_code, transfer_id, ""};
    CommandResult result = ctx.shell.execute(fix.provider_id, sent, reconcile_context());
    if (!result.status.is_ok()) return result.status;
  }
  std::string reason;
  if (status == PayoutStatus::failed || status == PayoutStatus::reversed) {
    reason = t.gateway_response.empty() ? "transfer " + t.status_text
                                        : "transfer " + t.status_text + ": " + t.gateway_response;
  }
  RecordPayoutOutcome outcome{d.reference, status, t.transfer_code, transfer_id, reason};
  CommandResult result = ctx.shell.execute(fix.provider_id, outcome, reconcile_context());
  if (!result.status.is_ok()) return result.status;
  d.outcome = outcome_of(result);
  d.applied = result.ok() && !result.events.empty();
  return Status::ok();
}

Status apply_refund(const Context& ctx, Difference& d, const RefundFix& fix) {
  RecordRefundOutcome command{fix.refund_id, fix.status, fix.paystack_refund_id,
                              fix.status == RefundStatus::failed ? "Paystack: refund failed" : ""};
  CommandResult result = ctx.shell.execute(fix.booking_id, command, reconcile_context());
  if (!result.status.is_ok()) return result.status;
  d.outcome = outcome_of(result);
  d.applied = result.ok() && !result.events.empty();
  return Status::ok();
}

}  // namespace

Result<ReconcileReport> reconcile_compare(sqlite::Db& db, paystack::Client& paystack,
                                          const ReconcilePeriod& period) {
  return Comparer(db, paystack, period).run();
}

Status reconcile_apply(const Context& ctx, ReconcileReport& report) {
  for (Difference& d : report.differences) {
    Status s = std::visit(Overloaded{
                              [](std::monostate) { return Status::ok(); },
                              [&](const SettleFix& fix) { return apply_settle(ctx, d, fix); },
                              [&](const PayoutFix& fix) { return apply_payout(ctx, d, fix); },
                              [&](const RefundFix& fix) { return apply_refund(ctx, d, fix); },
                          },
                          d.fix);
    if (!s.is_ok()) return s;
    if (d.applied) ++report.applied;
  }
  return Status::ok();
}

}  // namespace escrow::service
