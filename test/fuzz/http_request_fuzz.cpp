// Fuzz target: the HTTP/1.1 request parser as escrowd configures it (api/server.cpp
// read_request: Beast's request parser and read loops with escrowd's header limit, its body limit
// chosen per request from the header as api/app.cpp server_options has it (the token of an
// upload verified), and the refusals a connection answers with), over the bytes a client sends
// on one connection.
//
// Input: one byte picks how many bytes one socket read delivers (1 to 64 KiB) and whether the
// limits are escrowd's own or the same options with small header and body caps (so that both
// refusals are reached with short inputs); the rest is what the client sends, possibly several
// pipelined requests.
// Properties:
// - a refusal is 400 bad_request, 413 body_too_large, 431 header_too_large or 501
//   not_implemented (a transfer coding besides chunked);
// - limits hold: a request read has a body of at most the limit its header chose, that limit is
//   min(body_bytes_max, request_body_limit(method, target, whether its bearer token verifies
//   with the secret below and has the provider role)), and without
//   chunked framing its header took at most header_bytes_max bytes; a Content-Length it sent is
//   the size of its body;
// - what the handler sees is well-formed: a method and a target, no CR, LF or NUL in any header
//   name or value, a header name that is not empty;
// - how the bytes arrive does not matter: read 1 or 7 bytes at a time, or all at once, the same
//   bytes give the same requests (and leave the same bytes for the next one), and what one
//   reading refuses no other reading takes as a request. Which refusal a request with several
//   faults gets (400 for a bad byte, 431 for the size, or silence when the client's close cuts
//   it short) depends on which one Beast meets first, and so may differ;
// - pipelined requests on a kept-alive connection each obey the same.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/app.h"
#include "api/auth.h"
#include "api/config.h"
#include "api/http.h"
#include "api/server.h"
#include "fuzz_input.h"
#include "ledger/clock.h"
#include "ledger/text.h"

using namespace escrow;
using namespace escrow::api;
using escrow::fuzz::FuzzInput;

namespace {

constexpr std::size_t read_sizes[] = {1, 2, 3, 7, 64, 1000, 4096, 64 * 1024};
constexpr std::size_t requests_per_connection_max = 4;

// The secret and time the seed corpus's tokens are made for (make_seeds.py JWT_SECRET).
constexpr std::string_view jwt_secret = "fuzz-secret-0123456789abcdef-0123456789abcdef";
const ManualClock clock_at(1'767'225'600'000);  // 2026-01-01

const ServerOptions& escrowd_options() {
  static const ServerOptions options = [] {
    Config config;
    config.jwt_secret = std::string(jwt_secret);
    return server_options(config, clock_at);
  }();
  return options;
}

bool provider_token(const HttpRequest& request) {
  static const Authenticator auth = Authenticator::create(std::string(jwt_secret)).value();
  HttpResult<Principal> who = auth.authenticate(request, clock_at.now_ms());
  return who.is_ok() && who.value().role == Role::provider;
}

ServerOptions small_options(uint8_t shape) {
  ServerOptions options = escrowd_options();
  options.header_bytes_max = 32 + 16 * (shape & 0x0f);
  options.body_bytes_max = 8 * ((shape >> 4) & 0x07);
  return options;
}

bool clean(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void check_request(const ServerOptions& options, const RequestReading& read) {
  const HttpRequest& request = read.request;
  FUZZ_CHECK(!request.method.empty() && !request.target.empty());
  FUZZ_CHECK(clean(request.method) && clean(request.target));
  for (const Header& header : request.headers.all()) {
    FUZZ_CHECK(!header.name.empty() && clean(header.name) && clean(header.value));
  }
  const std::size_t limit =
      std::min(options.body_bytes_max,
               request_body_limit(request.method, request.target, provider_token(request)));
  FUZZ_CHECK(read.body_limit_bytes == limit);
  FUZZ_CHECK(request.body.size() <= limit);
  if (!request.headers.contains("Transfer-Encoding")) {
    FUZZ_CHECK(read.bytes_used - request.body.size() <= options.header_bytes_max);
  }
  if (auto length = request.headers.get("Content-Length");
      length && !request.headers.contains("Transfer-Encoding")) {
    uint64_t value = 0;
    auto [end, error] = std::from_chars(length->data(), length->data() + length->size(), value);
    if (error == std::errc() && end == length->data() + length->size())
      FUZZ_CHECK(value == request.body.size());
  }
}

bool same_reading(const RequestReading& a, const RequestReading& b) {
  using Outcome = RequestReading::Outcome;
  if (a.outcome != Outcome::request && b.outcome != Outcome::request) return true;
  if (a.outcome != b.outcome) return false;
  const HttpRequest& x = a.request;
  const HttpRequest& y = b.request;
  const auto same_header = [](const Header& h, const Header& k) {
    return h.name == k.name && h.value == k.value;
  };
  return a.keep_alive == b.keep_alive && a.bytes_used == b.bytes_used &&
         a.body_limit_bytes == b.body_limit_bytes && x.method == y.method && x.target == y.target &&
         x.body == y.body &&
         std::equal(x.headers.all().begin(), x.headers.all().end(), y.headers.all().begin(),
                    y.headers.all().end(), same_header);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  const uint8_t shape = input.byte();
  const std::size_t read_bytes_max = read_sizes[shape % std::size(read_sizes)];
  const uint8_t limits = input.byte();
  const ServerOptions options = limits & 0x80 ? small_options(limits) : escrowd_options();
  std::string_view bytes = input.rest();

  for (std::size_t n = 0; n < requests_per_connection_max; ++n) {
    RequestReading read = read_request(options, bytes, read_bytes_max);
    FUZZ_CHECK(same_reading(read, read_request(options, bytes)));
    FUZZ_CHECK(same_reading(read, read_request(options, bytes, 7)));
    if (read.outcome == RequestReading::Outcome::refused) {
      FUZZ_CHECK(read.refusal_status == 400 || read.refusal_status == 413 ||
                 read.refusal_status == 431 || read.refusal_status == 501);
      return 0;
    }
    if (read.outcome == RequestReading::Outcome::incomplete) return 0;
    FUZZ_CHECK(read.bytes_used > 0 && read.bytes_used <= bytes.size());
    check_request(options, read);
    if (!read.keep_alive) return 0;
    bytes.remove_prefix(read.bytes_used);
  }
  return 0;
}
