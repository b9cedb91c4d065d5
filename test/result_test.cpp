// Result<T, E> (ledger/status.h), the one result type of every layer: a value or an error, the
// HTTP layer's HttpResult and the Paystack client's ApiResult being the same template; reading
// the value of an error (or the error of a value), or making a Result of an ok Status, aborts the
// process instead of reading an empty slot (each checked in a child process).
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <functional>
#include <string>
#include <type_traits>

#include "api/http.h"
#include "ledger/status.h"
#include "paystack/api_error.h"

using namespace escrow;

namespace {

// True when `f` aborts the process it runs in (SIGABRT), run in a forked child.
bool aborts(const std::function<void()>& f) {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::freopen("/dev/null", "w", stderr);  // the assertion's message is expected
    f();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

Result<int> half(int n) {
  if (n % 2 != 0) return Status(StatusCode::invalid_argument, "odd");
  return n / 2;
}

}  // namespace

static_assert(std::is_same_v<api::HttpResult<int>, Result<int, api::HttpResponse>>);
static_assert(std::is_same_v<paystack::ApiResult<int>, Result<int, paystack::ApiError>>);

TEST_CASE("a Result holds a value or the error saying why not") {
  Result<int> ok = half(4);
  REQUIRE(ok.is_ok());
  CHECK(ok.value() == 2);
  CHECK(*ok == 2);
  CHECK(ok.status().is_ok());

  Result<int> odd = half(3);
  REQUIRE_FALSE(odd.is_ok());
  CHECK(odd.status().code() == StatusCode::invalid_argument);
  CHECK(odd.error().message() == "odd");

  api::HttpResult<std::string> refused = api::error_response(400, "invalid_field", "no");
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.error().status == 400);
  api::HttpResult<std::string> given = std::string("yes");
  CHECK(std::move(given).value() == "yes");
}

TEST_CASE("reading the wrong side of a Result aborts") {
  CHECK(aborts([] { (void)half(3).value(); }));
  CHECK(aborts([] { (void)half(4).error(); }));
  CHECK(aborts([] {
    api::HttpResult<int> r = api::error_response(404, "not_found", "no");
    (void)r.value();
  }));
  CHECK(aborts([] { Result<int> r = Status::ok(); }));
  CHECK_FALSE(aborts([] { (void)half(4).value(); }));
}
