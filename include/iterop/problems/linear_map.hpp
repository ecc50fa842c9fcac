// Linear fixed-point problem with a chosen spectrum: G(x) = M x + b, M = Q diag(lambda) Q^T,
// Q a seeded random orthogonal matrix. x* = (I - M)^-1 b exactly; Picard's rate is max |lambda|.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "iterop/core/errors.hpp"

namespace iterop::problems {

/// G(x) = M x + b with symmetric M = Q diag(lambda) Q^T (real spectrum lambda, each != 1).
class LinearMap {
 public:
  /// Spectrum `lambda` (size n >= 1, every entry != 1), b with entries N(0, 1); both from `seed`.
  LinearMap(std::vector<double> lambda, std::uint64_t seed) : lambda_(std::move(lambda)) {
    const std::size_t n = lambda_.size();
    require(n >= 1, "LinearMap::spectrum size", n, "size >= 1");
    for (double l : lambda_) require(l != 1.0 && std::isfinite(l), "LinearMap::spectrum entry", l, "finite and != 1");
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    // Q from modified Gram-Schmidt (twice) of a Gaussian matrix; columns stored row-major as Q[i*n + j].
    Q_.assign(n * n, 0.0);
    for (auto& q : Q_) q = normal(rng);
    for (std::size_t j = 0; j < n; ++j) {
      for (int pass = 0; pass < 2; ++pass)
        for (std::size_t l = 0; l < j; ++l) {
          double d = 0;
          for (std::size_t i = 0; i < n; ++i) d += Q_[i * n + j] * Q_[i * n + l];
          for (std::size_t i = 0; i < n; ++i) Q_[i * n + j] -= d * Q_[i * n + l];
        }
      double nr = 0;
      for (std::size_t i = 0; i < n; ++i) nr += Q_[i * n + j] * Q_[i * n + j];
      nr = std::sqrt(nr);
      for (std::size_t i = 0; i < n; ++i) Q_[i * n + j] /= nr;
    }
    M_.assign(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = 0; k < n; ++k) {
        double s = 0;
        for (std::size_t j = 0; j < n; ++j) s += Q_[i * n + j] * lambda_[j] * Q_[k * n + j];
        M_[i * n + k] = s;
      }
    b_.resize(n);
    for (auto& v : b_) v = normal(rng);
    // x* = Q diag(1 / (1 - lambda)) Q^T b.
    std::vector<double> qtb(n, 0.0);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) qtb[j] += Q_[i * n + j] * b_[i];
    solution_.assign(n, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) solution_[i] += Q_[i * n + j] * qtb[j] / (1.0 - lambda_[j]);
  }

  /// lambda_i evenly spaced in [lo, hi] (n >= 1).
  static std::vector<double> spaced_spectrum(double lo, double hi, int n) {
    require(n >= 1, "LinearMap::n", n, "n >= 1");
    std::vector<double> l(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) l[static_cast<std::size_t>(i)] = n == 1 ? hi : lo + (hi - lo) * i / (n - 1);
    return l;
  }

  std::size_t size() const { return lambda_.size(); }
  /// Spectral radius of M: Picard's asymptotic rate, and its Lipschitz constant (M symmetric).
  double spectral_radius() const {
    double r = 0;
    for (double l : lambda_) r = std::max(r, std::abs(l));
    return r;
  }
  const std::vector<double>& spectrum() const { return lambda_; }
  const std::vector<double>& solution() const { return solution_; }
  const std::vector<double>& matrix() const { return M_; }  ///< row-major
  const std::vector<double>& offset() const { return b_; }

  /// y = M x + b for any vector type with size() and operator[].
  template <class X, class Y>
  void operator()(const X& x, Y& y) const {
    const std::size_t n = lambda_.size();
    for (std::size_t i = 0; i < n; ++i) {
      double s = b_[i];
      for (std::size_t k = 0; k < n; ++k) s += M_[i * n + k] * static_cast<double>(x[k]);
      y[i] = static_cast<std::decay_t<decltype(y[i])>>(s);
    }
  }

 private:
  std::vector<double> lambda_, Q_, M_, b_, solution_;
};

}  // namespace iterop::problems
