// Block-by-block method based on Simpson's rule (Linz), fourth order and self-starting: each block
// solves for y_{2m+1} and y_{2m+2} together; the half-step value comes from quadratic interpolation.
#pragma once

#include <cmath>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "iterop/quadrature/detail/solve_context.hpp"
#include "iterop/quadrature/fast_lag_sum.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/step_solver.hpp"
#include "iterop/quadrature/trapezoid.hpp"
#include "iterop/quadrature/volterra_problem.hpp"

namespace iterop::quadrature {

/// Block-by-block Simpson (order 4 for smooth problems) on a uniform grid with an even number of steps:
///   y_{2m+2} = f + composite Simpson over [0, t_{2m+2}],
///   y_{2m+1} = f + composite Simpson over [0, t_{2m}] + Simpson over [t_{2m}, t_{2m+1}] with
///              y_{2m+1/2} = (3 y_{2m} + 6 y_{2m+1} - y_{2m+2}) / 8.
/// For convolution kernels a(t - s) G(y) the two history sums of a block are lag sums of the
/// Simpson-weighted values s_j G(y_j) (two LagSums, the second with the kernel shifted by one step).
struct BlockBySimpson {
  static constexpr int order = 4;
  static constexpr std::string_view name = "block_simpson";
  StepSolver step{};
  double blow_up_threshold = 1e12;
  bool use_convolution = true;  ///< exploit ConvolutionKernel structure when present
  LagSumOptions lag_sums{};     ///< how the convolution histories are summed (FFT by default)

  void validate() const {
    step.validate();
    lag_sums.validate();
    require(blow_up_threshold > 1, "BlockBySimpson::blow_up_threshold", blow_up_threshold, "blow_up_threshold > 1");
  }
};

/// Solves a second-kind problem with a regular kernel by the block-by-block Simpson method.
inline VolterraResult solve_volterra(const SecondKindProblem& p, const Grid& grid, const BlockBySimpson& m) {
  p.validate();
  m.validate();
  require(p.singular_exponent == 0, p.id + ": singular exponent", p.singular_exponent,
          "0 for block-by-block Simpson (use ProductTrapezoid for weakly singular kernels)");
  require(grid.is_uniform(), "grid", std::string("non-uniform"), "a uniform grid for block-by-block Simpson");
  require(grid.steps() % 2 == 0, "steps", grid.steps(), "an even number of steps for block-by-block Simpson");
  const int d = p.dimension;
  const int N = grid.steps();
  const std::vector<double>& t = grid.t;
  const double h = t[1] - t[0];
  detail::SolveContext ctx(std::string(BlockBySimpson::name), BlockBySimpson::order, d, m.blow_up_threshold);
  std::vector<double> y0(d), k(d), c1(d), c2(d), guess(2 * static_cast<std::size_t>(d)), mid(d);
  ctx.forcing(p.forcing, 0.0, y0);
  if (!ctx.accept_node(0.0, y0)) return ctx.finish(p.exact);
  VolterraResult& r = ctx.result();
  auto yj = [&](int j) { return std::span<const double>(&r.y[static_cast<std::size_t>(j) * d], d); };
  // Composite Simpson weight (times 3/h) of node j on [0, t_end], end even.
  auto simpson = [](int j, int end) { return (j == 0 || j == end) ? 1.0 : (j % 2 ? 4.0 : 2.0); };

  // Convolution structure: lag sums of v_j = s_j G(y_j), s_0 = 1, odd 4, even 2. lag_t1 sums with
  // a(m h) (history at t_{2m+1}), lag_t2 with a((m + 1) h) (history at t_{2m+2}).
  const bool conv = m.use_convolution && p.is_convolution();
  std::vector<double> a, u(d), weighted(d), h1(d), h2(d);
  std::optional<LagSum> lag_t1, lag_t2;
  auto push_node = [&](int j, std::span<const double> yv) {
    p.convolution.nonlinearity(yv, u);
    ++r.kernel_evaluations;
    const double s = j == 0 ? 1.0 : (j % 2 ? 4.0 : 2.0);
    for (int cc = 0; cc < d; ++cc) weighted[cc] = s * u[cc];
    lag_t1->push(weighted);
    lag_t2->push(weighted);
  };
  if (conv) {
    a.resize(static_cast<std::size_t>(N) + 2);
    for (int i = 0; i <= N + 1; ++i) a[i] = p.convolution.lag_kernel(i * h);
    r.kernel_evaluations += N + 2;
    lag_t1.emplace(std::vector<double>(a.begin(), a.begin() + N + 1), static_cast<std::size_t>(d), m.lag_sums);
    lag_t2.emplace(std::vector<double>(a.begin() + 1, a.end()), static_cast<std::size_t>(d), m.lag_sums);
    lag_t1->history(h1);
    lag_t2->history(h2);
    push_node(0, yj(0));
  }

  for (int m2 = 0; m2 < N; m2 += 2) {
    const double t1 = t[m2 + 1], t2 = t[m2 + 2];
    // Known parts: c2 = f(t2) + (h/3) sum_{j<=m2} s_j K(t2, t_j, y_j) with s over [0, t2];
    //              c1 = f(t1) + (h/3) sum_{j<=m2} s'_j K(t1, t_j, y_j) over [0, t_{m2}] + (h/6) K(t1, t_{m2}, y_{m2}).
    ctx.forcing(p.forcing, t2, c2);
    ctx.forcing(p.forcing, t1, c1);
    if (conv) {
      lag_t1->history(h1);  // sum_{j<=m2} a_{m2+1-j} v_j
      lag_t2->history(h2);  // sum_{j<=m2} a_{m2+2-j} v_j
      // u = G(y_{m2}); over [0, t_{m2}] node m2 has Simpson weight 1, not the 2 (or 1 at m2 = 0) pushed.
      p.convolution.nonlinearity(yj(m2), u);
      ++r.kernel_evaluations;
      const double pushed = m2 == 0 ? 1.0 : 2.0, wanted = m2 == 0 ? 0.0 : 1.0;
      for (int cc = 0; cc < d; ++cc) {
        c2[cc] += h / 3 * h2[cc];
        c1[cc] += h / 3 * (h1[cc] - (pushed - wanted) * a[1] * u[cc]) + h / 6 * a[1] * u[cc];
      }
    } else {
      for (int j = 0; j <= m2; ++j) {
        ctx.kernel(p.kernel, t2, t[j], yj(j), k);
        const double w2 = h / 3 * (j == 0 ? 1.0 : simpson(j, m2 + 2));
        for (int cc = 0; cc < d; ++cc) c2[cc] += w2 * k[cc];
        ctx.kernel(p.kernel, t1, t[j], yj(j), k);
        const double w1 = (m2 > 0 ? h / 3 * simpson(j, m2) : 0.0) + (j == m2 ? h / 6 : 0.0);
        for (int cc = 0; cc < d; ++cc) c1[cc] += w1 * k[cc];
      }
    }
    const std::span<const double> ym = yj(m2);
    auto phi = [&](std::span<const double> v, std::span<double> out) {
      const std::span<const double> Y1 = v.subspan(0, d), Y2 = v.subspan(d, d);
      // y_{2m+2}: 4 K(t2, t1, Y1) + K(t2, t2, Y2), times h/3.
      ctx.kernel(p.kernel, t2, t1, Y1, k);
      for (int cc = 0; cc < d; ++cc) out[d + cc] = c2[cc] + 4 * h / 3 * k[cc];
      ctx.kernel(p.kernel, t2, t2, Y2, k);
      for (int cc = 0; cc < d; ++cc) out[d + cc] += h / 3 * k[cc];
      // y_{2m+1}: (h/6) (4 K(t1, t_{m2} + h/2, mid) + K(t1, t1, Y1)).
      for (int cc = 0; cc < d; ++cc) mid[cc] = (3 * ym[cc] + 6 * Y1[cc] - Y2[cc]) / 8;
      ctx.kernel(p.kernel, t1, t[m2] + h / 2, mid, k);
      for (int cc = 0; cc < d; ++cc) out[cc] = c1[cc] + 4 * h / 6 * k[cc];
      ctx.kernel(p.kernel, t1, t1, Y1, k);
      for (int cc = 0; cc < d; ++cc) out[cc] += h / 6 * k[cc];
    };
    // Guess: extrapolate linearly from the last node(s).
    detail::extrapolate_guess(r, d, mid);
    const std::size_t last = r.t.size() - 1;
    for (int cc = 0; cc < d; ++cc) {
      const double slope = mid[cc] - r.y[last * d + cc];
      guess[cc] = r.y[last * d + cc] + slope;
      guess[d + cc] = r.y[last * d + cc] + 2 * slope;
    }
    const StepOutcome o = detail::solve_step(m.step, guess, phi);
    if (!ctx.accept_step(o, t1)) break;
    if (!ctx.accept_node(t1, std::span<const double>(guess.data(), d))) break;
    if (!ctx.accept_node(t2, std::span<const double>(guess.data() + d, d))) break;
    if (conv && m2 + 2 < N) {
      push_node(m2 + 1, std::span<const double>(guess.data(), d));
      push_node(m2 + 2, std::span<const double>(guess.data() + d, d));
    }
  }
  return ctx.finish(p.exact);
}

}  // namespace iterop::quadrature
