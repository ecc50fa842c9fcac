// Sample distances from pairwise squared Euclidean distances, computed once and shared by the
// exact 2-Wasserstein distance (optimal assignment), the RBF MMD and the energy distance.
#include "iterop/distributions/sample_distances.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/optimal_assignment.hpp"

namespace iterop::distributions {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// ||x - y||^2 over `dim` entries, in four interleaved partial sums (independent chains the
/// compiler can pipeline and pack without reassociating a single sum).
double squared_distance(const double* x, const double* y, std::size_t dim) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t k = 0;
  for (; k + 4 <= dim; k += 4) {
    const double t0 = x[k] - y[k], t1 = x[k + 1] - y[k + 1], t2 = x[k + 2] - y[k + 2], t3 = x[k + 3] - y[k + 3];
    s0 += t0 * t0;
    s1 += t1 * t1;
    s2 += t2 * t2;
    s3 += t3 * t3;
  }
  for (; k < dim; ++k) {
    const double t = x[k] - y[k];
    s0 += t * t;
  }
  return (s0 + s1) + (s2 + s3);
}

/// ||a_i - b_j||^2 for all i, j, row-major a.rows x b.rows (differences, not the norm expansion,
/// so that nearby points keep their digits). Blocks of b's rows are reused from cache.
std::vector<double> squared_distances(const SampleSet& a, const SampleSet& b) {
  std::vector<double> d(a.rows * b.rows);
  const std::size_t dim = a.dim;
  const std::size_t block = std::max<std::size_t>(1, (128 * 1024 / sizeof(double)) / std::max<std::size_t>(dim, 1));
  for (std::size_t j0 = 0; j0 < b.rows; j0 += block) {
    const std::size_t j1 = std::min(b.rows, j0 + block);
    for (std::size_t i = 0; i < a.rows; ++i) {
      const double* x = a.values.data() + i * dim;
      for (std::size_t j = j0; j < j1; ++j) d[i * b.rows + j] = squared_distance(x, b.values.data() + j * dim, dim);
    }
  }
  return d;
}

template <class F>
double mean_of(const std::vector<double>& d, F f) {
  double s = 0;
  for (double v : d) s += f(v);
  return s / static_cast<double>(d.size());
}

void require_same_dim(const SampleSet& a, const SampleSet& b, const char* what) {
  require(a.dim == b.dim, std::string(what) + " second sample dimension", b.dim,
          "equal to the first sample's dimension " + std::to_string(a.dim));
  require(a.rows >= 1, std::string(what) + " first sample size", a.rows, "size >= 1");
  require(b.rows >= 1, std::string(what) + " second sample size", b.rows, "size >= 1");
}

void require_same_size(const SampleSet& a, const SampleSet& b, const char* what) {
  require(a.rows == b.rows, std::string(what) + " second sample size", b.rows,
          "equal to the first sample's size " + std::to_string(a.rows) + " (exact W2 on equal-size samples)");
}

double w2_from(const std::vector<double>& dab, std::size_t n) {
  return std::sqrt(optimal_assignment(dab, n).total_cost / static_cast<double>(n));
}

double mmd2_from(const std::vector<double>& daa, const std::vector<double>& dbb, const std::vector<double>& dab,
                 double gamma) {
  auto k = [gamma](double d2) { return std::exp(-gamma * d2); };
  return mean_of(daa, k) + mean_of(dbb, k) - 2.0 * mean_of(dab, k);
}

double energy_from(const std::vector<double>& daa, const std::vector<double>& dbb, const std::vector<double>& dab) {
  auto r = [](double d2) { return std::sqrt(d2); };
  return std::max(0.0, 2.0 * mean_of(dab, r) - mean_of(daa, r) - mean_of(dbb, r));
}

}  // namespace

std::vector<double> pairwise_squared_distances(const SampleSet& a, const SampleSet& b) {
  require(a.dim == b.dim, "pairwise_squared_distances second sample dimension", b.dim,
          "equal to the first sample's dimension " + std::to_string(a.dim));
  return squared_distances(a, b);
}

double wasserstein2(const SampleSet& a, const SampleSet& b) {
  require_same_dim(a, b, "wasserstein2");
  require_same_size(a, b, "wasserstein2");
  if (!a.all_finite() || !b.all_finite()) return kNaN;
  return w2_from(squared_distances(a, b), a.rows);
}

double mmd2_rbf(const SampleSet& a, const SampleSet& b, double gamma) {
  require(gamma > 0 && std::isfinite(gamma), "mmd2_rbf gamma", gamma, "finite and > 0");
  require_same_dim(a, b, "mmd2_rbf");
  if (!a.all_finite() || !b.all_finite()) return kNaN;
  return mmd2_from(squared_distances(a, a), squared_distances(b, b), squared_distances(a, b), gamma);
}

double energy_distance(const SampleSet& a, const SampleSet& b) {
  require_same_dim(a, b, "energy_distance");
  if (!a.all_finite() || !b.all_finite()) return kNaN;
  return energy_from(squared_distances(a, a), squared_distances(b, b), squared_distances(a, b));
}

SampleQuality sample_quality(const SampleSet& generated, const SampleSet& target, double gamma) {
  require(gamma > 0 && std::isfinite(gamma), "sample_quality gamma", gamma, "finite and > 0");
  require_same_dim(generated, target, "sample_quality");
  require_same_size(generated, target, "sample_quality");
  SampleQuality q{generated.rows, generated.dim, kNaN, kNaN, kNaN, gamma};
  if (!generated.all_finite() || !target.all_finite()) return q;
  const auto dab = squared_distances(generated, target);
  const auto daa = squared_distances(generated, generated);
  const auto dbb = squared_distances(target, target);
  q.w2 = w2_from(dab, generated.rows);
  q.mmd2 = mmd2_from(daa, dbb, dab, gamma);
  q.energy = energy_from(daa, dbb, dab);
  return q;
}

}  // namespace iterop::distributions
