// The plain (relaxed) fixed-point step x_next = r T(x) + (1 - r) x, shared by every method so that
// Picard, Krasnoselskii-Mann, Anderson with memory 0 and the Type-I fallback agree bit for bit.
#pragma once

#include "iterop/core/vector_algebra.hpp"

namespace iterop::detail {

/// x_next = r g + (1 - r) x, with g = T(x) and r the relaxation (the weight on T(x)).
/// r = 1 gives x_next == g exactly.
template <State X>
void relaxed_step(double relaxation, const X& g, const X& x, X& x_next) {
  using T = scalar_t<X>;
  ops::linear_sum(T(relaxation), g, T(1.0 - relaxation), x, x_next);
}

}  // namespace iterop::detail
