// Sample moments and the moment-matched Gaussian: exact moments of a small sample, the Gaussian's
// moments converge to the reference's, a singular covariance stays on its subspace, bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/distributions/sample_moments.hpp"

using namespace iterop::distributions;

TEST(SampleMoments, ExactOnASmallSample) {
  const SampleSet s(3, 2, {0, 0, 2, 1, 4, 5});
  const auto m = sample_moments(s);
  EXPECT_DOUBLE_EQ(m.mean[0], 2.0);
  EXPECT_DOUBLE_EQ(m.mean[1], 2.0);
  EXPECT_DOUBLE_EQ(m.covariance[0], 4.0);        // ((-2)^2 + 0 + 2^2) / 2
  EXPECT_DOUBLE_EQ(m.covariance[1], 5.0);        // ((-2)(-2) + 0 (-1) + 2 3) / 2
  EXPECT_DOUBLE_EQ(m.covariance[2], 5.0);
  EXPECT_DOUBLE_EQ(m.covariance[3], 7.0);        // (4 + 1 + 9) / 2
  EXPECT_DOUBLE_EQ(m.trace(), 11.0);
}

TEST(SampleMoments, MomentMatchedGaussianHasTheReferenceMoments) {
  const auto moons = sample_dataset("moons", 4000, 2, 3);
  const auto g = moment_matched_gaussian(moons, 20000, 9);
  const auto gap = moment_gap(g, moons);
  EXPECT_LT(gap.mean_distance, 0.05);
  EXPECT_LT(gap.covariance_relative, 0.05);
  EXPECT_NEAR(gap.trace_ratio, 1.0, 0.05);
  // Seeded: the same seed gives the same points, another seed others.
  EXPECT_EQ(moment_matched_gaussian(moons, 10, 9).values, moment_matched_gaussian(moons, 10, 9).values);
  EXPECT_NE(moment_matched_gaussian(moons, 10, 9).values, moment_matched_gaussian(moons, 10, 10).values);
}

TEST(SampleMoments, SingularCovarianceStaysOnItsSubspace) {
  const auto line = sample_dataset("normal", 500, 1, 2);
  SampleSet padded(line.rows, 6);  // on the first axis only
  for (std::size_t i = 0; i < line.rows; ++i) padded(i, 0) = line(i, 0);
  const auto g = moment_matched_gaussian(padded, 200, 1);
  for (std::size_t i = 0; i < g.rows; ++i)
    for (std::size_t c = 1; c < g.dim; ++c) EXPECT_NEAR(g(i, c), 0.0, 1e-9);
}

TEST(SampleMoments, BadInputIsNamed) {
  EXPECT_THROW((void)sample_moments(SampleSet(1, 2)), iterop::invalid_option);
  SampleSet s(3, 1, {0, NAN, 1});
  EXPECT_THROW((void)sample_moments(s), iterop::invalid_option);
  EXPECT_THROW((void)moment_gap(SampleSet(3, 1), SampleSet(3, 2)), iterop::invalid_option);
}
