// Block-by-block method based on Simpson's rule (Linz), fourth order and self-starting: each block
// solves for y_{2m+1} and y_{2m+2} together; the half-step value comes from quadratic interpolation.
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

/// Block-by-block Simpson (order 4 for smooth problems) on a uniform grid with an even number of steps:
///   y_{2m+2} = f + composite Simpson over [0, t_{2m+2}],
///   y_{2m+1} = f + composite Simpson over [0, t_{2m}] + Simpson over [t_{2m}, t_{2m+1}] with
///              y_{2m+1/2} = (3 y_{2m} + 6 y_{2m+1} - y_{2m+2}) / 8.
/// For convolution kernels a(t - s) G(y) the two history sums of a block are lag sums of the
/// Simpson-weighted values s_j G(y_j) (two LagSums, the second with the kernel shifted by one step).
struct BlockBySimpson {
  static constexpr std::string_view name = "block_simpson";
  static constexpr int order = 4;
  static constexpr EquationKind equation = EquationKind::second_kind;
  static constexpr bool weakly_singular = false;
  static constexpr bool convolution = true;
  static constexpr GridKind grids = GridKind::uniform;
  static constexpr int nodes_per_step = 2;
  static constexpr std::string_view summary = "block-by-block Simpson";

  StepSolver step{};
  double blow_up_threshold = 1e12;
  bool use_convolution = true;  ///< exploit ConvolutionKernel structure when present
  LagSumOptions lag_sums{};     ///< how the convolution histories are summed (FFT by default)

  void validate() const {
    step.validate();
    lag_sums.validate();
    require(blow_up_threshold > 1, "BlockBySimpson::blow_up_threshold", blow_up_threshold, "blow_up_threshold > 1");
  }

  /// Composite Simpson weight (times 3/h) of node j on [0, t_end], end even.
  static constexpr double simpson(int j, int end) { return (j == 0 || j == end) ? 1.0 : (j % 2 ? 4.0 : 2.0); }
  /// Lag-sum form: node j enters with its Simpson weight over a longer interval, 1 4 2 4 2 ...
  static constexpr double lag_weight(int j) { return j == 0 ? 1.0 : (j % 2 ? 4.0 : 2.0); }

  /// The weights of the block m2 = step.known - 1 -> nodes m2 + 1, m2 + 2 (h = t_1 - t_0):
  ///   y_{m2+2}: (h/3) sum_{j<=m2} s_j K(t2, t_j, y_j) + (4h/3) K(t2, t1, Y1) + (h/3) K(t2, t2, Y2),
  ///   y_{m2+1}: (h/3) sum_{j<=m2} s'_j K(t1, t_j, y_j) + (h/6) K(t1, t_{m2}, y_{m2})
  ///             + (4h/6) K(t1, t_{m2} + h/2, y_{m2+1/2}) + (h/6) K(t1, t1, Y1).
  /// In the lag-sum form node m2, pushed with weight 2 (1 at m2 = 0) but wanted with 1 (0 at m2 = 0)
  /// over [0, t_{m2}], is corrected inside the bracket, and its (h/6) term added outside.
  void weights(const SecondKindProblem&, const Grid& grid, SecondKindStep& s) const {
    const bool lag_form = s.lag_form;
    const std::vector<double>& t = grid.t;
    const double h = t[1] - t[0];
    const int m2 = s.known - 1;
    StepEquation& e1 = s.equations[0];
    StepEquation& e2 = s.equations[1];
    if (lag_form) {
      const double pushed = m2 == 0 ? 1.0 : 2.0, wanted = m2 == 0 ? 0.0 : 1.0;
      e1.lag_scale = h / 3;
      e1.inside.push_back({.node = m2, .factor = pushed - wanted, .reevaluate = true});
      e1.outside.push_back({.node = m2, .factor = h / 6});
      e2.lag_scale = h / 3;
    } else {
      e1.history.resize(static_cast<std::size_t>(m2) + 1);
      e2.history.resize(static_cast<std::size_t>(m2) + 1);
      for (int j = 0; j <= m2; ++j) {
        e2.history[j] = h / 3 * (j == 0 ? 1.0 : simpson(j, m2 + 2));
        e1.history[j] = (m2 > 0 ? h / 3 * simpson(j, m2) : 0.0) + (j == m2 ? h / 6 : 0.0);
      }
    }
    // The implicit terms use K itself (t_{m2} + h/2 is not a multiple of h from t1 in the lag table).
    e1.points.push_back({.s = t[m2] + h / 2, .weight = 4 * h / 6, .interpolation = {3, 6, -1}, .divisor = 8});
    e1.points.push_back({.s = t[m2 + 1], .weight = h / 6, .unknown = 0});
    e2.points.push_back({.s = t[m2 + 1], .weight = 4 * h / 3, .unknown = 0});
    e2.points.push_back({.s = t[m2 + 2], .weight = h / 3, .unknown = 1});
  }
};

}  // namespace iterop::quadrature
