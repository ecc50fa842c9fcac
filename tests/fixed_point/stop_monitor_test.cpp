// Tests of StopMonitor: the order of the tests, the message of each outcome, the three norms, the
// best or last iterate; and that replaying solve()'s residuals through a monitor gives solve()'s decision.
#include "iterop/fixed_point/stop_monitor.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/elementary_maps.hpp"
#include "iterop/problems/h_equation.hpp"

namespace {

using V = std::vector<double>;
using iterop::Norm;
using iterop::Status;
using iterop::Stop;
using iterop::StopMonitor;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

/// Feeds residuals (iterate k is the vector {k}) and returns the monitor after the first decision.
StopMonitor<V> feed(const Stop& stop, const std::vector<double>& residuals, std::vector<double> steps = {},
                    int observer_stops_at = -1) {
  StopMonitor<V> m(stop);
  for (std::size_t k = 0; k < residuals.size(); ++k) {
    const double step = k < steps.size() ? steps[k] : (k == 0 ? iterop::not_available : 1.0);
    m.record(V{static_cast<double>(k)}, residuals[k], step);
    if (m.check(static_cast<long>(k) + 1, static_cast<int>(k) == observer_stops_at)) break;
  }
  return m;
}

TEST(StopMonitor, ConvergedWithTheRelativeAndAbsoluteParts) {
  const auto m = feed(Stop{.abs_tol = 1e-3, .rel_tol = 1e-2}, {10.0, 1.0, 0.2, 0.1});
  ASSERT_TRUE(m.decided());
  EXPECT_EQ(m.status(), Status::converged);
  EXPECT_EQ(m.iteration(), 3);
  EXPECT_DOUBLE_EQ(m.tolerance(), 1e-3 + 1e-2 * 10.0);
  EXPECT_EQ(m.message(), "Residual 0.1 <= tolerance 0.101.");
  const auto ret = m.returned_iterate();
  EXPECT_FALSE(ret.best);
  EXPECT_EQ(ret.iteration, 3);
}

TEST(StopMonitor, TheTestsComeInOneFixedOrder) {
  // Converged before max_iterations at the same iterate.
  EXPECT_EQ(feed(Stop{.abs_tol = 1, .rel_tol = 0, .max_iterations = 1}, {5.0, 0.5}).status(), Status::converged);
  // small_step before the observer, the observer before max_iterations.
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .step_tol = 0.1, .max_iterations = 1}, {5.0, 4.0}, {nan, 0.01}, 1)
                .status(),
            Status::small_step);
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .max_iterations = 1}, {5.0, 4.0}, {}, 1).status(),
            Status::stopped_by_observer);
  // max_iterations before max_evaluations (the k-th iterate costs k + 1 evaluations here).
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .max_iterations = 2, .max_evaluations = 3}, {5.0, 4.0, 3.0})
                .status(),
            Status::max_iterations);
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .max_iterations = 3, .max_evaluations = 3}, {5.0, 4.0, 3.0})
                .status(),
            Status::max_evaluations);
  // max_iterations before diverged, diverged before stagnated.
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .max_iterations = 1, .divergence_factor = 2}, {1.0, 3.0}).status(),
            Status::max_iterations);
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .stagnation_window = 1, .divergence_factor = 2}, {1.0, 3.0})
                .status(),
            Status::diverged);
  // A non-finite residual before everything.
  EXPECT_EQ(feed(Stop{.max_iterations = 0}, {nan}).status(), Status::non_finite);
}

TEST(StopMonitor, MessagesOfEveryOutcome) {
  EXPECT_EQ(feed(Stop{}, {nan}).message(), "T(x0) - x0 is not finite (NaN or Inf).");
  EXPECT_EQ(feed(Stop{}, {1.0, 0.5, nan}).message(), "The residual became non-finite (NaN or Inf) at iteration 2.");
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .step_tol = 0.1}, {5.0, 4.0}, {nan, 0.01}).message(),
            "Step 0.01 <= Stop::step_tol 0.1 while the residual 4 is above the tolerance 1e-09.");
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0}, {5.0, 4.0}, {}, 1).message(),
            "The observer stopped the solve at iteration 1.");
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .max_iterations = 2}, {5.0, 4.0, 3.0}).message(),
            "Reached Stop::max_iterations = 2 with residual 3 above the tolerance 1e-09.");
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .max_evaluations = 2}, {5.0, 4.0, 3.0}).message(),
            "Reached Stop::max_evaluations = 2.");
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .divergence_factor = 10}, {1.0, 5.0, 20.0}).message(),
            "Residual 20 exceeds Stop::divergence_factor (10) times the initial residual 1.");
  EXPECT_EQ(feed(Stop{.abs_tol = 1e-9, .rel_tol = 0, .stagnation_window = 2, .stagnation_factor = 0.5},
                 {1.0, 0.9, 0.8, 0.7})
                .message(),
            "The best residual fell by less than a factor 0.5 over the last 2 iterations (best 0.8).");
}

TEST(StopMonitor, BestOrLastIterate) {
  const Stop best{.abs_tol = 1e-9, .rel_tol = 0, .max_iterations = 3};
  auto m = feed(best, {5.0, 1.0, 2.0, 3.0});
  EXPECT_EQ(m.status(), Status::max_iterations);
  auto ret = m.returned_iterate();
  EXPECT_TRUE(ret.best);
  EXPECT_EQ(ret.iteration, 1);
  EXPECT_EQ(ret.residual, 1.0);
  EXPECT_EQ(m.take_best(), V{1.0});
  ret = m.returned_iterate(iterop::Returned::last);
  EXPECT_FALSE(ret.best);
  EXPECT_EQ(ret.iteration, 3);
  EXPECT_EQ(ret.residual, 3.0);
  // A non-finite newest iterate: the last finite one is returned.
  m = feed(Stop{.returned = iterop::Returned::last}, {5.0, 4.0, nan});
  ret = m.returned_iterate();
  EXPECT_EQ(ret.iteration, 1);
  EXPECT_EQ(ret.residual, 4.0);
  // No finite iterate at all: x0 with its residual.
  m = feed(Stop{}, {nan});
  ret = m.returned_iterate();
  EXPECT_FALSE(ret.best);
  EXPECT_EQ(ret.iteration, 0);
  EXPECT_TRUE(std::isnan(ret.residual));
}

TEST(StopMonitor, TheThreeNorms) {
  const V x{1.0, -2.0, 4.0}, g{1.5, -2.0, 1.0};
  V f(3);
  const double abs_tol = 0.5, rel_tol = 0.25;
  EXPECT_DOUBLE_EQ(StopMonitor<V>(Stop{.norm = Norm::two}).residual(x, g, f), std::sqrt(0.25 + 9.0));
  EXPECT_EQ(f, (V{0.5, 0.0, -3.0}));
  EXPECT_DOUBLE_EQ(StopMonitor<V>(Stop{.norm = Norm::max}).residual(x, g, f), 3.0);
  // Weighted RMS: weights 1 / (rel_tol |x_i| + abs_tol) = 1 / 0.75, 1, 1 / 1.5.
  StopMonitor<V> w(Stop{.abs_tol = abs_tol, .rel_tol = rel_tol, .norm = Norm::wrms});
  const double e0 = 0.5 / 0.75, e2 = -3.0 / 1.5;
  EXPECT_DOUBLE_EQ(w.residual(x, g, f), std::sqrt((e0 * e0 + e2 * e2) / 3));
  // Steps: weights from the new iterate.
  EXPECT_DOUBLE_EQ(w.step_norm(g, x), w.residual_norm(f, g));
  EXPECT_DOUBLE_EQ(StopMonitor<V>(Stop{.norm = Norm::max}).step_norm(g, x), 3.0);
  EXPECT_DOUBLE_EQ(StopMonitor<V>(Stop{}).step_norm(g, x), std::sqrt(0.25 + 9.0));
}

/// Replays a finished solve's history (residuals, steps, evaluations) through a fresh monitor.
template <class R>
StopMonitor<V> replay(const Stop& stop, const R& r) {
  StopMonitor<V> m(stop);
  for (const auto& rec : r.history) {
    m.record(V{static_cast<double>(rec.iteration)}, rec.residual, rec.step);
    if (m.check(rec.evaluations)) break;
  }
  return m;
}

TEST(StopMonitor, ReplayingSolvesResidualsGivesSolvesDecision) {
  struct Case {
    const char* name;
    Stop stop;
    Status expected;
  };
  const iterop::problems::HEquation heq(0.99, 64);
  const std::vector<Case> cases = {
      {"rotation stagnates", Stop{.abs_tol = 1e-12, .rel_tol = 0, .stagnation_window = 10}, Status::stagnated},
      {"expanding diverges", Stop{.abs_tol = 1e-12, .rel_tol = 0}, Status::diverged},
      {"sqrt(x) - 1 gives NaN", Stop{}, Status::non_finite},
      {"heq hits max_iterations", Stop{.abs_tol = 1e-14, .rel_tol = 0, .max_iterations = 4}, Status::max_iterations},
      {"heq hits max_evaluations", Stop{.abs_tol = 1e-14, .rel_tol = 0, .max_evaluations = 5}, Status::max_evaluations},
      {"heq converges", Stop{.abs_tol = 1e-8, .rel_tol = 1e-8}, Status::converged},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string name = c.name;
    iterop::Result<V> r;
    if (name.starts_with("rotation")) r = iterop::solve(iterop::problems::Rotation{}, V{1.0, 0.0}, iterop::Picard{}, c.stop);
    else if (name.starts_with("expanding")) r = iterop::solve(iterop::problems::Expanding{}, V(3, 0.0), iterop::Picard{}, c.stop);
    else if (name.starts_with("sqrt")) r = iterop::solve(iterop::problems::SqrtMinusOne{}, V(2, 0.0), iterop::Picard{}, c.stop);
    else r = iterop::solve(heq, heq.initial_guess(), iterop::Picard{}, c.stop);
    EXPECT_EQ(r.status, c.expected) << r.full_report();
    auto m = replay(c.stop, r);
    ASSERT_TRUE(m.decided());
    EXPECT_EQ(m.status(), r.status);
    EXPECT_EQ(m.message(), r.message);
    EXPECT_EQ(m.iteration(), r.iterations);
    EXPECT_EQ(m.returned_iterate().iteration, r.returned_iteration);
    EXPECT_EQ(m.returned_iterate().residual, r.residual);
  }
}

}  // namespace
