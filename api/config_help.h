// The text `escrowd --help` prints: every environment variable config_from_env() reads, with its
// default and meaning. It comes from the same table as the parser (config.cpp), so the two cannot
// drift apart. Thread-safety: a pure function.
#pragma once

#include <string>

namespace escrow::api {

std::string config_help();

}  // namespace escrow::api
