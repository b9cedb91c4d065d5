// Tests of projections/queries.h and projections/page.h: the read queries the HTTP API answers
// from, on a real migrated SQLite file whose projection rows are written directly.
//
// Covered: the cursor format round-trips and refuses what it cannot have produced (odd length,
// upper-case or non-hex digits, a missing or extra separator, a non-numeric key, a number not
// written the way encode_cursor writes it, found by the router fuzz target); paging walks a
// list newest first with no row shown twice or skipped, the last page has no next cursor, and an
// exact multiple of the limit does not end in an empty page; ties in time are broken by id;
// booking filters combine; a party's history is split by side (a client never sees a payout to a
// provider sharing its id); balances, owners of payouts and refunds, unknown ids.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ledger/store/migrations.h"
#include "ledger/store/read_pool.h"
#include "ledger/store/sqlite.h"
#include "projections/page.h"
#include "projections/queries.h"
#include "test/temp_dir.h"

using namespace escrow;
using namespace escrow::projections;

namespace {

struct Fixture {
  TempDir dir;
  std::string path = dir.path + "/escrow.db";
  sqlite::Db db;
  ReadPool reads{path};
  Queries queries{reads};

  Fixture() : db(open(path)) {}

  static sqlite::Db open(const std::string& path) {
    REQUIRE(migrate_file(path).is_ok());
    auto db = sqlite::Db::open(path, sqlite::Db::Mode::read_write);
    REQUIRE(db.is_ok());
    return std::move(db).value();
  }

  void booking(const std::string& id, const std::string& client, const std::string& provider,
               const std::string& status, int64_t created_seq) {
    auto stmt = db.prepare(
        "INSERT INTO bookings (id, client_id, provider_id, client_email, description, status, "
        "payment_status, currency, amount, plan, deposit_bps, fee_bps, auto_confirm_after_s, "
        "pay_by, amount_paid, escrow_balance, released, refunded, platform_fee, provider_net, "
        "auto_confirm_at, approved, release_reason, proof, created_seq, created_at, updated_at, "
        "version) VALUES (?1, ?2, ?3, 'c@example.com', 'work', ?4, 'unpaid', 'NGN', 50000, "
        "'full', 0, 1000, 0, NULL, 0, 0, 0, 0, 5000, 45000, NULL, 0, '', NULL, ?5, ?6, ?6, 1)");
    REQUIRE(stmt.is_ok());
    REQUIRE(stmt->bind(1, id)
                .bind(2, client)
                .bind(3, provider)
                .bind(4, status)
                .bind(5, created_seq)
                .bind(6, 1'000 * created_seq)
                .run()
                .is_ok());
  }

  void payout(const std::string& id, const std::string& provider, int64_t created_at,
              const std::string& source = "release") {
    auto stmt = db.prepare(
        "INSERT INTO payouts VALUES (?1, ?2, 1000, 'NGN', 'queued', ?3, 'b1', NULL, NULL, 1, "
        "'RCP_1', '', '', ?4, ?4, '')");
    REQUIRE(stmt.is_ok());
    REQUIRE(stmt->bind(1, id).bind(2, provider).bind(3, source).bind(4, created_at).run().is_ok());
  }
};

template <class Row, class Fetch, class Id>
std::vector<std::string> walk(int64_t limit, Fetch fetch, Id id, int* pages = nullptr) {
  std::vector<std::string> seen;
  PageRequest request{limit, std::nullopt};
  for (int page = 1;; ++page) {
    Result<Page<Row>> got = fetch(request);
    REQUIRE(got.is_ok());
    REQUIRE(got->rows.size() <= static_cast<size_t>(limit));
    for (const Row& row : got->rows) seen.push_back(id(row));
    if (pages) *pages = page;
    if (!got->next_cursor) break;
    REQUIRE(page < 100);
    request.after = decode_cursor(*got->next_cursor);
    REQUIRE(request.after);
  }
  return seen;
}

}  // namespace

TEST_CASE("a cursor round-trips and a forged one is refused") {
  SortKey key{1'780'000'000'123, "payout", "po-7"};
  std::string cursor = encode_cursor(key);
  CHECK(cursor.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(decode_cursor(cursor) == key);
  CHECK(decode_cursor(encode_cursor(SortKey{42, "", ""})) == SortKey{42, "", ""});

  for (std::string bad : {std::string("abc"), std::string("zz"), std::string("4A0a0a"),
                          encode_cursor(SortKey{1, "a", "b"}) + "0a",  // a third separator
                          std::string("31320a61"),                     // one separator
                          std::string("780a0a"),                       // "x\n\n": not a number
                          std::string("")}) {
    INFO(bad);
    CHECK_FALSE(decode_cursor(bad));
  }
}

TEST_CASE("a cursor's number is refused unless written as encode_cursor writes it (router fuzz)") {
  // regression-cursor-leading-zeros: "0000000000000\nbk_1\n" decoded as 0, a cursor this
  // service never issued.
  auto hex = [](std::string_view raw) {
    std::string out;
    for (unsigned char c : raw) {
      out += "0123456789abcdef"[c >> 4];
      out += "0123456789abcdef"[c & 15];
    }
    return out;
  };
  for (std::string_view number : {"0000000000000", "007", "-0", "+1", "01"}) {
    INFO(number);
    CHECK_FALSE(decode_cursor(hex(std::string(number) + "\nbk_1\n")));
  }
  CHECK(decode_cursor(hex("0\nbk_1\n")) == SortKey{0, "bk_1", ""});
  CHECK(decode_cursor(hex("-7\na\nb")) == SortKey{-7, "a", "b"});
}

TEST_CASE("bookings page newest first by creation, filtered, with no empty last page") {
  Fixture f;
  for (int i = 1; i <= 6; ++i)
    f.booking("b" + std::to_string(i), i % 2 ? "c1" : "c2", "p1",
              i == 3 ? "cancelled" : "awaiting_payment", i);

  auto fetch_all = [&](BookingFilter filter) {
    return [&f, filter](const PageRequest& r) { return f.queries.bookings(filter, r); };
  };
  auto id = [](const BookingSummaryRow& b) { return b.id; };
  int pages = 0;
  CHECK(walk<BookingSummaryRow>(2, fetch_all({}), id, &pages) ==
        std::vector<std::string>{"b6", "b5", "b4", "b3", "b2", "b1"});
  CHECK(pages == 3);  // six rows, two per page: no fourth, empty page
  CHECK(walk<BookingSummaryRow>(4, fetch_all({}), id, &pages).size() == 6);
  CHECK(pages == 2);

  BookingFilter c1;
  c1.client_id = "c1";
  CHECK(walk<BookingSummaryRow>(1, fetch_all(c1), id) ==
        std::vector<std::string>{"b5", "b3", "b1"});
  c1.status = "awaiting_payment";
  CHECK(walk<BookingSummaryRow>(5, fetch_all(c1), id) == std::vector<std::string>{"b5", "b1"});

  auto first = f.queries.bookings({}, PageRequest{1, std::nullopt});
  REQUIRE(first.is_ok());
  const BookingSummaryRow& b6 = first->rows.at(0);
  CHECK(b6.client_id == "c2");
  CHECK(b6.amount == Money{50000, Currency::NGN});
  CHECK(b6.platform_fee == 5000);
  CHECK_FALSE(b6.pay_by_ms);
  CHECK(b6.created_at_ms == 6'000);
}

TEST_CASE("a provider's payouts page by time, ties broken by id, none skipped") {
  Fixture f;
  f.payout("po-a", "p1", 100);
  f.payout("po-c", "p1", 200);
  f.payout("po-b", "p1", 200);  // same time as po-c
  f.payout("po-d", "p1", 300, "withdrawal");
  f.payout("po-x", "p2", 250);

  auto fetch = [&](const PageRequest& r) { return f.queries.provider_payouts("p1", r); };
  auto id = [](const PayoutRow& p) { return p.payout_id; };
  std::vector<std::string> newest_first{"po-d", "po-c", "po-b", "po-a"};
  for (int64_t limit : {1, 2, 3, 4, 10}) {
    INFO("limit " << limit);
    CHECK(walk<PayoutRow>(limit, fetch, id) == newest_first);
  }

  auto outside = f.queries.booking_outside("b1");
  REQUIRE(outside.is_ok());
  CHECK_FALSE(outside->created_at_ms);  // no booking row
  REQUIRE(outside->payouts.size() == 5);
  CHECK(outside->payouts.front().payout_id == "po-a");  // oldest first

  auto owner = f.queries.payout_provider("po-x");
  REQUIRE(owner.is_ok());
  CHECK(owner.value() == std::optional<std::string>("p2"));
  auto unknown = f.queries.payout_provider("po-none");
  REQUIRE(unknown.is_ok());
  CHECK_FALSE(unknown.value());
}

TEST_CASE("a party's history is read by side, newest first") {
  Fixture f;
  // "u1" is both a client (of b1) and a provider (of payouts): the sides stay apart.
  f.booking("b1", "u1", "p9", "pending_execution", 1);
  REQUIRE(f.db.exec("INSERT INTO payments VALUES "
                    "('ref-1', 'b1', 1, 50000, 'NGN', 'captured', 7, 750, 10, 10)")
              .is_ok());
  f.payout("po-1", "u1", 20);
  f.payout("po-2", "u1", 30, "withdrawal");

  auto kinds = [&](PartySide side) {
    return walk<TransactionRow>(
        10, [&](const PageRequest& r) { return f.queries.transactions("u1", side, r); },
        [](const TransactionRow& t) { return t.kind + ":" + t.reference; });
  };
  CHECK(kinds(PartySide::client) == std::vector<std::string>{"payment:ref-1"});
  CHECK(kinds(PartySide::provider) == std::vector<std::string>{"withdrawal:po-2", "payout:po-1"});
  CHECK(kinds(PartySide::both) ==
        std::vector<std::string>{"withdrawal:po-2", "payout:po-1", "payment:ref-1"});
}

TEST_CASE("balances are read per currency and an unknown provider has none") {
  Fixture f;
  REQUIRE(f.db.exec("INSERT INTO provider_balances VALUES ('p1', 'NGN', 100, 200, 300, 400), "
                    "('p1', 'GHS', 1, 2, 3, 4)")
              .is_ok());
  auto balances = f.queries.provider_balances("p1");
  REQUIRE(balances.is_ok());
  REQUIRE(balances->size() == 2);
  CHECK(balances->at(0).currency == Currency::GHS);  // ordered by currency code
  CHECK(balances->at(1).available == 100);
  CHECK(balances->at(1).total_earned == 400);
  auto none = f.queries.provider_balances("p-unknown");
  REQUIRE(none.is_ok());
  CHECK(none->empty());
}
