// First and second moments of a sample, and the trivial generative baseline they define: a
// Gaussian with the sample's mean and covariance. A generative model that does not beat this
// moment-matched Gaussian (by W2 / MMD / energy distance) has not learned the shape of its target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "iterop/distributions/sample_set.hpp"

namespace iterop::distributions {

/// Mean and unbiased covariance (divisor rows - 1) of a sample.
struct SampleMoments {
  std::vector<double> mean;        ///< size dim
  std::vector<double> covariance;  ///< dim x dim, row-major
  /// trace of the covariance: the total variance.
  double trace() const;
};

/// The moments of `s`; throws iterop::invalid_option unless s.rows >= 2 and every value is finite.
SampleMoments sample_moments(const SampleSet& s);

/// n points of N(mean, covariance) of `reference`, drawn with std::mt19937_64 seeded by `seed` and
/// the covariance's symmetric square root (eigen-decomposition; tiny negative eigenvalues of a
/// singular covariance clamped to 0, so data on a subspace gives points on that subspace).
SampleSet moment_matched_gaussian(const SampleSet& reference, std::size_t n, std::uint64_t seed);

/// How two samples' moments differ: ||mean_a - mean_b||_2, and ||cov_a - cov_b||_F / ||cov_b||_F
/// (relative to b, the reference; 0 / 0 = 0).
struct MomentGap {
  double mean_distance = 0;
  double covariance_relative = 0;
  double trace_ratio = 0;  ///< trace(cov_a) / trace(cov_b) (1 = the same total variance)
};
MomentGap moment_gap(const SampleSet& a, const SampleSet& reference);

}  // namespace iterop::distributions
