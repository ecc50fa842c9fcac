// Midpoint rule for Volterra equations of the first kind, int_0^t K(t, s) y(s) ds = g(t): stable,
// order 2 at the midpoints t_{j-1/2} (Simpson-type rules are unstable for the first kind).
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "iterop/quadrature/detail/solve_context.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_rule.hpp"

namespace iterop::quadrature {

/// sum_{j=1}^{n} h_j K(t_n, t_{j-1/2}) y_{j-1/2} = g(t_n), solved for y_{n-1/2} node by node.
/// The result's nodes are the midpoints. Needs K(t_n, t_{n-1/2}) != 0 (checked before any work).
/// It has its own loop, not the second-kind marching loop (march.hpp): the unknown enters linearly
/// through a kernel K(t, s) without y, so each node is one division by h_n K(t_n, t_{n-1/2}) (no
/// implicit equation, no step solver), and its nodes are the midpoints, not the grid.
struct FirstKindMidpoint {
  static constexpr std::string_view name = "midpoint";
  static constexpr int order = 2;
  static constexpr EquationKind equation = EquationKind::first_kind;
  static constexpr bool weakly_singular = false;
  static constexpr bool convolution = false;
  static constexpr GridKind grids = GridKind::any;
  static constexpr int nodes_per_step = 1;
  static constexpr std::string_view summary = "midpoint rule, results at the midpoints";

  double blow_up_threshold = 1e12;

  void validate() const {
    require(blow_up_threshold > 1, "FirstKindMidpoint::blow_up_threshold", blow_up_threshold, "blow_up_threshold > 1");
  }
};

inline VolterraResult solve_volterra(const FirstKindProblem& p, const Grid& grid, const FirstKindMidpoint& m) {
  p.validate();
  m.validate();
  require(p.singular_exponent == 0, p.id + ": singular exponent", p.singular_exponent,
          "0 for the midpoint rule (use FirstKindTrapezoid for Abel kernels (t - s)^(-a) K)");
  const int N = grid.steps();
  const std::vector<double>& t = grid.t;
  std::vector<double> mid(static_cast<std::size_t>(N) + 1), diag(static_cast<std::size_t>(N) + 1);
  for (int n = 1; n <= N; ++n) mid[n] = 0.5 * (t[n - 1] + t[n]);
  // The kernel on the diagonal must not vanish: the rule divides by K(t_n, t_{n-1/2}).
  for (int n = 1; n <= N; ++n) {
    diag[n] = p.kernel(t[n], mid[n]);
    const double kk = p.kernel(t[n], t[n]);
    require(std::isfinite(diag[n]) && std::abs(kk) > 0 && std::abs(diag[n]) > 0, p.id + ": first-kind kernel K(t, t) at t",
            t[n], "K(t, t) != 0 (a first-kind kernel vanishing on the diagonal makes the problem ill-posed for this rule)");
  }
  detail::SolveContext ctx(std::string(FirstKindMidpoint::name), FirstKindMidpoint::order, 1, m.blow_up_threshold);
  ctx.set_end(grid.end());
  VolterraResult& r = ctx.result();
  r.kernel_evaluations += 2L * N;
  std::vector<double> ys(static_cast<std::size_t>(N) + 1);
  for (int n = 1; n <= N; ++n) {
    double s = p.rhs(t[n]);
    ++r.forcing_evaluations;
    for (int j = 1; j < n; ++j) {
      s -= (t[j] - t[j - 1]) * p.kernel(t[n], mid[j]) * ys[j];
      ++r.kernel_evaluations;
    }
    ys[n] = s / ((t[n] - t[n - 1]) * diag[n]);
    const double v = ys[n];
    if (!ctx.accept_node(mid[n], std::span<const double>(&v, 1))) break;
  }
  Exact exact;
  if (p.exact) exact = [e = p.exact](double tt, std::span<double> out) { out[0] = e(tt); };
  return ctx.finish(exact);
}

}  // namespace iterop::quadrature
