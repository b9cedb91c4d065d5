// config_from_env() and config_help() (see config.h and config_help.h): one table lists every
// variable with its meaning, how its default prints and how its value is read, so that parsing and
// `escrowd --help` stay in step.
//
// An unset variable and an empty one both mean "use the default". Integers are plain decimal
// digits (no sign, spaces, exponent or suffix) within a documented range. Messages name the
// variable; they quote a value only when it is not a secret.
#include "api/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "api/config_help.h"
#include "ledger/text.h"
#include "net/http_client.h"

namespace escrow::api {

namespace {

constexpr size_t jwt_secret_bytes_min = 32;
constexpr size_t quoted_bytes_max = 64;  // of a bad value echoed back in a message
constexpr int64_t day_s = 24 * 3600;
constexpr size_t help_width = 88;

Status invalid(std::string message) {
  return Status(StatusCode::invalid_argument, std::move(message));
}

// A non-secret value for an error message, cut short so a pasted file does not flood the log.
std::string quoted(std::string_view value) {
  std::string text(value.substr(0, quoted_bytes_max));
  if (value.size() > quoted_bytes_max) text += "...";
  return "'" + text + "'";
}

std::optional<int64_t> parse_digits(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;  // 18 digits cannot overflow
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.front() == '-') {
    return std::nullopt;
  }
  return value;
}

Status read_int(const char* name, std::string_view text, int64_t min, int64_t max, int64_t* out) {
  std::optional<int64_t> value = parse_digits(text);
  if (!value || *value < min || *value > max) {
    return invalid(std::string(name) + " must be an integer from " + std::to_string(min) + " to " +
                   std::to_string(max) + ", got " + quoted(text));
  }
  *out = *value;
  return Status::ok();
}

template <class Int>
Status read_int_into(const char* name, std::string_view text, int64_t min, int64_t max, Int* out) {
  int64_t value = 0;
  Status status = read_int(name, text, min, max, &value);
  if (status.is_ok()) *out = static_cast<Int>(value);
  return status;
}

bool is_ip_address(const std::string& text) {
  unsigned char ignored[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, text.c_str(), ignored) == 1 ||
         inet_pton(AF_INET6, text.c_str(), ignored) == 1;
}

// A secret goes into an HTTP header or an HMAC key: printable ASCII only.
Status check_secret(const char* name, std::string_view value) {
  for (char c : value) {
    if (c <= ' ' || c == '\x7f') {
      return invalid(std::string(name) + " contains a space or a control character");
    }
  }
  return Status::ok();
}

// "127.0.0.1:8080", "[::1]:0", "0.0.0.0:80", "localhost:8080".
Status read_listen(std::string_view text, Config& config) {
  const Status bad = invalid(
      "ESCROW_LISTEN must be HOST:PORT, with an IP address or localhost "
      "and a port from 0 to 65535, got " +
      quoted(text));
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad;
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string::npos) return bad;  // brackets are for IPv6 only
  } else if (host.find(':') != std::string::npos) {
    return bad;  // an IPv6 address needs brackets
  }
  std::optional<int64_t> port = parse_digits(text.substr(colon + 1));
  if (!port || *port > 65535 || (host != "localhost" && !is_ip_address(host))) return bad;
  config.listen_host = host;
  config.listen_port = static_cast<uint16_t>(*port);
  return Status::ok();
}

// http(s)://host[:port][/prefix]; plain http only to a loopback host (DESIGN section 6).
Status read_base_url(std::string_view text, Config& config) {
  const bool https = text.starts_with("https://");
  if (!https && !text.starts_with("http://")) {
    return invalid(
        "PAYSTACK_BASE_URL must start with https:// (or http:// for a loopback "
        "simulator), got " +
        quoted(text));
  }
  std::string_view rest = text.substr(https ? 8 : 7);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  std::string_view host = authority;
  if (host.starts_with('[')) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.empty() || authority.find('@') != std::string_view::npos) {
    return invalid("PAYSTACK_BASE_URL has no usable host, got " + quoted(text));
  }
  if (!https && !net::is_loopback_host(host)) {
    return invalid(
        "PAYSTACK_BASE_URL may use plain http:// only for a loopback host "
        "(127.0.0.1, ::1, localhost), got " +
        quoted(text));
  }
  config.paystack_base_url = std::string(text);
  while (config.paystack_base_url.ends_with('/')) config.paystack_base_url.pop_back();
  return Status::ok();
}

Status read_paystack_ips(std::string_view text, Config& config) {
  std::vector<std::string> ips;
  for (;;) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (item.starts_with(' ')) item.remove_prefix(1);
    while (item.ends_with(' ')) item.remove_suffix(1);
    if (!is_ip_address(std::string(item))) {
      return invalid("ESCROW_PAYSTACK_IPS must be a comma-separated list of IP addresses; " +
                     quoted(item) + " is not one");
    }
    ips.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  config.paystack_ips = std::move(ips);
  return Status::ok();
}

Status read_synchronous(std::string_view text, Config& config) {
  const std::string value = ascii_lower(text);
  if (value == "off") {
    config.synchronous = Synchronous::off;
  } else if (value == "normal") {
    config.synchronous = Synchronous::normal;
  } else if (value == "full") {
    config.synchronous = Synchronous::full;
  } else {
    return invalid("ESCROW_SYNCHRONOUS must be off, normal or full, got " + quoted(text));
  }
  return Status::ok();
}

Status read_notify_url(std::string_view text, Config& config) {
  if (!text.starts_with("https://") && !text.starts_with("http://")) {
    return invalid("ESCROW_NOTIFY_URL must start with https:// or http://, got " + quoted(text));
  }
  config.notify_url = std::string(text);
  return Status::ok();
}

const char* synchronous_name(Synchronous s) {
  switch (s) {
    case Synchronous::off:
      return "off";
    case Synchronous::normal:
      return "normal";
    case Synchronous::full:
      return "full";
  }
  return "full";
}

std::string listen_text(const Config& c) {
  const bool v6 = c.listen_host.find(':') != std::string::npos;
  return (v6 ? "[" + c.listen_host + "]" : c.listen_host) + ":" + std::to_string(c.listen_port);
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

struct Variable {
  const char* name;
  const char* meaning;
  std::string (*default_text)(const Config& defaults);  // "" when there is no default
  Status (*read)(std::string_view value, Config& config);
};

const Variable variables[] = {
    {"PAYSTACK_SECRET_KEY",
     "Paystack secret key, sent as the API bearer token and used to "
     "verify webhook signatures (required)",
     [](const Config&) { return std::string(); },
     [](std::string_view v, Config& c) {
       c.paystack_secret_key = std::string(v);
       return check_secret("PAYSTACK_SECRET_KEY", v);
     }},
    {"PAYSTACK_PUBLIC_KEY", "Paystack public key, handed to clients as is",
     [](const Config& d) { return d.paystack_public_key; },
     [](std::string_view v, Config& c) {
       c.paystack_public_key = std::string(v);
       return Status::ok();
     }},
    {"PAYSTACK_BASE_URL", "Paystack API base URL; plain http:// only for a loopback simulator",
     [](const Config& d) { return d.paystack_base_url; }, read_base_url},
    {"ESCROW_PAYSTACK_IPS", "comma-separated IP addresses webhooks may come from; empty: any",
     [](const Config& d) { return join(d.paystack_ips); }, read_paystack_ips},
    {"ESCROW_LISTEN", "HOST:PORT to serve HTTP on; port 0 picks a free port", listen_text,
     read_listen},
    {"ESCROW_THREADS",
     "I/O threads (1-256), also running commands and reads that only wait on their commit; "
     "max(4 x this, 16) handler threads for the rest",
     [](const Config& d) { return std::to_string(d.threads); },
     [](std::string_view v, Config& c) {
       return read_int_into("ESCROW_THREADS", v, 1, 256, &c.threads);
     }},
    {"ESCROW_CONNECTIONS_MAX",
     "open HTTP connections at most; at the limit a newcomer takes the place of one that has "
     "not sent a whole request, or of an idle one (16-1000000)",
     [](const Config& d) { return std::to_string(d.connections_max); },
     [](std::string_view v, Config& c) {
       return read_int_into("ESCROW_CONNECTIONS_MAX", v, 16, 1'000'000, &c.connections_max);
     }},
    {"ESCROW_DB", "SQLite database file (created and migrated at start-up)",
     [](const Config& d) { return d.db_path; },
     [](std::string_view v, Config& c) {
       c.db_path = std::string(v);
       return Status::ok();
     }},
    {"ESCROW_BLOB_DIR", "directory for uploaded proof files",
     [](const Config& d) { return d.blob_dir; },
     [](std::string_view v, Config& c) {
       c.blob_dir = std::string(v);
       return Status::ok();
     }},
    {"ESCROW_SYNCHRONOUS",
     "SQLite durability: off | normal | full (full: a commit survives "
     "power loss)",
     [](const Config& d) { return std::string(synchronous_name(d.synchronous)); },
     read_synchronous},
    {"ESCROW_JWT_SECRET",
     "HS256 secret for bearer tokens, at least 32 bytes (required; "
     "openssl rand -hex 32 makes one)",
     [](const Config&) { return std::string(); },
     [](std::string_view v, Config& c) {
       c.jwt_secret = std::string(v);
       return check_secret("ESCROW_JWT_SECRET", v);
     }},
    {"ESCROW_PLATFORM_FEE_BPS", "platform fee in basis points of the booking amount (0-10000)",
     [](const Config& d) { return std::to_string(d.fee_bps); },
     [](std::string_view v, Config& c) {
       return read_int_into("ESCROW_PLATFORM_FEE_BPS", v, 0, 10'000, &c.fee_bps);
     }},
    {"ESCROW_AUTO_CONFIRM_AFTER_S",
     "seconds after proof of completion before the booking "
     "confirms itself when the client neither releases nor disputes (0-31622400)",
     [](const Config& d) { return std::to_string(d.auto_confirm_after_s); },
     [](std::string_view v, Config& c) {
       return read_int("ESCROW_AUTO_CONFIRM_AFTER_S", v, 0, 366 * day_s, &c.auto_confirm_after_s);
     }},
    {"ESCROW_NOTIFY_URL", "where to POST signed event notifications; empty: none",
     [](const Config& d) { return d.notify_url; }, read_notify_url},
    {"ESCROW_NOTIFY_SECRET",
     "HMAC-SHA256 key of X-Escrow-Signature (required with "
     "ESCROW_NOTIFY_URL)",
     [](const Config&) { return std::string(); },
     [](std::string_view v, Config& c) {
       c.notify_secret = std::string(v);
       return check_secret("ESCROW_NOTIFY_SECRET", v);
     }},
    {"ESCROW_PENDING_CHECK_AFTER_S",
     "seconds before a payment without a webhook is checked "
     "with Paystack (0-2592000)",
     [](const Config& d) { return std::to_string(d.pending_payment_check_after_s); },
     [](std::string_view v, Config& c) {
       return read_int("ESCROW_PENDING_CHECK_AFTER_S", v, 0, 30 * day_s,
                       &c.pending_payment_check_after_s);
     }},
    {"ESCROW_SCHEDULER_INTERVAL_MS", "how often the background schedulers run (10-3600000)",
     [](const Config& d) { return std::to_string(d.scheduler_interval_ms); },
     [](std::string_view v, Config& c) {
       return read_int("ESCROW_SCHEDULER_INTERVAL_MS", v, 10, 3'600'000, &c.scheduler_interval_ms);
     }},
    {"ESCROW_RATE_LIMIT_PER_MIN",
     "requests per minute per token (or per IP without one) "
     "(1-10000000)",
     [](const Config& d) { return std::to_string(d.rate_limit_per_minute); },
     [](std::string_view v, Config& c) {
       return read_int("ESCROW_RATE_LIMIT_PER_MIN", v, 1, 10'000'000, &c.rate_limit_per_minute);
     }},
};

// What only the whole configuration can tell: required values and pairs.
Status check_complete(const Config& config) {
  if (config.paystack_secret_key.empty()) return invalid("PAYSTACK_SECRET_KEY is not set");
  if (config.jwt_secret.empty()) return invalid("ESCROW_JWT_SECRET is not set");
  if (config.jwt_secret.size() < jwt_secret_bytes_min) {
    return invalid("ESCROW_JWT_SECRET must be at least " + std::to_string(jwt_secret_bytes_min) +
                   " bytes long (openssl rand -hex 32 makes one)");
  }
  if (!config.notify_url.empty() && config.notify_secret.empty()) {
    return invalid(
        "ESCROW_NOTIFY_SECRET is not set, and ESCROW_NOTIFY_URL needs it to sign "
        "notifications");
  }
  return Status::ok();
}

// `text` wrapped at word boundaries into lines of at most `width` bytes, each after `indent`.
std::string wrapped(std::string_view text, std::string_view indent, size_t width) {
  std::string out;
  std::string line;
  for (size_t start = 0; start < text.size();) {
    size_t end = std::min(text.find(' ', start), text.size());
    std::string_view word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += std::string(indent) + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + std::string(word);
    start = end + 1;
  }
  if (!line.empty()) out += std::string(indent) + line + "\n";
  return out;
}

}  // namespace

Result<Config> config_from_env(const GetEnv& getenv) {
  const GetEnv lookup = getenv ? getenv : [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  Config config;
  for (const Variable& variable : variables) {
    std::optional<std::string> value = lookup(variable.name);
    if (!value || value->empty()) continue;
    Status status = variable.read(*value, config);
    if (!status.is_ok()) return status;
  }
  Status status = check_complete(config);
  if (!status.is_ok()) return status;
  return config;
}

std::string config_help() {
  const Config defaults;
  std::string text = "Environment variables (an empty value means the default):\n";
  for (const Variable& variable : variables) {
    std::string shown = variable.default_text(defaults);
    text += "  ";
    text += variable.name;
    text += shown.empty() ? "" : " (default: " + shown + ")";
    text += "\n";
    text += wrapped(variable.meaning, "      ", help_width);
  }
  return text;
}

}  // namespace escrow::api
