// Paystack's response envelope {status, message, data[, meta]} and its offset pagination, shared
// by the simulator's operation files. Internal to tools/paystack-sim.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "json_out.h"
#include "state.h"

namespace paystack_sim {

inline constexpr int64_t kPerPageDefault = 50;
inline constexpr int64_t kPerPageMax = 1000;
inline constexpr std::string_view kNextStepRequired = "Provide all required params";
inline constexpr std::string_view kNextStepValid =
    "Ensure that the value(s) you're passing are valid.";

// {"status":true,"message":..,"data":<write_data>} with HTTP `status`.
template <class WriteData>
ApiResult ok_result(int status, std::string_view message, WriteData&& write_data) {
  JsonOut out;
  out.begin_object().kbool("status", true).kstr("message", message).key("data");
  write_data(out);
  out.end_object();
  return ApiResult{status, out.take(), {}};
}

// The same with a "meta" member after "data".
template <class WriteData, class WriteMeta>
ApiResult ok_list_result(std::string_view message, WriteData&& write_data, WriteMeta&& write_meta) {
  JsonOut out;
  out.begin_object().kbool("status", true).kstr("message", message).key("data");
  write_data(out);
  out.key("meta");
  write_meta(out);
  out.end_object();
  return ApiResult{200, out.take(), {}};
}

struct Page {
  int64_t page = 1;
  int64_t per_page = kPerPageDefault;
};

// page and perPage (or per_page, as the OpenAPI spec spells it) from the query.
Page page_of(const Query& query);

// {"total":..,["total_volume":..,]"skipped":..,"perPage":..,"page":..,"pageCount":..}
struct MetaExtras {
  std::optional<int64_t> total_volume;         // GET /transaction only
  bool per_page_as_string = false;             // GET /refund, as its schema says
  std::optional<int64_t> failed_refund_count;  // GET /refund only
};
void write_offset_meta(JsonOut& out, size_t total, const Page& page, const MetaExtras& extras);

// Optional from/to bounds (ISO 8601; a bare date in `to` covers that whole day).
struct TimeRange {
  int64_t from_ms = INT64_MIN;
  int64_t to_ms = INT64_MAX;
  bool contains(int64_t t) const { return t >= from_ms && t <= to_ms; }
};
// nullopt and an error result in `error` when a bound does not parse.
std::optional<TimeRange> time_range_of(const Query& query, ApiResult* error);

std::string_view query_value(const Query& query, std::string_view key);

}  // namespace paystack_sim
