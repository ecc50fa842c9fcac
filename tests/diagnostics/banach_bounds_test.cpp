// Tests of the Banach bounds: the a-priori and a-posteriori bounds hold at every Picard iterate of
// contractions with a certified factor, the a-priori count is never exceeded, q >= 1 gives no bound.
#include "iterop/diagnostics/banach_bounds.hpp"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/diagnostics/lipschitz_estimate.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/linear_map.hpp"

namespace {

using V = std::vector<double>;

double distance(const V& a, const V& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

TEST(BanachBounds, HoldAtEveryPicardIterateOfALinearContraction) {
  // Symmetric M: ||M||_2 = max |lambda| is a certified Lipschitz constant.
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(-0.7, 0.85, 10), 21);
  const auto q = iterop::ContractionFactor::certified(G.spectral_radius(), "||M||_2 of a symmetric M");
  iterop::IterateRecorder<V> rec;
  const double tol = 1e-10;
  const auto r = iterop::solve(G, V(10, 0.0), iterop::Picard{}, iterop::Stop{.abs_tol = 1e-13, .rel_tol = 0}, rec);
  ASSERT_TRUE(r.converged());
  const double d1 = distance(rec.x[1], rec.x[0]);
  const int k_needed = iterop::a_priori_iterations(q, d1, tol);
  ASSERT_GT(k_needed, 0);
  for (std::size_t k = 1; k < rec.x.size(); ++k) {
    const double err = distance(rec.x[k], G.solution());
    const auto prior = iterop::a_priori_bound(q, static_cast<int>(k), d1);
    const auto post = iterop::a_posteriori_bound(q, distance(rec.x[k], rec.x[k - 1]));
    EXPECT_TRUE(prior.certified);
    // The a-posteriori bound is attained along the dominant eigenvector (lambda = q): allow the
    // rounding of the computed x* (about 1e-15 here) and of the distances.
    const double slack = 1e-14;
    EXPECT_LE(err, prior.value * (1 + 1e-12) + slack) << "k = " << k;
    EXPECT_LE(err, post.value * (1 + 1e-12) + slack) << "k = " << k;
    const double res = r.history[k].residual;
    EXPECT_LE(err, iterop::residual_error_bound(q, res).value * (1 + 1e-12) + slack);
    EXPECT_GE(err * (1 + 1e-9) + 1e-15, iterop::residual_error_lower_bound(q.q, res));
    if (static_cast<int>(k) >= k_needed) {
      EXPECT_LE(err, tol) << "a-priori count exceeded at k = " << k;
    }
  }
}

TEST(BanachBounds, HoldForANonlinearContraction) {
  // T(x)_i = 0.5 cos(x_{i+1}) + 0.1: Lipschitz 0.5 in the 2-norm (a permutation times a diagonal).
  auto op = [](const V& x, V& y) {
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = 0.5 * std::cos(x[(i + 1) % x.size()]) + 0.1;
  };
  const auto q = iterop::ContractionFactor::certified(0.5, "|d/dx 0.5 cos x| <= 0.5");
  iterop::IterateRecorder<V> rec;
  const auto r = iterop::solve(op, V(6, 3.0), iterop::Picard{}, iterop::Stop{.abs_tol = 1e-15, .rel_tol = 0}, rec);
  ASSERT_TRUE(r.converged());
  const V& xs = r.solution;
  const double d1 = distance(rec.x[1], rec.x[0]);
  for (std::size_t k = 1; k < rec.x.size(); ++k) {
    const double err = distance(rec.x[k], xs);
    EXPECT_LE(err, iterop::a_priori_bound(q, static_cast<int>(k), d1).value + 1e-14);
    EXPECT_LE(err, iterop::a_posteriori_bound(q, distance(rec.x[k], rec.x[k - 1])).value + 1e-14);
  }
  EXPECT_LE(iterop::lipschitz_lower_bound(rec.x, rec.tx), 0.5 + 1e-12);
}

TEST(BanachBounds, AprioriIterationCountFormula) {
  const auto q = iterop::ContractionFactor::certified(0.5, "test");
  // 0.5^k / 0.5 * 1 <= 1e-3 -> 0.5^(k-1) <= 1e-3 -> k - 1 >= 9.97 -> k = 11.
  EXPECT_EQ(iterop::a_priori_iterations(q, 1.0, 1e-3), 11);
  EXPECT_EQ(iterop::a_priori_iterations(q, 1e-6, 1e-3), 0);
  EXPECT_EQ(iterop::a_priori_iterations(iterop::ContractionFactor::estimated(1.0, "x"), 1.0, 1e-3), -1);
}

TEST(BanachBounds, EstimatedFactorIsNotCertifiedAndNoBoundBeyondOne) {
  const auto est = iterop::a_posteriori_bound(iterop::ContractionFactor::estimated(0.9, "observed rate"), 1e-3);
  EXPECT_FALSE(est.certified);
  EXPECT_NEAR(est.value, 9e-3, 1e-15);
  EXPECT_NE(est.statement.find("estimated"), std::string::npos);
  const auto none = iterop::a_priori_bound(iterop::ContractionFactor::certified(1.2, "x"), 3, 1.0);
  EXPECT_TRUE(std::isinf(none.value));
  EXPECT_FALSE(none.certified);
  EXPECT_NE(none.statement.find("no bound"), std::string::npos);
  EXPECT_THROW((void)iterop::a_priori_bound(iterop::ContractionFactor::certified(-0.1, "x"), 1, 1.0),
               iterop::invalid_option);
}

}  // namespace
