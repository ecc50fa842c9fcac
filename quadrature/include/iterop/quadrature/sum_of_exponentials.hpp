// Sum-of-exponentials (SOE) kernels k(tau) = sum_l c_l exp(-lambda_l tau): an exact online history
// by l scalar recursions per component, and an SOE fit of tau^(-a) on [delta, T] to a relative tolerance.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/detail/soe_gauss_rule.hpp"

namespace iterop::quadrature {

/// k(tau) = sum_l weights[l] exp(-rates[l] tau). rates >= 0 (decaying or constant terms), finite.
struct SumOfExponentials {
  std::vector<double> weights;  ///< c_l, finite
  std::vector<double> rates;    ///< lambda_l >= 0, finite

  /// Number of terms.
  std::size_t size() const noexcept { return rates.size(); }

  /// Throws invalid_option naming the field, the value and the rule.
  void validate() const {
    require(weights.size() == rates.size(), "SumOfExponentials::weights.size()", weights.size(),
            "weights.size() == rates.size() = " + std::to_string(rates.size()));
    require(!rates.empty(), "SumOfExponentials::rates.size()", rates.size(), "at least one term");
    for (std::size_t l = 0; l < rates.size(); ++l) {
      if (!std::isfinite(weights[l]))  // messages are built only on failure
        require(false, "SumOfExponentials::weights[" + std::to_string(l) + "]", weights[l], "finite");
      if (!(rates[l] >= 0 && std::isfinite(rates[l])))
        require(false, "SumOfExponentials::rates[" + std::to_string(l) + "]", rates[l],
                "rates[l] >= 0 and finite (a growing term would amplify rounding in the recursion)");
    }
  }

  /// k(tau) = sum_l c_l exp(-lambda_l tau).
  double operator()(double tau) const noexcept {
    double s = 0;
    for (std::size_t l = 0; l < rates.size(); ++l) s += weights[l] * std::exp(-rates[l] * tau);
    return s;
  }

  /// The kernel sequence k_m = k(m step), m = 0..steps (what LagSum takes).
  std::vector<double> samples(double step, std::size_t steps) const {
    std::vector<double> k(steps + 1);
    for (std::size_t m = 0; m <= steps; ++m) k[m] = (*this)(static_cast<double>(m) * step);
    return k;
  }
};

/// Online lag sum for an SOE kernel on the grid t_j = j h, with u_j in R^d. Computes exactly the
/// sum LagSum computes for k_m = k(m h):
///   h_n = sum_{j=0}^{n-1} k(t_n - t_j) u_j = sum_l c_l H_l(n),
///   H_l(n) = sum_{j<n} exp(-lambda_l (t_n - t_j)) u_j = exp(-lambda_l h) (H_l(n-1) + u_{n-1}),
/// H_l(0) = 0: O(L d) work and memory per step, no limit on the number of steps. As with LagSum,
/// the trapezoidal rule is h (h_n - k_n u_0 / 2 + k_0 u_n / 2), the end corrections being the
/// caller's. The recursion multiplies by the rounded exp(-lambda_l h), so it agrees with the direct
/// sum to about min(n, 1 / (lambda_l h)) ulps relative to sum_j |k_{n-j}| |u_j|.
class SoeHistory {
 public:
  /// SOE kernel (validated), grid step h > 0, dimension d >= 1.
  SoeHistory(SumOfExponentials kernel, double step, std::size_t dimension)
      : kernel_(std::move(kernel)), step_(step), dim_(dimension) {
    require(dimension >= 1, "SoeHistory::dimension", dimension, "dimension >= 1");
    require(step > 0 && std::isfinite(step), "SoeHistory::step", step, "step > 0 and finite");
    kernel_.validate();
    decay_.resize(kernel_.size());
    for (std::size_t l = 0; l < kernel_.size(); ++l) decay_[l] = std::exp(-kernel_.rates[l] * step_);
    state_.assign(kernel_.size() * dim_, 0.0);
  }

  /// The kernel.
  const SumOfExponentials& kernel() const noexcept { return kernel_; }
  /// The grid step h.
  double step() const noexcept { return step_; }
  /// d, the size of every u_j and h_n.
  std::size_t dimension() const noexcept { return dim_; }
  /// Number of values pushed: the next history() is h_n for n = pushed().
  std::size_t pushed() const noexcept { return pushed_; }

  /// Writes h_n = sum_l c_l H_l(n) for n = pushed() (zero for n = 0); out.size() == d.
  void history(std::span<double> out) const {
    if (out.size() != dim_)  // the message is built only on failure (this runs every step)
      require(false, "SoeHistory::history out.size()", out.size(), "out.size() == dimension = " + std::to_string(dim_));
    std::fill(out.begin(), out.end(), 0.0);
    for (std::size_t l = 0; l < decay_.size(); ++l) {
      const double c = kernel_.weights[l];
      const double* s = state_.data() + l * dim_;
      for (std::size_t i = 0; i < dim_; ++i) out[i] += c * s[i];
    }
  }

  /// Appends u_n (u.size() == d): H_l <- exp(-lambda_l h) (H_l + u_n) for every term.
  void push(std::span<const double> u) {
    if (u.size() != dim_)
      require(false, "SoeHistory::push u.size()", u.size(), "u.size() == dimension = " + std::to_string(dim_));
    for (std::size_t l = 0; l < decay_.size(); ++l) {
      const double e = decay_[l];
      double* s = state_.data() + l * dim_;
      for (std::size_t i = 0; i < dim_; ++i) s[i] = e * (s[i] + u[i]);
    }
    ++pushed_;
  }

  /// Forgets every pushed value (h_0 next).
  void reset() {
    std::fill(state_.begin(), state_.end(), 0.0);
    pushed_ = 0;
  }

 private:
  SumOfExponentials kernel_;
  double step_;
  std::size_t dim_;
  std::size_t pushed_ = 0;
  std::vector<double> decay_;  // exp(-lambda_l h)
  std::vector<double> state_;  // H_l(n), component i at [l d + i]
};

/// Options of fit_power_law: an SOE for tau^(-exponent) on [delta, horizon] with max relative
/// error <= tolerance.
struct PowerLawFit {
  double exponent = 0.5;    ///< a, 0 < a < 1
  double delta = 1e-4;      ///< left end of the interval, > 0
  double horizon = 1.0;     ///< T, right end, > delta
  double tolerance = 1e-8;  ///< target max relative error, in [1e-14, 0.1]
  /// Log-spaced sample points per decade of [delta, T] where the error is measured (>= 10; at
  /// least 101 points in all).
  std::size_t samples_per_decade = 200;

  /// Throws invalid_option naming the field, the value and the rule.
  void validate() const {
    require(exponent > 0 && exponent < 1, "PowerLawFit::exponent", exponent, "0 < exponent < 1");
    require(delta > 0 && std::isfinite(delta), "PowerLawFit::delta", delta, "delta > 0 and finite");
    require(horizon > delta && std::isfinite(horizon), "PowerLawFit::horizon", horizon,
            "horizon > delta = " + format_value(delta) + " and finite");
    require(tolerance >= 1e-14 && tolerance <= 0.1, "PowerLawFit::tolerance", tolerance,
            "1e-14 <= tolerance <= 0.1");
    require(samples_per_decade >= 10, "PowerLawFit::samples_per_decade", samples_per_decade,
            "samples_per_decade >= 10");
  }
};

/// The outcome of fit_power_law. Whether the tolerance was met is data, not an exception.
struct SoeFitResult {
  SumOfExponentials kernel;         ///< c_l > 0, lambda_l >= 0, ascending rates
  double max_relative_error = 0;    ///< max |tau^a k(tau) - 1| over the sample points
  std::size_t sample_points = 0;    ///< number of log-spaced points on [delta, T] measured
  double step = 0;                  ///< trapezoidal step eta in x = log s
  std::size_t trapezoid_terms = 0;  ///< terms kept from the trapezoidal rule (s >= rho / T)
  std::size_t gauss_terms = 0;      ///< terms of the Gauss rule that replaced the terms with s < rho / T
  std::size_t attempts = 0;         ///< constructions tried (1 when the a-priori error budget held)
  bool met = false;                 ///< max_relative_error <= tolerance
};

namespace detail {

/// int_0^h e^(-lambda u) (1 - u/h) du and int_0^h e^(-lambda u) u/h du, divided by h (x = lambda h >= 0):
/// the weights of the far and near node of an interval when a linear interpolant is integrated exactly
/// against the exponential (singular_convolution.hpp, exponential_trapezoid.hpp); by their series below x = 0.5.
inline void exponential_hat_weights(double x, double& phi0, double& phi1) {
  if (x < 0.5) {
    double p0 = 0, p1 = 0, power = 1, fact = 2;  // fact = (m)! for m = k + 2
    for (int k = 0; k < 30; ++k) {
      const int m = k + 2;
      p0 += power / fact;
      p1 += power * (m - 1) / fact;
      power *= -x;
      fact *= m + 1;
    }
    phi0 = p0;
    phi1 = p1;
    return;
  }
  const double e = std::exp(-x);
  phi0 = (x - 1 + e) / (x * x);
  phi1 = (1 - e - x * e) / (x * x);
}


/// Relative error of the infinite trapezoidal rule with step eta for the x = log s form of
/// tau^(-a) Gamma(a) = int e^{a x} exp(-e^x tau) dx, the same for every tau (Poisson summation):
/// 2 sum_{k>=1} |Gamma(a + 2 pi i k / eta)| / Gamma(a), with Stirling's |Gamma(a + iy)| ~
/// sqrt(2 pi) y^(a - 1/2) e^(-pi y / 2) (exact for a = 1/2).
inline double soe_trapezoid_error(double a, double eta) {
  const double pi = std::numbers::pi;
  double s = 0;
  for (int k = 1; k <= 8; ++k) {
    const double y = 2 * pi * k / eta;
    s += std::sqrt(2 * pi) * std::pow(y, a - 0.5) * std::exp(-pi * y / 2);
  }
  return 2 * s / std::tgamma(a);
}

/// The construction for one error budget eps (split in four: trapezoid, upper truncation, Gauss
/// compression, and a 1/100 share for the lower truncation).
inline SoeFitResult soe_power_law_terms(double a, double delta, double horizon, double eps) {
  const double ga = std::tgamma(a);
  // Largest eta with trapezoid error <= eps / 4 (the error grows with eta).
  double lo = 1e-3, hi = 4.0;
  for (int it = 0; it < 100; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (soe_trapezoid_error(a, mid) <= eps / 4) lo = mid; else hi = mid;
  }
  const double eta = lo;
  auto factorial = [](std::size_t n) { return std::tgamma(static_cast<double>(n) + 1); };

  struct Plan {
    double xc = 0;
    std::ptrdiff_t j_lo = 0, j_hi = 0;
    std::size_t m = 0, total = 0;
  };
  Plan best;
  best.total = static_cast<std::size_t>(-1);
  // Split point s_c = rho / T: terms with s >= s_c stay (x_j = log s_c + j eta, j = 0..j_hi), the
  // rest (j_lo <= j < 0) becomes an m-point Gauss rule of their discrete measure in s.
  for (int p = -2; p <= 8; ++p) {
    const double rho = std::ldexp(1.0, p);
    Plan plan;
    plan.xc = std::log(rho / horizon);
    // Upper truncation: the relative size of term j at the worst tau (delta once s delta >= a) is
    // eta (s_j delta)^a exp(-s_j delta) / Gamma(a); keep j <= j_hi so that the rest is <= eps / 4.
    std::vector<double> term;
    for (std::ptrdiff_t j = 0;; ++j) {
      const double sd = std::exp(plan.xc + static_cast<double>(j) * eta) * delta;
      term.push_back(sd < a ? 1.0 : eta * std::pow(sd, a) * std::exp(-sd) / ga);  // sd < a: always kept
      if (sd > 800) break;
    }
    double tail = 0;
    std::ptrdiff_t j_hi = static_cast<std::ptrdiff_t>(term.size()) - 1;
    for (std::ptrdiff_t j = j_hi; j >= 1; --j) {
      tail += term[static_cast<std::size_t>(j)];
      if (tail > eps / 4) break;
      j_hi = j - 1;
    }
    plan.j_hi = j_hi;
    // Lower truncation: the terms below x_lo weigh at most eta e^{a x} / (1 - e^{-a eta}) / Gamma(a)
    // relative to tau^(-a) <= T^(-a): keep them down to 1/100 of eps.
    const double x_lo =
        std::log(eps / 100 * ga * (1 - std::exp(-a * eta)) / (eta * std::pow(horizon, a))) / a;
    plan.j_lo = std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(std::floor((x_lo - plan.xc) / eta)) + 1, -2);
    double mass = 0;
    for (std::ptrdiff_t j = plan.j_lo; j < 0; ++j) mass += eta * std::exp(a * (plan.xc + static_cast<double>(j) * eta)) / ga;
    // Gauss error <= mass 4 (s_c tau / 4)^(2m) / (2m)! (f^(2m) = tau^(2m) e^{-s tau}, Chebyshev
    // bound on the orthogonal polynomial), relative at tau = T: times T^a.
    const std::size_t n_low = static_cast<std::size_t>(-plan.j_lo);
    std::size_t m = 1;
    while (m < n_low &&
           std::pow(horizon, a) * mass * 4 * std::pow(rho / 4, 2.0 * static_cast<double>(m)) / factorial(2 * m) > eps / 4)
      ++m;
    plan.m = m;
    plan.total = m + static_cast<std::size_t>(plan.j_hi) + 1;
    if (plan.total < best.total) best = plan;
  }

  SoeFitResult r;
  r.step = eta;
  std::vector<std::pair<double, double>> terms;  // (rate, weight)
  for (std::ptrdiff_t j = 0; j <= best.j_hi; ++j) {
    const double x = best.xc + static_cast<double>(j) * eta;
    terms.emplace_back(std::exp(x), eta * std::exp(a * x) / ga);
  }
  r.trapezoid_terms = terms.size();
  const double sc = std::exp(best.xc);
  std::vector<double> nodes, weights;
  for (std::ptrdiff_t j = best.j_lo; j < 0; ++j) {
    const double x = static_cast<double>(j) * eta;  // relative to x_c: s / s_c = e^x
    nodes.push_back(std::exp(x));
    weights.push_back(eta * std::exp(a * (best.xc + x)) / ga);
  }
  const GaussRule g = discrete_gauss_rule(nodes, weights, best.m);
  for (std::size_t i = 0; i < g.nodes.size(); ++i) terms.emplace_back(g.nodes[i] * sc, g.weights[i]);
  r.gauss_terms = g.nodes.size();
  std::sort(terms.begin(), terms.end());
  for (const auto& [rate, weight] : terms) {
    r.kernel.rates.push_back(rate);
    r.kernel.weights.push_back(weight);
  }
  return r;
}

}  // namespace detail

/// Max relative error max_i |tau_i^a k(tau_i) - 1| of an SOE approximation of tau^(-a) over
/// `points` log-spaced tau_i on [delta, horizon] (endpoints included, points >= 2).
inline double power_law_relative_error(const SumOfExponentials& k, double a, double delta, double horizon,
                                       std::size_t points) {
  double err = 0;
  const double ratio = std::log(horizon / delta);
  for (std::size_t i = 0; i < points; ++i) {
    const double tau = delta * std::exp(ratio * static_cast<double>(i) / static_cast<double>(points - 1));
    err = std::max(err, std::abs(std::pow(tau, a) * k(tau) - 1.0));
  }
  return err;
}

/// SOE approximation of the completely monotone kernel tau^(-a), 0 < a < 1, on [delta, T]:
///   tau^(-a) = 1/Gamma(a) int_0^inf s^(a-1) e^{-s tau} ds = 1/Gamma(a) int e^{a x} exp(-e^x tau) dx
/// (s = e^x), discretised by the trapezoidal rule in x with step eta (error ~ e^{-pi^2 / eta},
/// the same relative error for every tau), truncated above where the terms are negligible at tau =
/// delta; the many terms with s < rho / T (nearly constant on [delta, T]) are replaced by the Gauss
/// rule of their discrete measure (a few positive terms, exact up to degree 2m - 1 in s). rho and
/// m are chosen for the fewest terms. Terms ~ log(1/eps) (log(T/delta) + log log(1/eps)) / pi^2
/// + O(log(1/eps)). The error is then measured on log-spaced samples; if it exceeds the tolerance,
/// the budget is divided by 4 and the construction repeated (at most 6 times). All weights are
/// positive and all rates >= 0 (the fit stays completely monotone).
inline SoeFitResult fit_power_law(const PowerLawFit& options) {
  options.validate();
  const double a = options.exponent, delta = options.delta, horizon = options.horizon;
  const double decades = std::log10(horizon / delta);
  const std::size_t points = std::max<std::size_t>(
      101, static_cast<std::size_t>(std::ceil(decades * static_cast<double>(options.samples_per_decade))) + 1);
  double eps = options.tolerance;
  SoeFitResult r;
  for (int attempt = 0; attempt < 7; ++attempt, eps /= 4) {
    r = detail::soe_power_law_terms(a, delta, horizon, eps);
    r.sample_points = points;
    r.max_relative_error = power_law_relative_error(r.kernel, a, delta, horizon, points);
    r.attempts = static_cast<std::size_t>(attempt) + 1;
    r.met = r.max_relative_error <= options.tolerance;
    if (r.met) break;
  }
  return r;
}

}  // namespace iterop::quadrature
