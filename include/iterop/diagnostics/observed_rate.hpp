// Observed linear rate of a convergent sequence: the windowed geometric mean of residual ratios,
// (r_k / r_{k-w})^(1/w). For a linear map it tends to the spectral radius of T'.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>

namespace iterop {

/// Geometric mean of the last `window` ratios r_i / r_{i-1} ending at the last entry:
/// (r_k / r_{k-w})^(1/w) with w = min(window, k). NaN with fewer than two values or a zero/NaN.
inline double observed_rate(std::span<const double> residuals, int window = 5) {
  const std::size_t n = residuals.size();
  if (n < 2 || window < 1) return std::nan("");
  const std::size_t w = std::min<std::size_t>(static_cast<std::size_t>(window), n - 1);
  const double last = residuals[n - 1], first = residuals[n - 1 - w];
  if (!(first > 0) || !(last >= 0) || !std::isfinite(first) || !std::isfinite(last)) return std::nan("");
  return std::pow(last / first, 1.0 / static_cast<double>(w));
}

/// Least-squares slope of log r_k against k over [begin, end), exponentiated: a rate estimate that
/// uses every point of the window. NaN when fewer than two positive finite residuals.
inline double fitted_rate(std::span<const double> residuals, std::size_t begin, std::size_t end) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int m = 0;
  for (std::size_t k = begin; k < end && k < residuals.size(); ++k) {
    const double r = residuals[k];
    if (!(r > 0) || !std::isfinite(r)) continue;
    const double x = static_cast<double>(k), y = std::log(r);
    sx += x; sy += y; sxx += x * x; sxy += x * y;
    ++m;
  }
  if (m < 2) return std::nan("");
  const double den = m * sxx - sx * sx;
  if (den == 0) return std::nan("");
  return std::exp((m * sxy - sx * sy) / den);
}

}  // namespace iterop
