// Tests of the power-iteration spectral radius of T'(x) with finite-difference Jacobian-vector
// products: exact on linear maps, and below 1 - sqrt(1 - c) for the H-equation at its solution.
#include "iterop/diagnostics/spectral_radius.hpp"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/elementary_maps.hpp"
#include "iterop/problems/h_equation.hpp"
#include "iterop/problems/linear_map.hpp"

namespace {

using V = std::vector<double>;

TEST(SpectralRadius, LinearMapWithinOnePercent) {
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(-0.3, 0.8, 12), 5);
  const auto est = iterop::spectral_radius(G, V(12, 0.3));
  EXPECT_TRUE(est.converged);
  EXPECT_NEAR(est.value, 0.8, 0.008);
}

TEST(SpectralRadius, NegativeDominantEigenvalue) {
  const iterop::problems::LinearMap G({-0.9, 0.2, 0.5, 0.1}, 8);
  const auto est = iterop::spectral_radius(G, V(4, 0.0), iterop::PowerIteration{.central = false});
  EXPECT_NEAR(est.value, 0.9, 0.009);
}

TEST(SpectralRadius, RotationHasRadiusOne) {
  iterop::problems::Rotation rot;
  const auto est = iterop::spectral_radius(rot, V{0.3, 0.1});
  EXPECT_NEAR(est.value, 1.0, 1e-6);
}

TEST(SpectralRadius, HEquationAtSolutionBelowBound) {
  const iterop::problems::HEquation heq(0.99, 256);
  const auto sol = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 5},
                                 iterop::Stop{.abs_tol = 1e-13, .rel_tol = 0});
  ASSERT_TRUE(sol.converged());
  const auto est = iterop::spectral_radius(heq, sol.solution, iterop::PowerIteration{.max_iterations = 400});
  EXPECT_LE(est.value, heq.rate_bound() + 1e-3);
  EXPECT_GT(est.value, 0.5);  // 1 - sqrt(0.01) = 0.9: the bound is nearly attained
}

TEST(SpectralRadius, InvalidOptions) {
  EXPECT_THROW(iterop::PowerIteration{.max_iterations = 0}.validate(), iterop::invalid_option);
  EXPECT_THROW(iterop::PowerIteration{.rel_tol = 0}.validate(), iterop::invalid_option);
}

}  // namespace
