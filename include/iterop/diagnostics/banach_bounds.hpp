// Banach fixed-point bounds for a contraction with factor q: a-priori and a-posteriori error
// bounds and the a-priori iteration count. "certified" only when q comes from a stated bound.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "iterop/core/errors.hpp"

namespace iterop {

/// Where a contraction factor comes from.
enum class FactorSource {
  certified,  ///< a proven bound (e.g. ||W||_2, alpha + (1 - alpha) q, 1 - sqrt(1 - c) asymptotically)
  estimated,  ///< measured (observed rate, Lipschitz lower bound, power iteration): not a proof
};

/// A contraction factor q with its provenance.
struct ContractionFactor {
  double q = 1.0;
  FactorSource source = FactorSource::estimated;
  std::string basis;  ///< what q rests on, in words

  static ContractionFactor certified(double q, std::string basis) {
    return {q, FactorSource::certified, std::move(basis)};
  }
  static ContractionFactor estimated(double q, std::string basis) {
    return {q, FactorSource::estimated, std::move(basis)};
  }
  void validate() const {
    require(q >= 0 && !std::isnan(q), "ContractionFactor::q", q, "q >= 0");
  }
  bool contractive() const { return q < 1; }
};

/// An error bound and whether it is certified (holds whenever the factor's basis holds).
struct ErrorBound {
  double value = std::numeric_limits<double>::infinity();
  bool certified = false;
  std::string statement;  ///< the formula evaluated, with the factor's basis
};

namespace detail {
inline ErrorBound make_bound(const ContractionFactor& q, double value, const std::string& formula) {
  q.validate();
  ErrorBound b;
  if (!q.contractive()) {
    b.statement = formula + ": no bound, q = " + format_value(q.q) + " >= 1 (" + q.basis + ")";
    return b;
  }
  b.value = value;
  b.certified = q.source == FactorSource::certified;
  b.statement = formula + " with q = " + format_value(q.q) + (b.certified ? " (certified: " : " (estimated: ") +
                q.basis + ")";
  return b;
}
}  // namespace detail

/// A priori: ||x_k - x*|| <= q^k / (1 - q) ||x_1 - x_0||.
inline ErrorBound a_priori_bound(const ContractionFactor& q, int k, double first_step) {
  require(k >= 0, "a_priori_bound k", k, "k >= 0");
  require(first_step >= 0, "a_priori_bound first_step", first_step, "first_step >= 0");
  return detail::make_bound(q, std::pow(q.q, k) / (1 - q.q) * first_step, "q^k / (1 - q) ||x_1 - x_0||");
}

/// A posteriori: ||x_k - x*|| <= q / (1 - q) ||x_k - x_{k-1}||.
inline ErrorBound a_posteriori_bound(const ContractionFactor& q, double last_step) {
  require(last_step >= 0, "a_posteriori_bound last_step", last_step, "last_step >= 0");
  return detail::make_bound(q, q.q / (1 - q.q) * last_step, "q / (1 - q) ||x_k - x_{k-1}||");
}

/// For any x: ||T(x) - x|| / (1 + q) <= ||x - x*|| <= ||T(x) - x|| / (1 - q). Returns the upper bound.
inline ErrorBound residual_error_bound(const ContractionFactor& q, double residual) {
  require(residual >= 0, "residual_error_bound residual", residual, "residual >= 0");
  return detail::make_bound(q, residual / (1 - q.q), "||T(x) - x|| / (1 - q)");
}

/// The matching lower bound ||T(x) - x|| / (1 + q) (valid for any Lipschitz factor q).
inline double residual_error_lower_bound(double q, double residual) { return residual / (1 + q); }

/// Iterations the a-priori bound needs for tolerance tol: the least k >= 0 with
/// q^k / (1 - q) ||x_1 - x_0|| <= tol, i.e. k >= ln(tol (1 - q) / ||x_1 - x_0||) / ln q.
/// Returns -1 when q >= 1 (no bound).
inline int a_priori_iterations(const ContractionFactor& q, double first_step, double tol) {
  q.validate();
  require(tol > 0, "a_priori_iterations tol", tol, "tol > 0");
  require(first_step >= 0, "a_priori_iterations first_step", first_step, "first_step >= 0");
  if (!q.contractive()) return -1;
  if (first_step <= tol * (1 - q.q)) return 0;
  if (q.q == 0) return 1;
  const double k = std::log(tol * (1 - q.q) / first_step) / std::log(q.q);
  int kk = static_cast<int>(std::ceil(k));
  // Guard the rounding of ceil at an exact integer.
  while (kk > 0 && std::pow(q.q, kk - 1) / (1 - q.q) * first_step <= tol) --kk;
  while (std::pow(q.q, kk) / (1 - q.q) * first_step > tol) ++kk;
  return kk;
}

}  // namespace iterop
