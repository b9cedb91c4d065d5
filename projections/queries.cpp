// The read queries over the projection tables and the log; see queries.h.
#include "projections/queries.h"

#include <initializer_list>

#include "ledger/store/event_store.h"
#include "ledger/store/sqlite.h"

namespace escrow::projections {

namespace {

std::optional<std::string> optional_text(const sqlite::Stmt& row, int col) {
  if (row.column_is_null(col)) return std::nullopt;
  return row.column_text(col);
}

std::optional<int64_t> optional_int(const sqlite::Stmt& row, int col) {
  if (row.column_is_null(col)) return std::nullopt;
  return row.column_int64(col);
}

// A stored currency code; the tables hold only codes the ledger wrote.
Money money_at(const sqlite::Stmt& row, int amount_col, int currency_col) {
  return Money{row.column_int64(amount_col),
               parse_currency(row.column_view(currency_col)).value_or(Currency::NGN)};
}

// Binds the page's cursor to ?at, ?at+1, ?at+2 (all NULL for the first page) and its limit,
// plus one row that tells whether a next page exists, to ?limit_at.
void bind_page(sqlite::Stmt& stmt, int at, int limit_at, const PageRequest& page) {
  if (page.after) {
    stmt.bind(at, page.after->at).bind(at + 1, page.after->first).bind(at + 2, page.after->second);
  } else {
    stmt.bind_null(at).bind_null(at + 1).bind_null(at + 2);
  }
  stmt.bind(limit_at, page.limit + 1);
}

// Steps `stmt` through one page: `read` turns the current row into a Row, `key` gives its sort
// key. The row after the limit only marks that a next page exists.
template <class Row, class Read, class Key>
Result<Page<Row>> read_page(sqlite::Stmt& stmt, int64_t limit, Read read, Key key) {
  Page<Row> page;
  std::optional<SortKey> last;
  for (int64_t rows = 0;; ++rows) {
    Result<bool> row = stmt.step();
    if (!row.is_ok()) return row.status();
    if (!row.value()) break;
    if (rows == limit) {
      page.next_cursor = encode_cursor(*last);
      break;
    }
    page.rows.push_back(read(stmt));
    last = key(stmt);
  }
  return page;
}

template <class Row, class Read>
Result<std::vector<Row>> read_all_rows(sqlite::Stmt& stmt, Read read) {
  std::vector<Row> rows;
  for (;;) {
    Result<bool> row = stmt.step();
    if (!row.is_ok()) return row.status();
    if (!row.value()) break;
    rows.push_back(read(stmt));
  }
  return rows;
}

// The one text column `sql` selects for `id`, its only parameter; none when no row matches.
Result<std::optional<std::string>> one_text(sqlite::Db& db, const char* sql, std::string_view id) {
  auto stmt = db.prepare(sql);
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row.is_ok()) return row.status();
  if (!row.value()) return std::optional<std::string>();
  return std::optional<std::string>(stmt->column_text(0));
}

// ---- transactions ----------------------------------------------------------------------------

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

const char* side_name(PartySide side) {
  switch (side) {
    case PartySide::client:
      return "client";
    case PartySide::provider:
      return "provider";
    case PartySide::both:
      return "all";
  }
  return "all";
}

TransactionRow transaction_from(const sqlite::Stmt& r) {
  return TransactionRow{r.column_text(0), optional_text(r, 1), money_at(r, 2, 3), r.column_text(4),
                        r.column_text(5), r.column_int64(6),   r.column_int64(7)};
}

// ---- disputes --------------------------------------------------------------------------------

constexpr const char* disputes_sql = R"sql(
SELECT d.booking_id, b.client_id, b.provider_id, b.amount, b.currency, b.escrow_balance,
       d.reason, d.description, d.opened_by, d.role, d.source, d.status, d.outcome,
       d.provider_amount, d.refund_amount, d.note, d.resolved_by, d.created_at, d.updated_at
  FROM disputes d JOIN bookings b ON b.id = d.booking_id
 WHERE (?1 IS NULL OR d.status = ?1)
   AND (?2 IS NULL OR (d.created_at, d.booking_id) < (?2, ?3))
 ORDER BY d.created_at DESC, d.booking_id DESC
 LIMIT ?5)sql";

DisputeRow dispute_from(const sqlite::Stmt& r) {
  DisputeRow d;
  d.booking_id = r.column_text(0);
  d.client_id = r.column_text(1);
  d.provider_id = r.column_text(2);
  d.amount = money_at(r, 3, 4);
  d.held_minor = r.column_int64(5);
  d.reason = r.column_text(6);
  d.description = r.column_text(7);
  d.opened_by = r.column_text(8);
  d.opened_by_role = r.column_text(9);
  d.source = r.column_text(10);
  d.status = r.column_text(11);
  d.outcome = r.column_text(12);
  d.provider_amount_minor = r.column_int64(13);
  d.refund_amount_minor = r.column_int64(14);
  d.note = r.column_text(15);
  d.resolved_by = r.column_text(16);
  d.created_at_ms = r.column_int64(17);
  d.updated_at_ms = r.column_int64(18);
  return d;
}

// ---- bookings --------------------------------------------------------------------------------

// Every filter is a fixed parameter (NULL: not filtered), so the statement is one text.
constexpr const char* bookings_sql = R"sql(
SELECT id, client_id, provider_id, description, amount, currency, status, payment_status,
       amount_paid, escrow_balance, platform_fee, provider_net, pay_by, auto_confirm_at, version,
       created_at, updated_at, created_seq
  FROM bookings
 WHERE (?1 IS NULL OR client_id = ?1)
   AND (?2 IS NULL OR provider_id = ?2)
   AND (?3 IS NULL OR status = ?3)
   AND (?4 IS NULL OR payment_status = ?4)
   AND (?5 IS NULL OR created_seq < ?5)
 ORDER BY created_seq DESC
 LIMIT ?8)sql";

void bind_optional(sqlite::Stmt& stmt, int index, const std::optional<std::string>& value) {
  if (value)
    stmt.bind(index, *value);
  else
    stmt.bind_null(index);
}

BookingSummaryRow booking_summary_from(const sqlite::Stmt& r) {
  BookingSummaryRow b;
  b.id = r.column_text(0);
  b.client_id = r.column_text(1);
  b.provider_id = r.column_text(2);
  b.description = r.column_text(3);
  b.amount = money_at(r, 4, 5);
  b.status = r.column_text(6);
  b.payment_status = r.column_text(7);
  b.amount_paid = r.column_int64(8);
  b.escrow_balance = r.column_int64(9);
  b.platform_fee = r.column_int64(10);
  b.provider_net = r.column_int64(11);
  b.pay_by_ms = optional_int(r, 12);
  b.auto_confirm_at_ms = optional_int(r, 13);
  b.version = r.column_int64(14);
  b.created_at_ms = r.column_int64(15);
  b.updated_at_ms = r.column_int64(16);
  return b;
}

// ---- payouts ---------------------------------------------------------------------------------

constexpr const char* payout_columns =
    "SELECT payout_id, amount, currency, status, source, booking_id, withdrawal_id, retry_of, "
    "attempt, transfer_code, reason, created_at, updated_at, provider_id, requested_by "
    "FROM payouts ";

PayoutRow payout_from(const sqlite::Stmt& r) {
  PayoutRow p;
  p.payout_id = r.column_text(0);
  p.amount = money_at(r, 1, 2);
  p.status = r.column_text(3);
  p.source = r.column_text(4);
  p.booking_id = optional_text(r, 5);
  p.withdrawal_id = optional_text(r, 6);
  p.retry_of = optional_text(r, 7);
  p.attempt = r.column_int64(8);
  p.transfer_code = r.column_text(9);
  p.reason = r.column_text(10);
  p.created_at_ms = r.column_int64(11);
  p.updated_at_ms = r.column_int64(12);
  p.provider_id = r.column_text(13);
  p.requested_by = r.column_text(14);
  return p;
}

// The (owner, id) pairs `sql` selects, its parameters bound in order.
Result<std::vector<WorkItem>> work_items(ReadPool& reads, const char* sql,
                                         std::initializer_list<int64_t> binds) {
  auto lease = reads.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(sql);
  if (!stmt.is_ok()) return stmt.status();
  int index = 0;
  for (int64_t value : binds) stmt->bind(++index, value);
  return read_all_rows<WorkItem>(stmt.value(), [](const sqlite::Stmt& r) {
    return WorkItem{r.column_text(0), r.column_text(1)};
  });
}

}  // namespace

Result<Page<TransactionRow>> Queries::transactions(std::string_view party_id, PartySide side,
                                                   const PageRequest& page) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(transactions_sql);
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, party_id).bind_static(6, side_name(side));
  bind_page(stmt.value(), 2, 5, page);
  return read_page<TransactionRow>(
      stmt.value(), page.limit, transaction_from, [](const sqlite::Stmt& r) {
        return SortKey{r.column_int64(6), r.column_text(0), r.column_text(5)};
      });
}

Result<Page<DisputeRow>> Queries::disputes(std::optional<DisputeStatus> status,
                                           const PageRequest& page) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(disputes_sql);
  if (!stmt.is_ok()) return stmt.status();
  if (status)
    stmt->bind_static(1, *status == DisputeStatus::open ? "open" : "resolved");
  else
    stmt->bind_null(1);
  bind_page(stmt.value(), 2, 5, page);
  return read_page<DisputeRow>(stmt.value(), page.limit, dispute_from, [](const sqlite::Stmt& r) {
    return SortKey{r.column_int64(17), r.column_text(0), ""};
  });
}

Result<Page<BookingSummaryRow>> Queries::bookings(const BookingFilter& filter,
                                                  const PageRequest& page) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(bookings_sql);
  if (!stmt.is_ok()) return stmt.status();
  bind_optional(stmt.value(), 1, filter.client_id);
  bind_optional(stmt.value(), 2, filter.provider_id);
  bind_optional(stmt.value(), 3, filter.status);
  bind_optional(stmt.value(), 4, filter.payment_status);
  bind_page(stmt.value(), 5, 8, page);
  return read_page<BookingSummaryRow>(stmt.value(), page.limit, booking_summary_from,
                                      [](const sqlite::Stmt& r) {
                                        return SortKey{r.column_int64(17), "", ""};
                                      });
}

Result<BookingOutside> booking_outside_on(sqlite::Db& db, std::string_view booking_id) {
  BookingOutside outside;
  auto created = db.prepare(
      "SELECT created_at, paid_at, proof_at, approved_at, released_at, cancelled_at "
      "FROM bookings WHERE id = ?");
  if (!created.is_ok()) return created.status();
  created->bind(1, booking_id);
  auto row = created->step();
  if (!row.is_ok()) return row.status();
  if (row.value()) {
    outside.created_at_ms = created->column_int64(0);
    auto at = [&](int col) -> std::optional<int64_t> {
      if (created->column_is_null(col)) return std::nullopt;
      return created->column_int64(col);
    };
    Milestones& m = outside.milestones;
    m = Milestones{at(1), at(2), at(3), at(4), at(5)};
  }

  auto stmt = db.prepare(std::string(payout_columns) +
                         "WHERE booking_id = ? ORDER BY created_at, payout_id");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, booking_id);
  auto payouts = read_all_rows<PayoutRow>(stmt.value(), payout_from);
  if (!payouts.is_ok()) return payouts.status();
  outside.payouts = std::move(payouts).value();
  return outside;
}

Result<BookingOutside> Queries::booking_outside(std::string_view booking_id) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  sqlite::Db& db = lease.value().db();
  // One snapshot for both reads.
  auto tx = sqlite::Transaction::begin(db, sqlite::Transaction::Kind::deferred);
  if (!tx.is_ok()) return tx.status();
  return booking_outside_on(db, booking_id);
}

Result<std::vector<BalanceRow>> Queries::provider_balances(std::string_view provider_id) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      "SELECT currency, available, pending_escrow, in_flight, total_earned "
      "FROM provider_balances WHERE provider_id = ? ORDER BY currency");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, provider_id);
  return read_all_rows<BalanceRow>(stmt.value(), [](const sqlite::Stmt& r) {
    return BalanceRow{parse_currency(r.column_view(0)).value_or(Currency::NGN), r.column_int64(1),
                      r.column_int64(2), r.column_int64(3), r.column_int64(4)};
  });
}

Result<Page<PayoutRow>> Queries::provider_payouts(std::string_view provider_id,
                                                  const PageRequest& page) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      std::string(payout_columns) +
      "WHERE provider_id = ?1 AND (?2 IS NULL OR (created_at, payout_id) < (?2, ?3)) "
      "ORDER BY created_at DESC, payout_id DESC LIMIT ?5");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, provider_id);
  bind_page(stmt.value(), 2, 5, page);
  return read_page<PayoutRow>(stmt.value(), page.limit, payout_from, [](const sqlite::Stmt& r) {
    return SortKey{r.column_int64(11), r.column_text(0), ""};
  });
}

Result<Page<PayoutRow>> Queries::payouts(const std::optional<std::string>& status,
                                         const std::optional<std::string>& provider_id,
                                         const PageRequest& page) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      std::string(payout_columns) +
      "WHERE (?1 IS NULL OR status = ?1) AND (?6 IS NULL OR provider_id = ?6) "
      "AND (?2 IS NULL OR (created_at, payout_id) < (?2, ?3)) "
      "ORDER BY created_at DESC, payout_id DESC LIMIT ?5");
  if (!stmt.is_ok()) return stmt.status();
  bind_optional(stmt.value(), 1, status);
  bind_optional(stmt.value(), 6, provider_id);
  bind_page(stmt.value(), 2, 5, page);
  return read_page<PayoutRow>(stmt.value(), page.limit, payout_from, [](const sqlite::Stmt& r) {
    return SortKey{r.column_int64(11), r.column_text(0), ""};
  });
}

Result<Page<RefundRow>> Queries::refunds(const std::optional<std::string>& status,
                                         const PageRequest& page) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      "SELECT refund_id, booking_id, client_id, payment_reference, amount, currency, status, "
      "reason, failure_reason, attempt, created_at, updated_at, requested_by FROM refunds "
      "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR (created_at, refund_id) < (?2, ?3)) "
      "ORDER BY created_at DESC, refund_id DESC LIMIT ?5");
  if (!stmt.is_ok()) return stmt.status();
  bind_optional(stmt.value(), 1, status);
  bind_page(stmt.value(), 2, 5, page);
  auto read = [](const sqlite::Stmt& r) {
    RefundRow row;
    row.refund_id = r.column_text(0);
    row.booking_id = r.column_text(1);
    row.client_id = r.column_text(2);
    row.payment_reference = r.column_text(3);
    row.amount = money_at(r, 4, 5);
    row.status = r.column_text(6);
    row.reason = r.column_text(7);
    row.failure_reason = r.column_text(8);
    row.attempt = r.column_int64(9);
    row.created_at_ms = r.column_int64(10);
    row.updated_at_ms = r.column_int64(11);
    row.requested_by = r.column_text(12);
    return row;
  };
  return read_page<RefundRow>(stmt.value(), page.limit, read, [](const sqlite::Stmt& r) {
    return SortKey{r.column_int64(10), r.column_text(0), ""};
  });
}

Result<Page<PaymentRow>> Queries::payments(const std::optional<std::string>& status,
                                           const PageRequest& page) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      "SELECT reference, booking_id, installment, amount, currency, status, "
      "paystack_transaction_id, paystack_fee, created_at, updated_at FROM payments "
      "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR (created_at, reference) < (?2, ?3)) "
      "ORDER BY created_at DESC, reference DESC LIMIT ?5");
  if (!stmt.is_ok()) return stmt.status();
  bind_optional(stmt.value(), 1, status);
  bind_page(stmt.value(), 2, 5, page);
  auto read = [](const sqlite::Stmt& r) {
    PaymentRow row;
    row.reference = r.column_text(0);
    row.booking_id = r.column_text(1);
    row.installment = r.column_int64(2);
    row.amount = money_at(r, 3, 4);
    row.status = r.column_text(5);
    row.paystack_transaction_id = r.column_int64(6);
    row.paystack_fee = r.column_int64(7);
    row.created_at_ms = r.column_int64(8);
    row.updated_at_ms = r.column_int64(9);
    return row;
  };
  return read_page<PaymentRow>(stmt.value(), page.limit, read, [](const sqlite::Stmt& r) {
    return SortKey{r.column_int64(8), r.column_text(0), ""};
  });
}

Result<Page<ChargebackRow>> Queries::chargebacks(const std::optional<std::string>& status,
                                                 const PageRequest& page) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  // The cursor's text part is the dispute id as text, compared as text on both sides.
  auto stmt = lease.value().db().prepare(
      "SELECT dispute_id, booking_id, provider_id, client_id, payment_reference, refund_amount, "
      "currency, status, resolution, due_at, response, response_message, answered_by, "
      "from_escrow, from_provider, platform_loss, created_at, updated_at FROM chargebacks "
      "WHERE (?1 IS NULL OR status = ?1) "
      "AND (?2 IS NULL OR (created_at, CAST(dispute_id AS TEXT)) < (?2, ?3)) "
      "ORDER BY created_at DESC, CAST(dispute_id AS TEXT) DESC LIMIT ?5");
  if (!stmt.is_ok()) return stmt.status();
  bind_optional(stmt.value(), 1, status);
  bind_page(stmt.value(), 2, 5, page);
  auto read = [](const sqlite::Stmt& r) {
    ChargebackRow row;
    row.dispute_id = r.column_int64(0);
    row.booking_id = r.column_text(1);
    row.provider_id = r.column_text(2);
    row.client_id = r.column_text(3);
    row.payment_reference = r.column_text(4);
    row.refund_amount = money_at(r, 5, 6);
    row.status = r.column_text(7);
    row.resolution = r.column_text(8);
    if (!r.column_is_null(9)) row.due_at_ms = r.column_int64(9);
    row.response = r.column_text(10);
    row.response_message = r.column_text(11);
    row.answered_by = r.column_text(12);
    row.from_escrow = r.column_int64(13);
    row.from_provider = r.column_int64(14);
    row.platform_loss = r.column_int64(15);
    row.created_at_ms = r.column_int64(16);
    row.updated_at_ms = r.column_int64(17);
    return row;
  };
  return read_page<ChargebackRow>(stmt.value(), page.limit, read, [](const sqlite::Stmt& r) {
    return SortKey{r.column_int64(16), std::to_string(r.column_int64(0)), ""};
  });
}

namespace {

// The first seq recorded at or after `at_ms` (one past the last when none is): recorded_at never
// goes back along seq (the events table's trigger), so a binary search over the primary key finds
// it without scanning the log.
Result<int64_t> first_seq_at(sqlite::Db& db, int64_t at_ms, int64_t last_seq) {
  auto stmt = db.prepare("SELECT recorded_at FROM events WHERE seq = ?");
  if (!stmt.is_ok()) return stmt.status();
  int64_t lo = 1, hi = last_seq + 1;  // the answer is in [lo, hi]
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    stmt->reset();
    stmt->bind(1, mid);
    auto row = stmt->step();
    if (!row.is_ok()) return row.status();
    if (row.value() && stmt->column_int64(0) >= at_ms)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

}  // namespace

Result<std::vector<RevenueRow>> Queries::revenue(std::optional<int64_t> from_ms,
                                                 std::optional<int64_t> to_ms,
                                                 std::optional<Currency> currency) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  sqlite::Db& db = lease.value().db();
  auto last = db.prepare("SELECT coalesce(max(seq), 0) FROM events");
  if (!last.is_ok()) return last.status();
  auto row = last->step();
  if (!row.is_ok()) return row.status();
  const int64_t last_seq = last->column_int64(0);
  int64_t from_seq = 1, to_seq = last_seq + 1;
  if (from_ms) {
    auto seq = first_seq_at(db, *from_ms, last_seq);
    if (!seq.is_ok()) return seq.status();
    from_seq = seq.value();
  }
  if (to_ms) {
    auto seq = first_seq_at(db, *to_ms, last_seq);
    if (!seq.is_ok()) return seq.status();
    to_seq = seq.value();
  }
  auto stmt = db.prepare(
      "SELECT currency, "
      "sum(CASE WHEN credit_account = 'platform:fees' THEN amount ELSE 0 END) - "
      "sum(CASE WHEN debit_account = 'platform:fees' THEN amount ELSE 0 END), "
      "sum(CASE WHEN debit_account = 'platform:paystack_fees' THEN amount ELSE 0 END) - "
      "sum(CASE WHEN credit_account = 'platform:paystack_fees' THEN amount ELSE 0 END), "
      "sum(CASE WHEN debit_account = 'platform:chargeback_losses' THEN amount ELSE 0 END) - "
      "sum(CASE WHEN credit_account = 'platform:chargeback_losses' THEN amount ELSE 0 END) "
      "FROM ledger_entries WHERE seq >= ?1 AND seq < ?2 AND (?3 IS NULL OR currency = ?3) "
      "AND (debit_account LIKE 'platform:%' OR credit_account LIKE 'platform:%') "
      "GROUP BY currency ORDER BY currency");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, from_seq).bind(2, to_seq);
  std::optional<std::string> code;
  if (currency) code = currency_code(*currency);
  bind_optional(stmt.value(), 3, code);
  return read_all_rows<RevenueRow>(stmt.value(), [](const sqlite::Stmt& r) {
    return RevenueRow{parse_currency(r.column_text(0)).value_or(Currency::NGN), r.column_int64(1),
                      r.column_int64(2), r.column_int64(3)};
  });
}

Result<std::optional<std::string>> Queries::chargeback_booking(int64_t dispute_id) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  return one_text(lease.value().db(), "SELECT booking_id FROM chargebacks WHERE dispute_id = ?",
                  std::to_string(dispute_id));
}

Result<std::optional<std::string>> Queries::payout_provider(std::string_view payout_id) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  return one_text(lease.value().db(), "SELECT provider_id FROM payouts WHERE payout_id = ?",
                  payout_id);
}

Result<std::optional<std::string>> Queries::refund_booking(std::string_view refund_id) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  return one_text(lease.value().db(), "SELECT booking_id FROM refunds WHERE refund_id = ?",
                  refund_id);
}

Result<std::vector<RecordedEvent>> Queries::events_after(int64_t after_seq, int64_t limit) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  return read_log(lease.value().db(), after_seq, limit);
}

Result<std::vector<RecordedEvent>> Queries::stream(const std::string& stream) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  return read_stream(lease.value().db(), stream);
}

Result<MoneyInMotion> Queries::money_in_motion() {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  sqlite::Db& db = lease.value().db();
  auto tx = sqlite::Transaction::begin(db, sqlite::Transaction::Kind::deferred);
  if (!tx.is_ok()) return tx.status();
  MoneyInMotion money;
  auto depth = db.prepare(
      "SELECT (SELECT count(*) FROM payouts WHERE status = 'queued') + "
      "(SELECT count(*) FROM refunds WHERE status = 'queued')");
  if (!depth.is_ok()) return depth.status();
  auto row = depth->step();
  if (!row.is_ok()) return row.status();
  money.outbox_depth = depth->column_int64(0);

  // 'escrow;' is the first string after every 'escrow:...' (';' follows ':'), so the range
  // scans just the escrow accounts through the primary key.
  auto held = db.prepare(
      "SELECT currency, sum(balance) FROM account_balances "
      "WHERE account >= 'escrow:' AND account < 'escrow;' GROUP BY currency ORDER BY currency");
  if (!held.is_ok()) return held.status();
  auto by_currency =
      read_all_rows<std::pair<std::string, int64_t>>(held.value(), [](const sqlite::Stmt& r) {
        return std::pair<std::string, int64_t>(r.column_text(0), r.column_int64(1));
      });
  if (!by_currency.is_ok()) return by_currency.status();
  money.escrow_held_by_currency = std::move(by_currency).value();
  return money;
}

Result<std::optional<std::string>> Queries::payment_booking(std::string_view reference) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  return one_text(lease.value().db(), "SELECT booking_id FROM payments WHERE reference = ?",
                  reference);
}

Result<std::optional<PayoutRow>> Queries::payout(std::string_view payout_id) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(std::string(payout_columns) + "WHERE payout_id = ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, payout_id);
  auto rows = read_all_rows<PayoutRow>(stmt.value(), payout_from);
  if (!rows.is_ok()) return rows.status();
  if (rows->empty()) return std::optional<PayoutRow>();
  return std::optional<PayoutRow>(std::move(rows->front()));
}

Result<std::vector<WorkItem>> Queries::queued_payouts(int64_t limit) {
  return work_items(reads_,
                    "SELECT provider_id, payout_id FROM payouts WHERE status = 'queued' "
                    "ORDER BY created_at, payout_id LIMIT ?",
                    {limit});
}

Result<std::vector<WorkItem>> Queries::queued_refunds(int64_t limit) {
  return work_items(reads_,
                    "SELECT booking_id, refund_id FROM refunds WHERE status = 'queued' "
                    "ORDER BY created_at, refund_id LIMIT ?",
                    {limit});
}

Result<std::vector<WorkItem>> Queries::unsettled_payouts(int64_t updated_at_or_before_ms,
                                                         int64_t limit) {
  return work_items(reads_,
                    "SELECT provider_id, payout_id FROM payouts WHERE status IN ('pending', 'otp') "
                    "AND updated_at <= ? ORDER BY updated_at, payout_id LIMIT ?",
                    {updated_at_or_before_ms, limit});
}

Result<std::vector<WorkItem>> Queries::unsettled_refunds(int64_t updated_at_or_before_ms,
                                                         int64_t limit) {
  return work_items(reads_,
                    "SELECT booking_id, refund_id FROM refunds "
                    "WHERE status IN ('pending', 'processing', 'needs_attention') "
                    "AND updated_at <= ? ORDER BY updated_at, refund_id LIMIT ?",
                    {updated_at_or_before_ms, limit});
}

Result<std::vector<std::string>> Queries::auto_confirm_due(int64_t now_ms, int64_t limit) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      "SELECT id FROM bookings WHERE status = 'awaiting_confirmation' AND approved = 0 "
      "AND auto_confirm_at IS NOT NULL AND auto_confirm_at <= ? "
      "ORDER BY auto_confirm_at, id LIMIT ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, now_ms).bind(2, limit);
  return read_all_rows<std::string>(stmt.value(),
                                    [](const sqlite::Stmt& r) { return r.column_text(0); });
}

Result<std::vector<std::string>> Queries::expiry_due(int64_t now_ms, int64_t limit) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      "SELECT id FROM bookings WHERE status = 'awaiting_payment' AND pay_by IS NOT NULL "
      "AND pay_by < ? ORDER BY pay_by, id LIMIT ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, now_ms).bind(2, limit);
  return read_all_rows<std::string>(stmt.value(),
                                    [](const sqlite::Stmt& r) { return r.column_text(0); });
}

Result<std::vector<int64_t>> Queries::unresolved_chargebacks(int64_t limit) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      "SELECT dispute_id FROM chargebacks WHERE status <> 'resolved' "
      "ORDER BY updated_at, dispute_id LIMIT ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, limit);
  return read_all_rows<int64_t>(stmt.value(),
                                [](const sqlite::Stmt& r) { return r.column_int64(0); });
}

Result<std::vector<PendingPayment>> Queries::pending_payments(int64_t created_at_or_before_ms,
                                                              int64_t limit) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  auto stmt = lease.value().db().prepare(
      "SELECT reference, created_at FROM payments WHERE status = 'pending' "
      "AND created_at <= ? ORDER BY created_at, reference LIMIT ?");
  if (!stmt.is_ok()) return stmt.status();
  stmt->bind(1, created_at_or_before_ms).bind(2, limit);
  return read_all_rows<PendingPayment>(stmt.value(), [](const sqlite::Stmt& r) {
    return PendingPayment{r.column_text(0), r.column_int64(1)};
  });
}

Result<std::optional<DeliveryRow>> Queries::delivery(int64_t id) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  return WebhookLog::find(lease.value().db(), id);
}

Result<DeliveryPage> Queries::deliveries(const DeliveryFilter& filter) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  return WebhookLog::list(lease.value().db(), filter);
}

Result<std::vector<int64_t>> Queries::deliveries_due_for_retry(int64_t now_ms, int limit) {
  auto lease = reads_.lease();
  if (!lease.is_ok()) return lease.status();
  return WebhookLog::due_for_retry(lease.value().db(), now_ms, limit);
}

}  // namespace escrow::projections
