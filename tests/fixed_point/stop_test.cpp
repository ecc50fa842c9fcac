// Tests of the stopping rules and of the solve driver's bookkeeping: tolerances in each norm,
// budgets, small steps, stagnation, divergence, observers, which iterate is returned, reports.
#include "iterop/fixed_point/stop.hpp"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/krasnoselskii_mann.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/elementary_maps.hpp"
#include "iterop/problems/linear_map.hpp"
#include "minimal_state.hpp"

namespace {

using V = std::vector<double>;

std::string message_of(const iterop::Stop& s) {
  try {
    s.validate();
  } catch (const iterop::invalid_option& e) {
    return e.what();
  }
  return "no exception";
}

TEST(Stop, InvalidFieldsThrowDocumentedMessages) {
  EXPECT_EQ(message_of({.abs_tol = -1}), "Stop::abs_tol = -1. Violated constraint: abs_tol >= 0 and finite.");
  EXPECT_EQ(message_of({.rel_tol = -1e-3}), "Stop::rel_tol = -0.001. Violated constraint: rel_tol >= 0 and finite.");
  EXPECT_EQ(message_of({.step_tol = -1}), "Stop::step_tol = -1. Violated constraint: step_tol >= 0 and finite.");
  EXPECT_EQ(message_of({.max_iterations = -5}), "Stop::max_iterations = -5. Violated constraint: max_iterations >= 0.");
  EXPECT_EQ(message_of({.max_evaluations = 0}), "Stop::max_evaluations = 0. Violated constraint: max_evaluations >= 1.");
  EXPECT_EQ(message_of({.stagnation_window = -1}),
            "Stop::stagnation_window = -1. Violated constraint: stagnation_window >= 0.");
  EXPECT_EQ(message_of({.stagnation_factor = 1.5}),
            "Stop::stagnation_factor = 1.5. Violated constraint: 0 < stagnation_factor <= 1.");
  EXPECT_EQ(message_of({.divergence_factor = 1}),
            "Stop::divergence_factor = 1. Violated constraint: divergence_factor > 1.");
  EXPECT_EQ(message_of({.abs_tol = 0, .rel_tol = 0, .norm = iterop::Norm::wrms}),
            "Stop::abs_tol = 0. Violated constraint: abs_tol > 0 or rel_tol > 0 with Norm::wrms "
            "(weights 1 / (rel_tol |x_i| + abs_tol)).");
  EXPECT_EQ(message_of({}), "no exception");
}

TEST(Stop, NormNeedsTypeSupport) {
  auto op = [](const iterop::testing::MinimalState& x, iterop::testing::MinimalState& y) { y = x; };
  try {
    (void)iterop::solve(op, iterop::testing::MinimalState{{1.0}}, iterop::Picard{}, iterop::Stop{.norm = iterop::Norm::max});
    FAIL();
  } catch (const iterop::invalid_option& e) {
    EXPECT_STREQ(e.what(), "Stop::norm = max. Violated constraint: the vector type provides vector_ops<X>::norm_inf.");
  }
}

TEST(Stop, RelativeAndAbsoluteParts) {
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(0.1, 0.5, 5), 1);
  const auto rel = iterop::solve(G, V(5, 0.0), iterop::Picard{}, iterop::Stop{.abs_tol = 0, .rel_tol = 1e-6});
  ASSERT_TRUE(rel.converged());
  EXPECT_LE(rel.residual, 1e-6 * rel.initial_residual);
  EXPECT_GT(rel.history[rel.iterations - 1].residual, 1e-6 * rel.initial_residual);  // first iterate to pass
  const auto abs = iterop::solve(G, V(5, 0.0), iterop::Picard{}, iterop::Stop{.abs_tol = 1e-9, .rel_tol = 0});
  ASSERT_TRUE(abs.converged());
  EXPECT_LE(abs.residual, 1e-9);
}

TEST(Stop, MaxNormAndWeightedRms) {
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(0.1, 0.6, 5), 3);
  const auto mx = iterop::solve(G, V(5, 0.0), iterop::Picard{},
                                iterop::Stop{.abs_tol = 1e-10, .rel_tol = 0, .norm = iterop::Norm::max});
  ASSERT_TRUE(mx.converged());
  V g(5);
  G(mx.solution, g);
  double m = 0;
  for (int i = 0; i < 5; ++i) m = std::max(m, std::abs(g[i] - mx.solution[i]));
  EXPECT_DOUBLE_EQ(m, mx.residual);
  EXPECT_LE(m, 1e-10);
  const auto w = iterop::solve(G, V(5, 0.0), iterop::Picard{},
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 1e-8, .norm = iterop::Norm::wrms});
  ASSERT_TRUE(w.converged());
  EXPECT_LE(w.residual, 1.0);
  EXPECT_EQ(w.norm, iterop::Norm::wrms);
  G(w.solution, g);
  for (int i = 0; i < 5; ++i) EXPECT_LE(std::abs(g[i] - w.solution[i]), 1e-8 * std::abs(w.solution[i]) * 3 + 1e-11);
}

TEST(Stop, MaxIterationsAndMaxEvaluations) {
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(0.5, 0.99, 5), 3);
  const auto it = iterop::solve(G, V(5, 0.0), iterop::Picard{}, iterop::Stop{.max_iterations = 7});
  EXPECT_EQ(it.status, iterop::Status::max_iterations);
  EXPECT_EQ(it.iterations, 7);
  EXPECT_EQ(it.evaluations, 8);
  EXPECT_NE(it.message.find("max_iterations = 7"), std::string::npos);
  const auto ev = iterop::solve(G, V(5, 0.0), iterop::Picard{}, iterop::Stop{.max_evaluations = 5});
  EXPECT_EQ(ev.status, iterop::Status::max_evaluations);
  EXPECT_EQ(ev.evaluations, 5);
  const auto zero = iterop::solve(G, V(5, 0.0), iterop::Picard{}, iterop::Stop{.max_iterations = 0});
  EXPECT_EQ(zero.iterations, 0);
  EXPECT_EQ(zero.evaluations, 1);
}

TEST(Stop, SmallStepIsItsOwnStatus) {
  // Very slow contraction: steps of 1e-6 q^k while the residual tolerance is far tighter.
  auto op = [](const V& x, V& y) { y[0] = 0.999999 * x[0]; };
  const auto r = iterop::solve(op, V{1.0}, iterop::Picard{},
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0, .step_tol = 2e-6});
  EXPECT_EQ(r.status, iterop::Status::small_step);
  EXPECT_EQ(r.iterations, 1);
  EXPECT_FALSE(r.usable());  // a small step is not a small residual
  EXPECT_FALSE(r.converged());
}

TEST(Stop, DivergenceFactorIsConfigurable) {
  const auto r = iterop::solve(iterop::problems::Expanding{}, V{0.0}, iterop::Picard{},
                               iterop::Stop{.divergence_factor = 100});
  EXPECT_EQ(r.status, iterop::Status::diverged);
  EXPECT_EQ(r.iterations, 7);  // residual 2^k > 100 first at k = 7
}

TEST(Stop, StagnationWindowCanBeDisabled) {
  const auto r = iterop::solve(iterop::problems::Rotation{}, V{1.0, 0.0}, iterop::Picard{},
                               iterop::Stop{.max_iterations = 300, .stagnation_window = 0});
  EXPECT_EQ(r.status, iterop::Status::max_iterations);
  const auto s = iterop::solve(iterop::problems::Rotation{}, V{1.0, 0.0}, iterop::Picard{},
                               iterop::Stop{.stagnation_window = 10});
  EXPECT_EQ(s.status, iterop::Status::stagnated);
  EXPECT_EQ(s.iterations, 10);
}

TEST(Stop, ObserverSeesEveryIterateAndCanStop) {
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(0.1, 0.9, 4), 9);
  std::vector<int> seen;
  const auto r = iterop::solve(G, V(4, 0.0), iterop::Anderson{.memory = 2}, iterop::Stop{},
                               [&](const iterop::IterationView<V>& v) {
                                 seen.push_back(v.record.iteration);
                                 return v.record.iteration == 3 ? iterop::Action::stop : iterop::Action::proceed;
                               });
  EXPECT_EQ(r.status, iterop::Status::stopped_by_observer);
  EXPECT_EQ(r.iterations, 3);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
}

TEST(Stop, ReturnedIterateBestOrLast) {
  // Picard on the expanding map: the best iterate is x0.
  const auto best = iterop::solve(iterop::problems::Expanding{}, V{0.0}, iterop::Picard{},
                                  iterop::Stop{.max_iterations = 5, .returned = iterop::Returned::best});
  EXPECT_EQ(best.returned_iteration, 0);
  EXPECT_EQ(best.solution, V{0.0});
  EXPECT_DOUBLE_EQ(best.residual, 1.0);
  const auto last = iterop::solve(iterop::problems::Expanding{}, V{0.0}, iterop::Picard{},
                                  iterop::Stop{.max_iterations = 5, .returned = iterop::Returned::last});
  EXPECT_EQ(last.returned_iteration, 5);
  EXPECT_EQ(last.solution, V{31.0});
  EXPECT_DOUBLE_EQ(last.residual, 32.0);
}

TEST(Stop, ReportsNameMethodStatusAndHistory) {
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(0.1, 0.5, 3), 2);
  const auto r = iterop::solve(G, V(3, 0.0), iterop::Anderson{.memory = 2});
  const std::string brief = r.brief_report();
  EXPECT_NE(brief.find("Anderson(m=2"), std::string::npos) << brief;
  EXPECT_NE(brief.find("converged"), std::string::npos);
  const std::string full = r.full_report();
  EXPECT_NE(full.find("residual"), std::string::npos);
  EXPECT_GE(std::count(full.begin(), full.end(), '\n'), static_cast<long>(r.history.size()) + 2);
  for (std::size_t k = 1; k < r.history.size(); ++k) {
    EXPECT_GE(r.history[k].seconds, r.history[k - 1].seconds);
    EXPECT_EQ(r.history[k].iteration, static_cast<int>(k));
  }
}

}  // namespace
