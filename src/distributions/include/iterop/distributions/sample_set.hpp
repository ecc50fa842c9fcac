// A sample of `rows` points in R^dim, stored row-major: the plain data that generative models,
// data sets and sample distances exchange.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace iterop::distributions {

/// `rows` points of dimension `dim`; point i is values[i * dim, (i + 1) * dim).
struct SampleSet {
  std::size_t rows = 0;        ///< number of points
  std::size_t dim = 0;         ///< dimension of each point
  std::vector<double> values;  ///< row-major, size rows * dim

  SampleSet() = default;
  /// `rows` x `dim` zeros.
  SampleSet(std::size_t r, std::size_t d) : rows(r), dim(d), values(r * d, 0.0) {}
  /// Takes `v` as the row-major data; throws iterop::invalid_option unless v.size() == r * d.
  SampleSet(std::size_t r, std::size_t d, std::vector<double> v);

  double operator()(std::size_t i, std::size_t j) const { return values[i * dim + j]; }
  double& operator()(std::size_t i, std::size_t j) { return values[i * dim + j]; }
  std::span<const double> row(std::size_t i) const { return {values.data() + i * dim, dim}; }
  std::span<double> row(std::size_t i) { return {values.data() + i * dim, dim}; }

  /// Whether every value is finite (no NaN, no infinity).
  bool all_finite() const;
};

}  // namespace iterop::distributions
