// Tests of the observed-rate estimators on exactly geometric and noisy sequences.
#include "iterop/diagnostics/observed_rate.hpp"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

TEST(ObservedRate, ExactOnGeometricSequence) {
  std::vector<double> r;
  for (int k = 0; k < 20; ++k) r.push_back(3.0 * std::pow(0.7, k));
  EXPECT_NEAR(iterop::observed_rate(r, 5), 0.7, 1e-14);
  EXPECT_NEAR(iterop::fitted_rate(r, 0, r.size()), 0.7, 1e-13);
}

TEST(ObservedRate, WindowAveragesOscillation) {
  // Ratios alternate 0.5 and 0.8: the two-step geometric mean is sqrt(0.4).
  std::vector<double> r{1.0};
  for (int k = 1; k < 20; ++k) r.push_back(r.back() * (k % 2 ? 0.5 : 0.8));
  EXPECT_NEAR(iterop::observed_rate(r, 2), std::sqrt(0.4), 1e-14);
  EXPECT_NEAR(iterop::observed_rate(r, 4), std::sqrt(0.4), 1e-14);
}

TEST(ObservedRate, UndefinedCasesAreNaN) {
  EXPECT_TRUE(std::isnan(iterop::observed_rate(std::vector<double>{1.0}, 5)));
  EXPECT_TRUE(std::isnan(iterop::observed_rate(std::vector<double>{0.0, 1.0}, 5)));
  EXPECT_TRUE(std::isnan(iterop::fitted_rate(std::vector<double>{1.0}, 0, 1)));
}
