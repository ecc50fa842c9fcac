// SampleSet: construction check and finiteness.
#include "iterop/distributions/sample_set.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "iterop/core/errors.hpp"

namespace iterop::distributions {

SampleSet::SampleSet(std::size_t r, std::size_t d, std::vector<double> v) : rows(r), dim(d), values(std::move(v)) {
  require(values.size() == r * d, "SampleSet::values.size()", values.size(),
          "values.size() == rows * dim = " + std::to_string(r * d));
}

bool SampleSet::all_finite() const {
  return std::all_of(values.begin(), values.end(), [](double x) { return std::isfinite(x); });
}

}  // namespace iterop::distributions
