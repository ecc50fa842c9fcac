// Distances between two samples: the exact 2-Wasserstein distance on equal-size samples (optimal
// assignment), the RBF-kernel MMD and the energy distance (both biased V-statistics).
#pragma once

#include <cstddef>
#include <vector>

#include "iterop/distributions/sample_set.hpp"

namespace iterop::distributions {

/// ||a_i - b_j||^2 for all pairs, row-major a.rows x b.rows, from differences (not the norm
/// expansion, so nearby points keep their digits). Throws for different dimensions.
std::vector<double> pairwise_squared_distances(const SampleSet& a, const SampleSet& b);

/// Exact 2-Wasserstein distance between the empirical measures of two samples of equal size n:
/// sqrt( min over permutations pi of (1/n) sum_i ||a_i - b_pi(i)||^2 ). Not entropic, not Sinkhorn.
/// Throws iterop::invalid_option for different sizes or dimensions; NaN if a value is not finite.
double wasserstein2(const SampleSet& a, const SampleSet& b);

/// Squared maximum mean discrepancy with k(x, y) = exp(-gamma ||x - y||^2), biased (V-statistic):
/// mean k(a_i, a_j) + mean k(b_i, b_j) - 2 mean k(a_i, b_j). Sizes may differ; dimensions may not.
/// Throws for gamma <= 0 or different dimensions; NaN if a value is not finite.
double mmd2_rbf(const SampleSet& a, const SampleSet& b, double gamma);

/// Energy distance 2 E||X - Y|| - E||X - X'|| - E||Y - Y'|| over all pairs (V-statistic, so the
/// i = j pairs count with distance 0). Non-negative; 0 for identical samples.
double energy_distance(const SampleSet& a, const SampleSet& b);

/// The three distances of a generated sample to a target sample, with what they were computed on.
struct SampleQuality {
  std::size_t n = 0;      ///< sample size (both samples)
  std::size_t dim = 0;    ///< dimension
  double w2 = 0;          ///< exact 2-Wasserstein
  double mmd2 = 0;        ///< squared RBF MMD with `gamma` (V-statistic)
  double energy = 0;      ///< energy distance (V-statistic)
  double gamma = 0;       ///< the RBF kernel's gamma
};

/// All three distances from one pass over the pairwise distances (equal sizes required, for W2).
SampleQuality sample_quality(const SampleSet& generated, const SampleSet& target, double gamma = 2.0);

}  // namespace iterop::distributions
