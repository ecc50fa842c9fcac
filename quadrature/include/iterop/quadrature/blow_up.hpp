// Blow-up of a Volterra solution: the last node the grid still resolves, and the blow-up time t*
// estimated from the growth of the solution, y ~ C (t* - t)^(-p), fitted on the last resolved nodes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "iterop/core/errors.hpp"

namespace iterop::quadrature {

/// Options of estimate_blow_up.
struct BlowUpFit {
  /// A node t_i is resolved while h_i g_i <= resolution, g_i the growth rate d log|y| / dt (central
  /// difference) and h_i = t_{i+1} - t_i: the step is a small fraction of the time over which y grows by e.
  double resolution = 0.1;
  int window = 8;             ///< nodes (the last resolved ones) the power law is fitted on, >= 3
  double min_growth = 4;      ///< |y| at the last resolved node >= min_growth max(|y_0|, tiny): it did grow

  void validate() const {
    require(resolution > 0 && resolution <= 1, "BlowUpFit::resolution", resolution, "0 < resolution <= 1");
    require(window >= 3, "BlowUpFit::window", window, "window >= 3");
    require(min_growth > 1 && std::isfinite(min_growth), "BlowUpFit::min_growth", min_growth, "1 < min_growth < infinity");
  }
};

/// The outcome of estimate_blow_up. `found` is data: false when the growth is not a power-law blow-up
/// ahead of the last resolved node (too few nodes, no growth, growth rate not increasing).
struct BlowUpEstimate {
  bool found = false;
  double time = std::numeric_limits<double>::quiet_NaN();      ///< t*, the estimated blow-up time
  double exponent = std::numeric_limits<double>::quiet_NaN();  ///< p in y ~ C (t* - t)^(-p)
  int last_reliable = -1;       ///< index of the last resolved node (-1: none)
  int nodes_used = 0;           ///< nodes in the fit
};

/// Fits y ~ C (t* - t)^(-p) to the nodes t_0 < ... < t_{n-1} with values y (flat, dimension d; the
/// max norm over components is used). For such a y the growth rate g = d log|y| / dt = p / (t* - t), so
/// 1 / g = (t* - t) / p is linear in t: a least-squares line through (t_i, 1 / g_i) over the last
/// `window` resolved nodes gives p = -1 / slope and t* where it crosses zero. The error of t* is that
/// of the central differences (O(h^2 / (t* - t)^2) relative, small on resolved nodes) plus the
/// discretisation error of y there. Found only when t* - t_last <= 20 (t_last - t_first) over the
/// window (a growth rate that does not increase, as for exponential growth, puts t* far away). Nodes past the last resolved one are not used: near t* no grid
/// of fixed step follows the solution.
inline BlowUpEstimate estimate_blow_up(std::span<const double> t, std::span<const double> y, int d,
                                       const BlowUpFit& fit = {}) {
  fit.validate();
  require(d >= 1, "estimate_blow_up dimension", d, "d >= 1");
  BlowUpEstimate out;
  const std::size_t n = t.size();
  if (n < 3 || y.size() < n * static_cast<std::size_t>(d)) return out;
  std::vector<double> logm(n);
  for (std::size_t i = 0; i < n; ++i) {
    double m = 0;
    for (int c = 0; c < d; ++c) m = std::max(m, std::abs(y[i * d + c]));
    if (!(m > 0) || !std::isfinite(m)) return out;
    logm[i] = std::log(m);
  }
  // Growth rate at the interior nodes; the last resolved node is the last one before the first
  // unresolved one, counting from the end of the growth.
  std::vector<double> g(n, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t i = 1; i + 1 < n; ++i) g[i] = (logm[i + 1] - logm[i - 1]) / (t[i + 1] - t[i - 1]);
  int last = -1;
  for (std::size_t i = 1; i + 1 < n; ++i) {
    if (!((t[i + 1] - t[i]) * g[i] <= fit.resolution)) break;
    last = static_cast<int>(i);
  }
  out.last_reliable = last;
  if (last < fit.window || !(logm[static_cast<std::size_t>(last)] - logm[0] >= std::log(fit.min_growth))) return out;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const int first = last - fit.window + 1;
  for (int i = first; i <= last; ++i) {
    if (!(g[static_cast<std::size_t>(i)] > 0)) return out;
    const double x = t[static_cast<std::size_t>(i)], q = 1 / g[static_cast<std::size_t>(i)];
    sx += x;
    sy += q;
    sxx += x * x;
    sxy += x * q;
  }
  const double k = fit.window;
  const double slope = (k * sxy - sx * sy) / (k * sxx - sx * sx);
  const double intercept = (sy - slope * sx) / k;
  out.nodes_used = fit.window;
  if (!(slope < 0) || !std::isfinite(slope)) return out;
  out.exponent = -1 / slope;
  out.time = -intercept / slope;
  // t* ahead of the last resolved node, and not far beyond the window (a constant growth rate, e.g.
  // exponential growth, gives a slope near zero and a t* far away: not a blow-up).
  const double t_last = t[static_cast<std::size_t>(last)], span = t_last - t[static_cast<std::size_t>(first)];
  out.found = std::isfinite(out.time) && out.time > t_last && out.time - t_last <= 20 * span;
  return out;
}

}  // namespace iterop::quadrature
