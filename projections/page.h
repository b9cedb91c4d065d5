// One page of a list read from the projections, and the one cursor format every paged list uses.
//
// A list is ordered by a sort key: a number (a time in ms, or a seq) and up to two strings that
// break ties, newest first. A page holds at most `limit` rows; when more rows follow, its
// next_cursor names the sort key of its last row, and passing that cursor back continues strictly
// after it, so a row is never shown twice nor skipped while rows are added at the front.
//
// A cursor is opaque to clients: the lowercase hex of "<number>\n<first>\n<second>". decode()
// refuses anything this format cannot have produced, so a handler can answer a forged or mangled
// cursor with 400 before it reads anything.
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace escrow::projections {

struct SortKey {
  int64_t at = 0;  // a time in ms, or a seq
  std::string first, second;
  bool operator==(const SortKey&) const = default;
};

std::string encode_cursor(const SortKey& key);
std::optional<SortKey> decode_cursor(std::string_view cursor);

// Where a page starts and how long it is.
struct PageRequest {
  int64_t limit = 50;            // 1.., checked by the caller
  std::optional<SortKey> after;  // none: the first page
};

template <class Row>
struct Page {
  std::vector<Row> rows;
  std::optional<std::string> next_cursor;  // none on the last page
};

}  // namespace escrow::projections
