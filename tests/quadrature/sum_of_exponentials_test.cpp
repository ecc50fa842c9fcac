// Tests of sum_of_exponentials.hpp: the exact SOE history against LagSum (L3 and N3 by the trapezoidal
// rule, order 2), the SOE fit of tau^(-a) (accuracy reached, term counts, growth), and the input checks.
#include "iterop/quadrature/sum_of_exponentials.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "iterop/quadrature/fast_lag_sum.hpp"

namespace {

using iterop::quadrature::fit_power_law;
using iterop::quadrature::LagSum;
using iterop::quadrature::LagSumMethod;
using iterop::quadrature::PowerLawFit;
using iterop::quadrature::power_law_relative_error;
using iterop::quadrature::SoeFitResult;
using iterop::quadrature::SoeHistory;
using iterop::quadrature::SumOfExponentials;

std::vector<double> random_values(std::size_t count, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(count);
  for (double& x : v) x = dist(rng);
  return v;
}

/// max_n max_c |a_n - b_n| / sum_j |k_{n-j}| |u_j|.
double relative_difference(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& k,
                           const std::vector<double>& u, std::size_t d) {
  double worst = 0;
  const std::size_t rows = a.size() / d;
  for (std::size_t n = 1; n < rows; ++n)
    for (std::size_t c = 0; c < d; ++c) {
      double scale = 0;
      for (std::size_t j = 0; j < n; ++j) scale += std::abs(k[n - j] * u[j * d + c]);
      worst = std::max(worst, std::abs(a[n * d + c] - b[n * d + c]) / scale);
    }
  return worst;
}

template <class Sum>
std::vector<double> run_online(Sum& sum, const std::vector<double>& u, std::size_t rows) {
  const std::size_t d = sum.dimension();
  std::vector<double> h(rows * d);
  for (std::size_t n = 0; n < rows; ++n) {
    sum.history(std::span<double>(h).subspan(n * d, d));
    sum.push(std::span<const double>(u).subspan(n * d, d));
  }
  return h;
}

TEST(SoeHistory, AgreesWithLagSumForExponentialKernels) {
  const std::size_t n_steps = 2000;
  const double h = 1.0 / static_cast<double>(n_steps);
  const std::vector<SumOfExponentials> kernels = {
      {{1.0}, {1.0}},                              // N3: exp(-tau)
      {{-10.0}, {1000.0}},                         // L3 stiff: -lambda exp(-mu tau)
      {{0.5, 2.0, -1.0, 3.0}, {0.0, 3.0, 40.0, 900.0}},  // several terms, one constant
  };
  for (std::size_t d : {1u, 3u})
    for (const auto& kernel : kernels) {
      const auto k = kernel.samples(h, n_steps);
      const auto u = random_values((n_steps + 1) * d, 9);
      SoeHistory soe(kernel, h, d);
      const auto hs = run_online(soe, u, n_steps + 1);
      for (LagSumMethod method : {LagSumMethod::direct, iterop::quadrature::default_lag_sum_method}) {
        LagSum lag(k, d, method);
        const auto hl = run_online(lag, u, n_steps + 1);
        EXPECT_LE(relative_difference(hs, hl, k, u, d), 1e-12)
            << "d = " << d << ", terms = " << kernel.size() << ", " << to_string(method);
      }
    }
}

/// The trapezoidal rule for y(t) = f(t) + int_0^t k(t - s) g(y(s)) ds on t_n = n h, with the history
/// sum from `sum` (LagSum or SoeHistory, both computing sum_{j<n} k_{n-j} g(y_j)):
///   y_n = f_n + h (h_n - k_n g(y_0) / 2) + h k_0 g(y_n) / 2, solved for y_n by `solve(rhs, h k_0 / 2)`.
template <class Sum, class F, class G, class Solve>
std::vector<double> trapezoid(Sum& sum, const std::vector<double>& k, double h, std::size_t n_steps, F f, G g,
                              Solve solve) {
  std::vector<double> y(n_steps + 1);
  y[0] = f(0.0);
  double hist = 0;
  for (std::size_t n = 0; n <= n_steps; ++n) {
    sum.history(std::span<double>(&hist, 1));
    if (n > 0) {
      const double rhs = f(static_cast<double>(n) * h) + h * (hist - 0.5 * k[n] * g(y[0]));
      y[n] = solve(rhs, 0.5 * h * k[0]);
    }
    const double gy = g(y[n]);
    sum.push(std::span<const double>(&gy, 1));
  }
  return y;
}

double max_error(const std::vector<double>& y, double h, auto exact) {
  double e = 0;
  for (std::size_t n = 0; n < y.size(); ++n) e = std::max(e, std::abs(y[n] - exact(static_cast<double>(n) * h)));
  return e;
}

/// Least-squares slope of log error against log h.
double observed_order(const std::vector<double>& hs, const std::vector<double>& errors) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double m = static_cast<double>(hs.size());
  for (std::size_t i = 0; i < hs.size(); ++i) {
    const double x = std::log(hs[i]), y = std::log(errors[i]);
    sx += x; sy += y; sxx += x * x; sxy += x * y;
  }
  return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

TEST(SoeHistory, TrapezoidOnStiffL3MatchesLagSumAndHasOrderTwo) {
  // L3: y = 1 - lambda int_0^t exp(-mu (t - s)) y(s) ds, (lambda, mu) = (10, 1000), T = 1.
  const double lambda = 10, mu = 1000;
  const SumOfExponentials kernel{{-lambda}, {mu}};
  auto exact = [&](double t) { return (mu + lambda * std::exp(-(lambda + mu) * t)) / (lambda + mu); };
  auto f = [](double) { return 1.0; };
  auto g = [](double y) { return y; };
  auto solve = [](double rhs, double c) { return rhs / (1 - c); };  // y = rhs + c y
  std::vector<double> hs, errors;
  for (std::size_t n_steps : {4000u, 8000u, 16000u, 32000u}) {
    const double h = 1.0 / static_cast<double>(n_steps);
    const auto k = kernel.samples(h, n_steps);
    SoeHistory soe(kernel, h, 1);
    const auto ys = trapezoid(soe, k, h, n_steps, f, g, solve);
    hs.push_back(h);
    errors.push_back(max_error(ys, h, exact));
    if (n_steps == 8000) {
      for (LagSumMethod method : {LagSumMethod::direct, iterop::quadrature::default_lag_sum_method}) {
        LagSum lag(k, 1, method);
        const auto yl = trapezoid(lag, k, h, n_steps, f, g, solve);
        double diff = 0;
        for (std::size_t n = 0; n <= n_steps; ++n) diff = std::max(diff, std::abs(ys[n] - yl[n]));
        EXPECT_LE(diff, 1e-13) << to_string(method);
      }
    }
  }
  const double order = observed_order(hs, errors);
  EXPECT_NEAR(order, 2.0, 0.3) << "errors " << errors[0] << " .. " << errors.back();
  EXPECT_LT(errors.back(), 1e-4);
}

TEST(SoeHistory, TrapezoidOnN3MatchesLagSumAndHasOrderTwo) {
  // N3: y = exp(-2t) + int_0^t exp(-(t - s)) y(s)^2 ds, y = exp(-t), T = 2.
  const SumOfExponentials kernel{{1.0}, {1.0}};
  auto f = [](double t) { return std::exp(-2 * t); };
  auto g = [](double y) { return y * y; };
  // y = rhs + c y^2: the root near rhs, 2 rhs / (1 + sqrt(1 - 4 c rhs)).
  auto solve = [](double rhs, double c) { return 2 * rhs / (1 + std::sqrt(1 - 4 * c * rhs)); };
  auto exact = [](double t) { return std::exp(-t); };
  std::vector<double> hs, errors;
  for (std::size_t n_steps : {100u, 200u, 400u, 800u, 1600u}) {
    const double h = 2.0 / static_cast<double>(n_steps);
    const auto k = kernel.samples(h, n_steps);
    SoeHistory soe(kernel, h, 1);
    const auto ys = trapezoid(soe, k, h, n_steps, f, g, solve);
    hs.push_back(h);
    errors.push_back(max_error(ys, h, exact));
    LagSum lag(k, 1);
    const auto yl = trapezoid(lag, k, h, n_steps, f, g, solve);
    double diff = 0;
    for (std::size_t n = 0; n <= n_steps; ++n) diff = std::max(diff, std::abs(ys[n] - yl[n]));
    EXPECT_LE(diff, 1e-13) << "N = " << n_steps;
  }
  EXPECT_NEAR(observed_order(hs, errors), 2.0, 0.3);
}

/// Fitted SOE checked independently on 20000 log-uniform random points of [delta, T].
double random_point_error(const SumOfExponentials& k, double a, double delta, double horizon) {
  std::mt19937_64 rng(77);
  std::uniform_real_distribution<double> x(std::log(delta), std::log(horizon));
  double err = 0;
  for (int i = 0; i < 20000; ++i) {
    const double tau = std::exp(x(rng));
    err = std::max(err, std::abs(std::pow(tau, a) * k(tau) - 1));
  }
  return err;
}

TEST(PowerLawFit, ReachesOneEMinusEightOnTheIssueInterval) {
  const PowerLawFit opts{.exponent = 0.5, .delta = 1e-4, .horizon = 1.0, .tolerance = 1e-8};
  const SoeFitResult r = fit_power_law(opts);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(r.attempts, 1u);  // the a-priori budget (trapezoid, truncation, Gauss) held
  EXPECT_LE(r.max_relative_error, 1e-8);
  EXPECT_GE(r.sample_points, 801u);
  EXPECT_LE(random_point_error(r.kernel, 0.5, 1e-4, 1.0), 1e-8);
  EXPECT_LE(r.kernel.size(), 40u);  // measured: printed below
  EXPECT_EQ(r.kernel.size(), r.trapezoid_terms + r.gauss_terms);
  for (std::size_t l = 0; l < r.kernel.size(); ++l) {
    EXPECT_GT(r.kernel.weights[l], 0);
    EXPECT_GE(r.kernel.rates[l], 0);
    if (l > 0) {
      EXPECT_GT(r.kernel.rates[l], r.kernel.rates[l - 1]);
    }
  }
  std::printf("[ fit      ] tau^-0.5 on [1e-4, 1], tol 1e-8: %zu terms (%zu trapezoid + %zu Gauss), eta = %.4f, "
              "max rel error %.3g on %zu points\n",
              r.kernel.size(), r.trapezoid_terms, r.gauss_terms, r.step, r.max_relative_error, r.sample_points);
  RecordProperty("terms", static_cast<int>(r.kernel.size()));
}

TEST(PowerLawFit, MeetsTolerancesForOtherExponentsAndRanges) {
  for (double a : {0.05, 0.3, 0.5, 0.9})
    for (double tol : {1e-4, 1e-10, 1e-13})
      for (auto [delta, horizon] : {std::pair{1e-6, 10.0}, std::pair{1e-3, 1.0}}) {
        const SoeFitResult r = fit_power_law({.exponent = a, .delta = delta, .horizon = horizon, .tolerance = tol});
        EXPECT_TRUE(r.met) << "a = " << a << ", tol = " << tol << ", [" << delta << ", " << horizon
                           << "]: error " << r.max_relative_error;
        EXPECT_EQ(r.attempts, 1u) << "a = " << a << ", tol = " << tol << ", [" << delta << ", " << horizon << "]";
        EXPECT_LE(random_point_error(r.kernel, a, delta, horizon), 1.5 * tol) << "a = " << a << ", tol = " << tol;
      }
}

TEST(PowerLawFit, TermCountGrowsLikeLogEpsTimesLogRange) {
  // Terms ~ log(1/eps) log(T/delta) / pi^2 + lower-order terms: the increment per decade of
  // T/delta is about ln(10) / eta, and eta ~ pi^2 / ln(1/eps).
  auto terms = [](double tol, double delta) {
    return static_cast<double>(fit_power_law({.exponent = 0.5, .delta = delta, .horizon = 1.0, .tolerance = tol}).kernel.size());
  };
  for (double tol : {1e-4, 1e-8, 1e-12}) {
    const double eta = fit_power_law({.exponent = 0.5, .delta = 1e-4, .horizon = 1.0, .tolerance = tol}).step;
    const double per_decade = (terms(tol, 1e-12) - terms(tol, 1e-4)) / 8.0;
    EXPECT_NEAR(per_decade, std::log(10.0) / eta, 0.25 * std::log(10.0) / eta) << "tol = " << tol;
  }
  EXPECT_LT(terms(1e-4, 1e-4), terms(1e-8, 1e-4));
  EXPECT_LT(terms(1e-8, 1e-4), terms(1e-12, 1e-4));
  std::printf("[ fit      ] terms on [delta, 1], a = 0.5: tol 1e-4: %g (delta 1e-4), %g (1e-12); tol 1e-8: %g, %g; "
              "tol 1e-12: %g, %g\n",
              terms(1e-4, 1e-4), terms(1e-4, 1e-12), terms(1e-8, 1e-4), terms(1e-8, 1e-12), terms(1e-12, 1e-4),
              terms(1e-12, 1e-12));
}

TEST(PowerLawFit, FittedKernelReplacesLagSumForAnAbelKernel) {
  // k_m = (m h)^(-1/2) for m >= 1 on [h, T]: the fitted SOE history agrees with the exact lag sum
  // to about the fit's tolerance relative to sum |k| |u| (k_0 is not used by either).
  const std::size_t n_steps = 4096;
  const double h = 1.0 / static_cast<double>(n_steps);
  const SoeFitResult r = fit_power_law({.exponent = 0.5, .delta = h, .horizon = 1.0, .tolerance = 1e-10});
  ASSERT_TRUE(r.met);
  std::vector<double> k(n_steps + 1, 0.0);
  for (std::size_t m = 1; m <= n_steps; ++m) k[m] = 1 / std::sqrt(static_cast<double>(m) * h);
  const auto u = random_values(n_steps + 1, 12);
  SoeHistory soe(r.kernel, h, 1);
  LagSum lag(k, 1);
  const auto hs = run_online(soe, u, n_steps + 1), hl = run_online(lag, u, n_steps + 1);
  EXPECT_LE(relative_difference(hs, hl, k, u, 1), 2e-10);
}

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const iterop::invalid_option& e) {
    return e.what();
  }
  return "(no invalid_option thrown)";
}

TEST(SumOfExponentials, InvalidInputsThrowNamingFieldValueAndRule) {
  EXPECT_EQ(message_of([] { SumOfExponentials{{1.0, 2.0}, {1.0}}.validate(); }),
            "SumOfExponentials::weights.size() = 2. Violated constraint: weights.size() == rates.size() = 1.");
  EXPECT_EQ(message_of([] { SumOfExponentials{{}, {}}.validate(); }),
            "SumOfExponentials::rates.size() = 0. Violated constraint: at least one term.");
  EXPECT_EQ(message_of([] { SumOfExponentials{{1.0}, {-1.0}}.validate(); }),
            "SumOfExponentials::rates[0] = -1. Violated constraint: rates[l] >= 0 and finite (a growing term would "
            "amplify rounding in the recursion).");
  EXPECT_EQ(message_of([] { SoeHistory({{1.0}, {1.0}}, 0.0, 1); }),
            "SoeHistory::step = 0. Violated constraint: step > 0 and finite.");
  EXPECT_EQ(message_of([] { SoeHistory({{1.0}, {1.0}}, 0.1, 0); }),
            "SoeHistory::dimension = 0. Violated constraint: dimension >= 1.");
  SoeHistory soe({{1.0}, {1.0}}, 0.1, 2);
  std::vector<double> wrong(1);
  EXPECT_EQ(message_of([&] { soe.push(wrong); }),
            "SoeHistory::push u.size() = 1. Violated constraint: u.size() == dimension = 2.");
  EXPECT_EQ(message_of([] { fit_power_law({.exponent = 1.0}); }),
            "PowerLawFit::exponent = 1. Violated constraint: 0 < exponent < 1.");
  EXPECT_EQ(message_of([] { fit_power_law({.delta = 2.0, .horizon = 1.0}); }),
            "PowerLawFit::horizon = 1. Violated constraint: horizon > delta = 2 and finite.");
  EXPECT_EQ(message_of([] { fit_power_law({.tolerance = 1e-16}); }),
            "PowerLawFit::tolerance = 1e-16. Violated constraint: 1e-14 <= tolerance <= 0.1.");
}

}  // namespace
