// Tests of Anderson acceleration (Type II): Toth & Kelley's published counts, memory 0 = Picard bit
// for bit, GMRES-like finite termination on linear maps, safeguards, robustness, option messages.
#include "iterop/fixed_point/anderson.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/diagnostics/lipschitz_estimate.hpp"
#include "iterop/fixed_point/krasnoselskii_mann.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/elementary_maps.hpp"
#include "iterop/problems/h_equation.hpp"
#include "iterop/problems/linear_map.hpp"
#include "state_types.hpp"

namespace {

using V = std::vector<double>;
// Toth & Kelley's rule ||F(x)||_2 <= 1e-8 ||F(x0)||_2 + 1e-8.
const iterop::Stop toth_kelley{.abs_tol = 1e-8, .rel_tol = 1e-8};

TEST(Anderson, TothKelleyPublishedCountsHEquation) {
  const iterop::problems::HEquation heq(0.99, 512);
  const int expected[] = {10, 9, 9, 10, 11, 11};
  for (int m = 1; m <= 6; ++m) {
    for (auto orth : {iterop::Orthogonalization::cgs2, iterop::Orthogonalization::mgs2}) {
      const auto r = iterop::solve(heq, heq.initial_guess(),
                                   iterop::Anderson{.memory = m, .orthogonalization = orth}, toth_kelley);
      ASSERT_TRUE(r.converged()) << r.full_report();
      EXPECT_EQ(r.iterations, expected[m - 1]) << "m = " << m;
      EXPECT_EQ(r.evaluations, expected[m - 1] + 1);
      EXPECT_EQ(r.rejections, 0);
    }
  }
  const auto p = iterop::solve(heq, heq.initial_guess(), iterop::Picard{}, toth_kelley);
  EXPECT_EQ(p.iterations, 73);  // PROBLEMS.md: Picard needs 73 at c = 0.99
}

TEST(Anderson, MemoryZeroReproducesPicardBitForBit) {
  const iterop::problems::HEquation heq(0.9, 64);
  iterop::IterateRecorder<V> a_rec, p_rec;
  const iterop::Stop stop{.abs_tol = 1e-14, .rel_tol = 0};
  const auto a = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 0}, stop, a_rec);
  const auto p = iterop::solve(heq, heq.initial_guess(), iterop::Picard{}, stop, p_rec);
  ASSERT_EQ(a.iterations, p.iterations);
  ASSERT_EQ(a_rec.x.size(), p_rec.x.size());
  for (std::size_t k = 0; k < a_rec.x.size(); ++k) EXPECT_EQ(a_rec.x[k], p_rec.x[k]) << "iterate " << k;
  EXPECT_EQ(a.solution, p.solution);
}

TEST(Anderson, MemoryZeroWithRelaxationIsKrasnoselskiiMannBitForBit) {
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(-0.9, 0.9, 8), 2);
  const V x0(8, 1.0);
  const iterop::Stop stop{.max_iterations = 40};
  // The same relaxation means the same weight on T(x), bit for bit, for any value.
  for (double relaxation : {0.5, 0.3, 0.9}) {
    const auto a = iterop::solve(G, x0, iterop::Anderson{.memory = 0, .relaxation = relaxation}, stop);
    const auto k = iterop::solve(G, x0, iterop::KrasnoselskiiMann{.relaxation = relaxation}, stop);
    EXPECT_EQ(a.solution, k.solution) << relaxation;
  }
}

TEST(Anderson, DelayTakesPlainStepsFirst) {
  const iterop::problems::HEquation heq(0.99, 128);
  iterop::IterateRecorder<V> a_rec, p_rec;
  const iterop::Stop stop{.max_iterations = 3};
  (void)iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 3, .delay = 3}, stop, a_rec);
  (void)iterop::solve(heq, heq.initial_guess(), iterop::Picard{}, stop, p_rec);
  for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(a_rec.x[k], p_rec.x[k]);
}


template <class X>
class AndersonStates : public ::testing::Test {};
TYPED_TEST_SUITE(AndersonStates, iterop::testing::StateTypes);

TYPED_TEST(AndersonStates, LinearMapFiniteTerminationLikeGmres) {
  // With memory >= n, Type-II Anderson on a linear map is GMRES-equivalent: about n + 1 iterations.
  using T = iterop::scalar_t<TypeParam>;
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(-0.95, 0.95, 6), 4);
  // The operator computes in double: precision is the coarser of T and double.
  const double eps = std::max(static_cast<double>(std::numeric_limits<T>::epsilon()), 2.3e-16);
  const auto r = iterop::solve(G, iterop::testing::make_state<TypeParam>({0, 0, 0, 0, 0, 0}),
                               iterop::Anderson{.memory = 6},
                               iterop::Stop{.abs_tol = 1e4 * eps, .rel_tol = 0, .max_iterations = 100});
  ASSERT_TRUE(r.converged()) << r.full_report();
  EXPECT_LE(r.iterations, 8);  // n + 1 = 7 in exact arithmetic
  const auto p = iterop::solve(G, iterop::testing::make_state<TypeParam>({0, 0, 0, 0, 0, 0}), iterop::Picard{},
                               iterop::Stop{.abs_tol = 1e4 * eps, .rel_tol = 0, .max_iterations = 2000});
  EXPECT_GT(p.iterations, 5 * r.iterations);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(iterop::testing::entry(r.solution, i), G.solution()[i], 1e6 * eps);
}

TEST(Anderson, RobustOnNearlySingularHEquationWithDeepMemory) {
  for (double c : {0.999, 0.9999}) {
    const iterop::problems::HEquation heq(c, 512);
    const auto r = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 10}, toth_kelley);
    ASSERT_TRUE(r.converged()) << "c = " << c << "\n" << r.full_report();
    V g(512);
    heq(r.solution, g);
    double res = 0;
    for (int i = 0; i < 512; ++i) res += (g[i] - r.solution[i]) * (g[i] - r.solution[i]);
    EXPECT_LE(std::sqrt(res), 1e-8 * r.initial_residual + 1e-8);
    EXPECT_NEAR(std::sqrt(res), r.residual, 1e-12);
  }
}

TEST(Anderson, DeepMemoryIsNotSlowerThanSecantInOneDimension) {
  // In one dimension every new difference is parallel to the stored ones; the newest must replace
  // them, or Anderson(m > 1) extrapolates from stale secants and falls behind Anderson(1).
  const iterop::problems::HEquation heq(0.99, 1);
  const auto secant = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 1}, toth_kelley);
  const auto deep = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 5}, toth_kelley);
  ASSERT_TRUE(secant.converged());
  ASSERT_TRUE(deep.converged());
  EXPECT_EQ(deep.iterations, secant.iterations);
  EXPECT_EQ(deep.solution, secant.solution);
}

TEST(Anderson, GainIsReportedAndBelowOne) {
  const iterop::problems::HEquation heq(0.99, 256);
  const auto r = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 3}, toth_kelley);
  ASSERT_TRUE(r.converged());
  EXPECT_TRUE(std::isnan(r.history[1].gain));  // first step: no history yet
  for (std::size_t k = 2; k < r.history.size(); ++k) {
    EXPECT_GE(r.history[k].gain, 0.0);
    EXPECT_LE(r.history[k].gain, 1.0 + 1e-12);
    EXPECT_GE(r.history[k].condition, 1.0);
    EXPECT_GE(r.history[k].columns, 1);
    EXPECT_LE(r.history[k].columns, 3);
  }
}

TEST(Anderson, ConditionThresholdDropsOldestColumns) {
  const iterop::problems::HEquation heq(0.9999, 256);
  const auto loose = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 10, .max_condition = 1e3},
                                   toth_kelley);
  EXPECT_GT(loose.drops, 0);
  for (const auto& h : loose.history)
    if (!std::isnan(h.condition)) {
      EXPECT_LE(h.condition, 1e3);
    }
  EXPECT_TRUE(loose.converged()) << loose.full_report();
}

TEST(Anderson, RidgeRegularisationStillConverges) {
  const iterop::problems::HEquation heq(0.99, 128);
  const auto r = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 5, .regularization = 1e-8},
                               toth_kelley);
  ASSERT_TRUE(r.converged()) << r.full_report();
  EXPECT_LE(r.iterations, 14);
}

TEST(Anderson, PeriodicRestartClearsHistory) {
  const iterop::problems::HEquation heq(0.99, 128);
  const auto r = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 3, .restart_period = 3},
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0});
  ASSERT_TRUE(r.converged());
  EXPECT_GT(r.restarts, 0);
  for (const auto& h : r.history)
    if (h.restarted) {
      EXPECT_LE(h.columns, 1);
    }
}

TEST(Anderson, RebuildKeepsCounts) {
  const iterop::problems::HEquation heq(0.99, 512);
  const auto r = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 3, .rebuild_period = 1},
                               toth_kelley);
  ASSERT_TRUE(r.converged());
  EXPECT_EQ(r.iterations, 9);
}

TEST(Anderson, NonFiniteAcceleratedStepFallsBackAndResets) {
  // A contraction whose value is NaN at the 4th evaluation only (an accelerated step).
  int calls = 0;
  auto op = [&](const V& x, V& y) {
    ++calls;
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = 0.5 * std::cos(x[i]);
    if (calls == 4) y[0] = std::numeric_limits<double>::quiet_NaN();
  };
  const auto r = iterop::solve(op, V{0.0, 1.0, 2.0}, iterop::Anderson{.memory = 2},
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0});
  ASSERT_TRUE(r.converged()) << r.full_report();
  EXPECT_EQ(r.rejections, 1);
  EXPECT_TRUE(r.history[3].rejected);
  EXPECT_TRUE(r.history[3].restarted);
  EXPECT_EQ(r.evaluations, r.iterations + 2);  // one extra evaluation for the fallback
}

TEST(Anderson, GrowthSafeguardRejectsWildSteps) {
  // Anderson extrapolates along the residual history; a map that explodes away from the
  // fixed point punishes a bad extrapolation, and the safeguard must take the plain step.
  auto op = [](const V& x, V& y) {
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double d = std::abs(x[i]) > 2 ? 1e6 * x[i] : 0.0;
      y[i] = 0.9 * std::sin(x[i]) + d;
    }
  };
  const auto r = iterop::solve(op, V{1.5, -1.5}, iterop::Anderson{.memory = 3, .safeguard_growth = 10},
                               iterop::Stop{.abs_tol = 1e-10, .rel_tol = 0});
  for (const auto& h : r.history)
    if (!h.rejected && h.iteration > 0) {
      EXPECT_LE(h.ratio, 10.0 + 1e-12) << h.iteration;
    }
  EXPECT_TRUE(r.converged()) << r.full_report();
}

TEST(Anderson, ExpandingAffineMapIsSolvedBySecantStep) {
  // Anderson(1) on a scalar affine map is the secant method: it finds the repelling fixed point -1.
  const auto r = iterop::solve(iterop::problems::Expanding{}, V{0.0}, iterop::Anderson{.memory = 1},
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0});
  ASSERT_TRUE(r.converged());
  EXPECT_NEAR(r.solution[0], -1.0, 1e-12);
  EXPECT_EQ(r.iterations, 2);
}

TEST(Anderson, SqrtMinusOneIsNonFiniteWithoutThrowing) {
  iterop::Result<V> r;
  ASSERT_NO_THROW(r = iterop::solve(iterop::problems::SqrtMinusOne{}, V{0.0}, iterop::Anderson{}));
  EXPECT_EQ(r.status, iterop::Status::non_finite);
}

TEST(Anderson, InvalidOptionsThrowDocumentedMessages) {
  int calls = 0;
  auto op = [&](const V& x, V& y) {
    ++calls;
    y = x;
  };
  auto message = [&](const iterop::Anderson& a) -> std::string {
    try {
      (void)iterop::solve(op, V{1.0}, a);
    } catch (const iterop::invalid_option& e) {
      return e.what();
    }
    return "no exception";
  };
  EXPECT_EQ(message({.memory = -1}), "Anderson::memory = -1. Violated constraint: memory >= 0.");
  EXPECT_EQ(message({.relaxation = 0.0}), "Anderson::relaxation = 0. Violated constraint: 0 < relaxation <= 1.");
  EXPECT_EQ(message({.relaxation = 1.5}), "Anderson::relaxation = 1.5. Violated constraint: 0 < relaxation <= 1.");
  EXPECT_EQ(message({.damping = 0.5}),
            "Anderson::damping = 0.5. Violated constraint: renamed; use relaxation = 0.5 (the weight on T(x)).");
  EXPECT_EQ(message({.delay = -2}), "Anderson::delay = -2. Violated constraint: delay >= 0.");
  EXPECT_EQ(message({.max_condition = 0.5}), "Anderson::max_condition = 0.5. Violated constraint: max_condition >= 1.");
  EXPECT_EQ(message({.regularization = -1}),
            "Anderson::regularization = -1. Violated constraint: regularization >= 0 and finite.");
  EXPECT_EQ(message({.rebuild_period = -1}), "Anderson::rebuild_period = -1. Violated constraint: rebuild_period >= 0.");
  EXPECT_EQ(message({.restart_period = -1}), "Anderson::restart_period = -1. Violated constraint: restart_period >= 0.");
  EXPECT_EQ(message({.safeguard_growth = 1.0}),
            "Anderson::safeguard_growth = 1. Violated constraint: safeguard_growth > 1.");
  EXPECT_EQ(calls, 0);
}

}  // namespace
