// Tests of safeguarded Type-I Anderson acceleration: it converges on the nonexpansive rotation
// (where Picard cycles), accelerates a linear contraction, and validates its options.
#include "iterop/fixed_point/anderson_type1.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "iterop/fixed_point/krasnoselskii_mann.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/elementary_maps.hpp"
#include "iterop/problems/h_equation.hpp"
#include "iterop/problems/linear_map.hpp"

namespace {

using V = std::vector<double>;

TEST(AndersonTypeI, ConvergesOnNonexpansiveRotation) {
  const V x0{1.0, 0.0, 0.5, -2.0};
  const auto r = iterop::solve(iterop::problems::Rotation{}, x0, iterop::AndersonTypeI{},
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0});
  ASSERT_TRUE(r.converged()) << r.full_report();
  for (double v : r.solution) EXPECT_LT(std::abs(v), 1e-11);
  // Faster than the Krasnoselskii-Mann iteration it falls back on (relaxation 0.1, the weight on T(x)).
  const auto km = iterop::solve(iterop::problems::Rotation{}, x0, iterop::KrasnoselskiiMann{.relaxation = 0.1},
                                iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0});
  EXPECT_LT(r.evaluations, km.evaluations);
}

TEST(AndersonTypeI, AcceleratesHEquationOverItsAveragedMap) {
  const iterop::problems::HEquation heq(0.99, 256);
  const iterop::Stop stop{.abs_tol = 1e-10, .rel_tol = 0};
  const auto r = iterop::solve(heq, heq.initial_guess(), iterop::AndersonTypeI{}, stop);
  ASSERT_TRUE(r.converged()) << r.full_report();
  const auto km = iterop::solve(heq, heq.initial_guess(), iterop::KrasnoselskiiMann{.relaxation = 0.1},
                                iterop::Stop{.abs_tol = 1e-10, .rel_tol = 0, .max_iterations = 5000});
  EXPECT_LT(r.evaluations * 5, km.evaluations);
}

TEST(AndersonTypeI, InvalidOptionsThrow) {
  auto msg = [](const iterop::AndersonTypeI& a) -> std::string {
    try {
      a.validate();
    } catch (const iterop::invalid_option& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(msg({.memory = 0}), "AndersonTypeI::memory = 0. Violated constraint: memory >= 1.");
  EXPECT_EQ(msg({.relaxation = 0}), "AndersonTypeI::relaxation = 0. Violated constraint: 0 < relaxation <= 1.");
  EXPECT_EQ(msg({.averaging = 0.2}),
            "AndersonTypeI::averaging = 0.2. Violated constraint: renamed; use relaxation = 0.2 (the weight on T(x)).");
  EXPECT_EQ(msg({.powell = 1}), "AndersonTypeI::powell = 1. Violated constraint: 0 < powell < 1.");
  EXPECT_EQ(msg({.restart_tol = 0}), "AndersonTypeI::restart_tol = 0. Violated constraint: 0 < restart_tol < 1.");
  EXPECT_EQ(msg({.safeguard_scale = 0}), "AndersonTypeI::safeguard_scale = 0. Violated constraint: safeguard_scale > 0.");
  EXPECT_EQ(msg({.safeguard_decay = 0}), "AndersonTypeI::safeguard_decay = 0. Violated constraint: safeguard_decay > 0.");
}

TEST(AndersonTypeI, NanProblemReportsNonFinite) {
  const auto r = iterop::solve(iterop::problems::SqrtMinusOne{}, V{0.0}, iterop::AndersonTypeI{.relaxation = 1.0});
  EXPECT_EQ(r.status, iterop::Status::non_finite);
}

}  // namespace
