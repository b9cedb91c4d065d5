// The crash-point loop (docs/testing.md): one full scenario run once to count the storage
// operations it makes, then once more for every operation N, cut at N; see crash_points.cpp.
#pragma once

#include <ostream>
#include <string>

namespace escrow::sim {

// Runs the loop in `dir`, reporting to `out`; true when every cut point held.
bool crash_point_loop(const std::string& dir, std::ostream& out);

}  // namespace escrow::sim
