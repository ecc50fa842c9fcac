// A vector type that provides only the required members of vector_ops (size, zeros_like, axpby,
// dot), so tests exercise every generic fallback of iterop::ops.
#pragma once

#include <cstddef>
#include <vector>

#include "iterop/core/vector_ops.hpp"

namespace iterop::testing {

/// Wraps std::vector<double> but exposes no data() to iterop: only the four required operations.
struct MinimalState {
  std::vector<double> v;
  std::size_t size() const { return v.size(); }
  double& operator[](std::size_t i) { return v[i]; }
  double operator[](std::size_t i) const { return v[i]; }
};

}  // namespace iterop::testing

template <>
struct iterop::vector_ops<iterop::testing::MinimalState> {
  using X = iterop::testing::MinimalState;
  using scalar = double;
  static std::size_t size(const X& x) { return x.v.size(); }
  static X zeros_like(const X& x) { return X{std::vector<double>(x.v.size(), 0.0)}; }
  static void axpby(double a, const X& x, double b, X& y) {
    for (std::size_t i = 0; i < x.v.size(); ++i) y.v[i] = (b == 0 ? a * x.v[i] : a * x.v[i] + b * y.v[i]);
  }
  static double dot(const X& x, const X& y) {
    double s = 0;
    for (std::size_t i = 0; i < x.v.size(); ++i) s += x.v[i] * y.v[i];
    return s;
  }
};
