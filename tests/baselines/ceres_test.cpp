// Tests of the Ceres baseline (iterop/baselines/ceres_least_squares.hpp): H-equation and linear
// problem solved to known accuracy, every evaluation counted, statuses, invalid options, silence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "iterop/baselines/ceres_least_squares.hpp"
#include "iterop/iterop.hpp"

namespace {

using iterop::Norm;
using iterop::Status;
using iterop::Stop;
using iterop::baselines::CeresLevenbergMarquardt;
using iterop::baselines::VectorOperator;
using iterop::baselines::ceres_solve;

template <class P>
double true_residual(const P& g, const std::vector<double>& x) {
  std::vector<double> y(x.size());
  g(x, y);
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += (y[i] - x[i]) * (y[i] - x[i]);
  return std::sqrt(s);
}

TEST(CeresBaseline, SolvesTheHEquationToATrueResidualBelow1e10) {
  const iterop::problems::HEquation h(0.9, 64);
  long calls = 0;
  VectorOperator op = [&](std::span<const double> x, std::span<double> y) {
    ++calls;
    h(x, y);
  };
  iterop::Result<std::vector<double>> r;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  r = ceres_solve(op, h.initial_guess(), CeresLevenbergMarquardt{}, Stop{.abs_tol = 1e-10, .rel_tol = 0});
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  ASSERT_EQ(r.status, Status::converged) << r.full_report();
  EXPECT_LE(r.residual, 1e-10);
  EXPECT_LE(true_residual(h, r.solution), 1e-10);
  EXPECT_NEAR(r.residual, true_residual(h, r.solution), 1e-15);
  // Every call of T is counted: central differences need 2 n calls per Jacobian.
  EXPECT_EQ(r.evaluations, calls);
  EXPECT_GE(r.evaluations, static_cast<long>(r.iterations) * 2 * 64);
  EXPECT_GT(r.iterations, 0);
  EXPECT_EQ(r.history.front().iteration, 0);
  EXPECT_DOUBLE_EQ(r.history.front().residual, r.initial_residual);
  EXPECT_NE(r.message.find("Ceres Solver Report"), std::string::npos) << r.message;
  EXPECT_EQ(r.method, "Ceres Levenberg-Marquardt(dense QR, central differences)");
}

TEST(CeresBaseline, SolvesTheLinearProblemToItsExactSolution) {
  const iterop::problems::LinearMap g(iterop::problems::LinearMap::spaced_spectrum(-0.5, 0.9, 20), 7);
  for (bool central : {true, false}) {
    SCOPED_TRACE(central ? "central" : "forward");
    long calls = 0;
    VectorOperator op = [&](std::span<const double> x, std::span<double> y) {
      ++calls;
      g(x, y);
    };
    const auto r = ceres_solve(op, std::vector<double>(20, 0.0), CeresLevenbergMarquardt{.central_differences = central});
    ASSERT_EQ(r.status, Status::converged) << r.full_report();
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < 20; ++i) {
      err = std::max(err, std::abs(r.solution[i] - g.solution()[i]));
      scale = std::max(scale, std::abs(g.solution()[i]));
    }
    EXPECT_LE(err, 1e-12 * scale);
    EXPECT_EQ(r.evaluations, calls);
  }
}

TEST(CeresBaseline, MaxNormIsMeasuredByIterop) {
  const iterop::problems::HEquation h(0.9, 32);
  const auto r = ceres_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(), CeresLevenbergMarquardt{},
                             Stop{.abs_tol = 1e-12, .rel_tol = 0, .norm = Norm::max});
  ASSERT_EQ(r.status, Status::converged);
  std::vector<double> y(32);
  h(r.solution, y);
  double m = 0;
  for (std::size_t i = 0; i < 32; ++i) m = std::max(m, std::abs(y[i] - r.solution[i]));
  EXPECT_DOUBLE_EQ(r.residual, m);
}

TEST(CeresBaseline, IterationLimitIsReportedAsMaxIterations) {
  const iterop::problems::HEquation h(0.9, 64);
  const auto r = ceres_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(), CeresLevenbergMarquardt{.max_iterations = 1},
                             Stop{.abs_tol = 1e-12, .rel_tol = 0});
  EXPECT_EQ(r.status, Status::max_iterations) << r.full_report();
  EXPECT_GT(r.residual, 1e-12);
  EXPECT_NEAR(r.residual, true_residual(h, r.solution), 1e-14);
}

TEST(CeresBaseline, TooTightAToleranceIsNotReportedConverged) {
  // Ceres stops on its own tolerances near rounding level; iterop's test asks for less than that.
  const iterop::problems::HEquation h(0.9, 64);
  const auto r = ceres_solve([&](auto x, auto y) { h(x, y); }, h.initial_guess(), CeresLevenbergMarquardt{},
                             Stop{.abs_tol = 1e-30, .rel_tol = 0});
  EXPECT_NE(r.status, Status::converged) << r.full_report();
  EXPECT_GT(r.residual, 1e-30);
}

TEST(CeresBaseline, MaxEvaluationsAbortsCeres) {
  const iterop::problems::HEquation h(0.9, 64);
  long calls = 0;
  const auto r = ceres_solve(
      [&](std::span<const double> x, std::span<double> y) {
        ++calls;
        h(x, y);
      },
      h.initial_guess(), CeresLevenbergMarquardt{}, Stop{.abs_tol = 1e-12, .rel_tol = 0, .max_evaluations = 300});
  EXPECT_EQ(r.status, Status::max_evaluations) << r.full_report();
  EXPECT_EQ(r.evaluations, calls);
  // The budget is checked once per Ceres iteration (a Jacobian is 2 n = 128 calls).
  EXPECT_LT(r.evaluations, 300 + 2 * 64 + 3);
}

TEST(CeresBaseline, NanProblemGivesNonFiniteWithoutThrowingOrPrinting) {
  const iterop::problems::SqrtMinusOne g;
  iterop::Result<std::vector<double>> r;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  EXPECT_NO_THROW(r = ceres_solve([&](auto x, auto y) { g(x, y); }, std::vector<double>(4, 0.0),
                                  CeresLevenbergMarquardt{}, Stop{}));
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(r.status, Status::non_finite) << r.full_report();
  EXPECT_FALSE(r.usable());
}

void expect_invalid(const CeresLevenbergMarquardt& o, const std::string& message,
                    std::vector<double> x0 = std::vector<double>(4, 0.0)) {
  long calls = 0;
  VectorOperator op = [&](std::span<const double> x, std::span<double> y) {
    ++calls;
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = 0.5 * x[i];
  };
  try {
    (void)ceres_solve(op, std::move(x0), o, Stop{});
    ADD_FAILURE() << "expected invalid_option: " << message;
  } catch (const iterop::invalid_option& e) {
    EXPECT_EQ(std::string(e.what()), message);
  }
  EXPECT_EQ(calls, 0) << message;
}

TEST(CeresBaseline, InvalidOptionsAndTooLargeProblemsThrowBeforeAnyWork) {
  expect_invalid(CeresLevenbergMarquardt{.max_iterations = 0},
                 "CeresLevenbergMarquardt::max_iterations = 0. Violated constraint: max_iterations >= 1.");
  expect_invalid(CeresLevenbergMarquardt{.function_tolerance = -1},
                 "CeresLevenbergMarquardt::function_tolerance = -1. Violated constraint: function_tolerance >= 0 and "
                 "finite.");
  expect_invalid(CeresLevenbergMarquardt{.gradient_tolerance = -1},
                 "CeresLevenbergMarquardt::gradient_tolerance = -1. Violated constraint: gradient_tolerance >= 0 and "
                 "finite.");
  expect_invalid(CeresLevenbergMarquardt{.parameter_tolerance = std::nan("")},
                 "CeresLevenbergMarquardt::parameter_tolerance = nan. Violated constraint: parameter_tolerance >= 0 "
                 "and finite.");
  expect_invalid(CeresLevenbergMarquardt{.max_size = 0},
                 "CeresLevenbergMarquardt::max_size = 0. Violated constraint: max_size >= 1.");
  expect_invalid(CeresLevenbergMarquardt{.max_size = 3},
                 "ceres_solve: x0.size() = 4. Violated constraint: x0.size() <= CeresLevenbergMarquardt::max_size = 3 "
                 "(the Jacobian is dense).");
  expect_invalid(CeresLevenbergMarquardt{}, "ceres_solve: x0.size() = 0. Violated constraint: x0.size() >= 1.",
                 std::vector<double>{});
}

}  // namespace
