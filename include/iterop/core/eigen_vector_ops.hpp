// Opt-in adapter: Eigen column vectors (Eigen::VectorXd, VectorXf, Matrix<long double, N, 1>, ...)
// as iterop States. Include this header and link iterop::eigen; the rest of the core needs no Eigen.
#pragma once

#include <Eigen/Core>

#include "iterop/core/vector_ops.hpp"

namespace iterop {

/// Eigen column vectors with a floating-point scalar, dynamic or fixed size.
template <std::floating_point T, int Rows, int Options, int MaxRows>
struct vector_ops<Eigen::Matrix<T, Rows, 1, Options, MaxRows, 1>>
    : contiguous_vector_ops<Eigen::Matrix<T, Rows, 1, Options, MaxRows, 1>, T> {
  using X = Eigen::Matrix<T, Rows, 1, Options, MaxRows, 1>;
  static X zeros_like(const X& x) { return X::Zero(x.size()); }
};

}  // namespace iterop
