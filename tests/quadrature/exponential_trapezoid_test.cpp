// The exponential trapezoid (product integration against a sum-of-exponentials kernel, O(L) history per
// step): order 2 on L3 and N3 with the stiff rate mu = 1000 not limiting the step, the trapezoidal rule's
// value where every rate is 0, any grid, the weights' series and closed form agreeing, bad input refused.
#include "iterop/quadrature/exponential_trapezoid.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/diagnostics/observed_order.hpp"
#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/quadrature/trapezoid.hpp"

namespace q = iterop::quadrature;

namespace {

/// Max error over the nodes t = k / 64 (the bench's common output grid on [0, 1]), N a multiple of 64.
double error_on_64ths(const q::VolterraResult& r, const q::SecondKindProblem& p) {
  const int N = static_cast<int>(r.t.size()) - 1;
  double err = 0;
  std::vector<double> e(1);
  for (int j = 0; j <= N; j += N / 64) {
    p.exact(r.t[static_cast<std::size_t>(j)], e);
    err = std::max(err, std::abs(r.value(j, 0) - e[0]));
  }
  return err;
}

q::SecondKindProblem n3_with_soe() {
  q::SecondKindProblem p = q::reference::N3();
  p.convolution.soe = {.weights = {1.0}, .rates = {1.0}};  // a(tau) = exp(-tau)
  return p;
}

}  // namespace

// The step's weights (shared with solve_singular_convolution): near node w1, far node w0.
TEST(ExponentialTrapezoid, WeightsSeriesMatchesClosedFormAndTrapezoidAtZero) {
  double w0 = 0, w1 = 0;
  q::detail::exponential_hat_weights(0.0, w1, w0);
  EXPECT_DOUBLE_EQ(w0, 0.5);
  EXPECT_DOUBLE_EQ(w1, 0.5);
  // Across the switch at z = 0.5 the series and the closed form agree to rounding; below it the series
  // matches the closed form to the closed form's own cancellation error (about eps / z^2).
  for (double z : {0.499999, 0.5, 0.500001, 0.1, 0.01, 2.0}) {
    q::detail::exponential_hat_weights(z, w1, w0);
    const double e = std::exp(-z);
    EXPECT_NEAR(w1, (z - 1 + e) / (z * z), 4e-16 / (z * z)) << z;
    EXPECT_NEAR(w0 + w1, -std::expm1(-z) / z, 4e-16 / (z * z)) << z;
  }
  // Large z: w0 -> 1/z^2 and w1 -> 1/z - 1/z^2 (the exponential has decayed within the step).
  q::detail::exponential_hat_weights(1e6, w1, w0);
  EXPECT_NEAR(w1, 1e-6 - 1e-12, 1e-18);
  EXPECT_NEAR(w0, 1e-12, 1e-18);
}

TEST(ExponentialTrapezoid, OrderTwoOnStiffL3WithoutResolvingTheKernelRate) {
  const q::SecondKindProblem p = q::reference::L3();  // lambda 10, mu 1000: exact one-term SOE
  std::vector<double> h, e;
  for (int N = 1024; N <= 8192; N *= 2) {
    const auto r = q::solve_volterra(p, q::Grid::uniform(1, N), q::ExponentialTrapezoid{});
    ASSERT_EQ(r.status, iterop::Status::converged) << r.message;
    h.push_back(1.0 / N);
    e.push_back(r.max_error);  // every node, the transient included
  }
  EXPECT_NEAR(iterop::observed_order(h, e), 2, 0.2);
  // On the bench's output grid (t = k / 64) the transient is over by t = 1/64 and the stiff rate does not
  // limit the step: 128 steps (mu h = 7.8) reach 1e-8; the trapezoidal rule (error ~ (mu h)^2) is far off.
  const auto coarse = q::solve_volterra(p, q::Grid::uniform(1, 128), q::ExponentialTrapezoid{});
  EXPECT_LT(error_on_64ths(coarse, p), 1e-8);
  EXPECT_GT(coarse.kernel_evaluations, 1 + 128);  // G once per node, plus the evaluations of the step solves
  const auto trapezoid = q::solve_volterra(p, q::Grid::uniform(1, 128), q::Trapezoid{});
  EXPECT_GT(error_on_64ths(trapezoid, p), 1000 * error_on_64ths(coarse, p));
}

TEST(ExponentialTrapezoid, OrderTwoOnNonlinearN3AndOnGradedGrids) {
  const q::SecondKindProblem p = n3_with_soe();
  for (double r : {1.0, 2.0}) {
    std::vector<double> h, e;
    for (int N = 32; N <= 512; N *= 2) {
      const q::Grid g = q::Grid::graded(p.T, N, r);
      const auto res = q::solve_volterra(p, g, q::ExponentialTrapezoid{});
      ASSERT_EQ(res.status, iterop::Status::converged) << res.message;
      h.push_back(g.max_step());
      e.push_back(res.max_error);
    }
    EXPECT_NEAR(iterop::observed_order(h, e), 2, 0.2) << "grading " << r;
  }
}

TEST(ExponentialTrapezoid, ZeroRatesGiveTheTrapezoidalRule) {
  // y = 1 + int_0^t 0.5 y ds: a(tau) = 0.5 = 0.5 exp(-0 tau).
  q::SecondKindProblem p = q::reference::N3();
  p.T = 1;
  p.forcing = [](double, std::span<double> out) { out[0] = 1; };
  p.kernel = [](double, double, std::span<const double> y, std::span<double> out) { out[0] = 0.5 * y[0]; };
  p.convolution.lag_kernel = [](double) { return 0.5; };
  p.convolution.nonlinearity = [](std::span<const double> y, std::span<double> out) { out[0] = y[0]; };
  p.convolution.soe = {.weights = {0.5}, .rates = {0.0}};
  p.exact = [](double t, std::span<double> out) { out[0] = std::exp(0.5 * t); };
  const q::Grid g = q::Grid::uniform(1, 40);
  const auto a = q::solve_volterra(p, g, q::ExponentialTrapezoid{});
  const auto b = q::solve_volterra(p, g, q::Trapezoid{.use_convolution = false});
  ASSERT_EQ(a.nodes(), b.nodes());
  for (int j = 0; j < a.nodes(); ++j) EXPECT_NEAR(a.value(j, 0), b.value(j, 0), 1e-13) << j;
}

TEST(ExponentialTrapezoid, BlowUpIsAStatus) {
  // y = 1 + int_0^t y^2 ds (a = 1 = exp(-0 tau)) on [0, 1.2]: t* = 1.
  q::SecondKindProblem p = q::reference::N4(1.2);
  p.convolution.soe = {.weights = {1.0}, .rates = {0.0}};
  const auto r = q::solve_volterra(p, q::Grid::uniform(1.2, 256), q::ExponentialTrapezoid{});
  EXPECT_EQ(r.status, iterop::Status::blow_up) << r.message;
  EXPECT_NEAR(r.blow_up_estimate, 1.0, 1e-2);
}

TEST(ExponentialTrapezoid, RefusesKernelsWithoutASumOfExponentials) {
  q::SecondKindProblem p = q::reference::N1();  // a(tau) = tau: no SOE given
  EXPECT_THROW(q::solve_volterra(p, q::Grid::uniform(1, 8), q::ExponentialTrapezoid{}), iterop::invalid_option);
  q::SecondKindProblem a2 = q::reference::A2();  // not a convolution in this form, and weakly singular
  EXPECT_THROW(q::solve_volterra(a2, q::Grid::uniform(1, 8), q::ExponentialTrapezoid{}), iterop::invalid_option);
  q::SecondKindProblem l3 = q::reference::L3();
  l3.convolution.soe.rates[0] = -1;  // a growing term
  EXPECT_THROW(q::solve_volterra(l3, q::Grid::uniform(1, 8), q::ExponentialTrapezoid{}), iterop::invalid_option);
}
