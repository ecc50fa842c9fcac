// Product trapezoidal rule for weakly singular kernels (t - s)^(-a) K(t, s, y), 0 < a < 1:
// K is interpolated piecewise linearly and the singular factor integrated exactly. Order 2.
#pragma once

#include <cmath>
#include <span>
#include <string_view>
#include <vector>

#include "iterop/quadrature/detail/solve_context.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/step_solver.hpp"
#include "iterop/quadrature/trapezoid.hpp"
#include "iterop/quadrature/volterra_problem.hpp"

namespace iterop::quadrature {

/// Product integration on any grid (uniform or graded): int_0^{t_n} (t_n - s)^(-a) phi(s) ds with phi
/// the piecewise linear interpolant of K(t_n, s, y(s)). Order 2 for smooth y (use a graded grid,
/// Grid::graded, when y behaves like t^beta near 0). With a = 0 it is the trapezoidal rule.
struct ProductTrapezoid {
  static constexpr int order = 2;
  static constexpr std::string_view name = "product_trapezoid";
  StepSolver step{};
  double blow_up_threshold = 1e12;

  void validate() const {
    step.validate();
    require(blow_up_threshold > 1, "ProductTrapezoid::blow_up_threshold", blow_up_threshold, "blow_up_threshold > 1");
  }
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

/// Solves y = f + int (t - s)^(-a) K(t, s, y) ds, a = problem.singular_exponent in [0, 1).
inline VolterraResult solve_volterra(const SecondKindProblem& p, const Grid& grid, const ProductTrapezoid& m) {
  p.validate();
  m.validate();
  const int d = p.dimension;
  const int N = grid.steps();
  const std::vector<double>& t = grid.t;
  const double a = p.singular_exponent;
  detail::SolveContext ctx(std::string(ProductTrapezoid::name), ProductTrapezoid::order, d, m.blow_up_threshold);
  std::vector<double> y(d), c(d), k(d), guess(d), w(static_cast<std::size_t>(N) + 1);
  ctx.forcing(p.forcing, 0.0, y);
  if (!ctx.accept_node(0.0, y)) return ctx.finish(p.exact);
  VolterraResult& r = ctx.result();
  for (int n = 1; n <= N; ++n) {
    const double tn = t[n];
    std::fill(w.begin(), w.begin() + n + 1, 0.0);
    for (int j = 0; j < n; ++j) {
      double wl, wr;
      detail::product_weights(tn, t[j], t[j + 1], a, wl, wr);
      w[j] += wl;
      w[j + 1] += wr;
    }
    ctx.forcing(p.forcing, tn, c);
    for (int j = 0; j < n; ++j) {
      ctx.kernel(p.kernel, tn, t[j], std::span<const double>(&r.y[j * d], d), k);
      for (int cc = 0; cc < d; ++cc) c[cc] += w[j] * k[cc];
    }
    const double w_last = w[n];
    auto phi = [&](std::span<const double> v, std::span<double> out) {
      ctx.kernel(p.kernel, tn, tn, v, out);
      for (int cc = 0; cc < d; ++cc) out[cc] = c[cc] + w_last * out[cc];
    };
    detail::extrapolate_guess(r, d, guess);
    const StepOutcome o = detail::solve_step(m.step, guess, phi);
    if (!ctx.accept_step(o, tn)) break;
    if (!ctx.accept_node(tn, guess)) break;
  }
  return ctx.finish(p.exact);
}

}  // namespace iterop::quadrature
