// multipart/form-data bodies (RFC 7578 over the syntax of RFC 2046 section 5.1), as a browser or
// an HTTP library sends file uploads.
//
// parse_multipart() takes the request's Content-Type (for the boundary) and the whole body, and
// returns its parts in order. Part data are views into `body`: the body must outlive them. The
// parser is strict, because what it accepts is stored as proof of work:
// - the boundary is 1..70 characters of RFC 2046 `bchars`, quoted or not;
// - a preamble before the first delimiter and an epilogue after the close delimiter are ignored;
// - every delimiter is CRLF "--" boundary, followed by "--" (the close delimiter) or by optional
//   spaces/tabs and CRLF; a body that ends before the close delimiter is refused;
// - each part has a `Content-Disposition: form-data; name="..."` header (filename optional) and
//   optionally a Content-Type (default text/plain); other part headers are ignored; folded
//   header lines are refused; header lines and their number are bounded;
// - CR and LF inside part data are data: only CRLF "--" boundary ends a part.
// Errors: 415 `unsupported_media_type` when the request is not multipart/form-data, 413
// `body_too_large` past limits.body_bytes_max or limits.parts_max, 400 `invalid_multipart`
// naming what is wrong otherwise.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http.h"

namespace escrow::api {

inline constexpr std::size_t multipart_boundary_bytes_max = 70;  // RFC 2046

struct MultipartLimits {
  std::size_t parts_max = 32;
  std::size_t body_bytes_max = 50u * 1024 * 1024;
  std::size_t header_line_bytes_max = 1024;  // one part header line, without its CRLF
  std::size_t header_lines_max = 8;          // header lines of one part
};

struct Part {
  std::string name;                     // Content-Disposition `name`
  std::optional<std::string> filename;  // Content-Disposition `filename`, as sent (unsanitised)
  std::string content_type;             // as declared (lowercased type/subtype): never trusted
  std::string_view data;                // a view into the body
};

HttpResult<std::vector<Part>> parse_multipart(std::string_view content_type, std::string_view body,
                                              const MultipartLimits& limits = {});

// A header value of the form `type; key=value; key="quoted value"` taken apart: the first
// element lowercased, parameter names lowercased, quoted values unescaped. nullopt when the
// syntax is broken (an unterminated quote, a parameter without '=', a duplicate parameter).
struct HeaderValue {
  std::string value;
  std::vector<std::pair<std::string, std::string>> params;

  std::optional<std::string_view> param(std::string_view name) const;
};
std::optional<HeaderValue> parse_header_value(std::string_view text);

}  // namespace escrow::api
