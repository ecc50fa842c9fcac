// Tests of whole-trajectory iteration: it reaches the step-by-step trapezoidal solution, in one
// window or several, and Picard's sweeps obey the factorial bound (L T)^k / k! of Volterra operators.
#include "iterop/quadrature/whole_trajectory.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/quadrature/trapezoid.hpp"

namespace q = iterop::quadrature;

TEST(WholeTrajectory, EqualsStepByStepTrapezoid) {
  const auto p = q::reference::N1();
  const auto grid = q::Grid::uniform(p.T, 64);
  const auto steps = q::solve_volterra(p, grid, q::Trapezoid{});
  const iterop::Stop stop{.abs_tol = 1e-13, .rel_tol = 0, .max_iterations = 200};
  for (int windows : {1, 4}) {
    const auto picard = q::solve_whole_trajectory(p, grid, iterop::Picard{}, stop, windows);
    const auto anderson = q::solve_whole_trajectory(p, grid, iterop::Anderson{.memory = 5}, stop, windows);
    ASSERT_TRUE(picard.result.converged()) << picard.result.message;
    ASSERT_TRUE(anderson.result.converged()) << anderson.result.message;
    ASSERT_EQ(picard.result.nodes(), 65);
    for (int i = 0; i <= 64; ++i) {
      EXPECT_NEAR(picard.result.value(i), steps.value(i), 1e-12);
      EXPECT_NEAR(anderson.result.value(i), steps.value(i), 1e-12);
    }
    EXPECT_EQ(static_cast<int>(picard.windows.size()), windows);
    EXPECT_LE(anderson.result.nonlinear_iterations, picard.result.nonlinear_iterations);
  }
}

TEST(WholeTrajectory, PicardSweepsObeyFactorialBound) {
  // y = 1 - int (t - s) y ds on [0, 2]: K is Lipschitz in y with L = max |t - s| = 2, so
  // ||Y_{k+1} - Y_k|| <= (L T)^k / k! ||Y_1 - Y_0||: convergence faster than any geometric rate.
  auto p = q::reference::L2();
  p.T = 2.0;
  const auto grid = q::Grid::uniform(p.T, 200);
  const iterop::Stop stop{.abs_tol = 1e-14, .rel_tol = 0, .norm = iterop::Norm::max, .max_iterations = 100};
  const auto sol = q::solve_whole_trajectory(p, grid, iterop::Picard{}, stop);
  ASSERT_TRUE(sol.result.converged());
  const auto& h = sol.windows[0].history;
  // history[k].step = ||Y_k - Y_{k-1}||_max; compare sweep k + 1 with the bound from sweep 1.
  const double LT = 2.0 * 2.0, first = h[1].step;
  double factorial = 1;
  for (std::size_t k = 1; k + 1 < h.size(); ++k) {
    factorial *= static_cast<double>(k);
    const double bound = std::pow(LT, static_cast<double>(k)) / factorial * first;
    EXPECT_LE(h[k + 1].step, bound * (1 + 1e-9) + 1e-15) << "sweep " << k;
  }
  // Super-geometric: the step ratios keep falling.
  ASSERT_GE(h.size(), 8u);
  EXPECT_LT(h[7].step / h[6].step, 0.5 * h[3].step / h[2].step);
}

TEST(WholeTrajectory, BadWindowCount) {
  const auto p = q::reference::N1();
  EXPECT_THROW((void)q::solve_whole_trajectory(p, q::Grid::uniform(1, 8), iterop::Picard{}, iterop::Stop{}, 0),
               iterop::invalid_option);
}
