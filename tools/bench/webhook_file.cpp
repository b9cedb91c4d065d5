#include "webhook_file.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "signing.h"

namespace escrow::bench {

namespace {

// Transaction ids far from the ones paystack-sim and the http bench's webhooks use.
constexpr int64_t transaction_id_base = 7'000'000'000;

struct FileClose {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

int run_webhook_file(const WebhookFileOptions& options) {
  const char* secret = std::getenv(options.paystack_secret_env.c_str());
  if (!secret || !*secret) {
    std::fprintf(stderr, "escrow-bench webhook-file: the environment variable %s is not set\n",
                 options.paystack_secret_env.c_str());
    return 2;
  }
  std::unique_ptr<std::FILE, FileClose> file(std::fopen(options.out_path.c_str(), "w"));
  if (!file) {
    std::perror(("escrow-bench webhook-file: " + options.out_path).c_str());
    return 1;
  }
  for (int64_t n = 0; n < options.count; ++n) {
    std::string body = charge_success_body(options.reference_prefix + "-" + std::to_string(n),
                                           transaction_id_base + n);
    std::string line = webhook_signature(secret, body) + "\t" + body + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file.get()) != line.size()) {
      std::perror(("escrow-bench webhook-file: " + options.out_path).c_str());
      return 1;
    }
  }
  if (std::fclose(file.release()) != 0) {
    std::perror(("escrow-bench webhook-file: " + options.out_path).c_str());
    return 1;
  }
  return 0;
}

}  // namespace escrow::bench
