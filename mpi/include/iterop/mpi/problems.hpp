// Distributed reference problems for iterop::mpi: the H-equation (its integral needs the whole
// vector: one MPI_Allgatherv per evaluation) and 2-D Bratu in fixed-point form (halo exchange only).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "iterop/mpi/communicator.hpp"
#include "iterop/mpi/distributed_vector.hpp"

namespace iterop::mpi {

/// What an operator's own communication cost so far (per rank): messages sent and bytes sent.
struct message_count {
  long messages = 0;
  long bytes = 0;
};

/// Chandrasekhar's H-equation G(x)_i = 1 / (1 - (c / 2N) sum_j mu_i x_j / (mu_i + mu_j)),
/// mu_i = (i - 1/2) / N, distributed by rows: each rank keeps its rows of the N x N kernel and
/// gathers the whole x (MPI_Allgatherv, N doubles) at every evaluation. The same arithmetic, in the
/// same order, as iterop::problems::HEquation, so each rank's entries equal the serial ones.
class h_equation {
 public:
  /// c in (0, 1], n >= 1; throws invalid_option otherwise. Collective (sizes of all blocks).
  h_equation(std::shared_ptr<const communicator> comm, double c, std::size_t n);

  /// x0 = (1, ..., 1), block-distributed.
  distributed_vector initial_guess() const;
  /// y = G(x) on this rank's block; collective (every rank must call it).
  void apply(std::span<const double> x_local, std::span<double> y_local) const;
  void operator()(const distributed_vector& x, distributed_vector& y) const { apply(x.local(), y.local()); }

  std::size_t n() const { return n_; }
  const message_count& messages() const { return sent_; }

 private:
  std::shared_ptr<const communicator> comm_;
  double c_;
  std::size_t n_;
  block_range rows_;
  std::vector<int> counts_, displs_;
  std::vector<double> A_;              // local rows, row-major
  mutable std::vector<double> whole_;  // the gathered x
  mutable message_count sent_;
};

/// 2-D Bratu problem -Laplace(u) = lambda exp(u) on the unit square, u = 0 on the boundary, on an
/// m x m interior grid (h = 1 / (m + 1)), in Jacobi fixed-point form
///   T(u)_ij = (u_{i-1,j} + u_{i+1,j} + u_{i,j-1} + u_{i,j+1} + h^2 lambda exp(u_ij)) / 4.
/// Entries are numbered row by row (k = i m + j); each rank holds a block of whole grid rows and
/// exchanges one row with each neighbour per evaluation (MPI_Sendrecv, m doubles each way).
/// Below the critical lambda the linearisation at the solution has spectral radius 1 - O(h^2): plain
/// iteration is slow, which is what acceleration is for.
class bratu2d {
 public:
  /// m >= 1 grid points per side and at least one grid row per rank (m >= ranks), 0 <= lambda (the
  /// classical critical value is about 6.81); throws invalid_option otherwise, on every rank.
  bratu2d(std::shared_ptr<const communicator> comm, std::size_t m, double lambda);

  /// u0 = 0, distributed by grid rows.
  distributed_vector initial_guess() const;
  /// y = T(u) on this rank's rows; collective (neighbours exchange one row each).
  void apply(std::span<const double> x_local, std::span<double> y_local) const;
  void operator()(const distributed_vector& x, distributed_vector& y) const { apply(x.local(), y.local()); }

  std::size_t m() const { return m_; }
  std::size_t n() const { return m_ * m_; }
  block_range rows() const { return rows_; }
  const message_count& messages() const { return sent_; }

 private:
  std::shared_ptr<const communicator> comm_;
  std::size_t m_;
  double lambda_, h2lambda_;
  block_range rows_;
  mutable std::vector<double> above_, below_;  // ghost rows
  mutable message_count sent_;
};

}  // namespace iterop::mpi
