// iterop's Anderson on distributed_vector against KINSOL's Anderson on N_VNew_Parallel, on the
// distributed 2-D Bratu problem: iterations, reductions per iteration, time per iteration.
// Run: mpirun -np P mpi_bratu_benchmark [--m 1000] [--iterations 40] [--memory 5] [--repeats 3] [--report FILE]
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/mpi/kinsol_parallel.hpp"
#include "iterop/mpi/problems.hpp"

namespace {

struct Row {
  std::string method;
  int iterations = 0;
  double reductions_per_iteration = 0;
  double seconds_per_iteration = 0;  // best of the repeats, slowest rank
  double residual = 0, initial_residual = 0;
};

double slowest(double seconds, MPI_Comm comm) {
  double m = 0;
  MPI_Allreduce(&seconds, &m, 1, MPI_DOUBLE, MPI_MAX, comm);
  return m;
}

double counter(const iterop::Result<iterop::mpi::distributed_vector>& r, const char* name) {
  for (const auto& [k, v] : r.counters)
    if (k == name) return v;
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  std::size_t m = 1000;
  int iterations = 40, memory = 5, repeats = 3;
  double lambda = 6.0;
  std::string report;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--m") m = std::stoul(v);
    else if (a == "--iterations") iterations = std::stoi(v);
    else if (a == "--memory") memory = std::stoi(v);
    else if (a == "--repeats") repeats = std::stoi(v);
    else if (a == "--lambda") lambda = std::stod(v);
    else if (a == "--report") report = v;
    else {
      std::fprintf(stderr, "mpi_bratu_benchmark: unknown option %s\n", a.c_str());
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
  }
  const auto comm = iterop::mpi::communicator::make();
  const iterop::mpi::bratu2d bratu(comm, m, lambda);
  auto op = [&](std::span<const double> x, std::span<double> y) { bratu.apply(x, y); };
  const iterop::Stop stop{.abs_tol = 0, .rel_tol = 0, .max_iterations = iterations, .stagnation_window = 0};
  using iterop::baselines::KinsolAnderson;
  using iterop::baselines::KinsolOrthogonalization;

  // The three methods take turns within each repeat (best of the repeats per method), so that a
  // change of machine load between them does not decide the ratio.
  const KinsolOrthogonalization kinsol_orth[] = {KinsolOrthogonalization::cgs2, KinsolOrthogonalization::dcgs2};
  std::vector<Row> rows = {{"iterop Anderson (cgs2)"}, {"KINSOL Anderson (cgs2)"}, {"KINSOL Anderson (dcgs2)"}};
  for (Row& row : rows) row.seconds_per_iteration = std::numeric_limits<double>::infinity();
  for (int rep = 0; rep < repeats; ++rep) {
    {  // iterop: solve() on distributed_vector, CGS2
      Row& row = rows[0];
      MPI_Barrier(MPI_COMM_WORLD);
      comm->reset();
      const auto r = iterop::solve(bratu, bratu.initial_guess(),
                                   iterop::Anderson{.memory = memory, .orthogonalization = iterop::Orthogonalization::cgs2},
                                   stop);
      row.iterations = r.iterations;
      row.reductions_per_iteration = static_cast<double>(comm->count().reductions) / r.iterations;
      row.seconds_per_iteration = std::min(row.seconds_per_iteration, slowest(r.seconds, MPI_COMM_WORLD) / r.iterations);
      row.residual = r.residual;
      row.initial_residual = r.initial_residual;
    }
    for (int o = 0; o < 2; ++o) {  // KINSOL alone (its own test, nothing measured per iteration)
      Row& row = rows[static_cast<std::size_t>(o + 1)];
      MPI_Barrier(MPI_COMM_WORLD);
      const KinsolAnderson aa{.memory = memory, .orthogonalization = kinsol_orth[o], .test = KinsolAnderson::Test::kinsol};
      const auto r = iterop::mpi::kinsol_solve_parallel(op, bratu.initial_guess(), {.anderson = aa}, stop);
      row.iterations = r.iterations;
      row.reductions_per_iteration = counter(r, "kinsol_reductions") / r.iterations;
      row.seconds_per_iteration =
          std::min(row.seconds_per_iteration, slowest(counter(r, "kinsol_seconds"), MPI_COMM_WORLD) / r.iterations);
      row.residual = r.residual;
      row.initial_residual = r.initial_residual;
    }
  }

  // What one communication costs here: an MPI_Allreduce of 1 and of 8 doubles, and a halo exchange
  // (two MPI_Sendrecv of m doubles with each neighbour), mean over many repetitions, slowest rank.
  auto mean_seconds = [&](int reps, auto&& body) {
    for (int i = 0; i < 50; ++i) body();  // warm-up (connections, buffers)
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    for (int i = 0; i < reps; ++i) body();
    return slowest((MPI_Wtime() - t0) / reps, MPI_COMM_WORLD);
  };
  double buf[8] = {};
  const double allreduce1 = mean_seconds(2000, [&] { MPI_Allreduce(MPI_IN_PLACE, buf, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); });
  const double allreduce8 = mean_seconds(2000, [&] { MPI_Allreduce(MPI_IN_PLACE, buf, 8, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); });
  std::vector<double> send(m, 1.0), recv(m);
  const int me = comm->rank(), p = comm->size();
  const int up = me > 0 ? me - 1 : MPI_PROC_NULL, down = me + 1 < p ? me + 1 : MPI_PROC_NULL;
  const double halo = mean_seconds(500, [&] {
    MPI_Sendrecv(send.data(), static_cast<int>(m), MPI_DOUBLE, up, 0, recv.data(), static_cast<int>(m), MPI_DOUBLE, down,
                 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Sendrecv(send.data(), static_cast<int>(m), MPI_DOUBLE, down, 1, recv.data(), static_cast<int>(m), MPI_DOUBLE, up,
                 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  });

  if (comm->rank() == 0) {
    std::ostringstream out;
    char line[512];
    std::snprintf(line, sizeof line,
                  "Bratu 2-D, m = %zu (N = %zu unknowns), lambda = %g, ranks = %d, Anderson depth %d, %d iterations, "
                  "best of %d (methods interleaved)\n\n",
                  m, m * m, lambda, comm->size(), memory, iterations, repeats);
    out << line;
    out << "| method | iterations | reductions / iteration | ms / iteration | ratio to KINSOL cgs2 | final residual |\n"
        << "|---|---:|---:|---:|---:|---:|\n";
    const double kinsol_cgs2 = rows[1].seconds_per_iteration;
    for (const Row& r : rows) {
      std::snprintf(line, sizeof line, "| %s | %d | %.2f | %.2f | %.2f | %.3e |\n", r.method.c_str(), r.iterations,
                    r.reductions_per_iteration, 1e3 * r.seconds_per_iteration, r.seconds_per_iteration / kinsol_cgs2,
                    r.residual);
      out << line;
    }
    std::snprintf(line, sizeof line, "\niterop / KINSOL time per iteration: %.3f (cgs2), %.3f (dcgs2); initial residual %.3e\n",
                  rows[0].seconds_per_iteration / rows[1].seconds_per_iteration,
                  rows[0].seconds_per_iteration / rows[2].seconds_per_iteration, rows[0].initial_residual);
    out << line;
    std::snprintf(line, sizeof line,
                  "communication here: MPI_Allreduce of 1 double %.2f us, of 8 doubles %.2f us; halo exchange (%zu doubles "
                  "each way) %.2f us\n",
                  1e6 * allreduce1, 1e6 * allreduce8, m, 1e6 * halo);
    out << line;
    std::fputs(out.str().c_str(), stdout);
    if (!report.empty()) std::ofstream(report, std::ios::app) << out.str() << "\n";
  }
  MPI_Finalize();
  return 0;
}
