// Gauss quadrature of a discrete positive measure (private): Lanczos for the Jacobi matrix, Sturm
// bisection for its eigenvalues (the nodes), Christoffel numbers for the weights (Golub-Welsch).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace iterop::quadrature::detail {

/// An m-point rule sum_i weights[i] f(nodes[i]).
struct GaussRule {
  std::vector<double> nodes, weights;
};

/// Number of eigenvalues < x of the symmetric tridiagonal matrix (diag alpha, off-diag beta),
/// by the signs of the LDL^T pivots (Sturm sequence).
inline std::size_t sturm_count(std::span<const double> alpha, std::span<const double> beta, double x) {
  std::size_t count = 0;
  double q = 1.0;
  for (std::size_t i = 0; i < alpha.size(); ++i) {
    const double b2 = i == 0 ? 0.0 : beta[i - 1] * beta[i - 1];
    q = alpha[i] - x - (i == 0 ? 0.0 : b2 / q);
    if (q == 0.0) q = -std::numeric_limits<double>::min();  // perturb a zero pivot
    if (q < 0) ++count;
  }
  return count;
}

/// The Gauss rule with m points of the measure sum_j w_j delta(x - x_j) (w_j > 0, x_j in [0, 1],
/// at least m distinct points): exact for polynomials of degree <= 2m - 1, positive weights,
/// nodes in [0, 1]. Lanczos with full reorthogonalisation on diag(x) from sqrt(w) / ||sqrt(w)||.
inline GaussRule discrete_gauss_rule(std::span<const double> x, std::span<const double> w, std::size_t m) {
  const std::size_t n = x.size();
  double mass = 0;
  for (double v : w) mass += v;
  std::vector<std::vector<double>> q;
  std::vector<double> alpha, beta;
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::sqrt(w[i] / mass);
  for (std::size_t k = 0; k < m; ++k) {
    q.push_back(v);
    const std::vector<double>& qk = q.back();
    double a = 0;
    for (std::size_t i = 0; i < n; ++i) a += x[i] * qk[i] * qk[i];
    alpha.push_back(a);
    if (k + 1 == m) break;
    std::vector<double> r(n);
    for (std::size_t i = 0; i < n; ++i) r[i] = x[i] * qk[i];
    for (int pass = 0; pass < 2; ++pass)  // full reorthogonalisation, twice
      for (const auto& qi : q) {
        double dot = 0;
        for (std::size_t i = 0; i < n; ++i) dot += qi[i] * r[i];
        for (std::size_t i = 0; i < n; ++i) r[i] -= dot * qi[i];
      }
    double b = 0;
    for (double ri : r) b += ri * ri;
    b = std::sqrt(b);
    if (!(b > 0)) break;  // fewer distinct points than m: the rule is exact with k + 1 points
    beta.push_back(b);
    for (std::size_t i = 0; i < n; ++i) v[i] = r[i] / b;
  }
  const std::size_t p = alpha.size();
  GaussRule rule;
  // Eigenvalue i (ascending) by bisection on [0, 1] (the spectrum lies in the hull of the x_j).
  double lo_all = 0, hi_all = 1;
  for (double xi : x) {
    lo_all = std::min(lo_all, xi);
    hi_all = std::max(hi_all, xi);
  }
  for (std::size_t i = 0; i < p; ++i) {
    double lo = lo_all, hi = hi_all;
    for (int it = 0; it < 200 && hi - lo > 0; ++it) {
      const double mid = 0.5 * (lo + hi);
      if (mid <= lo || mid >= hi) break;
      if (sturm_count(alpha, beta, mid) > i) hi = mid; else lo = mid;
    }
    const double theta = 0.5 * (lo + hi);
    // Christoffel number: 1 / sum_k P_k(theta)^2 with the orthonormal polynomials of the
    // normalised measure (P_0 = 1, beta_k P_{k+1} = (x - alpha_k) P_k - beta_{k-1} P_{k-1}).
    double p_prev = 0, p_cur = 1, sum = 1;
    for (std::size_t k = 0; k + 1 < p; ++k) {
      const double p_next = ((theta - alpha[k]) * p_cur - (k == 0 ? 0.0 : beta[k - 1] * p_prev)) / beta[k];
      p_prev = p_cur;
      p_cur = p_next;
      sum += p_cur * p_cur;
    }
    rule.nodes.push_back(theta);
    rule.weights.push_back(mass / sum);
  }
  return rule;
}

}  // namespace iterop::quadrature::detail
