// Observed order of convergence: the least-squares slope of log(error) against log(h) over a
// sequence of refinements (the same fit as Google Benchmark's complexity, on a log-log scale).
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

#include "iterop/core/errors.hpp"

namespace iterop {

/// Slope p of log(error) = log(C) + p log(h), fitted by least squares over the pairs with positive,
/// finite values. NaN with fewer than two usable pairs. For a method of order p, error ~ C h^p.
inline double observed_order(std::span<const double> h, std::span<const double> error) {
  require(h.size() == error.size(), "observed_order sizes",
          std::to_string(h.size()) + " vs " + std::to_string(error.size()), "h and error have the same length");
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int m = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (!(h[i] > 0) || !(error[i] > 0) || !std::isfinite(h[i]) || !std::isfinite(error[i])) continue;
    const double x = std::log(h[i]), y = std::log(error[i]);
    sx += x; sy += y; sxx += x * x; sxy += x * y;
    ++m;
  }
  if (m < 2) return std::nan("");
  const double den = m * sxx - sx * sx;
  if (den == 0) return std::nan("");
  return (m * sxy - sx * sy) / den;
}

}  // namespace iterop
