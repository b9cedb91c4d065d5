// The crash-point loop (docs/testing.md): one full scenario run once to count the storage
// operations it makes, then once more for every operation N, cut at N; see crash_points.cpp.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace escrow::sim {

// Runs the loop in `dir`, reporting to `out`; true when every cut point held. With stride > 1
// only every stride-th operation is cut (1, 1 + stride, ...): for slow sanitizer builds.
bool crash_point_loop(const std::string& dir, std::ostream& out, uint64_t stride = 1);

}  // namespace escrow::sim
