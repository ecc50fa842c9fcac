// Tests of the reference problems: the linear map's stated solution is its fixed point, the
// H-equation rejects bad parameters, the elementary maps do what PROBLEMS.md says.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/problems/elementary_maps.hpp"
#include "iterop/problems/h_equation.hpp"
#include "iterop/problems/linear_map.hpp"

using V = std::vector<double>;

TEST(LinearMapProblem, StatedSolutionIsFixedPointAndSpectrumIsRight) {
  const iterop::problems::LinearMap G({0.3, -0.6, 0.9, 0.0}, 17);
  V y(4);
  G(G.solution(), y);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], G.solution()[i], 1e-13);
  EXPECT_DOUBLE_EQ(G.spectral_radius(), 0.9);
  // trace(M) = sum of the eigenvalues.
  double tr = 0;
  for (int i = 0; i < 4; ++i) tr += G.matrix()[i * 4 + i];
  EXPECT_NEAR(tr, 0.6, 1e-13);
  EXPECT_THROW(iterop::problems::LinearMap({1.0}, 1), iterop::invalid_option);
}

TEST(HEquationProblem, ParametersValidated) {
  EXPECT_THROW(iterop::problems::HEquation(0.0, 10), iterop::invalid_option);
  EXPECT_THROW(iterop::problems::HEquation(1.5, 10), iterop::invalid_option);
  EXPECT_THROW(iterop::problems::HEquation(0.5, 0), iterop::invalid_option);
  try {
    iterop::problems::HEquation(2.0, 10);
  } catch (const iterop::invalid_option& e) {
    EXPECT_STREQ(e.what(), "HEquation::c = 2. Violated constraint: 0 < c <= 1.");
  }
  const iterop::problems::HEquation h(0.5, 4);
  V y(4);
  h(h.initial_guess(), y);
  // G(1)_i = 1 / (1 - (c / 2N) sum_j mu_i / (mu_i + mu_j)) > 1.
  for (double v : y) EXPECT_GT(v, 1.0);
  EXPECT_NEAR(h.rate_bound(), 1 - std::sqrt(0.5), 1e-15);
}

TEST(ElementaryMaps, BehaveAsDocumented) {
  V y(2);
  iterop::problems::Rotation{}(V{1, 0}, y);
  EXPECT_EQ(y, (V{0, 1}));
  iterop::problems::Expanding{}(V{1, 2}, y);
  EXPECT_EQ(y, (V{3, 5}));
  V z(1);
  iterop::problems::SqrtMinusOne{}(V{-1.0}, z);
  EXPECT_TRUE(std::isnan(z[0]));
}
