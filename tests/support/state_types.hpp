// The vector types the typed tests run over, and helpers to build them from std::vector<double>.
// Eigen types are added when the tests are built with iterop::eigen.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include <gtest/gtest.h>

#include "minimal_state.hpp"
#ifdef ITEROP_TEST_WITH_EIGEN
#include "iterop/core/eigen_vector_ops.hpp"
#endif

namespace iterop::testing {

/// Builds a state of type X with the given entries (X's size must match for fixed-size types).
template <class X>
X make_state(const std::vector<double>& v) {
  X x{};
  if constexpr (requires { x.resize(v.size()); }) x.resize(v.size());
  if constexpr (requires { x.v; }) x.v.resize(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) x[i] = static_cast<std::decay_t<decltype(x[i])>>(v[i]);
  return x;
}

/// Entry i as double.
template <class X>
double entry(const X& x, std::size_t i) {
  return static_cast<double>(x[i]);
}

using StateTypes = ::testing::Types<std::vector<double>, std::vector<float>, std::vector<long double>,
                                    std::array<double, 6>, MinimalState
#ifdef ITEROP_TEST_WITH_EIGEN
                                    , Eigen::VectorXd, Eigen::Matrix<double, 6, 1>
#endif
                                    >;

}  // namespace iterop::testing
