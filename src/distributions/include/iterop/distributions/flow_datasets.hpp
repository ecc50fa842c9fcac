// The flow-matching data sets of PROBLEMS.md, sampled reproducibly from a seed: the 2-D sets of
// CaLMFlow and TorchCFM (8 Gaussians, two moons, checkerboard, two spirals) and Gaussian mixtures
// in any dimension (standard normal, "2gaussians", "4blobs").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iterop/distributions/sample_set.hpp"

namespace iterop::distributions {

/// What a data set is and which dimensions it accepts.
struct DatasetInfo {
  std::string name;         ///< the name sample_dataset() takes
  std::string description;  ///< the distribution, with its constants
  bool any_dimension;       ///< false: dimension 2 only
};

/// Every data set, in a fixed order:
///   normal        N(0, I_dim)
///   8gaussians    (dim 2) equal mixture of N(5 (cos k pi/4, sin k pi/4), 0.1 I), k = 0..7
///   moons         (dim 2) two moons of scikit-learn (noise 0.2, angle uniform on [0, pi]), scaled x * 3 - 1
///   checkerboard  (dim 2) uniform on the 8 dark squares of a 4 x 4 board of side 2 on [-4, 4]^2 (FFJORD)
///   spirals       (dim 2) two spirals (FFJORD "2spirals"): arms of 540 degrees, noise 0.1
///   2gaussians    equal mixture of N(+-5 e_1, I_dim)
///   4blobs        equal mixture of N(m e_1, I_dim), m in {-15, -5, 5, 15}
std::vector<DatasetInfo> dataset_catalogue();

/// The names of dataset_catalogue(), in order.
std::vector<std::string> dataset_names();

/// `n` points of data set `name` in dimension `dim`, drawn with std::mt19937_64 seeded by `seed`
/// (the same seed gives the same points with the same standard library). Throws
/// iterop::invalid_option for an unknown name, n == 0, dim == 0, or dim != 2 for a 2-D set.
SampleSet sample_dataset(std::string_view name, std::size_t n, std::size_t dim, std::uint64_t seed);

}  // namespace iterop::distributions
