// Tests of the KINSOL baseline (iterop/baselines/kinsol.hpp): Toth & Kelley's Anderson counts, true
// residuals, KINSOL's own test judged honestly, invalid options, NaN, exceptions, silence.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "iterop/baselines/kinsol.hpp"
#include "iterop/iterop.hpp"

namespace {

using iterop::Anderson;
using iterop::Norm;
using iterop::Status;
using iterop::Stop;
using iterop::baselines::KinsolAnderson;
using iterop::baselines::KinsolOrthogonalization;
using iterop::baselines::VectorOperator;
using iterop::baselines::kinsol_solve;

/// A VectorOperator around a reference problem that counts its calls.
template <class P>
struct Counted {
  const P& problem;
  long calls = 0;
  VectorOperator op() {
    return [this](std::span<const double> x, std::span<double> y) {
      ++calls;
      problem(x, y);
    };
  }
};

/// ||G(x) - x|| in the given norm, computed here, independently of the solvers.
template <class P>
double true_residual(const P& g, const std::vector<double>& x, Norm norm = Norm::two) {
  std::vector<double> y(x.size());
  g(x, y);
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = y[i] - x[i];
    if (norm == Norm::max) s = std::max(s, std::abs(d));
    else s += d * d;
  }
  return norm == Norm::max ? s : std::sqrt(s);
}

double counter(const iterop::SolveSummary& r, const std::string& name) {
  for (const auto& [k, v] : r.counters)
    if (k == name) return v;
  ADD_FAILURE() << "no counter " << name;
  return std::numeric_limits<double>::quiet_NaN();
}

constexpr double kMaxiterFlag = -6;  // KIN_MAXITER_REACHED (kinsol.h)

// ---- Toth & Kelley (SINUM 2015): c = 0.99, N = 512, ||F|| <= 1e-8 ||F0|| + 1e-8 -----------------

class TothKelley : public ::testing::TestWithParam<KinsolOrthogonalization> {};

TEST_P(TothKelley, KinsolAndIteropReproduceThePublishedCounts) {
  const iterop::problems::HEquation h(0.99, 512);
  const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};
  const int published[] = {10, 9, 9, 10, 11, 11};
  for (int m = 1; m <= 6; ++m) {
    SCOPED_TRACE("m = " + std::to_string(m));
    Counted<iterop::problems::HEquation> g{h};
    const auto k = kinsol_solve(g.op(), h.initial_guess(),
                                KinsolAnderson{.memory = m, .orthogonalization = GetParam()}, stop);
    const auto a = iterop::solve(h, h.initial_guess(), Anderson{.memory = m}, stop);
    ASSERT_EQ(k.status, Status::converged) << k.full_report();
    EXPECT_EQ(k.iterations, published[m - 1]) << k.full_report();
    EXPECT_EQ(a.status, Status::converged);
    EXPECT_EQ(a.iterations, published[m - 1]) << a.full_report();
    EXPECT_EQ(k.iterations, a.iterations);
    // x0 is iterate 0 and every iterate up to the converged one is evaluated exactly once.
    EXPECT_EQ(k.evaluations, k.iterations + 1);
    EXPECT_EQ(g.calls, k.evaluations + 1);  // and one for the false-success audit (Stop::verify)
    EXPECT_EQ(k.returned_iteration, k.iterations);
    const double tol = 1e-8 + 1e-8 * k.initial_residual;
    EXPECT_LE(k.residual, tol);
    EXPECT_NEAR(k.residual, true_residual(h, k.solution), 1e-12 * tol);
  }
}

INSTANTIATE_TEST_SUITE_P(Orthogonalizations, TothKelley,
                         ::testing::Values(KinsolOrthogonalization::mgs, KinsolOrthogonalization::cgs2),
                         [](const auto& p) { return iterop::baselines::to_string(p.param); });

TEST(KinsolBaseline, ReportsTheTrueResidualAndAHistoryRowPerEvaluatedIterate) {
  const iterop::problems::HEquation h(0.99, 512);
  const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};
  const auto r = kinsol_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(), KinsolAnderson{.memory = 3}, stop);
  ASSERT_EQ(r.status, Status::converged);
  EXPECT_NEAR(r.residual, true_residual(h, r.solution), 1e-20 + 1e-12 * r.residual);
  // KINSOL's fnorm is the max-norm of its last step, not the residual of the returned iterate.
  EXPECT_NE(counter(r, "kinsol_fnorm"), r.residual);
  EXPECT_EQ(counter(r, "kinsol_nfe"), static_cast<double>(r.evaluations));
  ASSERT_EQ(r.history.size(), static_cast<std::size_t>(r.evaluations));
  for (std::size_t k = 0; k < r.history.size(); ++k) {
    EXPECT_EQ(r.history[k].iteration, static_cast<int>(k));
    EXPECT_EQ(r.history[k].evaluations, static_cast<long>(k + 1));
    EXPECT_TRUE(std::isfinite(r.history[k].residual));
    if (k > 0) {
      EXPECT_TRUE(std::isfinite(r.history[k].step));
      EXPECT_NEAR(r.history[k].ratio, r.history[k].residual / r.history[k - 1].residual, 1e-15);
      EXPECT_GE(r.history[k].seconds, r.history[k - 1].seconds);
    }
  }
  EXPECT_DOUBLE_EQ(r.history.back().residual, r.residual);
  EXPECT_DOUBLE_EQ(r.history.front().residual, r.initial_residual);
  EXPECT_EQ(r.method, "KINSOL Anderson(m=3, beta=1, mgs)");
}

TEST(KinsolBaseline, MaxNormAndWrmsStopsGiveTheSameCountsAsIteropsAnderson) {
  const iterop::problems::HEquation h(0.99, 512);
  for (Norm norm : {Norm::max, Norm::wrms}) {
    for (int m : {1, 3, 6}) {
      SCOPED_TRACE(std::string(iterop::to_string(norm)) + ", m = " + std::to_string(m));
      const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8, .norm = norm};
      const auto k = kinsol_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(), KinsolAnderson{.memory = m}, stop);
      const auto a = iterop::solve(h, h.initial_guess(), Anderson{.memory = m}, stop);
      ASSERT_EQ(k.status, Status::converged);
      EXPECT_EQ(k.iterations, a.iterations);
      if (norm == Norm::max) {
        EXPECT_NEAR(k.residual, true_residual(h, k.solution, Norm::max), 1e-15);
      } else {
        EXPECT_LE(k.residual, 1.0);
      }
    }
  }
}

TEST(KinsolBaseline, RelaxationAndDelayMatchIteropsAnderson) {
  // KINSetDamping and KINSetDampingAA both get beta; KINSetDelayAA the delay.
  const iterop::problems::HEquation h(0.9, 64);
  const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};
  for (double beta : {1.0, 0.5}) {
    for (int m : {0, 3}) {
      for (int delay : {0, 2}) {
        SCOPED_TRACE("beta = " + std::to_string(beta) + ", m = " + std::to_string(m) + ", delay = " + std::to_string(delay));
        const auto k = kinsol_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(),
                                    KinsolAnderson{.memory = m, .relaxation = beta, .delay = delay}, stop);
        const auto a =
            iterop::solve(h, h.initial_guess(), Anderson{.memory = m, .relaxation = beta, .delay = delay}, stop);
        ASSERT_EQ(k.status, Status::converged) << k.full_report();
        EXPECT_EQ(k.iterations, a.iterations);
      }
    }
  }
}

// ---- KINSOL's own test (on the step), judged by the true residual ---------------------------------

TEST(KinsolBaseline, KinsolsOwnTestOnAnEasyProblemIsJudgedByTheTrueResidual) {
  // Measured: at c = 0.99 KINSOL's step test (max-norm step <= 1e-8) stops one iterate after
  // iterop's test would, and the returned (newest) iterate does meet iterop's tolerance.
  const iterop::problems::HEquation h(0.99, 512);
  const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};
  for (int m = 1; m <= 6; ++m) {
    SCOPED_TRACE("m = " + std::to_string(m));
    Counted<iterop::problems::HEquation> g{h};
    const auto r = kinsol_solve(g.op(), h.initial_guess(), KinsolAnderson{.memory = m, .test = KinsolAnderson::Test::kinsol},
                                stop);
    const double truth = true_residual(h, r.solution);
    EXPECT_NEAR(r.residual, truth, 1e-20 + 1e-12 * truth);
    EXPECT_EQ(r.status == Status::converged, truth <= 1e-8 + 1e-8 * r.initial_residual);
    EXPECT_EQ(r.status, Status::converged) << r.full_report();
    EXPECT_EQ(counter(r, "kinsol_flag"), 0.0);  // KIN_SUCCESS
    EXPECT_LE(counter(r, "kinsol_fnorm"), 1e-8);
    // KINSOL's nni iterations form x_1..x_nni; the wrapper evaluates the returned x_nni once more.
    EXPECT_EQ(r.iterations, static_cast<int>(counter(r, "kinsol_nni")));
    EXPECT_EQ(r.evaluations, r.iterations + 1);
    EXPECT_EQ(g.calls, r.evaluations);
    EXPECT_EQ(r.returned, iterop::Returned::last);
  }
}

class HardProblem : public ::testing::TestWithParam<KinsolOrthogonalization> {};

TEST_P(HardProblem, KinsolsOwnTestDoesNotReachTheToleranceAndIsNotReportedConverged) {
  // c = 0.9999, m = 10, Stop{1e-8, 1e-8}, max_iterations 1000. Measured with SUNDIALS 6.4.1: KINSOL's
  // undamped, unsafeguarded Anderson blows up after ~10 iterates (residuals up to 1e52), recovers and
  // blows up again; it never meets its step test and ends with KIN_MAXITER_REACHED, returning an
  // iterate with true residual 6.2e5 (MGS) or 587 (DCGS2). iterop's Anderson converges in 16.
  const iterop::problems::HEquation h(0.9999, 512);
  const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};
  const auto r = kinsol_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(),
                              KinsolAnderson{.memory = 10, .orthogonalization = GetParam(),
                                             .test = KinsolAnderson::Test::kinsol},
                              stop);
  const double truth = true_residual(h, r.solution);
  EXPECT_NEAR(r.residual, truth, 1e-12 * truth);
  EXPECT_GT(r.residual, 1e-8);
  EXPECT_NE(r.status, Status::converged);
  EXPECT_FALSE(r.usable());
  EXPECT_EQ(r.status, Status::max_iterations) << r.message;
  EXPECT_EQ(counter(r, "kinsol_flag"), kMaxiterFlag);
  EXPECT_EQ(r.iterations, 1000);
  EXPECT_NE(r.message.find("KIN_MAXITER_REACHED"), std::string::npos) << r.message;

  const auto a = iterop::solve(h, h.initial_guess(), Anderson{.memory = 10}, stop);
  EXPECT_EQ(a.status, Status::converged) << a.full_report();
  EXPECT_LE(true_residual(h, a.solution), 1e-8 + 1e-8 * a.initial_residual);
  EXPECT_LT(a.iterations, 50);
}

INSTANTIATE_TEST_SUITE_P(Orthogonalizations, HardProblem,
                         ::testing::Values(KinsolOrthogonalization::mgs, KinsolOrthogonalization::dcgs2),
                         [](const auto& p) { return iterop::baselines::to_string(p.param); });

TEST(KinsolBaseline, IteropsTestOnTheHardProblemReportsDivergence) {
  // Measured: with iterop's test the wrapper sees the residual exceed 1e8 times the initial one at
  // iterate 14 and stops KINSOL there; the best iterate (residual ~5e-4) is returned.
  const iterop::problems::HEquation h(0.9999, 512);
  const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};
  const auto r = kinsol_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(), KinsolAnderson{.memory = 10}, stop);
  EXPECT_EQ(r.status, Status::diverged) << r.full_report();
  EXPECT_GT(r.history.back().residual, 1e8 * r.initial_residual);
  EXPECT_LT(r.returned_iteration, r.iterations);
  EXPECT_NEAR(r.residual, true_residual(h, r.solution), 1e-12 * r.residual);
}

// ---- budgets ------------------------------------------------------------------------------------------

TEST(KinsolBaseline, MaxIterationsAndMaxEvaluations) {
  const iterop::problems::HEquation h(0.99, 512);
  {
    const auto r = kinsol_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(), KinsolAnderson{.memory = 3},
                                Stop{.abs_tol = 1e-14, .rel_tol = 0, .max_iterations = 4});
    EXPECT_EQ(r.status, Status::max_iterations);
    EXPECT_EQ(r.iterations, 4);
    EXPECT_EQ(r.evaluations, 5);
    EXPECT_EQ(counter(r, "kinsol_flag"), kMaxiterFlag);
    EXPECT_NEAR(r.residual, true_residual(h, r.solution), 1e-12 * r.residual);
  }
  {
    Counted<iterop::problems::HEquation> g{h};
    const auto r = kinsol_solve(g.op(), h.initial_guess(), KinsolAnderson{.memory = 3},
                                Stop{.abs_tol = 1e-14, .rel_tol = 0, .max_evaluations = 3});
    EXPECT_EQ(r.status, Status::max_evaluations);
    EXPECT_EQ(r.evaluations, 3);
    EXPECT_EQ(g.calls, 3);
  }
  {
    Counted<iterop::problems::HEquation> g{h};
    const auto r = kinsol_solve(g.op(), h.initial_guess(), KinsolAnderson{.memory = 3, .test = KinsolAnderson::Test::kinsol},
                                Stop{.abs_tol = 1e-14, .rel_tol = 0, .max_evaluations = 3});
    EXPECT_EQ(r.status, Status::max_evaluations);
    EXPECT_EQ(r.evaluations, 3);  // two for KINSOL, one for the true residual of its returned vector
    EXPECT_EQ(g.calls, 3);
  }
}

// ---- outcomes that are data, not exceptions -----------------------------------------------------------

TEST(KinsolBaseline, NanProblemGivesNonFiniteWithoutThrowingInBothModes) {
  const iterop::problems::SqrtMinusOne g;  // x0 = 0 -> x1 = -1 -> sqrt(-1) = NaN
  for (auto test : {KinsolAnderson::Test::iterop, KinsolAnderson::Test::kinsol}) {
    SCOPED_TRACE(test == KinsolAnderson::Test::iterop ? "iterop's test" : "KINSOL's test");
    iterop::Result<std::vector<double>> r;
    ::testing::internal::CaptureStderr();
    ::testing::internal::CaptureStdout();
    EXPECT_NO_THROW(r = kinsol_solve([&](auto x, auto y) { g(x, y); }, std::vector<double>(4, 0.0),
                                     KinsolAnderson{.memory = 2, .test = test}, Stop{}));
    EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
    EXPECT_EQ(r.status, Status::non_finite) << r.full_report();
    EXPECT_EQ(r.iterations, 1);
    EXPECT_EQ(r.evaluations, 2);
    // The last finite iterate, x0, is returned with its residual ||(-1, -1, -1, -1)|| = 2.
    EXPECT_EQ(r.returned_iteration, 0);
    EXPECT_EQ(r.solution, std::vector<double>(4, 0.0));
    EXPECT_DOUBLE_EQ(r.residual, 2.0);
    EXPECT_TRUE(std::isnan(r.history.back().residual));
    EXPECT_NE(r.message.find("non-finite"), std::string::npos) << r.message;
  }
}

TEST(KinsolBaseline, NonFiniteInitialResidual) {
  const auto r = kinsol_solve(
      [](std::span<const double>, std::span<double> y) {
        for (double& v : y) v = std::numeric_limits<double>::infinity();
      },
      std::vector<double>(3, 1.0), KinsolAnderson{}, Stop{});
  EXPECT_EQ(r.status, Status::non_finite);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_EQ(r.solution, std::vector<double>(3, 1.0));
}

TEST(KinsolBaseline, ExceptionOfTheOperatorIsRethrownAfterKinsolIsStopped) {
  long calls = 0;
  VectorOperator op = [&](std::span<const double> x, std::span<double> y) {
    if (++calls == 4) throw std::runtime_error("operator failed at call 4");
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = std::cos(x[i]) + 0.1 * static_cast<double>(i);
  };
  try {
    (void)kinsol_solve(op, std::vector<double>(8, 0.0), KinsolAnderson{.memory = 2}, Stop{.abs_tol = 1e-300, .rel_tol = 0});
    FAIL() << "expected the operator's exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "operator failed at call 4");
  }
  EXPECT_EQ(calls, 4);
}

TEST(KinsolBaseline, KinsolPrintsNothing) {
  const iterop::problems::HEquation h(0.99, 64);
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  (void)kinsol_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(), KinsolAnderson{},
                     Stop{.abs_tol = 1e-14, .rel_tol = 0, .max_iterations = 3});
  (void)kinsol_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(), KinsolAnderson{.test = KinsolAnderson::Test::kinsol},
                     Stop{.abs_tol = 1e-14, .rel_tol = 0, .max_iterations = 3});
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// ---- one stop monitor: KINSOL with iterop's test ends exactly where solve() ends ------------------------

/// solve() and KINSOL (both Picard: KINSOL with memory 0 and relaxation 1 forms x+ = T(x) exactly as
/// iterop does) on the same problem and Stop: the same status, iterations, evaluations, returned iterate
/// and residual, and KINSOL's message starts with solve()'s message word for word (KINSOL adds what it
/// returned). Replaying KINSOL's history through a fresh iterop::StopMonitor gives the same decision.
template <class P>
void expect_same_decision(const P& problem, const std::vector<double>& x0, const Stop& stop, Status expected) {
  const auto a = iterop::solve(problem, x0, iterop::Picard{}, stop);
  const auto k = kinsol_solve([&](auto x, auto y) { problem(x, y); }, x0, KinsolAnderson{.memory = 0}, stop);
  EXPECT_EQ(a.status, expected) << a.full_report();
  EXPECT_EQ(k.status, a.status) << k.full_report();
  EXPECT_EQ(k.message.substr(0, a.message.size()), a.message) << "KINSOL: " << k.message;
  EXPECT_EQ(k.iterations, a.iterations);
  EXPECT_EQ(k.evaluations, a.evaluations);
  EXPECT_EQ(k.returned_iteration, a.returned_iteration);
  EXPECT_EQ(k.initial_residual, a.initial_residual);
  if (std::isnan(a.residual)) EXPECT_TRUE(std::isnan(k.residual));
  else EXPECT_EQ(k.residual, a.residual);
  EXPECT_EQ(k.solution, a.solution);
  ASSERT_EQ(k.history.size(), a.history.size());
  for (std::size_t i = 0; i < a.history.size(); ++i) {
    if (std::isnan(a.history[i].residual)) EXPECT_TRUE(std::isnan(k.history[i].residual)) << i;
    else EXPECT_EQ(k.history[i].residual, a.history[i].residual) << i;
  }
  iterop::StopMonitor<std::vector<double>> m(stop);
  for (const auto& rec : k.history) {
    m.record(std::vector<double>{static_cast<double>(rec.iteration)}, rec.residual, rec.step);
    if (m.check(rec.evaluations)) break;
  }
  ASSERT_TRUE(m.decided());
  EXPECT_EQ(m.status(), k.status);
  EXPECT_EQ(m.message(), a.message);
}

TEST(KinsolStopMonitor, StagnationIsDecidedAsSolveDecidesIt) {
  // The rotation: Picard cycles with a constant residual.
  expect_same_decision(iterop::problems::Rotation{}, {1.0, 0.0},
                       Stop{.abs_tol = 1e-12, .rel_tol = 0, .stagnation_window = 10}, Status::stagnated);
}

TEST(KinsolStopMonitor, DivergenceIsDecidedAsSolveDecidesIt) {
  expect_same_decision(iterop::problems::Expanding{}, std::vector<double>(3, 0.0), Stop{.abs_tol = 1e-12, .rel_tol = 0},
                       Status::diverged);
}

TEST(KinsolStopMonitor, NanIsDecidedAsSolveDecidesIt) {
  expect_same_decision(iterop::problems::SqrtMinusOne{}, std::vector<double>(2, 0.0), Stop{}, Status::non_finite);
}

TEST(KinsolStopMonitor, BudgetsAndSmallStepsAreDecidedAsSolveDecidesThem) {
  const iterop::problems::HEquation h(0.99, 64);
  expect_same_decision(h, h.initial_guess(), Stop{.abs_tol = 1e-14, .rel_tol = 0, .max_iterations = 4},
                       Status::max_iterations);
  expect_same_decision(h, h.initial_guess(), Stop{.abs_tol = 1e-14, .rel_tol = 0, .max_evaluations = 5},
                       Status::max_evaluations);
  expect_same_decision(h, h.initial_guess(), Stop{.abs_tol = 1e-14, .rel_tol = 0, .step_tol = 1e-3},
                       Status::small_step);
  for (Norm norm : {Norm::two, Norm::max, Norm::wrms}) {
    SCOPED_TRACE(std::string(iterop::to_string(norm)));
    expect_same_decision(h, h.initial_guess(), Stop{.abs_tol = 1e-8, .rel_tol = 1e-8, .norm = norm}, Status::converged);
  }
}

// ---- invalid input throws before any work -------------------------------------------------------------

void expect_invalid(const KinsolAnderson& o, const Stop& stop, const std::string& message,
                    std::vector<double> x0 = std::vector<double>(4, 0.0)) {
  long calls = 0;
  VectorOperator op = [&](std::span<const double> x, std::span<double> y) {
    ++calls;
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i];
  };
  try {
    (void)kinsol_solve(op, std::move(x0), o, stop);
    ADD_FAILURE() << "expected invalid_option: " << message;
  } catch (const iterop::invalid_option& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
  EXPECT_EQ(calls, 0) << message;
}

TEST(KinsolBaseline, InvalidOptionsThrowTheirMessagesBeforeAnyWork) {
  expect_invalid(KinsolAnderson{.memory = -1}, Stop{}, "KinsolAnderson::memory = -1. Violated constraint: memory >= 0.");
  expect_invalid(KinsolAnderson{.memory = 1001}, Stop{},
                 "KinsolAnderson::memory = 1001. Violated constraint: memory <= 1000.");
  expect_invalid(KinsolAnderson{.relaxation = 0.0}, Stop{},
                 "KinsolAnderson::relaxation = 0. Violated constraint: 0 < relaxation <= 1.");
  expect_invalid(KinsolAnderson{.relaxation = 1.5}, Stop{},
                 "KinsolAnderson::relaxation = 1.5. Violated constraint: 0 < relaxation <= 1.");
  expect_invalid(KinsolAnderson{.relaxation = std::nan("")}, Stop{},
                 "KinsolAnderson::relaxation = nan. Violated constraint: 0 < relaxation <= 1.");
  expect_invalid(KinsolAnderson{.damping = 0.5}, Stop{},
                 "KinsolAnderson::damping = 0.5. Violated constraint: renamed; use relaxation = 0.5 (the weight on T(x)).");
  expect_invalid(KinsolAnderson{.delay = -2}, Stop{}, "KinsolAnderson::delay = -2. Violated constraint: delay >= 0.");
  expect_invalid(KinsolAnderson{.orthogonalization = static_cast<KinsolOrthogonalization>(7)}, Stop{},
                 "KinsolAnderson::orthogonalization = 7. Violated constraint: one of mgs, icwy, cgs2, dcgs2.");
  expect_invalid(KinsolAnderson{.test = static_cast<KinsolAnderson::Test>(5)}, Stop{},
                 "KinsolAnderson::test = 5. Violated constraint: one of iterop, kinsol.");
  expect_invalid(KinsolAnderson{}, Stop{.abs_tol = -1},
                 "Stop::abs_tol = -1. Violated constraint: abs_tol >= 0 and finite.");
  expect_invalid(KinsolAnderson{}, Stop{.max_iterations = -1},
                 "Stop::max_iterations = -1. Violated constraint: max_iterations >= 0.");
  expect_invalid(KinsolAnderson{}, Stop{}, "kinsol_solve: x0.size() = 0. Violated constraint: x0.size() >= 1.",
                 std::vector<double>{});
  try {
    (void)kinsol_solve(VectorOperator{}, std::vector<double>(2, 0.0), KinsolAnderson{}, Stop{});
    ADD_FAILURE() << "expected invalid_option for an empty operator";
  } catch (const iterop::invalid_option& e) {
    EXPECT_EQ(std::string(e.what()),
              "kinsol_solve: op = an empty std::function. Violated constraint: a callable operator.");
  }
}

TEST(KinsolBaseline, OrthogonalizationNamesRoundTrip) {
  using iterop::baselines::parse_kinsol_orthogonalization;
  for (auto o : {KinsolOrthogonalization::mgs, KinsolOrthogonalization::icwy, KinsolOrthogonalization::cgs2,
                 KinsolOrthogonalization::dcgs2})
    EXPECT_EQ(parse_kinsol_orthogonalization(iterop::baselines::to_string(o)), o);
  try {
    (void)parse_kinsol_orthogonalization("householder");
    ADD_FAILURE() << "expected invalid_option";
  } catch (const iterop::invalid_option& e) {
    EXPECT_EQ(std::string(e.what()),
              "KinsolOrthogonalization = householder. Violated constraint: one of mgs, icwy, cgs2, dcgs2.");
  }
  EXPECT_EQ((KinsolAnderson{.memory = 4, .relaxation = 0.5, .delay = 2, .orthogonalization = KinsolOrthogonalization::dcgs2,
                            .test = KinsolAnderson::Test::kinsol}
                 .describe()),
            "KINSOL Anderson(m=4, beta=0.5, delay=2, dcgs2, KINSOL's test)");
}

TEST(KinsolBaseline, IcwyAndDcgs2AlsoConvergeOnTheReferenceProblem) {
  const iterop::problems::HEquation h(0.99, 512);
  const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};
  for (auto o : {KinsolOrthogonalization::icwy, KinsolOrthogonalization::dcgs2}) {
    const auto r = kinsol_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(),
                                KinsolAnderson{.memory = 3, .orthogonalization = o}, stop);
    EXPECT_EQ(r.status, Status::converged) << r.full_report();
    EXPECT_EQ(r.iterations, 9);
  }
}

}  // namespace
