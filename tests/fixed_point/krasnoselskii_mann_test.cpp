// Tests of Krasnoselskii-Mann iteration: the rotation converges at sqrt(0.5) with relaxation 0.5,
// schedules, the messages of invalid options and of the old name alpha.
#include "iterop/fixed_point/krasnoselskii_mann.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/elementary_maps.hpp"
#include "iterop/problems/linear_map.hpp"

namespace {

TEST(KrasnoselskiiMann, RotationConvergesAtRateSqrtHalf) {
  const auto r = iterop::solve(iterop::problems::Rotation{}, std::vector<double>{1.0, 0.0},
                               iterop::KrasnoselskiiMann{.relaxation = 0.5},
                               iterop::Stop{.abs_tol = 1e-14, .rel_tol = 0});
  ASSERT_TRUE(r.converged()) << r.full_report();
  EXPECT_NEAR(r.history.back().rate, std::sqrt(0.5), 0.01 * std::sqrt(0.5));
  // The whole sequence contracts by exactly |0.5 + 0.5 i| = sqrt(0.5) per step.
  for (std::size_t k = 1; k < r.history.size(); ++k)
    EXPECT_NEAR(r.history[k].ratio, std::sqrt(0.5), 1e-9);
  EXPECT_LT(std::abs(r.solution[0]) + std::abs(r.solution[1]), 1e-13);
}

TEST(KrasnoselskiiMann, LipschitzBoundOneMinusRelaxationPlusRelaxationQ) {
  // On a linear contraction with q = 0.9 the relaxed rate is (1 - r) + r q for positive spectrum.
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(0.0, 0.9, 5), 11);
  const double relaxation = 0.7;
  const auto r = iterop::solve(G, std::vector<double>(5, 0.0), iterop::KrasnoselskiiMann{.relaxation = relaxation},
                               iterop::Stop{.abs_tol = 1e-13, .rel_tol = 0});
  ASSERT_TRUE(r.converged());
  const double bound = (1 - relaxation) + relaxation * 0.9;
  EXPECT_NEAR(r.history.back().rate, bound, 0.01 * bound);
  // ||S f|| <= ||S|| ||f|| for the iteration matrix S; checked while rounding is negligible.
  for (std::size_t k = 1; k < r.history.size() && r.history[k].residual > 1e-8; ++k)
    EXPECT_LE(r.history[k].ratio, bound * (1 + 1e-6)) << k;
}

TEST(KrasnoselskiiMann, RelaxationOneIsPicardBitForBit) {
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(-0.5, 0.7, 6), 5);
  const std::vector<double> x0{1, -1, 2, 0, 3, 1};
  const auto p = iterop::solve(G, x0, iterop::Picard{}, iterop::Stop{.max_iterations = 25});
  const auto k = iterop::solve(G, x0, iterop::KrasnoselskiiMann{.relaxation = 1.0}, iterop::Stop{.max_iterations = 25});
  EXPECT_EQ(p.solution, k.solution);
  ASSERT_EQ(p.history.size(), k.history.size());
  for (std::size_t i = 0; i < p.history.size(); ++i) EXPECT_EQ(p.history[i].residual, k.history[i].residual);
}

TEST(KrasnoselskiiMann, ScheduleIsUsedPerIteration) {
  std::vector<int> asked;
  iterop::KrasnoselskiiMann km{.schedule = [&](int k) {
    asked.push_back(k);
    return k < 3 ? 0.1 : 0.5;
  }};
  const auto r = iterop::solve(iterop::problems::Rotation{}, std::vector<double>{1.0, 0.0}, km,
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0});
  ASSERT_TRUE(r.converged());
  // The first three steps use relaxation 0.1: |0.9 + 0.1 i| = sqrt(0.82).
  EXPECT_NEAR(r.history[1].ratio, std::sqrt(0.82), 1e-12);
  EXPECT_NEAR(r.history[4].ratio, std::sqrt(0.5), 1e-12);
  EXPECT_GE(asked.size(), 4u);
}

TEST(KrasnoselskiiMann, InvalidRelaxationThrowsItsMessageBeforeAnyWork) {
  int calls = 0;
  auto op = [&](const std::vector<double>& x, std::vector<double>& y) {
    ++calls;
    y = x;
  };
  try {
    (void)iterop::solve(op, std::vector<double>{1.0}, iterop::KrasnoselskiiMann{.relaxation = 0.0});
    FAIL();
  } catch (const iterop::invalid_option& e) {
    EXPECT_STREQ(e.what(), "KrasnoselskiiMann::relaxation = 0. Violated constraint: 0 < relaxation <= 1.");
  }
  EXPECT_THROW((void)iterop::solve(op, std::vector<double>{1.0}, iterop::KrasnoselskiiMann{.relaxation = 1.1}),
               iterop::invalid_option);
  EXPECT_EQ(calls, 0);
  iterop::KrasnoselskiiMann bad{.schedule = [](int k) { return k < 2 ? 0.5 : 1.5; }};
  try {
    (void)iterop::solve(iterop::problems::Rotation{}, std::vector<double>{1.0, 0.0}, bad);
    FAIL();
  } catch (const iterop::invalid_option& e) {
    EXPECT_STREQ(e.what(), "KrasnoselskiiMann::schedule(2) = 1.5. Violated constraint: 0 < relaxation_k <= 1.");
  }
}

TEST(KrasnoselskiiMann, TheOldNameAlphaIsRefusedWithTheNewOne) {
  int calls = 0;
  auto op = [&](const std::vector<double>& x, std::vector<double>& y) {
    ++calls;
    y = x;
  };
  const iterop::KrasnoselskiiMann old{.alpha = 0.25};
  try {
    (void)iterop::solve(op, std::vector<double>{1.0}, old);
    FAIL();
  } catch (const iterop::invalid_option& e) {
    EXPECT_STREQ(e.what(),
                 "KrasnoselskiiMann::alpha = 0.25. Violated constraint: renamed; use relaxation = 0.75 (the weight on "
                 "T(x); relaxation = 1 - alpha).");
  }
  EXPECT_EQ(calls, 0);
}

TEST(KrasnoselskiiMann, RelaxationIsTheWeightOnTOfX) {
  // One step from x0 = (1, 0) on the rotation T(x) = (-x1, x0): x1 = r T(x0) + (1 - r) x0 = (1 - r, r).
  const auto r = iterop::solve(iterop::problems::Rotation{}, std::vector<double>{1.0, 0.0},
                               iterop::KrasnoselskiiMann{.relaxation = 0.25}, iterop::Stop{.max_iterations = 1,
                                                                                          .returned = iterop::Returned::last});
  EXPECT_EQ(r.solution, (std::vector<double>{0.75, 0.25}));
  EXPECT_EQ(iterop::KrasnoselskiiMann{.relaxation = 0.25}.describe(), "Krasnoselskii-Mann(relaxation=0.25)");
}

}  // namespace
