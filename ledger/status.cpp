#include "ledger/status.h"

namespace escrow {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok:
      return "ok";
    case StatusCode::invalid_argument:
      return "invalid_argument";
    case StatusCode::not_found:
      return "not_found";
    case StatusCode::conflict:
      return "conflict";
    case StatusCode::busy:
      return "busy";
    case StatusCode::io_error:
      return "io_error";
    case StatusCode::corrupt:
      return "corrupt";
    case StatusCode::store_failed:
      return "store_failed";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

void assertion_failed(const char* expr, const char* file, int line, const char* why) {
  std::fprintf(stderr, "ledger assertion failed: %s (%s) at %s:%d\n", why, expr, file, line);
  std::abort();
}

}  // namespace escrow
