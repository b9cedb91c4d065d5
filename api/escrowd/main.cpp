// escrowd: the escrow ledger service. Reads its configuration from the environment (escrowd
// --help lists it), opens the database and every part of the service, serves HTTP until SIGTERM or
// SIGINT, then drains: the server stops accepting and lets requests in progress finish (up to
// 10 s), the background workers finish what they are doing, and the process exits 0.
//
// stdout: first the line `escrowd listening on http://HOST:PORT` (scripts and tests read the port
// from it), then the JSON log, one object per line. Errors before that line go to stderr.
// Exit codes: 0 stopped by a signal; 1 could not start (database, port); 2 bad configuration or
// command line.
//
// `escrowd --routes` prints the route table instead, one `METHOD /pattern` per line (`:name` for
// a path parameter), and exits 0 (1 if the table could not be built). It needs no configuration:
// the App it asks is opened on a database in a fresh temporary directory (removed afterwards)
// with placeholder secrets, starts no worker and serves nothing. test/e2e/openapi_check.py
// compares the table with the OpenAPI document.
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

#include "api/app.h"
#include "api/config.h"
#include "api/config_help.h"
#include "api/server.h"
#include "ledger/clock.h"
#include "service/log.h"

namespace {

using namespace escrow;
using namespace escrow::api;

constexpr auto drain_time = std::chrono::seconds(10);

constexpr std::string_view usage =
    "Usage: escrowd [--help | --routes]\n"
    "\n"
    "The escrow ledger service: bookings paid through Paystack, held in escrow, released to\n"
    "providers or refunded; every fact an event in one SQLite file. Configured by environment\n"
    "variables only. Prints `escrowd listening on http://HOST:PORT`, then logs JSON lines to\n"
    "stdout; SIGTERM or SIGINT stops it gracefully.\n"
    "\n"
    "  --routes  print the routes it serves, one `METHOD /pattern` per line, and exit\n"
    "\n";

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// SIGINT and SIGTERM are blocked in every thread (threads inherit the mask of the thread that
// starts them, so this runs first) and collected by sigwait() in main.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a peer that hangs up is an error code, not the end of the process
  return set;
}

// The route table of an App opened on a throwaway database (see the top of this file).
int print_routes() {
  std::error_code error;
  std::string pattern =
      (std::filesystem::temp_directory_path(error) / "escrowd-routes-XXXXXX").string();
  if (error || mkdtemp(pattern.data()) == nullptr) {
    std::cerr << "escrowd: cannot create a temporary directory for --routes\n";
    return 1;
  }
  const std::filesystem::path dir = pattern;
  int status = 1;
  {
    Config config;  // the defaults, with what App::open requires and nothing reachable
    config.db_path = (dir / "escrow.db").string();
    config.blob_dir = (dir / "blobs").string();
    config.synchronous = Synchronous::off;
    config.jwt_secret = std::string(32, 'r');
    config.paystack_secret_key = "sk_test_routes";
    config.paystack_base_url = "http://127.0.0.1:9";
    SystemClock clock;
    auto opened = App::open(config, clock);
    if (!opened.is_ok()) {
      std::cerr << "escrowd: cannot build the route table: " << opened.status().message() << "\n";
    } else {
      for (const auto& [method, route] : opened.value()->router().routes()) {
        std::cout << method << ' ' << route << '\n';
      }
      std::cout.flush();
      status = std::cout ? 0 : 1;
    }
  }
  std::filesystem::remove_all(dir, error);
  return status;
}

// Raises the soft open-file limit to fit connections_max connections and what else escrowd
// keeps open (database, blobs, Paystack and notification connections), as far as the hard
// limit allows; says so when it cannot.
void fit_open_files(int connections_max) {
  constexpr rlim_t others = 256;
  const rlim_t wanted = static_cast<rlim_t>(connections_max) + others;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) return;
  const rlim_t soft = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (soft > limit.rlim_cur) {
    limit.rlim_cur = soft;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (soft < wanted) {
    logging::warn(
        "the open-file limit is below what ESCROW_CONNECTIONS_MAX needs",
        {{"limit", static_cast<int64_t>(soft)}, {"wanted", static_cast<int64_t>(wanted)}});
  }
}

// glibc gives every thread that allocates its own malloc arena, up to 8 per core, and each keeps
// what it freed: escrowd's threads (I/O, handlers, the writer, workers) far outnumber its cores.
// Two arenas per core hold the resident size down at no measurable cost in throughput
// (docs/performance.md); MALLOC_ARENA_MAX in the environment still decides when set.
void fit_malloc_arenas() {
  if (getenv("MALLOC_ARENA_MAX") != nullptr) return;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2L, 2 * cores)));
}

int serve(const Config& config, const sigset_t& stop_signals) {
  logging::init();
  fit_malloc_arenas();
  fit_open_files(config.connections_max);
  SystemClock clock;
  auto opened = App::open(config, clock);
  if (!opened.is_ok()) {
    std::cerr << "escrowd: cannot open the service: " << opened.status().message() << "\n";
    return 1;
  }
  App& app = *opened.value();
  app.start_workers();

  ServerOptions options = server_options(config, clock);
  options.run_inline = [&app](const HttpRequest& request) { return app.runs_inline(request); };
  auto started =
      Server::start(options, AsyncRequestHandler([&app](HttpRequest request, Responder respond) {
                      app.handle(std::move(request), std::move(respond));
                    }));
  if (!started.is_ok()) {
    std::cerr << "escrowd: " << started.status().message() << "\n";
    app.stop_workers();
    return 1;
  }
  Server& server = *started.value();
  const std::string url =
      "http://" + url_host(config.listen_host) + ":" + std::to_string(server.port());
  std::cout << "escrowd listening on " << url << std::endl;  // flushed: scripts wait for it
  logging::info("started", {{"url", url},
                            {"db", config.db_path},
                            {"paystack_base_url", config.paystack_base_url},
                            {"threads", int64_t{config.threads}}});

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  logging::info("stopping", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"},
                             {"drain_ms", int64_t{std::chrono::milliseconds(drain_time).count()}}});
  server.stop(drain_time);
  app.stop_workers();
  logging::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const sigset_t stop_signals = block_stop_signals();
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::cout << usage << escrow::api::config_help();
    return 0;
  }
  if (argc == 2 && std::string_view(argv[1]) == "--routes") return print_routes();
  if (argc > 1) {
    std::cerr << "escrowd: unexpected argument '" << argv[1] << "' (see escrowd --help)\n";
    return 2;
  }
  auto config = escrow::api::config_from_env();
  if (!config.is_ok()) {
    std::cerr << "escrowd: " << config.status().message() << "\n";
    return 2;
  }
  return serve(config.value(), stop_signals);
}
