// Tests of iterop/mpi/kinsol_parallel.hpp: KINSOL on N_VNew_Parallel reproduces the published
// H-equation counts and iterop's distributed Anderson; its reductions are counted.
#include "iterop/mpi/kinsol_parallel.hpp"

#include <gtest/gtest.h>

#include <string>

#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/mpi/problems.hpp"

namespace {

using iterop::Anderson;
using iterop::Orthogonalization;
using iterop::Status;
using iterop::Stop;
using iterop::baselines::KinsolAnderson;
using iterop::baselines::KinsolOrthogonalization;
using iterop::mpi::communicator;
using iterop::mpi::KinsolParallel;
using iterop::mpi::kinsol_solve_parallel;

double counter(const iterop::Result<iterop::mpi::distributed_vector>& r, const std::string& name) {
  for (const auto& [k, v] : r.counters)
    if (k == name) return v;
  ADD_FAILURE() << "no counter " << name;
  return -1;
}

TEST(KinsolParallel, ReproducesTheTothKelleyCountsAndIteropsDistributedAnderson) {
  const auto comm = communicator::make();
  const iterop::mpi::h_equation h(comm, 0.99, 512);
  auto op = [&](std::span<const double> x, std::span<double> y) { h.apply(x, y); };
  const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};
  const int published[] = {10, 9, 9, 10, 11, 11};
  for (auto orth : {KinsolOrthogonalization::mgs, KinsolOrthogonalization::cgs2}) {
    for (int m = 1; m <= 6; ++m) {
      SCOPED_TRACE(iterop::baselines::to_string(orth) + ", m = " + std::to_string(m));
      const auto k = kinsol_solve_parallel(op, h.initial_guess(),
                                           KinsolParallel{.anderson = {.memory = m, .orthogonalization = orth}}, stop);
      const auto a = iterop::solve(h, h.initial_guess(), Anderson{.memory = m}, stop);
      ASSERT_EQ(k.status, Status::converged) << k.full_report();
      EXPECT_EQ(k.iterations, published[m - 1]);
      EXPECT_EQ(a.iterations, k.iterations);
      EXPECT_EQ(k.evaluations, k.iterations + 1);
      EXPECT_GT(counter(k, "kinsol_reductions"), 0);
    }
  }
}

TEST(KinsolParallel, KinsolAloneRunsToItsIterationLimitAndCountsReductions) {
  const auto comm = communicator::make();
  const iterop::mpi::bratu2d bratu(comm, 40, 6.0);
  auto op = [&](std::span<const double> x, std::span<double> y) { bratu.apply(x, y); };
  const Stop stop{.abs_tol = 0, .rel_tol = 0, .max_iterations = 40};
  for (auto orth : {KinsolOrthogonalization::cgs2, KinsolOrthogonalization::dcgs2}) {
    SCOPED_TRACE(iterop::baselines::to_string(orth));
    const KinsolAnderson aa{.memory = 5, .orthogonalization = orth, .test = KinsolAnderson::Test::kinsol};
    const auto fused = kinsol_solve_parallel(op, bratu.initial_guess(), KinsolParallel{.anderson = aa}, stop);
    const auto plain =
        kinsol_solve_parallel(op, bratu.initial_guess(), KinsolParallel{.anderson = aa, .fused_ops = false}, stop);
    EXPECT_EQ(fused.status, Status::max_iterations) << fused.full_report();
    EXPECT_EQ(fused.iterations, 40);
    EXPECT_EQ(counter(fused, "kinsol_nfe"), 40);
    // Unfused, N_VDotProdMulti is m separate dot products.
    EXPECT_GT(counter(plain, "kinsol_reductions"), counter(fused, "kinsol_reductions"));
    EXPECT_NEAR(fused.residual, plain.residual, 1e-10 * plain.residual);
    EXPECT_LT(fused.residual, 0.5 * fused.initial_residual);
    // The same iterates as iterop's Anderson with CGS2 (KINSOL's DCGS2 differs in rounding only).
    const auto a = iterop::solve(bratu, bratu.initial_guess(), Anderson{.memory = 5}, stop);
    EXPECT_NEAR(a.residual, fused.residual, 1e-6 * fused.residual);
  }
}

TEST(KinsolParallel, InvalidOptionsThrowBeforeAnyWork) {
  const auto comm = communicator::make();
  const iterop::mpi::h_equation h(comm, 0.5, 16);
  auto op = [&](std::span<const double> x, std::span<double> y) { h.apply(x, y); };
  EXPECT_THROW(kinsol_solve_parallel(op, h.initial_guess(), KinsolParallel{.anderson = {.memory = -1}}),
               iterop::invalid_option);
  EXPECT_THROW(kinsol_solve_parallel({}, h.initial_guess(), KinsolParallel{}), iterop::invalid_option);
}

}  // namespace
