// The trapezoidal rule for Volterra equations of the second kind (order 2), step by step:
// y_n = f(t_n) + sum_j w_j K(t_n, t_j, y_j), implicit in y_n through the last weight.
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
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_result.hpp"

namespace iterop::quadrature {

/// Trapezoidal rule on any grid: weights w_0 = h_1 / 2, w_j = (h_j + h_{j+1}) / 2, w_n = h_n / 2.
/// For convolution kernels on a uniform grid the history is a lag sum (LagSum): a(t - s) is evaluated
/// N + 1 times instead of N^2 / 2, and the sum costs O(N log^2 N) by FFT (Hairer, Lubich & Schlichte)
/// or O(N^2) directly.
struct Trapezoid {
  static constexpr int order = 2;                    ///< global error O(h^2) for smooth problems
  static constexpr std::string_view name = "trapezoid";
  StepSolver step{};                                 ///< the implicit equation at each node
  double blow_up_threshold = 1e12;                   ///< |y| > threshold max(1, |y(0)|) is reported as blow-up
  bool use_convolution = true;                       ///< exploit ConvolutionKernel structure when present
  LagSumOptions lag_sums{};                          ///< how the convolution history is summed (FFT by default)

  void validate() const {
    step.validate();
    lag_sums.validate();
    require(blow_up_threshold > 1, "Trapezoid::blow_up_threshold", blow_up_threshold, "blow_up_threshold > 1");
  }
};

namespace detail {
/// Linear extrapolation from the last two nodes (the first step reuses y_0): the starting guess.
inline void extrapolate_guess(const VolterraResult& r, int d, std::vector<double>& guess) {
  const std::size_t n = r.t.size();
  for (int c = 0; c < d; ++c) {
    const double last = r.y[(n - 1) * d + c];
    guess[c] = n >= 2 ? 2 * last - r.y[(n - 2) * d + c] : last;
  }
}
}  // namespace detail

/// Solves a second-kind problem (singular_exponent must be 0) with the trapezoidal rule on `grid`.
inline VolterraResult solve_volterra(const SecondKindProblem& p, const Grid& grid, const Trapezoid& m) {
  p.validate();
  m.validate();
  require(p.singular_exponent == 0, p.id + ": singular exponent", p.singular_exponent,
          "0 for the trapezoidal rule (use ProductTrapezoid for weakly singular kernels)");
  const int d = p.dimension;
  const int N = grid.steps();
  const std::vector<double>& t = grid.t;
  detail::SolveContext ctx(std::string(Trapezoid::name), Trapezoid::order, d, m.blow_up_threshold);
  std::vector<double> y(d), c(d), k(d), guess(d);
  ctx.forcing(p.forcing, 0.0, y);
  if (!ctx.accept_node(0.0, y)) return ctx.finish(p.exact);
  VolterraResult& r = ctx.result();

  const bool conv = m.use_convolution && p.is_convolution() && grid.is_uniform();
  std::vector<double> a, u0(d), un(d), hist(d);  // a_m = a(m h)
  const double h = t[1] - t[0];
  std::optional<LagSum> lag;
  if (conv) {
    a.resize(static_cast<std::size_t>(N) + 1);
    for (int i = 0; i <= N; ++i) a[i] = p.convolution.lag_kernel(i * h);
    r.kernel_evaluations += N + 1;
    lag.emplace(a, static_cast<std::size_t>(d), m.lag_sums);
    p.convolution.nonlinearity(std::span<const double>(y), std::span<double>(u0));
    ++r.kernel_evaluations;
    lag->history(hist);  // h_0 = 0
    lag->push(u0);
  }

  for (int n = 1; n <= N; ++n) {
    const double tn = t[n];
    ctx.forcing(p.forcing, tn, c);
    double w_last;
    std::function<void(std::span<const double>, std::span<double>)> phi;
    if (conv) {
      // c = f_n + h (sum_{j<n} a_{n-j} u_j - a_n u_0 / 2); Phi(y) = c + (h / 2) a_0 G(y).
      lag->history(hist);
      for (int cc = 0; cc < d; ++cc) c[cc] += h * (hist[cc] - 0.5 * a[n] * u0[cc]);
      w_last = 0.5 * h * a[0];
      phi = [&](std::span<const double> v, std::span<double> out) {
        p.convolution.nonlinearity(v, out);
        ++r.kernel_evaluations;
        for (int cc = 0; cc < d; ++cc) out[cc] = c[cc] + w_last * out[cc];
      };
    } else {
      for (int j = 0; j < n; ++j) {
        const double w = j == 0 ? 0.5 * (t[1] - t[0]) : 0.5 * (t[j + 1] - t[j - 1]);
        ctx.kernel(p.kernel, tn, t[j], std::span<const double>(&r.y[j * d], d), k);
        for (int cc = 0; cc < d; ++cc) c[cc] += w * k[cc];
      }
      w_last = 0.5 * (tn - t[n - 1]);
      phi = [&](std::span<const double> v, std::span<double> out) {
        ctx.kernel(p.kernel, tn, tn, v, out);
        for (int cc = 0; cc < d; ++cc) out[cc] = c[cc] + w_last * out[cc];
      };
    }
    detail::extrapolate_guess(r, d, guess);
    const StepOutcome o = detail::solve_step(m.step, guess, phi);
    if (!ctx.accept_step(o, tn)) break;
    if (!ctx.accept_node(tn, guess)) break;
    if (conv && n < N) {
      p.convolution.nonlinearity(std::span<const double>(guess), std::span<double>(un));
      ++r.kernel_evaluations;
      lag->push(un);
    }
  }
  return ctx.finish(p.exact);
}

}  // namespace iterop::quadrature
