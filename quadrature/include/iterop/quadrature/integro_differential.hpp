// Trapezoidal method for integro-differential equations y' = F(t, y) + int_0^t K(t, s, y(s)) ds:
// the trapezoidal rule in time for the derivative and in s for the memory integral. Order 2.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "iterop/quadrature/detail/solve_context.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/march.hpp"
#include "iterop/quadrature/step_solver.hpp"
#include "iterop/quadrature/trapezoid.hpp"
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_rule.hpp"

namespace iterop::quadrature {

/// y_n = y_{n-1} + (h_n / 2) (F(t_{n-1}, y_{n-1}) + Q_{n-1} + F(t_n, y_n) + Q_n), Q_n the trapezoidal
/// approximation of int_0^{t_n} K(t_n, s, y(s)) ds, implicit in y_n.
/// Q_n takes Trapezoid's weights and the marching loop's history sum (detail::add_history), guess and
/// step solver, but the step is its own: the equation of y_n is the ODE recurrence above (y_{n-1},
/// F and Q_{n-1} around the memory integral), not y_n = f(t_n) + history + implicit terms, so it
/// cannot run in march() without changing how the sums are grouped.
struct IdeTrapezoid {
  static constexpr std::string_view name = "ide_trapezoid";
  static constexpr int order = 2;
  static constexpr EquationKind equation = EquationKind::integro_differential;
  static constexpr bool weakly_singular = false;
  static constexpr bool convolution = false;
  static constexpr GridKind grids = GridKind::any;
  static constexpr int nodes_per_step = 1;
  static constexpr std::string_view summary = "trapezoidal rule in time and in the memory integral";

  StepSolver step{};
  double blow_up_threshold = 1e12;

  void validate() const {
    step.validate();
    require(blow_up_threshold > 1, "IdeTrapezoid::blow_up_threshold", blow_up_threshold, "blow_up_threshold > 1");
  }
};

inline VolterraResult solve_volterra(const IntegroDifferentialProblem& p, const Grid& grid, const IdeTrapezoid& m) {
  p.validate();
  m.validate();
  const int d = p.dimension;
  const int N = grid.steps();
  const std::vector<double>& t = grid.t;
  detail::SolveContext ctx(std::string(IdeTrapezoid::name), IdeTrapezoid::order, d, m.blow_up_threshold);
  ctx.set_end(grid.end());
  VolterraResult& r = ctx.result();
  std::vector<double> F_prev(d), Q_prev(d, 0.0), hist(d), k(d), guess(d), fq(d);
  if (!ctx.accept_node(0.0, p.y0)) return ctx.finish(p.exact);
  p.rhs(0.0, p.y0, F_prev);
  const Trapezoid trapezoid{};
  const SecondKindProblem no_problem{};  // the trapezoidal weights depend on the grid only
  SecondKindStep step;
  step.equations.resize(1);
  detail::StepWorkspace workspace;
  for (int n = 1; n <= N; ++n) {
    const double tn = t[n], hn = tn - t[n - 1];
    // Known part of Q_n: the trapezoidal weights on nodes 0..n-1; its last weight is h_n / 2.
    StepEquation& e = step.equations[0];
    step.known = e.node = n;
    e.history.clear();
    e.points.clear();
    trapezoid.weights(no_problem, grid, step);
    std::fill(hist.begin(), hist.end(), 0.0);
    detail::add_history(ctx, p.kernel, tn, e.history, t, k, hist);
    const double w_last = e.points[0].weight;
    const std::span<const double> y_prev(&r.y[(n - 1) * d], d);
    auto phi = [&](std::span<const double> v, std::span<double> out) {
      p.rhs(tn, v, fq);
      ctx.kernel(p.kernel, tn, tn, v, k);
      for (int c = 0; c < d; ++c)
        out[c] = y_prev[c] + 0.5 * hn * (F_prev[c] + Q_prev[c] + fq[c] + hist[c] + w_last * k[c]);
    };
    detail::extrapolate_guess(r, d, guess);
    const StepOutcome o = detail::solve_step(m.step, guess, phi, workspace, ctx.verification(phi));
    if (!ctx.accept_step(o, tn)) break;
    if (!ctx.accept_node(tn, guess)) break;
    p.rhs(tn, guess, F_prev);
    ctx.kernel(p.kernel, tn, tn, guess, k);
    for (int c = 0; c < d; ++c) Q_prev[c] = hist[c] + w_last * k[c];
  }
  return ctx.finish(p.exact);
}

}  // namespace iterop::quadrature
