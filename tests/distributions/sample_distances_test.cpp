// Sample distances against closed forms: translation, point masses, one-dimensional sorting,
// Gaussians, and the zero distance of identical samples.
#include "iterop/distributions/sample_distances.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"

namespace {

using namespace iterop::distributions;

TEST(SampleDistances, IdenticalSamplesAreAtDistanceZero) {
  const auto a = sample_dataset("moons", 300, 2, 1);
  const auto q = sample_quality(a, a);
  EXPECT_EQ(q.w2, 0.0);
  EXPECT_NEAR(q.mmd2, 0.0, 1e-15);
  EXPECT_NEAR(q.energy, 0.0, 1e-13);
  // Reordering the rows changes nothing: W2 finds the permutation.
  SampleSet b = a;
  std::vector<std::size_t> order(a.rows);
  for (std::size_t i = 0; i < a.rows; ++i) order[i] = (7 * i + 3) % a.rows;  // 7 is coprime to 300
  for (std::size_t i = 0; i < a.rows; ++i)
    for (std::size_t k = 0; k < a.dim; ++k) b(i, k) = a(order[i], k);
  EXPECT_EQ(wasserstein2(a, b), 0.0);
}

TEST(SampleDistances, TranslationMovesW2ByTheShiftExactly) {
  // For b = a + s, W2^2 = |s|^2 + 2 s . (mean(a) - mean(a)) over the identity, and the identity is
  // optimal (cyclical monotonicity of a translation), so W2 = |s|.
  const auto a = sample_dataset("8gaussians", 400, 2, 5);
  SampleSet b = a;
  for (std::size_t i = 0; i < b.rows; ++i) {
    b(i, 0) += 0.3;
    b(i, 1) -= 0.4;
  }
  EXPECT_NEAR(wasserstein2(a, b), 0.5, 1e-12);
}

TEST(SampleDistances, OneDimensionalW2IsTheSortedMatching) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g(0.0, 1.0);
  SampleSet a(500, 1), b(500, 1);
  for (auto& v : a.values) v = g(rng);
  for (auto& v : b.values) v = 2.0 + 3.0 * g(rng);
  std::vector<double> x = a.values, y = b.values;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += (x[i] - y[i]) * (x[i] - y[i]);
  EXPECT_NEAR(wasserstein2(a, b), std::sqrt(s / 500.0), 1e-12);
}

TEST(SampleDistances, PointMassesHaveClosedForms) {
  // a = {x}, b = {y}, |x - y| = d: W2 = d, MMD^2 = 2 - 2 exp(-gamma d^2), energy = 2 d.
  SampleSet a(1, 3, {1.0, 2.0, 3.0}), b(1, 3, {1.0, 5.0, 7.0});
  const double d = 5.0;
  EXPECT_NEAR(wasserstein2(a, b), d, 1e-15);
  EXPECT_NEAR(mmd2_rbf(a, b, 0.1), 2.0 - 2.0 * std::exp(-0.1 * d * d), 1e-15);
  EXPECT_NEAR(energy_distance(a, b), 2.0 * d, 1e-14);
}

TEST(SampleDistances, GaussianW2ApproachesTheClosedForm) {
  // W2(N(m1, I), N(m2, 4 I)) in 2-D: sqrt(|m1 - m2|^2 + 2 (2 - 1)^2) = sqrt(9 + 2). The empirical
  // W2 of n = 1000 samples is biased upwards by sampling noise (an O(n^-1/2) term in 2-D), so it
  // must lie above the exact value but within 0.25 of it.
  const double exact = std::sqrt(9.0 + 2.0);
  std::mt19937_64 rng(2);
  std::normal_distribution<double> g(0.0, 1.0);
  SampleSet a(1000, 2), b(1000, 2);
  for (std::size_t i = 0; i < 1000; ++i) {
    a(i, 0) = g(rng);
    a(i, 1) = g(rng);
    b(i, 0) = 3.0 + 2.0 * g(rng);
    b(i, 1) = 2.0 * g(rng);
  }
  const double w2 = wasserstein2(a, b);
  EXPECT_GT(w2, exact - 0.05);
  EXPECT_LT(w2, exact + 0.25);
}

TEST(SampleDistances, ScoresTheRightDataSetAsCloser) {
  const auto target = sample_dataset("moons", 500, 2, 1);
  const auto same = sample_dataset("moons", 500, 2, 2);
  const auto other = sample_dataset("8gaussians", 500, 2, 3);
  const auto near = sample_quality(same, target);
  const auto far = sample_quality(other, target);
  EXPECT_LT(near.w2, far.w2);
  EXPECT_LT(near.mmd2, far.mmd2);
  EXPECT_LT(near.energy, far.energy);
  EXPECT_LT(near.w2, 0.5);  // two moon samples of 500 differ by about 0.35-0.45
}

TEST(SampleDistances, NonFiniteSamplesGiveNaNNotAThrow) {
  SampleSet a(2, 1, {0.0, std::nan("")}), b(2, 1, {0.0, 1.0});
  EXPECT_TRUE(std::isnan(wasserstein2(a, b)));
  EXPECT_TRUE(std::isnan(mmd2_rbf(a, b, 2.0)));
  EXPECT_TRUE(std::isnan(energy_distance(a, b)));
  EXPECT_TRUE(std::isnan(sample_quality(a, b).w2));
}

TEST(SampleDistances, RejectsMismatchedSamplesAndBadGamma) {
  SampleSet a(3, 2), b(4, 2), c(3, 1);
  EXPECT_THROW(wasserstein2(a, b), iterop::invalid_option);
  EXPECT_THROW(wasserstein2(a, c), iterop::invalid_option);
  EXPECT_NO_THROW(mmd2_rbf(a, b, 1.0));  // MMD takes different sizes
  try {
    mmd2_rbf(a, b, -1.0);
    FAIL() << "no throw";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("gamma = -1"), std::string::npos) << e.what();
  }
}

}  // namespace
