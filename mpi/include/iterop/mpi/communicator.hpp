// communicator: the MPI communicator a distributed_vector carries, and the counter of the global
// reductions (MPI_Allreduce) made through it, so that a solver's synchronisations can be counted.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <limits>
#include <memory>
#include <string>

#include "iterop/core/errors.hpp"

namespace iterop::mpi {

/// What the reductions of one communicator cost so far.
struct reduction_count {
  long reductions = 0;  ///< MPI_Allreduce calls (each one a global synchronisation)
  long values = 0;      ///< doubles reduced in all (bytes = 8 x values per rank)
};

/// An MPI communicator (not owned: the caller keeps it alive) with a reduction counter. Shared by
/// every vector built on it (std::shared_ptr), so the count covers a whole solve. Not thread-safe.
class communicator {
 public:
  /// Wraps `comm` (MPI must be initialised). Throws iterop::backend_error when MPI is not.
  explicit communicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) throw backend_error("MPI", "iterop::mpi::communicator needs MPI_Init first.");
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  /// A shared communicator, the form distributed_vector takes.
  static std::shared_ptr<communicator> make(MPI_Comm comm = MPI_COMM_WORLD) {
    return std::make_shared<communicator>(comm);
  }

  MPI_Comm comm() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

  /// v[0..n) = sum over ranks, in place: one MPI_Allreduce, counted.
  void sum(double* v, int n) const {
    check(MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce(SUM)");
    ++count_.reductions;
    count_.values += n;
  }
  /// The sum of a local value over ranks (one counted reduction).
  double sum(double local) const {
    sum(&local, 1);
    return local;
  }
  /// The maximum of a local value over ranks (one counted reduction). NaN on any rank gives NaN.
  double max(double local) const {
    // MPI's MAX is not NaN-aware: reduce (value, NaN flag) in one call, NaN replaced by -inf.
    const bool nan = local != local;
    double v[2] = {nan ? -std::numeric_limits<double>::infinity() : local, nan ? 1.0 : 0.0};
    check(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce(MAX)");
    ++count_.reductions;
    count_.values += 2;
    return v[1] > 0 ? std::numeric_limits<double>::quiet_NaN() : v[0];
  }

  /// Reductions so far; reset() starts counting again (e.g. after setting up a problem).
  const reduction_count& count() const { return count_; }
  void reset() const { count_ = {}; }

  /// Throws iterop::backend_error naming the MPI call when `code` is not MPI_SUCCESS.
  static void check(int code, const char* what) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    throw backend_error("MPI", std::string(what) + " failed: " + std::string(text, static_cast<std::size_t>(len)));
  }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  mutable reduction_count count_;
};

/// The block [begin, end) of n entries that rank r of p holds (the first n % p ranks hold one more).
struct block_range {
  std::size_t begin = 0, end = 0;
  static block_range of(std::size_t n, int p, int r) {
    const std::size_t P = static_cast<std::size_t>(p), R = static_cast<std::size_t>(r);
    const std::size_t q = n / P, extra = n % P;
    const std::size_t b = R * q + (R < extra ? R : extra);
    return {b, b + q + (R < extra ? 1 : 0)};
  }
  std::size_t size() const { return end - begin; }
};

}  // namespace iterop::mpi
