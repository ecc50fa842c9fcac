// Spectral radius of the Jacobian T'(x) by power iteration on finite-difference Jacobian-vector
// products: the asymptotic Picard rate at a fixed point (local Banach theorem).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "iterop/core/concepts.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/core/vector_algebra.hpp"

namespace iterop {

/// Options of the power iteration.
struct PowerIteration {
  int max_iterations = 200;   ///< >= 1
  double rel_tol = 1e-6;      ///< stop when the windowed estimate changes by less than this, > 0
  int window = 4;             ///< geometric mean over this many ratios (complex pairs rotate), >= 1
  bool central = true;        ///< central differences (2 evaluations per product) or forward (1)
  double fd_step = 0;         ///< finite-difference step h; 0 chooses eps^(1/3) (central) or eps^(1/2) times max(1, ||x||)
  std::uint64_t seed = 1;     ///< start vector (contiguous types: seeded Gaussian; others: T(x) - x)

  void validate() const {
    require(max_iterations >= 1, "PowerIteration::max_iterations", max_iterations, "max_iterations >= 1");
    require(rel_tol > 0, "PowerIteration::rel_tol", rel_tol, "rel_tol > 0");
    require(window >= 1, "PowerIteration::window", window, "window >= 1");
    require(fd_step >= 0, "PowerIteration::fd_step", fd_step, "fd_step >= 0");
  }
};

/// An estimate of rho(T'(x)); `value` is estimated, never certified.
struct SpectralRadiusEstimate {
  double value = std::numeric_limits<double>::quiet_NaN();
  int iterations = 0;
  long evaluations = 0;
  bool converged = false;
  std::vector<double> ratios;  ///< ||J u_i|| for unit u_i
};

/// Power iteration for the spectral radius of T'(x), J v by finite differences of T.
template <State X, class Op>
  requires Operator<Op, X>
SpectralRadiusEstimate spectral_radius(Op& op, const X& x, const PowerIteration& opt = {}) {
  using T = scalar_t<X>;
  opt.validate();
  SpectralRadiusEstimate est;
  std::vector<X> work(6, ops::zeros_like(x));
  X& tx = work[0];
  X& v = work[1];
  X& xp = work[2];
  X& tp = work[3];
  X& tm = work[4];
  X& jv = work[5];
  apply_operator(op, x, tx);
  ++est.evaluations;
  if constexpr (requires { vector_ops<X>::ptr(v); }) {
    std::mt19937_64 rng(opt.seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    T* p = vector_ops<X>::ptr(v);
    for (std::size_t i = 0; i < ops::size(v); ++i) p[i] = T(normal(rng));
  } else {
    ops::linear_sum(T(1), tx, T(-1), x, v);
  }
  double vn = static_cast<double>(ops::norm2(v));
  require(vn > 0, "spectral_radius start vector norm", vn, "a nonzero start vector (T(x) != x for this type)");
  ops::axpby(T(1 / vn), v, T(0), v);
  const double xnorm = static_cast<double>(ops::norm2(x));
  const double eps = static_cast<double>(std::numeric_limits<T>::epsilon());
  const double h = opt.fd_step > 0 ? opt.fd_step
                                   : (opt.central ? std::cbrt(eps) : std::sqrt(eps)) * std::max(1.0, xnorm);
  double previous = std::numeric_limits<double>::quiet_NaN();
  for (int it = 0; it < opt.max_iterations; ++it) {
    ops::linear_sum(T(1), x, T(h), v, xp);
    apply_operator(op, xp, tp);
    ++est.evaluations;
    if (opt.central) {
      ops::linear_sum(T(1), x, T(-h), v, xp);
      apply_operator(op, xp, tm);
      ++est.evaluations;
      ops::linear_sum(T(1 / (2 * h)), tp, T(-1 / (2 * h)), tm, jv);
    } else {
      ops::linear_sum(T(1 / h), tp, T(-1 / h), tx, jv);
    }
    const double ratio = static_cast<double>(ops::norm2(jv));
    est.ratios.push_back(ratio);
    est.iterations = it + 1;
    if (!std::isfinite(ratio)) break;
    const int w = std::min<int>(opt.window, static_cast<int>(est.ratios.size()));
    double logsum = 0;
    for (int i = 0; i < w; ++i) logsum += std::log(std::max(est.ratios[est.ratios.size() - 1 - i], 1e-300));
    est.value = std::exp(logsum / w);
    if (ratio == 0) {
      est.value = 0;
      est.converged = true;
      break;
    }
    if (static_cast<int>(est.ratios.size()) > opt.window && std::abs(est.value - previous) <= opt.rel_tol * est.value) {
      est.converged = true;
      break;
    }
    previous = est.value;
    ops::axpby(T(1 / ratio), jv, T(0), v);
  }
  return est;
}

}  // namespace iterop
