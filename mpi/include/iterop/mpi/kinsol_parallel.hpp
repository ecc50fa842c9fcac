// KINSOL (SUNDIALS 6.4.1) fixed point with Anderson acceleration on N_VNew_Parallel: the baseline for
// iterop::solve() on distributed_vector, with KINSOL's global reductions counted through its N_Vector.
#pragma once

#include "iterop/baselines/kinsol.hpp"
#include "iterop/baselines/vector_operator.hpp"
#include "iterop/core/result.hpp"
#include "iterop/fixed_point/stop.hpp"
#include "iterop/mpi/distributed_vector.hpp"

namespace iterop::mpi {

/// How the parallel KINSOL baseline runs besides the Anderson options.
struct KinsolParallel {
  baselines::KinsolAnderson anderson{};  ///< depth, relaxation, delay, orthogonalisation, test
  /// N_VEnableFusedOps_Parallel: N_VDotProdMulti is then one MPI_Allreduce for m values and the linear
  /// combinations are one pass (off: m separate dot products, KINSOL's default for this vector).
  bool fused_ops = true;
};

/// Solves x = T(x) with KINSOL's fixed-point solver on an N_VNew_Parallel vector over x0's
/// communicator; `op` maps this rank's block of x to its block of T(x) and is collective.
/// With KinsolAnderson::Test::iterop every evaluated iterate goes through iterop::StopMonitor (as in
/// the serial kinsol_solve: the same tests, messages, history and returned iterate; its norms cost
/// reductions of their own, counted apart). With Test::kinsol KINSOL runs alone to its own test or
/// Stop::max_iterations (nothing measured per iteration: the baseline to time), and the true residual
/// of the returned vector is computed once afterwards.
/// Result::counters: kinsol_nni, kinsol_nfe, kinsol_fnorm, kinsol_flag, kinsol_reductions (global
/// reductions KINSOL made through the N_Vector: dot products, multi-dots, norms), kinsol_seconds
/// (wall time of KINSol() on this rank), monitor_reductions (those of the StopMonitor's norms).
/// Throws iterop::backend_error for SUNDIALS failures and iterop::invalid_option for bad options.
Result<distributed_vector> kinsol_solve_parallel(const baselines::VectorOperator& op, const distributed_vector& x0,
                                                 const KinsolParallel& options, const Stop& stop = {});

}  // namespace iterop::mpi
