// distributed_vector: a vector block-distributed over the ranks of an MPI communicator, and its
// vector_ops: local kernels on each rank's block, every reduction one counted MPI_Allreduce.
#pragma once

#include <mpi.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/core/vector_ops.hpp"
#include "iterop/mpi/communicator.hpp"

namespace iterop::mpi {

/// A real vector of global size n whose entries [offset, offset + local size) live on this rank.
/// Copies are deep (the local block) and share the communicator. Meets iterop::State, so
/// iterop::solve() runs on it unchanged; every inner product, norm and finiteness test is one
/// MPI_Allreduce, and dot_many (Anderson's Gram-Schmidt and projection) reduces all its m values
/// in one call.
class distributed_vector {
 public:
  distributed_vector() = default;

  /// Zeros of global size n, split in near-equal contiguous blocks (block_range). No communication.
  static distributed_vector block(std::shared_ptr<const communicator> comm, std::size_t n) {
    require(comm != nullptr, "distributed_vector::block: comm", std::string("null"), "a communicator");
    const block_range b = block_range::of(n, comm->size(), comm->rank());
    return distributed_vector(std::move(comm), n, b.begin, b.size());
  }

  /// Zeros with `local_size` entries on this rank (the blocks in rank order). Collective: one
  /// MPI_Exscan and one MPI_Allreduce, not counted (set-up, not iteration).
  static distributed_vector with_local_size(std::shared_ptr<const communicator> comm, std::size_t local_size) {
    require(comm != nullptr, "distributed_vector::with_local_size: comm", std::string("null"), "a communicator");
    unsigned long long mine = local_size, before = 0, total = 0;
    communicator::check(MPI_Exscan(&mine, &before, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm->comm()), "MPI_Exscan");
    if (comm->rank() == 0) before = 0;  // MPI_Exscan leaves rank 0's result undefined
    communicator::check(MPI_Allreduce(&mine, &total, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, comm->comm()),
                        "MPI_Allreduce(size)");
    return distributed_vector(std::move(comm), total, before, local_size);
  }

  std::size_t global_size() const { return n_; }
  std::size_t offset() const { return offset_; }           ///< global index of local()[0]
  std::size_t local_size() const { return local_.size(); }
  std::span<double> local() { return local_; }
  std::span<const double> local() const { return local_; }
  std::vector<double>& local_vector() { return local_; }   ///< the block itself (for the local kernels)
  const std::vector<double>& local_vector() const { return local_; }
  const std::shared_ptr<const communicator>& comm() const { return comm_; }

  /// A zero vector with the same distribution.
  distributed_vector zeros_like() const {
    distributed_vector z;
    z.comm_ = comm_;
    z.n_ = n_;
    z.offset_ = offset_;
    z.local_.assign(local_.size(), 0.0);
    return z;
  }

 private:
  distributed_vector(std::shared_ptr<const communicator> comm, std::size_t n, std::size_t offset, std::size_t local)
      : comm_(std::move(comm)), n_(n), offset_(offset), local_(local, 0.0) {}

  std::shared_ptr<const communicator> comm_;
  std::size_t n_ = 0, offset_ = 0;
  std::vector<double> local_;
};

/// The whole vector on every rank (MPI_Allgatherv; for tests, output and small problems).
inline std::vector<double> gather_all(const distributed_vector& x) {
  const communicator& c = *x.comm();
  const int p = c.size();
  std::vector<int> counts(static_cast<std::size_t>(p)), displs(static_cast<std::size_t>(p));
  const int mine = static_cast<int>(x.local_size()), offset = static_cast<int>(x.offset());
  communicator::check(MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, c.comm()), "MPI_Allgather");
  communicator::check(MPI_Allgather(&offset, 1, MPI_INT, displs.data(), 1, MPI_INT, c.comm()), "MPI_Allgather");
  std::vector<double> all(x.global_size());
  communicator::check(MPI_Allgatherv(x.local().data(), mine, MPI_DOUBLE, all.data(), counts.data(), displs.data(),
                                     MPI_DOUBLE, c.comm()),
                      "MPI_Allgatherv");
  return all;
}

}  // namespace iterop::mpi

namespace iterop {

/// vector_ops for the distributed vector: the local kernels of std::vector<double> on each block,
/// then one counted MPI_Allreduce per reduction (dot, norm2, distance2, wrms_norm, dot_many of m
/// values; norm_inf, distance_inf and all_finite as one MAX reduction).
template <>
struct vector_ops<mpi::distributed_vector> {
  using X = mpi::distributed_vector;
  using L = vector_ops<std::vector<double>>;
  using scalar = double;

  static std::size_t size(const X& x) { return x.global_size(); }
  static X zeros_like(const X& x) { return x.zeros_like(); }
  static void copy(const X& src, X& dst) { L::copy(src.local_vector(), dst.local_vector()); }
  static void axpby(double a, const X& x, double b, X& y) { L::axpby(a, x.local_vector(), b, y.local_vector()); }
  static void linear_sum(double a, const X& x, double b, const X& y, X& z) {
    L::linear_sum(a, x.local_vector(), b, y.local_vector(), z.local_vector());
  }

  static double dot(const X& x, const X& y) { return x.comm()->sum(L::dot(x.local_vector(), y.local_vector())); }
  static double norm2(const X& x) { return std::sqrt(dot(x, x)); }
  // The local max-norms are NaN when any local entry is (core's contiguous kernels); Communicator::max keeps NaN.
  static double norm_inf(const X& x) { return x.comm()->max(L::norm_inf(x.local_vector())); }
  static double distance2(const X& x, const X& y) {
    const double d = L::distance2(x.local_vector(), y.local_vector());
    return std::sqrt(x.comm()->sum(d * d));
  }
  static double distance_inf(const X& x, const X& y) {
    return x.comm()->max(L::distance_inf(x.local_vector(), y.local_vector()));
  }
  /// sqrt(sum_i w_i^2 / n) over all ranks: the local sum of squares and one reduction.
  static double wrms_norm(const X& v, const X& x, double rtol, double atol) {
    const std::size_t nl = v.local_size();
    const double ms = nl == 0 ? 0.0 : L::wrms_norm(v.local_vector(), x.local_vector(), rtol, atol);
    const double sq = ms * ms * static_cast<double>(nl);
    const double n = static_cast<double>(v.global_size());
    return n == 0 ? 0.0 : std::sqrt(v.comm()->sum(sq) / n);
  }
  static bool all_finite(const X& x) {
    return x.comm()->max(L::all_finite(x.local_vector()) ? 0.0 : 1.0) == 0.0;
  }

  /// out[j] = <x, ys[j]> for all j: one blocked local pass, then one MPI_Allreduce of m values.
  static void dot_many(const X& x, std::span<const X* const> ys, double* out) {
    std::vector<const std::vector<double>*> loc(ys.size());
    for (std::size_t j = 0; j < ys.size(); ++j) loc[j] = &ys[j]->local_vector();
    L::dot_many(x.local_vector(), std::span<const std::vector<double>* const>(loc), out);
    if (!ys.empty()) x.comm()->sum(out, static_cast<int>(ys.size()));
  }
  static void linear_combination(std::span<const double> c, std::span<const X* const> xs, X& y) {
    std::vector<const std::vector<double>*> loc(xs.size());
    for (std::size_t j = 0; j < xs.size(); ++j) loc[j] = &xs[j]->local_vector();
    L::linear_combination(c, std::span<const std::vector<double>* const>(loc), y.local_vector());
  }
  static void transform_columns(std::span<X* const> in, const double* P, std::span<X* const> out) {
    std::vector<std::vector<double>*> li(in.size()), lo(out.size());
    for (std::size_t j = 0; j < in.size(); ++j) li[j] = &in[j]->local_vector();
    for (std::size_t j = 0; j < out.size(); ++j) lo[j] = &out[j]->local_vector();
    L::transform_columns(std::span<std::vector<double>* const>(li), P, std::span<std::vector<double>* const>(lo));
  }
};

}  // namespace iterop
