// Sample moments and the moment-matched Gaussian (Eigen's self-adjoint eigen-solver for the
// covariance's square root).
#include "iterop/distributions/sample_moments.hpp"

#include <cmath>
#include <random>
#include <string>

#include <Eigen/Eigenvalues>

#include "iterop/core/errors.hpp"

namespace iterop::distributions {
namespace {

Eigen::MatrixXd covariance_matrix(const SampleMoments& m) {
  const auto d = Eigen::Index(m.mean.size());
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(m.covariance.data(), d, d);
}

}  // namespace

double SampleMoments::trace() const {
  double t = 0;
  for (std::size_t i = 0; i < mean.size(); ++i) t += covariance[i * mean.size() + i];
  return t;
}

SampleMoments sample_moments(const SampleSet& s) {
  require(s.rows >= 2, "sample_moments rows", s.rows, "rows >= 2");
  require(s.values.size() == s.rows * s.dim, "sample_moments values.size()", s.values.size(),
          "rows * dim = " + std::to_string(s.rows * s.dim));
  require(s.all_finite(), "sample_moments values", std::string("non-finite values"), "every value finite");
  const auto rows = Eigen::Index(s.rows), d = Eigen::Index(s.dim);
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> x(s.values.data(), rows, d);
  const Eigen::RowVectorXd mean = x.colwise().mean();
  const Eigen::MatrixXd centred = x.rowwise() - mean;
  const Eigen::MatrixXd cov = centred.transpose() * centred / double(rows - 1);
  SampleMoments m;
  m.mean.assign(mean.data(), mean.data() + d);
  m.covariance.resize(std::size_t(d * d));
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = 0; j < d; ++j) m.covariance[std::size_t(i * d + j)] = cov(i, j);
  return m;
}

SampleSet moment_matched_gaussian(const SampleSet& reference, std::size_t n, std::uint64_t seed) {
  const SampleMoments m = sample_moments(reference);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(covariance_matrix(m));
  const Eigen::MatrixXd root =
      eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal() * eig.eigenvectors().transpose();
  const auto d = Eigen::Index(reference.dim);
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd z(d, Eigen::Index(n));
  for (Eigen::Index j = 0; j < z.cols(); ++j)
    for (Eigen::Index i = 0; i < d; ++i) z(i, j) = normal(gen);
  const Eigen::MatrixXd x = (root * z).colwise() + Eigen::Map<const Eigen::VectorXd>(m.mean.data(), d);
  SampleSet out(n, reference.dim);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < reference.dim; ++c) out(r, c) = x(Eigen::Index(c), Eigen::Index(r));
  return out;
}

MomentGap moment_gap(const SampleSet& a, const SampleSet& reference) {
  require(a.dim == reference.dim, "moment_gap dim", a.dim, "equal to the reference's dim = " + std::to_string(reference.dim));
  const SampleMoments ma = sample_moments(a), mb = sample_moments(reference);
  MomentGap g;
  for (std::size_t i = 0; i < ma.mean.size(); ++i) g.mean_distance += (ma.mean[i] - mb.mean[i]) * (ma.mean[i] - mb.mean[i]);
  g.mean_distance = std::sqrt(g.mean_distance);
  const double diff = (covariance_matrix(ma) - covariance_matrix(mb)).norm(), ref = covariance_matrix(mb).norm();
  g.covariance_relative = ref > 0 ? diff / ref : (diff > 0 ? INFINITY : 0.0);
  g.trace_ratio = mb.trace() > 0 ? ma.trace() / mb.trace() : (ma.trace() > 0 ? INFINITY : 1.0);
  return g;
}

}  // namespace iterop::distributions
