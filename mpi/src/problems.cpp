// Distributed reference problems: H-equation by allgather, 2-D Bratu by halo exchange.
#include "iterop/mpi/problems.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "iterop/core/errors.hpp"

namespace iterop::mpi {

// ---- H-equation ------------------------------------------------------------------------------------

h_equation::h_equation(std::shared_ptr<const communicator> comm, double c, std::size_t n)
    : comm_(std::move(comm)), c_(c), n_(n) {
  require(comm_ != nullptr, "h_equation: comm", std::string("null"), "a communicator");
  require(c > 0 && c <= 1, "h_equation::c", c, "0 < c <= 1");
  require(n >= 1, "h_equation::n", n, "n >= 1");
  const int p = comm_->size();
  rows_ = block_range::of(n, p, comm_->rank());
  counts_.resize(static_cast<std::size_t>(p));
  displs_.resize(static_cast<std::size_t>(p));
  for (int r = 0; r < p; ++r) {
    const block_range b = block_range::of(n, p, r);
    counts_[static_cast<std::size_t>(r)] = static_cast<int>(b.size());
    displs_[static_cast<std::size_t>(r)] = static_cast<int>(b.begin);
  }
  std::vector<double> mu(n);
  const double N = static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) mu[i] = (static_cast<double>(i) + 0.5) / N;
  const double scale = c / (2.0 * N);
  A_.resize(rows_.size() * n);
  for (std::size_t i = rows_.begin; i < rows_.end; ++i)
    for (std::size_t j = 0; j < n; ++j) A_[(i - rows_.begin) * n + j] = scale * mu[i] / (mu[i] + mu[j]);
  whole_.resize(n);
}

distributed_vector h_equation::initial_guess() const {
  distributed_vector x = distributed_vector::block(comm_, n_);
  for (double& v : x.local()) v = 1.0;
  return x;
}

void h_equation::apply(std::span<const double> x_local, std::span<double> y_local) const {
  require(x_local.size() == rows_.size(), "h_equation::apply: x_local.size()", x_local.size(),
          "== this rank's rows " + std::to_string(rows_.size()));
  communicator::check(MPI_Allgatherv(x_local.data(), static_cast<int>(x_local.size()), MPI_DOUBLE, whole_.data(),
                                     counts_.data(), displs_.data(), MPI_DOUBLE, comm_->comm()),
                      "MPI_Allgatherv");
  sent_.messages += comm_->size() - 1;
  sent_.bytes += static_cast<long>(x_local.size() * sizeof(double)) * (comm_->size() - 1);
  const std::size_t N = n_;
  const double* x = whole_.data();
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    // The loop of iterop::problems::HEquation, so that entries agree bit for bit.
    const double* a = &A_[i * N];
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t j = 0;
    for (; j + 4 <= N; j += 4) {
      s0 += a[j] * x[j];
      s1 += a[j + 1] * x[j + 1];
      s2 += a[j + 2] * x[j + 2];
      s3 += a[j + 3] * x[j + 3];
    }
    for (; j < N; ++j) s0 += a[j] * x[j];
    y_local[i] = 1.0 / (1.0 - ((s0 + s1) + (s2 + s3)));
  }
}

// ---- 2-D Bratu -------------------------------------------------------------------------------------

bratu2d::bratu2d(std::shared_ptr<const communicator> comm, std::size_t m, double lambda)
    : comm_(std::move(comm)), m_(m), lambda_(lambda) {
  require(comm_ != nullptr, "bratu2d: comm", std::string("null"), "a communicator");
  require(m >= 1, "bratu2d::m", m, "m >= 1");
  require(lambda >= 0 && std::isfinite(lambda), "bratu2d::lambda", lambda, "lambda >= 0 and finite");
  require(m >= static_cast<std::size_t>(comm_->size()), "bratu2d::m", m,
          "m >= number of ranks " + std::to_string(comm_->size()) + " (a grid row per rank at least)");
  rows_ = block_range::of(m, comm_->size(), comm_->rank());
  const double h = 1.0 / static_cast<double>(m + 1);
  h2lambda_ = h * h * lambda;
  above_.assign(m, 0.0);
  below_.assign(m, 0.0);
}

distributed_vector bratu2d::initial_guess() const {
  return distributed_vector::with_local_size(comm_, rows_.size() * m_);
}

void bratu2d::apply(std::span<const double> x, std::span<double> y) const {
  const std::size_t m = m_, rows = rows_.size();
  require(x.size() == rows * m, "bratu2d::apply: x_local.size()", x.size(),
          "== this rank's rows x m = " + std::to_string(rows * m));
  // Halo: the row above this block comes from rank - 1, the row below from rank + 1 (zeros at the
  // boundary).
  const int r = comm_->rank(), p = comm_->size();
  const int up = r > 0 ? r - 1 : MPI_PROC_NULL, down = r + 1 < p ? r + 1 : MPI_PROC_NULL;
  const int cm = static_cast<int>(m);
  if (up == MPI_PROC_NULL) std::fill(above_.begin(), above_.end(), 0.0);
  if (down == MPI_PROC_NULL) std::fill(below_.begin(), below_.end(), 0.0);
  // Send my first row up, receive the row below from down; then my last row down, the row above from up.
  communicator::check(MPI_Sendrecv(x.data(), cm, MPI_DOUBLE, up, 0, below_.data(), cm, MPI_DOUBLE, down, 0,
                                   comm_->comm(), MPI_STATUS_IGNORE),
                      "MPI_Sendrecv(halo up)");
  communicator::check(MPI_Sendrecv(x.data() + (rows - 1) * m, cm, MPI_DOUBLE, down, 1, above_.data(), cm, MPI_DOUBLE,
                                   up, 1, comm_->comm(), MPI_STATUS_IGNORE),
                      "MPI_Sendrecv(halo down)");
  const long sends = (up != MPI_PROC_NULL ? 1 : 0) + (down != MPI_PROC_NULL ? 1 : 0);
  sent_.messages += sends;
  sent_.bytes += sends * static_cast<long>(m * sizeof(double));
  for (std::size_t i = 0; i < rows; ++i) {
    const double* north = i == 0 ? above_.data() : x.data() + (i - 1) * m;
    const double* south = i + 1 == rows ? below_.data() : x.data() + (i + 1) * m;
    const double* row = x.data() + i * m;
    double* out = y.data() + i * m;
    for (std::size_t j = 0; j < m; ++j) {
      const double west = j > 0 ? row[j - 1] : 0.0, east = j + 1 < m ? row[j + 1] : 0.0;
      out[j] = 0.25 * (north[j] + south[j] + west + east + h2lambda_ * std::exp(row[j]));
    }
  }
}

}  // namespace iterop::mpi
