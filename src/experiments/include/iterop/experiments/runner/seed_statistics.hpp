// Summaries of a measurement repeated over seeds: mean and sample standard deviation.
#pragma once

#include <utility>
#include <vector>

namespace iterop::experiments {

/// Mean and sample standard deviation (divisor n - 1; 0 for a single value); NaN for none.
std::pair<double, double> mean_std(const std::vector<double>& v);

}  // namespace iterop::experiments
