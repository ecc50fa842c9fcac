// The trapezoidal rule for Volterra equations of the second kind (order 2): its data and weights,
// y_n = f(t_n) + sum_j w_j K(t_n, t_j, y_j), implicit in y_n through the last weight (march.hpp).
#pragma once

#include <string_view>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/fast_lag_sum.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/march.hpp"
#include "iterop/quadrature/step_solver.hpp"
#include "iterop/quadrature/volterra_rule.hpp"

namespace iterop::quadrature {

/// Trapezoidal rule on any grid: weights w_0 = h_1 / 2, w_j = (h_j + h_{j+1}) / 2, w_n = h_n / 2.
/// For convolution kernels on a uniform grid the history is a lag sum (LagSum): a(t - s) is evaluated
/// N + 1 times instead of N^2 / 2, and the sum costs O(N log^2 N) by FFT (Hairer, Lubich & Schlichte)
/// or O(N^2) directly.
struct Trapezoid {
  static constexpr std::string_view name = "trapezoid";
  static constexpr int order = 2;                    ///< global error O(h^2) for smooth problems
  static constexpr EquationKind equation = EquationKind::second_kind;
  static constexpr bool weakly_singular = false;
  static constexpr bool convolution = true;
  static constexpr GridKind grids = GridKind::any;
  static constexpr int nodes_per_step = 1;
  static constexpr std::string_view summary = "the trapezoidal rule";

  StepSolver step{};                                 ///< the implicit equation at each node
  double blow_up_threshold = 1e12;                   ///< |y| > threshold max(1, |y(0)|) is reported as blow-up
  bool use_convolution = true;                       ///< exploit ConvolutionKernel structure when present
  LagSumOptions lag_sums{};                          ///< how the convolution history is summed (FFT by default)

  void validate() const {
    step.validate();
    lag_sums.validate();
    require(blow_up_threshold > 1, "Trapezoid::blow_up_threshold", blow_up_threshold, "blow_up_threshold > 1");
  }

  /// Weight of node j (0 <= j <= n, n >= 1) in the trapezoidal integral over [0, t_n] on the nodes t.
  static double weight(const std::vector<double>& t, int n, int j) {
    if (j == 0) return 0.5 * (t[1] - t[0]);
    if (j == n) return 0.5 * (t[n] - t[n - 1]);
    return 0.5 * (t[j + 1] - t[j - 1]);
  }

  /// Lag-sum form: every node enters the lag sum with weight 1 (node 0 is corrected to 1/2).
  static constexpr double lag_weight(int) { return 1.0; }

  /// The weights of the step to node n = step.known: w_j as above, or, in the lag-sum form (uniform,
  /// h = t_1 - t_0), h (L_n - a_n G(y_0) / 2) and the implicit term (h / 2) a_0 G(y_n).
  void weights(const SecondKindProblem&, const Grid& grid, SecondKindStep& s) const {
    const bool lag_form = s.lag_form;
    const std::vector<double>& t = grid.t;
    StepEquation& e = s.equations[0];
    const int n = e.node;
    if (lag_form) {
      const double h = t[1] - t[0];
      e.lag_scale = h;
      e.inside.push_back({.node = 0, .factor = 0.5});
      e.points.push_back({.s = t[n], .weight = 0.5 * h, .lag = 0});
      return;
    }
    e.history.resize(static_cast<std::size_t>(n));
    for (int j = 0; j < n; ++j) e.history[j] = weight(t, n, j);
    e.points.push_back({.s = t[n], .weight = weight(t, n, n)});
  }
};

}  // namespace iterop::quadrature
