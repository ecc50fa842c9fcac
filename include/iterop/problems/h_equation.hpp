// Chandrasekhar H-equation (Kelley): G(x)_i = 1 / (1 - (c / 2N) sum_j mu_i x_j / (mu_i + mu_j)),
// mu_i = (i - 1/2) / N. The reference problem for Anderson acceleration (Toth & Kelley 2015).
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "iterop/core/errors.hpp"

namespace iterop::problems {

/// The discretised H-equation as a fixed-point map on R^N; x0 = (1, ..., 1).
/// For 0 < c < 1 the spectral radius of G' at the solution is at most 1 - sqrt(1 - c).
class HEquation {
 public:
  /// c in (0, 1], n >= 1. Throws invalid_option otherwise.
  HEquation(double c, int n) : c_(c), n_(n) {
    require(c > 0 && c <= 1, "HEquation::c", c, "0 < c <= 1");
    require(n >= 1, "HEquation::n", n, "n >= 1");
    const std::size_t N = static_cast<std::size_t>(n);
    rows_ = N;
    A_.resize(N * N);
    std::vector<double> mu(N);
    for (std::size_t i = 0; i < N; ++i) mu[i] = (static_cast<double>(i) + 0.5) / n;
    const double scale = c / (2.0 * n);
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t j = 0; j < N; ++j) A_[i * N + j] = scale * mu[i] / (mu[i] + mu[j]);
  }

  double c() const { return c_; }
  int n() const { return n_; }
  /// Upper bound on the spectral radius of G' at the solution: 1 - sqrt(1 - c).
  double rate_bound() const { return 1.0 - std::sqrt(1.0 - c_); }

  /// y = G(x) for any vector type with size() and operator[] (std::vector, std::array, Eigen).
  template <class X, class Y>
  void operator()(const X& x, Y& y) const {
    const std::size_t N = A_.size() / rows_;
    for (std::size_t i = 0; i < N; ++i) {
      const double* a = &A_[i * N];
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      std::size_t j = 0;
      for (; j + 4 <= N; j += 4) {
        s0 += a[j] * static_cast<double>(x[j]);
        s1 += a[j + 1] * static_cast<double>(x[j + 1]);
        s2 += a[j + 2] * static_cast<double>(x[j + 2]);
        s3 += a[j + 3] * static_cast<double>(x[j + 3]);
      }
      for (; j < N; ++j) s0 += a[j] * static_cast<double>(x[j]);
      y[i] = static_cast<std::decay_t<decltype(y[i])>>(1.0 / (1.0 - ((s0 + s1) + (s2 + s3))));
    }
  }

  /// x0 = (1, ..., 1).
  std::vector<double> initial_guess() const { return std::vector<double>(static_cast<std::size_t>(n_), 1.0); }

 private:
  double c_;
  int n_;
  std::size_t rows_ = 1;
  std::vector<double> A_;  // row-major (c / 2N) mu_i / (mu_i + mu_j)
};

}  // namespace iterop::problems
