// The plain (damped) fixed-point step x_next = beta T(x) + (1 - beta) x, shared by every method
// so that Picard, Krasnoselskii-Mann and Anderson with memory 0 agree bit for bit.
#pragma once

#include "iterop/core/vector_algebra.hpp"

namespace iterop::detail {

/// x_next = beta g + (1 - beta) x, with g = T(x). beta = 1 gives x_next == g exactly.
template <State X>
void relaxed_step(double beta, const X& g, const X& x, X& x_next) {
  using T = scalar_t<X>;
  ops::linear_sum(T(beta), g, T(1.0 - beta), x, x_next);
}

}  // namespace iterop::detail
