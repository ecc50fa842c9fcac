// Weakly singular convolution equations y = f(t) + c int_0^t (t - s)^(-a) G(y(s)) ds on a uniform grid
// (fractional relaxation, Abel-type memory) by the product trapezoid, with three ways to carry the
// history: direct sums O(N^2), FFT lag sums O(N log^2 N), sum-of-exponentials states O(N L).
#pragma once

#include <cmath>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/detail/solve_context.hpp"
#include "iterop/quadrature/fast_lag_sum.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/product_trapezoid.hpp"
#include "iterop/quadrature/step_solver.hpp"
#include "iterop/quadrature/sum_of_exponentials.hpp"
#include "iterop/quadrature/volterra_result.hpp"

namespace iterop::quadrature {

/// y(t) = f(t) + c int_0^t (t - s)^(-a) G(y(s)) ds, scalar, t in [0, T], 0 < a < 1. Fractional
/// relaxation D^alpha y = -lambda y, y(0) = 1, is a = 1 - alpha, c = -lambda / Gamma(alpha), f = 1, G(y) = y.
struct SingularConvolutionProblem {
  std::string id;
  double T = 1;
  double singular_exponent = 0.5;                ///< a in (0, 1)
  double factor = 1;                             ///< c
  std::function<double(double t)> forcing;       ///< f
  std::function<double(double y)> nonlinearity;  ///< G
  std::function<double(double t)> exact{};       ///< optional

  void validate() const {
    require(T > 0 && std::isfinite(T), id + ": T", T, "0 < T < infinity");
    require(singular_exponent > 0 && singular_exponent < 1, id + ": singular exponent", singular_exponent, "0 < a < 1");
    require(std::isfinite(factor), id + ": factor", factor, "finite");
    require(static_cast<bool>(forcing), id + ": forcing", std::string("empty"), "a function f(t) is given");
    require(static_cast<bool>(nonlinearity), id + ": nonlinearity", std::string("empty"), "a function G(y) is given");
  }
};

/// How the history sum_{j<n} w_{n-j} G(y_j) of the product trapezoid is carried.
enum class SingularHistory {
  direct,  ///< every term at every step: O(N^2)
  fft,     ///< LagSum (FFT blocks, needs FFTW; direct without): O(N log^2 N)
  soe,     ///< (t - s)^(-a) on [h, T] fitted by fit_power_law to soe_tolerance; the last interval exact: O(N L)
};

inline std::string to_string(SingularHistory h) {
  return h == SingularHistory::direct ? "direct" : h == SingularHistory::fft ? "fft" : "soe";
}

/// Options of solve_singular_convolution.
struct SingularConvolutionOptions {
  SingularHistory history = SingularHistory::direct;
  /// soe: max relative error of the fit of tau^(-a) on [h, T]; the history then differs from the exact
  /// product-trapezoid history by at most this fraction of int |(t - s)^(-a) G| ds over [0, t - h].
  double soe_tolerance = 1e-12;
  StepSolver step{};
  double blow_up_threshold = 1e12;

  void validate() const {
    step.validate();
    require(soe_tolerance >= 1e-14 && soe_tolerance <= 0.1, "SingularConvolutionOptions::soe_tolerance", soe_tolerance,
            "1e-14 <= soe_tolerance <= 0.1");
    require(blow_up_threshold > 1, "SingularConvolutionOptions::blow_up_threshold", blow_up_threshold,
            "blow_up_threshold > 1");
  }
};

namespace detail {
/// G(v) and f(t), counted in r.
inline double counted_nonlinearity(const SingularConvolutionProblem& p, VolterraResult& r, double v) {
  ++r.kernel_evaluations;
  return p.nonlinearity(v);
}
inline double counted_forcing(const SingularConvolutionProblem& p, VolterraResult& r, double t) {
  ++r.forcing_evaluations;
  return p.forcing(t);
}
/// The scalar exact solution as an Exact (empty when the problem has none).
inline Exact scalar_exact(const SingularConvolutionProblem& p) {
  if (!p.exact) return {};
  return [e = p.exact](double t, std::span<double> out) { out[0] = e(t); };
}

}  // namespace detail

/// Solves on the uniform grid of N steps (N >= 2) with the product trapezoid (ProductTrapezoid's
/// weights, which on a uniform grid depend on n - j only: w_{n,j} = h^(1-a) beta_{n-j}, except the
/// weight of y_0). The three histories give the same method up to rounding (direct, fft) or up to
/// soe_tolerance (soe). Order 2 for smooth y; for y - y(0) ~ t^(1-a) (fractional relaxation) the
/// solution is not smooth at 0 and the uniform-grid order is lower (measured in the tests).
inline VolterraResult solve_singular_convolution(const SingularConvolutionProblem& p, int N,
                                                 const SingularConvolutionOptions& o = {}) {
  p.validate();
  o.validate();
  require(N >= 2, "steps", N, "steps >= 2");
  const double a = p.singular_exponent, h = p.T / N, scale = p.factor * std::pow(h, 1 - a);
  // Unit-grid interval weights: left L[A], right R[A] of the interval whose right end is A from t_n.
  std::vector<double> L(static_cast<std::size_t>(N)), R(static_cast<std::size_t>(N));
  for (int A = 0; A < N; ++A) detail::product_weights(A + 1.0, 0.0, 1.0, a, L[A], R[A]);
  std::vector<double> beta(static_cast<std::size_t>(N) + 1);
  beta[0] = R[0];
  for (int m = 1; m <= N; ++m) beta[m] = (m < N ? R[m] : 0.0) + L[m - 1];
  detail::SolveContext ctx("product_trapezoid/" + to_string(o.history), 2, 1, o.blow_up_threshold);
  ctx.set_end(p.T);
  VolterraResult& r = ctx.result();
  std::vector<double> G(static_cast<std::size_t>(N) + 1), y(1);
  auto G_of = [&](double v) { return detail::counted_nonlinearity(p, r, v); };
  auto f_of = [&](double tt) { return detail::counted_forcing(p, r, tt); };
  y[0] = f_of(0);
  if (!ctx.accept_node(0, y)) return ctx.finish({});
  G[0] = G_of(y[0]);

  LagSum* lag = nullptr;
  std::vector<LagSum> lag_store;
  if (o.history == SingularHistory::fft) {
    lag_store.emplace_back(beta, 1, LagSumOptions{});
    lag = &lag_store.front();
    std::vector<double> u{G[0]};
    lag->push(u);
  }
  SumOfExponentials soe;
  std::vector<double> S, decay, phi0, phi1;
  if (o.history == SingularHistory::soe) {
    // (t - s)^(-a) = h^(-a) (unit distance)^(-a): fit tau^(-a) on [1, N] in unit steps.
    const SoeFitResult fit = fit_power_law({.exponent = a, .delta = 1.0, .horizon = static_cast<double>(N) + 1,
                                            .tolerance = o.soe_tolerance});
    soe = fit.kernel;
    S.assign(soe.size(), 0.0);
    decay.resize(soe.size());
    phi0.resize(soe.size());
    phi1.resize(soe.size());
    for (std::size_t l = 0; l < soe.size(); ++l) {
      decay[l] = std::exp(-soe.rates[l]);
      detail::exponential_hat_weights(soe.rates[l], phi0[l], phi1[l]);
    }
  }
  std::vector<double> hist(1), guess(1);
  detail::StepWorkspace workspace;
  for (int n = 1; n <= N; ++n) {
    const double tn = n * h;
    double H = 0;  // sum_{j<n} (unit weight of node j) G_j
    switch (o.history) {
      case SingularHistory::direct:
        H = L[static_cast<std::size_t>(n) - 1] * G[0];
        for (int j = 1; j < n; ++j) H += beta[static_cast<std::size_t>(n - j)] * G[j];
        break;
      case SingularHistory::fft:
        lag->history(hist);
        H = hist[0] + (L[static_cast<std::size_t>(n) - 1] - beta[static_cast<std::size_t>(n)]) * G[0];
        break;
      case SingularHistory::soe:
        // Intervals [t_j, t_{j+1}], j + 1 <= n - 1, through the states; the last one exactly.
        for (std::size_t l = 0; l < soe.size(); ++l) H += soe.weights[l] * S[l];
        H += L[0] * G[n - 1];
        break;
    }
    const double c = f_of(tn) + scale * H, w = scale * R[0];
    guess[0] = n >= 2 ? 2 * r.y[n - 1] - r.y[n - 2] : r.y[0];
    auto phi = [&](std::span<const double> v, std::span<double> res) { res[0] = c + w * G_of(v[0]); };
    const StepOutcome out = detail::solve_step(o.step, guess, phi, workspace, ctx.verification(phi));
    if (!ctx.accept_step(out, tn) || !ctx.accept_node(tn, guess)) break;
    G[n] = G_of(guess[0]);
    if (lag != nullptr && n < N) lag->push(std::span<const double>(&G[static_cast<std::size_t>(n)], 1));
    if (o.history == SingularHistory::soe)  // add interval [t_{n-1}, t_n], one unit further from t_{n+1}
      for (std::size_t l = 0; l < soe.size(); ++l) S[l] = decay[l] * (S[l] + phi1[l] * G[n - 1] + phi0[l] * G[n]);
  }
  return ctx.finish(detail::scalar_exact(p));
}

/// The same equation on any grid (e.g. Grid::graded(T, N, r): y - y(0) ~ t^(1-a) needs r >= 2 / (1 - a)
/// for order 2 over the whole interval), by the product trapezoid with exact weights of every interval
/// (ProductTrapezoid's). History direct: every interval's weights at every node, O(N^2); soe:
/// (t - s)^(-a) fitted by fit_power_law on [min_{n >= 2} h_n, T] to soe_tolerance, each interval but
/// the last carried in the exponential states with their exact hat-function weights (variable steps),
/// O(N L); fft needs equal lags and is refused here unless the grid is uniform (then the uniform solver
/// above is called).
inline VolterraResult solve_singular_convolution(const SingularConvolutionProblem& p, const Grid& grid,
                                                 const SingularConvolutionOptions& o = {}) {
  p.validate();
  o.validate();
  const int N = grid.steps();
  require(N >= 2, "steps", N, "steps >= 2");
  require(std::abs(grid.end() - p.T) <= 1e-12 * p.T, "grid end", grid.end(), "the problem's T = " + format_value(p.T));
  if (grid.is_uniform()) return solve_singular_convolution(p, N, o);
  require(o.history != SingularHistory::fft, "SingularConvolutionOptions::history", std::string("fft"),
          "direct or soe on a non-uniform grid (FFT lag sums need equal steps)");
  const std::vector<double>& t = grid.t;
  const double a = p.singular_exponent, c = p.factor;
  detail::SolveContext ctx("product_trapezoid/" + to_string(o.history), 2, 1, o.blow_up_threshold);
  ctx.set_end(p.T);
  VolterraResult& r = ctx.result();
  std::vector<double> G(static_cast<std::size_t>(N) + 1), y(1), guess(1);
  auto G_of = [&](double v) { return detail::counted_nonlinearity(p, r, v); };
  auto f_of = [&](double tt) { return detail::counted_forcing(p, r, tt); };
  y[0] = f_of(0);
  if (!ctx.accept_node(0, y)) return ctx.finish({});
  G[0] = G_of(y[0]);
  SumOfExponentials soe;
  std::vector<double> S;
  if (o.history == SingularHistory::soe) {
    double delta = p.T;
    for (int n = 2; n <= N; ++n) delta = std::min(delta, t[n] - t[n - 1]);
    soe = fit_power_law({.exponent = a, .delta = delta, .horizon = p.T, .tolerance = o.soe_tolerance}).kernel;
    S.assign(soe.size(), 0.0);
  }
  detail::StepWorkspace workspace;
  for (int n = 1; n <= N; ++n) {
    const double tn = t[n];
    double H = 0;  // int_0^{t_{n-1}} (t_n - s)^(-a) G(s) ds, G piecewise linear
    if (o.history == SingularHistory::direct) {
      for (int j = 0; j + 1 < n; ++j) {
        double wl, wr;
        detail::product_weights(tn, t[j], t[j + 1], a, wl, wr);
        H += wl * G[j] + wr * G[j + 1];
      }
    } else {
      for (std::size_t l = 0; l < soe.size(); ++l) H += soe.weights[l] * S[l];
    }
    double wl, wr;  // the last interval [t_{n-1}, t_n], exactly
    detail::product_weights(tn, t[n - 1], tn, a, wl, wr);
    const double known = f_of(tn) + c * (H + wl * G[n - 1]), w = c * wr;
    guess[0] = n >= 2 ? r.y[n - 1] + (r.y[n - 1] - r.y[n - 2]) * (tn - t[n - 1]) / (t[n - 1] - t[n - 2]) : r.y[0];
    auto phi = [&](std::span<const double> v, std::span<double> res) { res[0] = known + w * G_of(v[0]); };
    const StepOutcome out = detail::solve_step(o.step, guess, phi, workspace, ctx.verification(phi));
    if (!ctx.accept_step(out, tn) || !ctx.accept_node(tn, guess)) break;
    G[n] = G_of(guess[0]);
    if (o.history == SingularHistory::soe && n < N) {
      // Add the interval [t_{n-1}, t_n] (exact hat weights), then decay to t_{n+1}.
      const double h = tn - t[n - 1], next = t[n + 1] - tn;
      for (std::size_t l = 0; l < soe.size(); ++l) {
        double phi0, phi1;
        detail::exponential_hat_weights(soe.rates[l] * h, phi0, phi1);
        S[l] = std::exp(-soe.rates[l] * next) * (S[l] + h * (phi1 * G[n - 1] + phi0 * G[n]));
      }
    }
  }
  return ctx.finish(detail::scalar_exact(p));
}

}  // namespace iterop::quadrature
