// Tests of the opt-in Eigen adapter: Eigen vectors of every floating type solve a fixed-point problem.
#include "iterop/core/eigen_vector_ops.hpp"

#include <gtest/gtest.h>

#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/h_equation.hpp"

TEST(EigenAdapter, HEquationWithVectorXd) {
  const iterop::problems::HEquation heq(0.99, 128);
  const Eigen::VectorXd x0 = Eigen::VectorXd::Ones(128);
  const auto r = iterop::solve(heq, x0, iterop::Anderson{.memory = 3}, iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0});
  ASSERT_TRUE(r.converged()) << r.full_report();
  Eigen::VectorXd g(128);
  heq(r.solution, g);
  EXPECT_LE((g - r.solution).norm(), 1e-12);
}

TEST(EigenAdapter, LongDoubleFixedSizeReachesExtendedPrecision) {
  using V = Eigen::Matrix<long double, 3, 1>;
  auto op = [](const V& x) -> V { return V(0.5L * x(1) + 1, 0.25L * x(0), 0.5L * x(2) - 0.1L); };
  const auto r = iterop::solve(op, V::Zero().eval(), iterop::Anderson{.memory = 3},
                               iterop::Stop{.abs_tol = 1e-18, .rel_tol = 0});
  ASSERT_TRUE(r.converged()) << r.full_report();
  // x0 = 0.5 x1 + 1, x1 = 0.25 x0 -> x0 = 8/7; x2 = -0.2.
  EXPECT_NEAR(static_cast<double>((r.solution(0) - 8.0L / 7.0L) * 1e15L), 0.0, 1e-2);
  EXPECT_LT(std::abs(static_cast<double>(r.solution(2) + 0.2L)), 1e-17);
}
