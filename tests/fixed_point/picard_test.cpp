// Tests of Picard iteration: reference problems with known rate and answer, over every vector type;
// the statuses of non-convergent problems.
#include "iterop/fixed_point/picard.hpp"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/elementary_maps.hpp"
#include "iterop/problems/linear_map.hpp"
#include "state_types.hpp"

namespace {

using iterop::testing::entry;
using iterop::testing::make_state;

template <class X>
class PicardTyped : public ::testing::Test {};
TYPED_TEST_SUITE(PicardTyped, iterop::testing::StateTypes);

TYPED_TEST(PicardTyped, LinearMapRateWithinOnePercentOfSpectralRadius) {
  using T = iterop::scalar_t<TypeParam>;
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(-0.3, 0.8, 6), 7);
  // The operator computes in double: precision is the coarser of T and double.
  const double eps = std::max(static_cast<double>(std::numeric_limits<T>::epsilon()), 2.3e-16);
  const auto r = iterop::solve(G, make_state<TypeParam>({0, 0, 0, 0, 0, 0}), iterop::Picard{},
                               iterop::Stop{.abs_tol = 1e2 * eps, .rel_tol = 0, .max_iterations = 500});
  ASSERT_TRUE(r.converged()) << r.full_report();
  // Rate over the 5 iterations ending at k = min(40, last) >= 30: the next eigenvalue 0.58 has died
  // out by then ((0.58/0.8)^25 < 4e-4), and float has not yet reached its rounding floor.
  const std::size_t k = std::min<std::size_t>(40, r.history.size() - 1);
  ASSERT_GE(k, 30u);
  const double rate = std::pow(r.history[k].residual / r.history[k - 5].residual, 1.0 / 5);
  EXPECT_NEAR(rate, G.spectral_radius(), 0.01 * G.spectral_radius());
  EXPECT_NEAR(r.history[k].rate, rate, 1e-12);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(entry(r.solution, i), G.solution()[i], 1e4 * eps);
}

TEST(Picard, RotationDoesNotConvergeAndSaysSo) {
  const auto r = iterop::solve(iterop::problems::Rotation{}, std::vector<double>{1.0, 0.0}, iterop::Picard{},
                               iterop::Stop{.max_iterations = 400});
  EXPECT_FALSE(r.converged());
  EXPECT_FALSE(r.usable());
  // The residual is constant (the iterates cycle): stagnation is detected after its window.
  EXPECT_EQ(r.status, iterop::Status::stagnated) << r.full_report();
  EXPECT_NEAR(r.residual, std::sqrt(2.0), 1e-15);
  EXPECT_NE(r.message.find("less than a factor"), std::string::npos) << r.message;
}

TEST(Picard, ExpandingMapDiverges) {
  const auto r = iterop::solve(iterop::problems::Expanding{}, std::vector<double>{0.0}, iterop::Picard{});
  EXPECT_EQ(r.status, iterop::Status::diverged) << r.full_report();
  // 2^k growth passes the default factor 1e8 at k = 27.
  EXPECT_EQ(r.iterations, 27);
  EXPECT_EQ(r.returned_iteration, 0);  // best iterate: the initial guess
}

TEST(Picard, SqrtMinusOneGivesNonFiniteWithoutThrowing) {
  iterop::Result<std::vector<double>> r;
  ASSERT_NO_THROW(r = iterop::solve(iterop::problems::SqrtMinusOne{}, std::vector<double>{0.0}, iterop::Picard{}));
  EXPECT_EQ(r.status, iterop::Status::non_finite);
  EXPECT_EQ(r.iterations, 1);  // x1 = T(0) = -1, and T(x1) = sqrt(-1) - 1 is NaN
  EXPECT_EQ(r.solution[0], 0.0);  // the last finite iterate with a finite residual
  EXPECT_TRUE(std::isfinite(r.solution[0]));
}

TEST(Picard, FirstIterateEqualsTheOperatorBitForBit) {
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(0.1, 0.5, 4), 3);
  iterop::IterationRecord seen;
  std::vector<double> x1;
  const auto r = iterop::solve(G, std::vector<double>{1, 2, 3, 4}, iterop::Picard{},
                               iterop::Stop{.max_iterations = 1},
                               [&](const iterop::IterationView<std::vector<double>>& v) {
                                 if (v.record.iteration == 1) x1 = v.x;
                               });
  std::vector<double> expect(4);
  G(std::vector<double>{1, 2, 3, 4}, expect);
  EXPECT_EQ(x1, expect);
  EXPECT_EQ(r.status, iterop::Status::max_iterations);
}

}  // namespace
