// Overloaded: a visitor made of lambdas, for std::visit over the Event and command variants.
#pragma once

namespace escrow {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace escrow
