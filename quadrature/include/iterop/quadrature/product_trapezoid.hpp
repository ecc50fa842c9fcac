// Product trapezoidal rule for weakly singular kernels (t - s)^(-a) K(t, s, y), 0 < a < 1:
// K is interpolated piecewise linearly and the singular factor integrated exactly. Order 2. Its
// weights change with every step; the marching loop (march.hpp) does the rest.
#pragma once

#include <cmath>
#include <string_view>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/march.hpp"
#include "iterop/quadrature/step_solver.hpp"
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_rule.hpp"

namespace iterop::quadrature {

/// Product integration on any grid (uniform or graded): int_0^{t_n} (t_n - s)^(-a) phi(s) ds with phi
/// the piecewise linear interpolant of K(t_n, s, y(s)). Order 2 for smooth y (use a graded grid,
/// Grid::graded, when y behaves like t^beta near 0). With a = 0 it is the trapezoidal rule.
struct ProductTrapezoid {
  static constexpr std::string_view name = "product_trapezoid";
  static constexpr int order = 2;
  static constexpr EquationKind equation = EquationKind::second_kind;
  static constexpr bool weakly_singular = true;
  static constexpr bool convolution = false;
  static constexpr GridKind grids = GridKind::any;
  static constexpr int nodes_per_step = 1;
  static constexpr std::string_view summary = "product integration";

  StepSolver step{};
  double blow_up_threshold = 1e12;

  void validate() const {
    step.validate();
    require(blow_up_threshold > 1, "ProductTrapezoid::blow_up_threshold", blow_up_threshold, "blow_up_threshold > 1");
  }

  /// The weights of the step to node n: w_j = sum over the intervals [t_i, t_{i+1}] touching t_j of
  /// int (t_n - s)^(-a) (hat function of t_j)(s) ds, a = p.singular_exponent (recomputed every step).
  void weights(const SecondKindProblem& p, const Grid& grid, SecondKindStep& s) const;
};

namespace detail {
/// B^p - A^p for 0 <= A < B, accurate when B - A << A.
inline double power_difference(double A, double B, double p) {
  if (A <= 0) return std::pow(B, p);
  return std::pow(A, p) * std::expm1(p * std::log1p((B - A) / A));
}

/// Weights of node j and j+1 from the interval [t_j, t_{j+1}] for the integral up to tn.
inline void product_weights(double tn, double tj, double tj1, double a, double& w_left, double& w_right) {
  const double A = tn - tj1, B = tn - tj, h = tj1 - tj;
  const double I0 = power_difference(A, B, 1 - a) / (1 - a);  // int_A^B u^-a du
  const double I1 = power_difference(A, B, 2 - a) / (2 - a);  // int_A^B u^(1-a) du
  w_left = (I1 - A * I0) / h;                                 // phi_j (t_{j+1} - s) / h, u = tn - s
  w_right = (B * I0 - I1) / h;                                // phi_{j+1} (s - t_j) / h
}
}  // namespace detail

inline void ProductTrapezoid::weights(const SecondKindProblem& p, const Grid& grid, SecondKindStep& s) const {
  const std::vector<double>& t = grid.t;
  StepEquation& e = s.equations[0];
  const int n = e.node;
  std::vector<double>& w = e.history;
  w.assign(static_cast<std::size_t>(n) + 1, 0.0);
  for (int j = 0; j < n; ++j) {
    double wl, wr;
    detail::product_weights(t[n], t[j], t[j + 1], p.singular_exponent, wl, wr);
    w[j] += wl;
    w[j + 1] += wr;
  }
  e.points.push_back({.s = t[n], .weight = w[n]});
  w.pop_back();
}

}  // namespace iterop::quadrature
