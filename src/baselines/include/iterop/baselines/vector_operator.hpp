// VectorOperator: the plain-data operator type the compiled baselines take (y = T(x) on spans),
// so that callers never see SUNDIALS or Ceres headers.
#pragma once

#include <functional>
#include <span>

namespace iterop::baselines {

/// y = T(x) on contiguous double arrays of equal size. Must not throw across a backend boundary
/// unless documented by the solver taking it.
using VectorOperator = std::function<void(std::span<const double> x, std::span<double> y)>;

}  // namespace iterop::baselines
