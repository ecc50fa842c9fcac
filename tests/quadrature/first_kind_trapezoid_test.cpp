// FirstKindTrapezoid: Abel equations int_0^t (t - s)^(-a) K(t, s) y(s) ds = g(t) with g chosen for y = t^2
// (smooth) and y = sqrt(t) (t^beta type): observed max-norm orders against the stated ones (the rule's
// order, and order_for_power(beta, r) on graded grids), a non-constant kernel, and what it refuses.
#include <cmath>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/core/errors.hpp"
#include "iterop/diagnostics/observed_order.hpp"
#include "iterop/quadrature/first_kind_trapezoid.hpp"
#include "iterop/quadrature/volterra_rules.hpp"

namespace {

namespace q = iterop::quadrature;
using q::FirstKindTrapezoid;

/// int_0^t (t - s)^(-a) s^beta ds = B(1 - a, beta + 1) t^(beta + 1 - a).
double abel_moment(double a, double beta, double t) {
  return std::tgamma(1 - a) * std::tgamma(beta + 1) / std::tgamma(beta + 2 - a) * std::pow(t, beta + 1 - a);
}

q::FirstKindProblem abel_power(double a, double beta) {
  q::FirstKindProblem p;
  p.id = "abel";
  p.T = 1;
  p.singular_exponent = a;
  p.kernel = [](double, double) { return 1.0; };
  p.rhs = [a, beta](double t) { return abel_moment(a, beta, t); };
  p.exact = [beta](double t) { return std::pow(t, beta); };
  return p;
}

double observed(const q::FirstKindProblem& p, double r, int n0 = 32, int halvings = 5) {
  std::vector<double> h, e;
  for (int k = 0, n = n0; k < halvings; ++k, n *= 2) {
    const q::Grid g = r == 1 ? q::Grid::uniform(p.T, n) : q::Grid::graded(p.T, n, r);
    const q::VolterraResult res = q::solve_volterra(p, g, FirstKindTrapezoid{});
    EXPECT_TRUE(res.converged()) << res.message;
    h.push_back(g.max_step());
    e.push_back(res.max_error);
  }
  return iterop::observed_order(h, e);
}

TEST(FirstKindTrapezoid, SmoothSolutionTSquaredReachesOrderTwo) {
  for (double a : {0.2, 0.5, 0.8})
    EXPECT_NEAR(observed(abel_power(a, 2), 1), FirstKindTrapezoid::order, 0.3) << "a = " << a;
}

TEST(FirstKindTrapezoid, SqrtSolutionReachesTheStatedOrderOnUniformAndGradedGrids) {
  for (double a : {0.2, 0.5, 0.8})
    for (double r : {1.0, 2.0, 4.0})
      EXPECT_NEAR(observed(abel_power(a, 0.5), r), FirstKindTrapezoid::order_for_power(0.5, r), 0.3)
          << "a = " << a << ", r = " << r;
}

TEST(FirstKindTrapezoid, LinearSolutionIsExactUpToRounding) {
  // The start extrapolates y_0 linearly: a linear y leaves no truncation error anywhere.
  const q::VolterraResult r = q::solve_volterra(abel_power(0.5, 1), q::Grid::uniform(1, 64), FirstKindTrapezoid{});
  EXPECT_LT(r.max_error, 1e-12);
}

TEST(FirstKindTrapezoid, NonConstantKernelAndRegularKernel) {
  // a = 0, K = 1 + t - s, y = cos t: g = int_0^t (1 + t - s) cos s ds = sin t + 1 - cos t.
  q::FirstKindProblem p;
  p.id = "regular";
  p.T = 2;
  p.kernel = [](double t, double s) { return 1 + t - s; };
  p.rhs = [](double t) { return std::sin(t) + 1 - std::cos(t); };
  p.exact = [](double t) { return std::cos(t); };
  EXPECT_NEAR(observed(p, 1), FirstKindTrapezoid::order, 0.3);
  // Dispatched by name, and the default for a first-kind Abel kernel.
  EXPECT_EQ(q::default_rule<q::volterra_rules>(q::EquationKind::first_kind, 0.5)->name, FirstKindTrapezoid::name);
  EXPECT_EQ(q::solve_by_name<q::volterra_rules>("first_kind_trapezoid", p, q::Grid::uniform(2, 16)).y,
            q::solve_volterra(p, q::Grid::uniform(2, 16), FirstKindTrapezoid{}).y);
}

TEST(FirstKindTrapezoid, RefusesVanishingDiagonalAndMidpointRefusesAbelKernels) {
  q::FirstKindProblem p = abel_power(0.5, 2);
  p.kernel = [](double t, double s) { return t - s; };
  EXPECT_THROW((void)q::solve_volterra(p, q::Grid::uniform(1, 8), FirstKindTrapezoid{}), iterop::invalid_option);
  EXPECT_THROW((void)q::solve_volterra(abel_power(0.5, 2), q::Grid::uniform(1, 8), q::FirstKindMidpoint{}),
               iterop::invalid_option);
  q::FirstKindProblem bad = abel_power(1.0, 2);
  EXPECT_THROW((void)q::solve_volterra(bad, q::Grid::uniform(1, 8), FirstKindTrapezoid{}), iterop::invalid_option);
}

}  // namespace
