// The exponential trapezoid: product integration against a sum-of-exponentials kernel, for
// y(t) = f(t) + int_0^t a(t - s) G(y(s)) ds with a(tau) = sum_l c_l exp(-lambda_l tau) (ConvolutionKernel::soe).
//
// On each step [t_n, t_{n+1}] (h = t_{n+1} - t_n, any grid) G(y(s)) is replaced by its linear interpolant
// between G_n and G_{n+1}, and each exponential is integrated exactly against it. The history of term l,
//   H_l(t) = int_0^t exp(-lambda_l (t - s)) G(y(s)) ds,
// is carried as one state per term (d numbers):
//   H_l(t_{n+1}) = exp(-z) H_l(t_n) + h (w0(z) G_n + w1(z) G_{n+1}),   z = lambda_l h,
//   w1(z) = (z - 1 + exp(-z)) / z^2,   w0(z) = (1 - exp(-z)) / z - w1(z)   (both 1/2 at z = 0),
// the exact hat-function weights that solve_singular_convolution uses too (detail::exponential_hat_weights,
// by their series below z = 0.5),
// and y_{n+1} = f(t_{n+1}) + sum_l c_l H_l(t_{n+1}) is the implicit equation of the step (StepSolver).
// O(L) work and memory per step, O(N L) in all. The quadrature is exact for G(y(s)) linear in s whatever
// lambda_l h is, so the global error is O(h^2) with a constant set by the smoothness of G(y(t)), not by
// the kernel's rates: a stiff kernel (lambda h >> 1) does not force a small step, as it does for the
// trapezoidal rule, whose error grows like (lambda h)^2. (For lambda_l = 0 the step is the trapezoidal rule.)
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/detail/solve_context.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/step_solver.hpp"
#include "iterop/quadrature/sum_of_exponentials.hpp"
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_result.hpp"

namespace iterop::quadrature {

struct ExponentialTrapezoid {
  static constexpr std::string_view name = "exponential_trapezoid";
  static constexpr int order = 2;  ///< global error O(h^2), with a constant free of the kernel's rates
  static constexpr std::string_view summary = "the exponential trapezoid";

  StepSolver step{.kind = StepSolver::Kind::newton};  ///< the implicit equation at each node
  double blow_up_threshold = 1e12;  ///< |y| > threshold max(1, |y(0)|) is reported as blow-up

  void validate() const {
    step.validate();
    require(blow_up_threshold > 1, "ExponentialTrapezoid::blow_up_threshold", blow_up_threshold,
            "blow_up_threshold > 1");
  }
};

/// Solves a second-kind convolution problem whose lag kernel is given as a sum of exponentials
/// (p.convolution.soe, exact or fitted to a stated tolerance) with the exponential trapezoid on `grid`
/// (uniform or not). Statuses as the other rules: a failed step, a non-finite value or a blow-up stops
/// the march with its status.
inline VolterraResult solve_volterra(const SecondKindProblem& p, const Grid& grid, const ExponentialTrapezoid& m) {
  p.validate();
  m.validate();
  const std::string title(ExponentialTrapezoid::summary);
  require(p.is_convolution(), p.id + ": kernel", std::string("not a convolution"),
          "a convolution kernel a(t - s) G(y) (SecondKindProblem::convolution) for " + title);
  require(p.convolution.soe.size() > 0, p.id + ": ConvolutionKernel::soe", std::string("empty"),
          "the lag kernel as a sum of exponentials for " + title + " (fit one with fit_power_law or give it)");
  p.convolution.soe.validate();
  require(p.singular_exponent == 0, p.id + ": singular exponent", p.singular_exponent,
          "0 for " + title + " (use ProductTrapezoid or solve_singular_convolution for weakly singular kernels)");
  const SumOfExponentials& soe = p.convolution.soe;
  const std::size_t L = soe.size();
  const int d = p.dimension;
  const std::size_t ud = static_cast<std::size_t>(d);
  const int N = grid.steps();
  const std::vector<double>& t = grid.t;

  detail::SolveContext ctx(std::string(ExponentialTrapezoid::name), ExponentialTrapezoid::order, d, m.blow_up_threshold);
  ctx.set_end(grid.end());
  VolterraResult& r = ctx.result();
  std::vector<double> y(ud), G(ud), Gnext(ud), base(ud), H(L * ud, 0.0), decay(L), w0(L), w1(L);
  ctx.forcing(p.forcing, 0.0, y);
  if (!ctx.accept_node(0.0, y)) return ctx.finish(p.exact);
  p.convolution.nonlinearity(y, G);
  ++r.kernel_evaluations;

  detail::StepWorkspace workspace;
  double last_h = -1;
  for (int n = 0; n < N; ++n) {
    const double h = t[static_cast<std::size_t>(n) + 1] - t[static_cast<std::size_t>(n)];
    if (h != last_h) {  // a uniform grid computes its weights once
      for (std::size_t l = 0; l < L; ++l) {
        const double z = soe.rates[l] * h;
        decay[l] = std::exp(-z);
        detail::exponential_hat_weights(z, w1[l], w0[l]);  // the near node t_{n+1} gets w1, the far t_n w0
        w0[l] *= h;
        w1[l] *= h;
      }
      last_h = h;
    }
    // The known part: f(t_{n+1}) + sum_l c_l (exp(-z) H_l + h w0 G_n); the implicit weight sum_l c_l h w1.
    const double tn1 = t[static_cast<std::size_t>(n) + 1];
    ctx.forcing(p.forcing, tn1, base);
    double implicit = 0;
    for (std::size_t l = 0; l < L; ++l) {
      implicit += soe.weights[l] * w1[l];
      for (std::size_t c = 0; c < ud; ++c) base[c] += soe.weights[l] * (decay[l] * H[l * ud + c] + w0[l] * G[c]);
    }
    auto phi = [&](std::span<const double> v, std::span<double> out) {
      p.convolution.nonlinearity(v, out);
      ++r.kernel_evaluations;
      for (std::size_t c = 0; c < ud; ++c) out[c] = base[c] + implicit * out[c];
    };
    // Guess: linear extrapolation from the last two nodes (the first step starts from y_0).
    std::vector<double>& guess = y;  // holds y_n; becomes y_{n+1}
    if (n >= 1) {
      const double* prev = &r.y[(static_cast<std::size_t>(n) - 1) * ud];
      const double ratio = h / (t[static_cast<std::size_t>(n)] - t[static_cast<std::size_t>(n) - 1]);
      for (std::size_t c = 0; c < ud; ++c) guess[c] += ratio * (guess[c] - prev[c]);
    }
    const StepOutcome o = detail::solve_step(m.step, guess, phi, workspace, ctx.verification(phi));
    if (!ctx.accept_step(o, tn1)) break;
    if (!ctx.accept_node(tn1, guess)) break;
    p.convolution.nonlinearity(guess, Gnext);
    ++r.kernel_evaluations;
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t c = 0; c < ud; ++c)
        H[l * ud + c] = decay[l] * H[l * ud + c] + w0[l] * G[c] + w1[l] * Gnext[c];
    G.swap(Gnext);
  }
  return ctx.finish(p.exact);
}

}  // namespace iterop::quadrature
