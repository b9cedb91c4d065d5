// paystack-sim: a local stand-in for Paystack's REST API and webhooks, for tests, benchmarks and
// the demo (DESIGN.md section 7). This file parses and checks the command line; it refuses a
// live key and a non-loopback listen address, since this is a test double.
//
//   paystack-sim --listen 127.0.0.1:0 --secret-key sk_test_... --webhook-url URL
//                [--public-url URL] [--opening-balance N]
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "server.h"
#include "state.h"
#include "util.h"

namespace {

constexpr std::string_view kTestKeyPrefix = "sk_test_";
constexpr int64_t kOpeningBalanceMax = 1'000'000'000'000'000;

// "127.0.0.1:8080", "[::1]:0" or "localhost:0" into host and port.
bool split_listen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  auto number = paystack_sim::parse_uint(std::string_view(listen).substr(colon + 1));
  if (!number || *number > 65535) return false;
  *port = static_cast<uint16_t>(*number);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"paystack-sim: a local stand-in for Paystack's REST API and webhooks"};
  std::string listen = "127.0.0.1:0";
  std::string secret_key;
  std::string webhook_url;
  std::string public_url;
  int64_t opening_balance = paystack_sim::kOpeningBalanceDefault;
  app.add_option("--listen", listen, "Loopback HOST:PORT to listen on; port 0 picks a free one")
      ->capture_default_str();
  app.add_option("--secret-key", secret_key, "The sk_test_... key clients must send")
      ->required()
      ->envname("PAYSTACK_SECRET_KEY");
  app.add_option("--webhook-url", webhook_url, "Where to POST webhooks (http:// on loopback)")
      ->required();
  app.add_option("--public-url", public_url,
                 "Base of authorization_url (default: the listen address)");
  app.add_option("--opening-balance", opening_balance,
                 "Merchant balance per currency at start, in subunits")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, kOpeningBalanceMax));
  CLI11_PARSE(app, argc, argv);

  paystack_sim::ServerOptions options;
  if (!secret_key.starts_with(kTestKeyPrefix) || secret_key.size() == kTestKeyPrefix.size()) {
    std::cerr << "paystack-sim: --secret-key must be a test key (sk_test_...); this is a test "
                 "double\n";
    return 2;
  }
  if (!split_listen(listen, &options.host, &options.port) ||
      !paystack_sim::is_loopback_host(options.host)) {
    std::cerr << "paystack-sim: --listen must be a loopback HOST:PORT (127.0.0.1, [::1] or "
                 "localhost), got '"
              << listen << "'\n";
    return 2;
  }
  std::string why;
  if (!paystack_sim::is_loopback_http_url(webhook_url, &why)) {
    std::cerr << "paystack-sim: --webhook-url " << why << "\n";
    return 2;
  }
  while (public_url.ends_with('/')) public_url.pop_back();
  if (!public_url.empty() && !public_url.starts_with("http://") &&
      !public_url.starts_with("https://")) {
    std::cerr << "paystack-sim: --public-url must start with http:// or https://\n";
    return 2;
  }
  options.secret_key = secret_key;
  options.webhook_url = webhook_url;
  options.public_url = public_url;
  options.opening_balance = opening_balance;
  return paystack_sim::run_simulator(options);
}
