// Product trapezoidal rule for first-kind equations with an Abel kernel, int_0^t (t - s)^(-a) K(t, s)
// y(s) ds = g(t), 0 <= a < 1: y piecewise linear, the singular factor integrated exactly. Order 2.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "iterop/quadrature/detail/solve_context.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/product_trapezoid.hpp"
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_rule.hpp"

namespace iterop::quadrature {

/// sum_{j=0}^{n} w_{n,j} K(t_n, t_j) y_j = g(t_n), n = 1..N, with the product-trapezoid weights of
/// ProductTrapezoid (w_{n,j} = int (t_n - s)^(-a) hat_j(s) ds, exact); solved node by node (one division
/// per node). y_0 is not given by the equation: the first two equations are solved together with y_0
/// the linear extrapolation of y_1, y_2 to t = 0 (exact for linear y, so the start keeps order 2).
/// Theory (Eggermont 1981; Brunner's book, graded meshes): order 2 at the nodes for smooth y; for
/// y = t^beta phi(t) with phi smooth and beta not an integer, min(2, r beta) on the graded grid
/// t_j = T (j/N)^r (the max error sits on the first intervals): order_for_power(beta, r).
/// Weights cost O(n) powers per node, O(N^2) in all (no fast history: they are not a convolution on graded grids).
struct FirstKindTrapezoid {
  static constexpr std::string_view name = "first_kind_trapezoid";
  static constexpr int order = 2;
  static constexpr EquationKind equation = EquationKind::first_kind;
  static constexpr bool weakly_singular = true;
  static constexpr bool convolution = false;
  static constexpr GridKind grids = GridKind::any;
  static constexpr int nodes_per_step = 1;
  static constexpr std::string_view summary = "product trapezoid for Abel kernels (t - s)^(-a) K, results at the nodes";

  double blow_up_threshold = 1e12;

  /// The stated max-norm order for y = t^beta phi(t) (beta > 0 not an integer, phi smooth) on the grid
  /// graded with exponent r >= 1: min(order, r beta). Smooth y: order.
  static constexpr double order_for_power(double beta, double r) { return std::min<double>(order, r * beta); }

  void validate() const {
    require(blow_up_threshold > 1, "FirstKindTrapezoid::blow_up_threshold", blow_up_threshold, "blow_up_threshold > 1");
  }
};

inline VolterraResult solve_volterra(const FirstKindProblem& p, const Grid& grid, const FirstKindTrapezoid& m) {
  p.validate();
  m.validate();
  const int N = grid.steps();
  const std::vector<double>& t = grid.t;
  const double a = p.singular_exponent;
  for (int n = 1; n <= N; ++n) {
    const double kk = p.kernel(t[n], t[n]);
    require(std::isfinite(kk) && std::abs(kk) > 0, p.id + ": first-kind kernel K(t, t) at t", t[n],
            "K(t, t) != 0 and finite (a first-kind kernel vanishing on the diagonal makes the problem ill-posed)");
  }
  detail::SolveContext ctx(std::string(FirstKindTrapezoid::name), FirstKindTrapezoid::order, 1, m.blow_up_threshold);
  ctx.set_end(grid.end());
  VolterraResult& r = ctx.result();
  r.kernel_evaluations += N;
  std::vector<double> y(static_cast<std::size_t>(N) + 1), c;
  // Row n: c_j = w_{n,j} K(t_n, t_j), j = 0..n.
  auto row = [&](int n) {
    c.assign(static_cast<std::size_t>(n) + 1, 0.0);
    for (int j = 0; j < n; ++j) {
      double wl, wr;
      detail::product_weights(t[n], t[j], t[j + 1], a, wl, wr);
      c[j] += wl;
      c[j + 1] += wr;
    }
    for (int j = 0; j <= n; ++j) c[j] *= p.kernel(t[n], t[j]);
    r.kernel_evaluations += n + 1;
  };
  auto g = [&](int n) {
    ++r.forcing_evaluations;
    return p.rhs(t[n]);
  };
  // Start: rows 1 and 2 with y_0 = e1 y_1 + e2 y_2 (linear extrapolation to t_0).
  const double e1 = (t[2] - t[0]) / (t[2] - t[1]), e2 = -(t[1] - t[0]) / (t[2] - t[1]);
  row(1);
  const double a11 = c[0] * e1 + c[1], a12 = c[0] * e2, g1 = g(1);
  row(2);
  const double a21 = c[0] * e1 + c[1], a22 = c[0] * e2 + c[2], g2 = g(2);
  const double det = a11 * a22 - a12 * a21;
  y[1] = (g1 * a22 - a12 * g2) / det;
  y[2] = (a11 * g2 - a21 * g1) / det;
  y[0] = e1 * y[1] + e2 * y[2];
  bool ok = true;
  for (int n = 0; n <= 2 && ok; ++n) ok = ctx.accept_node(t[n], std::span<const double>(&y[n], 1));
  for (int n = 3; n <= N && ok; ++n) {
    row(n);
    double s = g(n);
    for (int j = 0; j < n; ++j) s -= c[j] * y[j];
    y[n] = s / c[n];
    ok = ctx.accept_node(t[n], std::span<const double>(&y[n], 1));
  }
  Exact exact;
  if (p.exact) exact = [e = p.exact](double tt, std::span<double> out) { out[0] = e(tt); };
  return ctx.finish(exact);
}

}  // namespace iterop::quadrature
