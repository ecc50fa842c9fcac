// The flow-matching data sets: reproducible from a seed, with the moments and supports their
// definitions give.
#include "iterop/distributions/flow_datasets.hpp"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "iterop/core/errors.hpp"

namespace {

using namespace iterop::distributions;

std::vector<double> column_mean(const SampleSet& s) {
  std::vector<double> m(s.dim, 0.0);
  for (std::size_t i = 0; i < s.rows; ++i)
    for (std::size_t k = 0; k < s.dim; ++k) m[k] += s(i, k) / static_cast<double>(s.rows);
  return m;
}

TEST(FlowDatasets, SameSeedSameSampleOtherSeedOtherSample) {
  for (const auto& name : dataset_names()) {
    const auto a = sample_dataset(name, 50, 2, 9);
    const auto b = sample_dataset(name, 50, 2, 9);
    const auto c = sample_dataset(name, 50, 2, 10);
    EXPECT_EQ(a.values, b.values) << name;
    EXPECT_NE(a.values, c.values) << name;
    EXPECT_TRUE(a.all_finite()) << name;
  }
}

TEST(FlowDatasets, EightGaussiansSitOnTheRadiusFiveCircle) {
  const auto s = sample_dataset("8gaussians", 4000, 2, 1);
  double mean_radius = 0;
  for (std::size_t i = 0; i < s.rows; ++i) mean_radius += std::hypot(s(i, 0), s(i, 1)) / 4000.0;
  EXPECT_NEAR(mean_radius, 5.0, 0.05);
  const auto m = column_mean(s);
  EXPECT_NEAR(m[0], 0.0, 0.2);
  EXPECT_NEAR(m[1], 0.0, 0.2);
}

TEST(FlowDatasets, FourBlobsHaveTheirMeansOnTheFirstAxisOnly) {
  const std::size_t n = 20000, dim = 10;
  const auto s = sample_dataset("4blobs", n, dim, 3);
  const auto m = column_mean(s);
  EXPECT_NEAR(m[0], 0.0, 0.3);  // equal weights on -15, -5, 5, 15
  double second_moment = 0;
  for (std::size_t i = 0; i < n; ++i) second_moment += s(i, 0) * s(i, 0) / static_cast<double>(n);
  EXPECT_NEAR(second_moment, (225.0 + 25.0) / 2.0 + 1.0, 3.0);
  for (std::size_t k = 1; k < dim; ++k) EXPECT_NEAR(m[k], 0.0, 0.05) << k;
}

TEST(FlowDatasets, CheckerboardLiesOnDarkSquares) {
  const auto s = sample_dataset("checkerboard", 2000, 2, 4);
  for (std::size_t i = 0; i < s.rows; ++i) {
    const double x = s(i, 0), y = s(i, 1);
    ASSERT_GE(x, -4.0);
    ASSERT_LT(x, 4.0);
    ASSERT_GE(y, -4.0);
    ASSERT_LT(y, 4.0);
    const long cx = static_cast<long>(std::floor(x / 2.0)), cy = static_cast<long>(std::floor(y / 2.0));
    EXPECT_EQ(((cx + cy) % 2 + 2) % 2, 0) << "point (" << x << ", " << y << ") on a light square";
  }
}

TEST(FlowDatasets, BadRequestsNameTheField) {
  try {
    sample_dataset("moon", 10, 2, 0);
    FAIL() << "no throw";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("dataset = moon"), std::string::npos) << e.what();
  }
  try {
    sample_dataset("moons", 10, 3, 0);
    FAIL() << "no throw";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("dimension = 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sample_dataset("normal", 0, 2, 0), iterop::invalid_option);
}

}  // namespace
