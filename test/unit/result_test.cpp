// Tests of Result<T, E> (ledger/status.h), the one result type of every layer (HttpResult and
// ApiResult are aliases of it): the side it holds, moving the value or the error out, and that
// reading the wrong side, or building a Result from an ok Status, stops the process (SIGABRT,
// checked in a forked child) instead of reading an empty value.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <string>

#include "ledger/status.h"

using namespace escrow;

namespace {

struct MoveOnly {
  int value = 0;
  explicit MoveOnly(int v) : value(v) {}
  MoveOnly(MoveOnly&&) = default;
  MoveOnly& operator=(MoveOnly&&) = default;
};

struct Refusal {
  int code = 0;
  std::string why;
};

// Runs `body` in a forked child with stderr silenced; true when the child died of SIGABRT.
bool aborts(const std::function<void()>& body) {
  std::fflush(nullptr);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (std::freopen("/dev/null", "w", stderr) == nullptr) _exit(2);
    body();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

}  // namespace

TEST_CASE("a Result holds a value or an error, and says which") {
  Result<int, Refusal> good = 42;
  REQUIRE(good.is_ok());
  CHECK(good.value() == 42);
  CHECK(*good == 42);

  Result<int, Refusal> bad = Refusal{409, "taken"};
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.error().code == 409);

  Result<MoveOnly, Refusal> owned = MoveOnly{7};
  MoveOnly moved = std::move(owned).value();
  CHECK(moved.value == 7);

  Result<std::string> failed = Status(StatusCode::not_found, "no such booking");
  CHECK(failed.status().code() == StatusCode::not_found);
  CHECK(failed.status().message() == "no such booking");
  Result<std::string> fine = std::string("ok");
  CHECK(fine.status().is_ok());
}

TEST_CASE("reading the side a Result does not hold stops the process") {
  CHECK(aborts([] {
    Result<int, Refusal> bad = Refusal{500, "broken"};
    std::printf("%d", bad.value());
  }));
  CHECK(aborts([] {
    Result<std::string> bad = Status(StatusCode::io_error, "disk");
    std::printf("%zu", bad->size());
  }));
  CHECK(aborts([] {
    Result<int, Refusal> good = 1;
    std::printf("%d", good.error().code);
  }));
  CHECK(aborts([] {
    Result<int> impossible = Status::ok();
    (void)impossible;
  }));
  CHECK_FALSE(aborts([] {
    Result<int, Refusal> good = 1;
    std::printf("%d", good.value());
  }));
}
