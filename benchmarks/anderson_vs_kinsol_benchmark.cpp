// iterop's Anderson acceleration against KINSOL's (SUNDIALS 6.4.1) on the same operators:
// (a) cost per iteration on a cheap operator, n = 10^6, m = 5; (b) time to tolerance on the H-equation.
//
// Both solvers run through iterop's public entry points (iterop::solve and
// iterop::baselines::kinsol_solve), with the same operator arithmetic, and are checked to have run
// the same number of iterations and operator evaluations. After the runs, the program prints the
// time ratio iterop / KINSOL for every pair measured in the same run.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "iterop/baselines/kinsol.hpp"
#include "iterop/iterop.hpp"

namespace {

using iterop::Anderson;
using iterop::Stop;
using iterop::baselines::KinsolAnderson;
using iterop::baselines::KinsolOrthogonalization;

// ---- (a) cost per iteration ----------------------------------------------------------------------

constexpr std::size_t kCheapSize = 1'000'000;
constexpr int kCheapMemory = 5;
constexpr int kCheapIterations = 30;

/// G(x) = diag(lambda) x + b with lambda_i in [0.25, 0.75] and b seeded, n = 10^6: one read of x, lambda
/// and b, one write. Not G(x) = 0.5 x + b: with a single eigenvalue Anderson lands on the fixed point
/// at its second step, residuals then sit at rounding level and hit exactly 0 after a different
/// number of iterations per solver (measured: iterop 4, KINSOL MGS 11, CGS2 9), so "30 iterations
/// each" cannot be arranged. The spread spectrum keeps both on a linear-convergence path throughout.
struct CheapOperator {
  std::vector<double> lambda, b;
  CheapOperator() : lambda(kCheapSize), b(kCheapSize) {
    std::mt19937_64 rng(20240501);
    std::uniform_real_distribution<double> u(0.25, 0.75), n(-1.0, 1.0);
    for (std::size_t i = 0; i < kCheapSize; ++i) {
      lambda[i] = u(rng);
      b[i] = n(rng);
    }
  }
  template <class X, class Y>
  void operator()(const X& x, Y& y) const {
    const std::size_t n = lambda.size();
    for (std::size_t i = 0; i < n; ++i) y[i] = lambda[i] * x[i] + b[i];
  }
};

const CheapOperator& cheap() {
  static const CheapOperator op;
  return op;
}

/// Both solvers call the operator through the same std::function on spans (the baselines' type),
/// so the operator's cost and the call overhead are identical on both sides.
template <class P>
iterop::baselines::VectorOperator as_vector_operator(const P& p) {
  return [&p](std::span<const double> x, std::span<double> y) { p(x, y); };
}

/// iterop's view of the same VectorOperator: y = T(x) on std::vector.
struct SameOperator {
  const iterop::baselines::VectorOperator& op;
  void operator()(const std::vector<double>& x, std::vector<double>& y) const { op(x, y); }
};

/// Tolerances 0: no iterate passes, so both solvers run exactly kCheapIterations iterations.
Stop fixed_iterations_stop() {
  return Stop{.abs_tol = 0.0,
              .rel_tol = 0.0,
              .max_iterations = kCheapIterations,
              .stagnation_window = 0,
              .divergence_factor = std::numeric_limits<double>::infinity()};
}

void report(benchmark::State& state, const iterop::SolveSummary& r) {
  state.counters["iterations"] = r.iterations;
  state.counters["evaluations"] = static_cast<double>(r.evaluations);
  state.counters["residual"] = r.residual;
  // Seconds per solver iteration (the rate inverted), comparable across the pair.
  state.counters["time_per_iteration"] = benchmark::Counter(static_cast<double>(r.iterations) * state.iterations(),
                                                            benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

bool check_fixed(benchmark::State& state, const iterop::SolveSummary& r) {
  if (r.iterations != kCheapIterations || r.evaluations != kCheapIterations + 1 ||
      r.status != iterop::Status::max_iterations) {
    state.SkipWithError(("expected " + std::to_string(kCheapIterations) + " iterations and " +
                         std::to_string(kCheapIterations + 1) + " evaluations ending at max_iterations, got " +
                         r.brief_report())
                            .c_str());
    return false;
  }
  return true;
}

void cost_iterop(benchmark::State& state) {
  const auto op = as_vector_operator(cheap());
  const std::vector<double> x0(kCheapSize, 0.0);
  const Stop stop = fixed_iterations_stop();
  iterop::Result<std::vector<double>> r;
  for (auto _ : state) {
    r = iterop::solve(SameOperator{op}, x0, Anderson{.memory = kCheapMemory}, stop);
    benchmark::DoNotOptimize(r.solution.data());
  }
  if (check_fixed(state, r)) report(state, r);
}

void cost_kinsol(benchmark::State& state, KinsolOrthogonalization orth) {
  const auto op = as_vector_operator(cheap());
  const std::vector<double> x0(kCheapSize, 0.0);
  const Stop stop = fixed_iterations_stop();
  iterop::Result<std::vector<double>> r;
  for (auto _ : state) {
    r = iterop::baselines::kinsol_solve(op, x0, KinsolAnderson{.memory = kCheapMemory, .orthogonalization = orth}, stop);
    benchmark::DoNotOptimize(r.solution.data());
  }
  if (check_fixed(state, r)) report(state, r);
}

// ---- (b) H-equation to tolerance -----------------------------------------------------------------

const iterop::problems::HEquation& heq() {
  static const iterop::problems::HEquation h(0.99, 512);
  return h;
}
const Stop heq_stop{.abs_tol = 1e-8, .rel_tol = 1e-8};

void heq_iterop(benchmark::State& state) {
  const auto& h = heq();
  const auto op = as_vector_operator(h);
  const auto x0 = h.initial_guess();
  iterop::Result<std::vector<double>> r;
  for (auto _ : state) {
    r = iterop::solve(SameOperator{op}, x0, Anderson{.memory = 3}, heq_stop);
    benchmark::DoNotOptimize(r.solution.data());
  }
  if (!r.converged()) state.SkipWithError(r.brief_report().c_str());
  report(state, r);
}

void heq_kinsol(benchmark::State& state, KinsolOrthogonalization orth) {
  const auto& h = heq();
  const auto op = as_vector_operator(h);
  const auto x0 = h.initial_guess();
  iterop::Result<std::vector<double>> r;
  for (auto _ : state) {
    r = iterop::baselines::kinsol_solve(op, x0, KinsolAnderson{.memory = 3, .orthogonalization = orth}, heq_stop);
    benchmark::DoNotOptimize(r.solution.data());
  }
  if (!r.converged()) state.SkipWithError(r.brief_report().c_str());
  report(state, r);
}

// ---- a console reporter that also keeps the results for the ratios --------------------------------

struct Measured {
  double real_time = 0;  // in the run's time unit
  double iterations = 0, evaluations = 0;
  bool ok = false;
  bool aggregate_mean = false;
};

class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      const bool mean = run.run_type == Run::RT_Aggregate && run.aggregate_name == "mean";
      if (run.run_type == Run::RT_Aggregate && !mean) continue;
      const std::string name = run.run_name.str();
      auto& m = results[name];
      if (m.aggregate_mean && !mean) continue;  // prefer the mean over single repetitions
      m.real_time = run.GetAdjustedRealTime() * to_seconds(run.time_unit);
      m.ok = !run.error_occurred;
      m.aggregate_mean = mean;
      auto get = [&](const char* key) {
        const auto it = run.counters.find(key);
        return it == run.counters.end() ? std::nan("") : static_cast<double>(it->second);
      };
      m.iterations = get("iterations");
      m.evaluations = get("evaluations");
    }
  }
  std::map<std::string, Measured> results;

 private:
  static double to_seconds(benchmark::TimeUnit u) {
    switch (u) {
      case benchmark::kNanosecond: return 1e-9;
      case benchmark::kMicrosecond: return 1e-6;
      case benchmark::kMillisecond: return 1e-3;
      case benchmark::kSecond: return 1.0;
    }
    return 1.0;
  }
};

void print_ratios(const std::map<std::string, Measured>& results) {
  std::printf("\nRatios iterop / KINSOL (wall time of the same run; < 1 means iterop is faster):\n");
  for (const auto& [name, m] : results) {
    const auto slash = name.find('/');
    if (slash == std::string::npos || name.substr(slash + 1).rfind("kinsol", 0) != 0) continue;
    const auto it = results.find(name.substr(0, slash) + "/iterop");
    if (it == results.end()) continue;
    const Measured& a = it->second;
    if (!a.ok || !m.ok) {
      std::printf("  %-40s  (one of the pair failed; no ratio)\n", name.c_str());
      continue;
    }
    const bool same_work = a.iterations == m.iterations && a.evaluations == m.evaluations;
    std::printf("  %-40s  %.3f  (iterop %.4g s, KINSOL %.4g s; iterations %g vs %g, evaluations %g vs %g%s)\n",
                (name.substr(0, slash) + ": iterop / " + name.substr(slash + 1)).c_str(), a.real_time / m.real_time,
                a.real_time, m.real_time, a.iterations, m.iterations, a.evaluations, m.evaluations,
                same_work ? ", same work" : ", DIFFERENT work");
  }
}

}  // namespace

int main(int argc, char** argv) {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("cost_per_iteration_n1e6_m5/iterop", cost_iterop)->Unit(benchmark::kMillisecond);
  RegisterBenchmark("cost_per_iteration_n1e6_m5/kinsol_mgs", cost_kinsol, KinsolOrthogonalization::mgs)
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark("cost_per_iteration_n1e6_m5/kinsol_cgs2", cost_kinsol, KinsolOrthogonalization::cgs2)
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark("heq_c0.99_N512_m3_tol1e-8/iterop", heq_iterop)->Unit(benchmark::kMicrosecond);
  RegisterBenchmark("heq_c0.99_N512_m3_tol1e-8/kinsol_mgs", heq_kinsol, KinsolOrthogonalization::mgs)
      ->Unit(benchmark::kMicrosecond);
  RegisterBenchmark("heq_c0.99_N512_m3_tol1e-8/kinsol_cgs2", heq_kinsol, KinsolOrthogonalization::cgs2)
      ->Unit(benchmark::kMicrosecond);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_ratios(reporter.results);
  benchmark::Shutdown();
  return 0;
}
