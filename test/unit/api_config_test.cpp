// Tests of config_from_env() (api/config.h) and config_help(), through a map standing in for the
// environment: the documented defaults when only the two required secrets are set; every variable
// read into its field; empty meaning unset; strict integers (signs, spaces, decimals, exponents,
// hex and out-of-range values refused); ESCROW_LISTEN forms including port 0 and IPv6;
// PAYSTACK_BASE_URL allowing plain http only for loopback; the IP allowlist; and that every
// refusal names its variable while never quoting a secret's value.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "api/config.h"
#include "api/config_help.h"

using namespace escrow;
using namespace escrow::api;

namespace {

const std::string jwt_secret = "0123456789abcdef0123456789abcdef-jwt";
const std::string paystack_key = "sk_test_SECRETVALUE123";

using Env = std::map<std::string, std::string>;

Env required() {
  return {{"PAYSTACK_SECRET_KEY", paystack_key}, {"ESCROW_JWT_SECRET", jwt_secret}};
}

Result<Config> read(const Env& env) {
  return config_from_env([&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

Result<Config> read_with(const std::string& name, const std::string& value) {
  Env env = required();
  env[name] = value;
  return read(env);
}

// The message of a refusal, after checking it is one.
std::string refusal(const Result<Config>& result) {
  REQUIRE_FALSE(result.is_ok());
  CHECK(result.status().code() == StatusCode::invalid_argument);
  return result.status().message();
}

}  // namespace

TEST_CASE("only the two secrets are required; everything else has the documented default") {
  auto result = read(required());
  REQUIRE(result.is_ok());
  const Config& c = result.value();
  CHECK(c.paystack_secret_key == paystack_key);
  CHECK(c.jwt_secret == jwt_secret);
  CHECK(c.paystack_public_key.empty());
  CHECK(c.paystack_base_url == "https://api.paystack.co");
  CHECK(c.paystack_ips.empty());
  CHECK(c.listen_host == "127.0.0.1");
  CHECK(c.listen_port == 8080);
  CHECK(c.threads == 4);
  CHECK(c.db_path == "./var/escrow.db");
  CHECK(c.blob_dir == "./var/blobs");
  CHECK(c.synchronous == Synchronous::full);
  CHECK(c.fee_bps == 500);
  CHECK(c.auto_confirm_after_s == 3 * 24 * 3600);
  CHECK(c.notify_url.empty());
  CHECK(c.pending_payment_check_after_s == 15 * 60);
  CHECK(c.scheduler_interval_ms == 1000);
  CHECK(c.rate_limit_per_minute == 600);
}

TEST_CASE("every variable is read into its field") {
  Env env = required();
  env["PAYSTACK_PUBLIC_KEY"] = "pk_test_abc";
  env["PAYSTACK_BASE_URL"] = "http://127.0.0.1:4010/";
  env["ESCROW_PAYSTACK_IPS"] = "52.31.139.75, 52.49.173.169,::1";
  env["ESCROW_LISTEN"] = "0.0.0.0:0";
  env["ESCROW_THREADS"] = "16";
  env["ESCROW_DB"] = "/data/escrow.db";
  env["ESCROW_BLOB_DIR"] = "/data/blobs";
  env["ESCROW_SYNCHRONOUS"] = "normal";
  env["ESCROW_PLATFORM_FEE_BPS"] = "250";
  env["ESCROW_AUTO_CONFIRM_AFTER_S"] = "60";
  env["ESCROW_NOTIFY_URL"] = "https://marketplace.example/hooks/escrow";
  env["ESCROW_NOTIFY_SECRET"] = "notify-secret";
  env["ESCROW_PENDING_CHECK_AFTER_S"] = "5";
  env["ESCROW_SCHEDULER_INTERVAL_MS"] = "50";
  env["ESCROW_RATE_LIMIT_PER_MIN"] = "100000";
  auto result = read(env);
  REQUIRE(result.is_ok());
  const Config& c = result.value();
  CHECK(c.paystack_public_key == "pk_test_abc");
  CHECK(c.paystack_base_url == "http://127.0.0.1:4010");  // trailing slash dropped
  CHECK(c.paystack_ips == std::vector<std::string>{"52.31.139.75", "52.49.173.169", "::1"});
  CHECK(c.listen_host == "0.0.0.0");
  CHECK(c.listen_port == 0);
  CHECK(c.threads == 16);
  CHECK(c.db_path == "/data/escrow.db");
  CHECK(c.blob_dir == "/data/blobs");
  CHECK(c.synchronous == Synchronous::normal);
  CHECK(c.fee_bps == 250);
  CHECK(c.auto_confirm_after_s == 60);
  CHECK(c.notify_url == "https://marketplace.example/hooks/escrow");
  CHECK(c.notify_secret == "notify-secret");
  CHECK(c.pending_payment_check_after_s == 5);
  CHECK(c.scheduler_interval_ms == 50);
  CHECK(c.rate_limit_per_minute == 100000);
}

TEST_CASE("an empty variable means its default") {
  Env env = required();
  env["ESCROW_LISTEN"] = "";
  env["ESCROW_THREADS"] = "";
  env["ESCROW_NOTIFY_URL"] = "";
  auto result = read(env);
  REQUIRE(result.is_ok());
  CHECK(result.value().listen_port == 8080);
  CHECK(result.value().threads == 4);
  CHECK(result.value().notify_url.empty());
}

TEST_CASE("ESCROW_LISTEN takes IPv4, bracketed IPv6 and localhost, with ports 0 to 65535") {
  auto v6 = read_with("ESCROW_LISTEN", "[::1]:9000");
  REQUIRE(v6.is_ok());
  CHECK(v6.value().listen_host == "::1");
  CHECK(v6.value().listen_port == 9000);
  auto local = read_with("ESCROW_LISTEN", "localhost:65535");
  REQUIRE(local.is_ok());
  CHECK(local.value().listen_host == "localhost");
  CHECK(local.value().listen_port == 65535);

  for (const char* bad :
       {"8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80",
        "::1:80", "[127.0.0.1]:80", "example.com:80", "127.0.0.1:80 ", ":80", "127.0.0.256:80"}) {
    CAPTURE(bad);
    std::string message = refusal(read_with("ESCROW_LISTEN", bad));
    CHECK(message.find("ESCROW_LISTEN") != std::string::npos);
  }
}

TEST_CASE("integers are plain decimal digits within their range") {
  struct Case {
    const char* name;
    const char* good;
    const char* too_big;
  };
  for (Case v :
       {Case{"ESCROW_THREADS", "1", "257"}, Case{"ESCROW_PLATFORM_FEE_BPS", "10000", "10001"},
        Case{"ESCROW_AUTO_CONFIRM_AFTER_S", "0", "31622401"},
        Case{"ESCROW_PENDING_CHECK_AFTER_S", "0", "2592001"},
        Case{"ESCROW_SCHEDULER_INTERVAL_MS", "10", "3600001"},
        Case{"ESCROW_RATE_LIMIT_PER_MIN", "1", "10000001"}}) {
    CAPTURE(v.name);
    CHECK(read_with(v.name, v.good).is_ok());
    for (std::string bad :
         {std::string(v.too_big), std::string("-1"), std::string("+5"), std::string(" 5"),
          std::string("5 "), std::string("5.0"), std::string("1e3"), std::string("0x10"),
          std::string("five"), std::string("99999999999999999999999")}) {
      CAPTURE(bad);
      std::string message = refusal(read_with(v.name, bad));
      CHECK(message.find(v.name) != std::string::npos);
    }
  }
  CHECK(refusal(read_with("ESCROW_THREADS", "0")).find("from 1 to 256") != std::string::npos);
}

TEST_CASE("ESCROW_SYNCHRONOUS is off, normal or full") {
  CHECK(read_with("ESCROW_SYNCHRONOUS", "off").value().synchronous == Synchronous::off);
  CHECK(read_with("ESCROW_SYNCHRONOUS", "FULL").value().synchronous == Synchronous::full);
  std::string message = refusal(read_with("ESCROW_SYNCHRONOUS", "extra"));
  CHECK(message.find("ESCROW_SYNCHRONOUS must be off, normal or full") != std::string::npos);
}

TEST_CASE("PAYSTACK_BASE_URL is https, or plain http to a loopback simulator only") {
  CHECK(read_with("PAYSTACK_BASE_URL", "https://api.paystack.co").is_ok());
  CHECK(read_with("PAYSTACK_BASE_URL", "http://localhost:9000").is_ok());
  CHECK(read_with("PAYSTACK_BASE_URL", "http://[::1]:9000/prefix").is_ok());
  for (const char* bad : {"http://api.paystack.co", "http://10.0.0.5:8080", "ftp://x",
                          "api.paystack.co", "https://", "https://user@evil.example"}) {
    CAPTURE(bad);
    CHECK(refusal(read_with("PAYSTACK_BASE_URL", bad)).find("PAYSTACK_BASE_URL") !=
          std::string::npos);
  }
}

TEST_CASE("ESCROW_PAYSTACK_IPS is a comma-separated list of IP addresses") {
  for (const char* bad : {"52.31.139.75,", ",52.31.139.75", "52.31.139.75,,1.2.3.4", "paystack.co",
                          "52.31.139.0/24"}) {
    CAPTURE(bad);
    CHECK(refusal(read_with("ESCROW_PAYSTACK_IPS", bad)).find("ESCROW_PAYSTACK_IPS") !=
          std::string::npos);
  }
}

TEST_CASE("missing or weak secrets stop start-up, and no message quotes a secret") {
  Env env = required();
  env.erase("PAYSTACK_SECRET_KEY");
  CHECK(refusal(read(env)) == "PAYSTACK_SECRET_KEY is not set");

  env = required();
  env.erase("ESCROW_JWT_SECRET");
  CHECK(refusal(read(env)) == "ESCROW_JWT_SECRET is not set");

  const std::string short_secret = "SHORTSECRET-31-bytes-long-xxxxx";
  REQUIRE(short_secret.size() == 31);
  std::string message = refusal(read_with("ESCROW_JWT_SECRET", short_secret));
  CHECK(message.find("ESCROW_JWT_SECRET must be at least 32 bytes") != std::string::npos);
  CHECK(message.find("SHORTSECRET") == std::string::npos);
  CHECK(read_with("ESCROW_JWT_SECRET", short_secret + "x").is_ok());

  message = refusal(read_with("PAYSTACK_SECRET_KEY", "sk_test_SECRET with space"));
  CHECK(message.find("PAYSTACK_SECRET_KEY") != std::string::npos);
  CHECK(message.find("SECRET with") == std::string::npos);

  message = refusal(read_with("ESCROW_NOTIFY_URL", "https://marketplace.example/hook"));
  CHECK(message.find("ESCROW_NOTIFY_SECRET is not set") != std::string::npos);
  Env notify = required();
  notify["ESCROW_NOTIFY_URL"] = "https://marketplace.example/hook";
  notify["ESCROW_NOTIFY_SECRET"] = "NOTIFYSECRET\nline";
  message = refusal(read(notify));
  CHECK(message.find("ESCROW_NOTIFY_SECRET") != std::string::npos);
  CHECK(message.find("NOTIFYSECRET") == std::string::npos);
  CHECK(refusal(read_with("ESCROW_NOTIFY_URL", "marketplace.example/hook"))
            .find("ESCROW_NOTIFY_URL must start with") != std::string::npos);
}

TEST_CASE("config_help lists every variable with its default and never a secret") {
  const std::string help = config_help();
  for (const char* name :
       {"PAYSTACK_SECRET_KEY", "PAYSTACK_PUBLIC_KEY", "PAYSTACK_BASE_URL", "ESCROW_PAYSTACK_IPS",
        "ESCROW_LISTEN", "ESCROW_THREADS", "ESCROW_DB", "ESCROW_BLOB_DIR", "ESCROW_SYNCHRONOUS",
        "ESCROW_JWT_SECRET", "ESCROW_PLATFORM_FEE_BPS", "ESCROW_AUTO_CONFIRM_AFTER_S",
        "ESCROW_NOTIFY_URL", "ESCROW_NOTIFY_SECRET", "ESCROW_PENDING_CHECK_AFTER_S",
        "ESCROW_SCHEDULER_INTERVAL_MS", "ESCROW_RATE_LIMIT_PER_MIN"}) {
    CAPTURE(name);
    CHECK(help.find(std::string("  ") + name) != std::string::npos);
  }
  CHECK(help.find("ESCROW_LISTEN (default: 127.0.0.1:8080)") != std::string::npos);
  CHECK(help.find("ESCROW_PLATFORM_FEE_BPS (default: 500)") != std::string::npos);
  CHECK(help.find("ESCROW_SYNCHRONOUS (default: full)") != std::string::npos);
  CHECK(help.find("PAYSTACK_SECRET_KEY (default") == std::string::npos);
}
