// Rng: the simulation's one random source (SplitMix64), so that a seed names a run. The same
// seed gives the same numbers on every platform (no std::*_distribution, whose results differ
// between standard libraries). Thread-safety: none.
#pragma once

#include <cstdint>

namespace escrow::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound); 0 when bound is 0. The modulo bias is far below what a test notices.
  uint64_t below(uint64_t bound) { return bound == 0 ? 0 : next() % bound; }
  // Uniform in [low, high].
  int64_t between(int64_t low, int64_t high) {
    return low + static_cast<int64_t>(below(static_cast<uint64_t>(high - low) + 1));
  }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  template <class T>
  const T& pick(const T* items, uint64_t count) {
    return items[below(count)];
  }

 private:
  uint64_t state_;
};

}  // namespace escrow::sim
