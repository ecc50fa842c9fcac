// Grid: the time nodes 0 = t_0 < t_1 < ... < t_N = T of a Volterra solve, uniform or graded
// (t_j = T (j/N)^r, for solutions that are not smooth at t = 0).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "iterop/core/errors.hpp"

namespace iterop::quadrature {

/// Nodes t_0 = 0 < ... < t_N = T.
struct Grid {
  std::vector<double> t;

  /// N + 1 equally spaced nodes on [0, T]; T > 0 and finite, N >= 2.
  static Grid uniform(double T, int N) {
    require(T > 0 && std::isfinite(T), "T", T, "0 < T < infinity");
    require(N >= 2, "steps", N, "steps >= 2");
    Grid g;
    g.t.resize(static_cast<std::size_t>(N) + 1);
    for (int j = 0; j <= N; ++j) g.t[static_cast<std::size_t>(j)] = T * j / N;
    return g;
  }
  /// Graded nodes t_j = T (j / N)^r, r >= 1 (r = 1 is uniform).
  static Grid graded(double T, int N, double r) {
    require(r >= 1 && std::isfinite(r), "grading exponent", r, "r >= 1");
    Grid g = uniform(T, N);
    for (int j = 0; j <= N; ++j) g.t[static_cast<std::size_t>(j)] = T * std::pow(static_cast<double>(j) / N, r);
    return g;
  }

  int steps() const { return static_cast<int>(t.size()) - 1; }
  double end() const { return t.back(); }
  /// Largest step max_j (t_{j+1} - t_j): the h of an order-of-convergence fit.
  double max_step() const {
    double h = 0;
    for (std::size_t j = 0; j + 1 < t.size(); ++j) h = std::max(h, t[j + 1] - t[j]);
    return h;
  }
  bool is_uniform() const {
    const double h = t.back() / steps();
    for (std::size_t j = 0; j + 1 < t.size(); ++j)
      if (std::abs((t[j + 1] - t[j]) - h) > 1e-12 * t.back()) return false;
    return true;
  }
};

}  // namespace iterop::quadrature
