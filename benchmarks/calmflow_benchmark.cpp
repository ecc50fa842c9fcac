// Google Benchmark of CaLMFlow (calmflow.hpp) at the 2-D size of [CF]: D = 2, N = 16 time points,
// M = 8 trajectories per sequence, K = 1, d_model 64, 2 layers, 2 heads, feed-forward 256; one torch
// thread. CPU columns and rates are process CPU time (the BLAS may run its own worker threads).
//
// - BM_CalmFlowGenerate/cache:{0,1}/rows: sequential generation of `rows` samples (rows / 8 sequences)
//   re-encoding every prefix (cache:0, as the authors' code does) or with the key/value cache
//   (cache:1). The cache run also times the re-encoding run itself (3 runs, fastest) and reports
//   speedup_vs_no_cache = t(no cache) / t(cache) from the same process, both in process CPU time
//   (the machine may be shared; CPU time is what one torch thread spends).
// - BM_CalmFlowParallelInTime/tol_exp: a briefly trained model (150 steps, 8gaussians -> moons);
//   x = T(x) solved by Picard and Anderson(5); counters: sequential passes N - 1 and each method's
//   sweeps (forward passes of the whole trajectory) until ||x_k - x_sequential||_max <= 10^-tol_exp,
//   its evaluations until the residual test holds, and the error at the end.
// - BM_CalmFlowTrain/batch: training steps per CPU second (counter steps/s).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include <torch/utils.h>

#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/operators/calmflow.hpp"

namespace {

using namespace iterop::operators;
namespace dist = iterop::distributions;

CalmFlowOptions paper_2d(int batch = 256) {
  CalmFlowOptions o;
  o.dim = 2;
  o.time_points = 16;
  o.trajectories = 8;
  o.spatial_tokens = 1;
  o.width = 64;
  o.layers = 2;
  o.heads = 2;
  o.feedforward = 256;
  o.batch = batch;
  o.seed = 0;
  return o;
}

/// CPU time of this process (the clock Google Benchmark's CPU column uses), in seconds.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

CalmFlowData moons_data() {
  CalmFlowData d;
  d.source = dist::sample_dataset("8gaussians", 4096, 2, 1);
  d.target = dist::sample_dataset("moons", 4096, 2, 2);
  return d;
}

void BM_CalmFlowGenerate(benchmark::State& state) {
  torch::set_num_threads(1);
  const bool cache = state.range(0) != 0;
  const auto rows = static_cast<std::size_t>(state.range(1));
  CalmFlow m(paper_2d());
  const auto x0 = dist::sample_dataset("8gaussians", rows, 2, 3);
  CalmFlowSampleOptions s{.temperature = 0.3, .seed = 1, .prompt = {}, .use_cache = cache};
  if (cache) {
    double best = 1e300;
    for (int r = 0; r < 3; ++r) {
      const double t0 = cpu_seconds();
      benchmark::DoNotOptimize(m.sample(x0, {.temperature = 0.3, .seed = 1, .prompt = {}, .use_cache = false}));
      best = std::min(best, cpu_seconds() - t0);
    }
    double total = 0;
    long count = 0;
    for (auto _ : state) {
      const double t0 = cpu_seconds();
      benchmark::DoNotOptimize(m.sample(x0, s));
      total += cpu_seconds() - t0;
      ++count;
    }
    state.counters["speedup_vs_no_cache"] = best / (total / double(count));
  } else {
    for (auto _ : state) benchmark::DoNotOptimize(m.sample(x0, s));
  }
  state.counters["samples/s"] = benchmark::Counter(double(rows), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CalmFlowGenerate)
    ->ArgNames({"cache", "rows"})
    ->ArgsProduct({{0, 1}, {8, 256, 1024}})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

void BM_CalmFlowParallelInTime(benchmark::State& state) {
  torch::set_num_threads(1);
  const double tol = std::pow(10.0, -double(state.range(0)));
  auto o = paper_2d(64);
  o.steps = 150;
  CalmFlow m(o);
  (void)m.train(moons_data());
  const auto x0 = dist::sample_dataset("8gaussians", 256, 2, 5);
  CalmFlowParallelReport r;
  for (auto _ : state) {
    r = m.sample_parallel(x0, {.temperature = 0.3, .seed = 2}, {.tol = tol, .max_sweeps = 30});
    benchmark::DoNotOptimize(r.picard.sample.values.data());
  }
  state.counters["sequential_passes"] = r.sequential_passes;
  state.counters["picard_sweeps_to_tol"] = r.picard.sweeps_to_tol;
  state.counters["picard_evaluations"] = double(r.picard.evaluations);
  state.counters["picard_error"] = r.picard.error;
  state.counters["anderson_sweeps_to_tol"] = r.anderson.sweeps_to_tol;
  state.counters["anderson_evaluations"] = double(r.anderson.evaluations);
  state.counters["anderson_error"] = r.anderson.error;
}
BENCHMARK(BM_CalmFlowParallelInTime)
    ->ArgName("tol_exp")
    ->Arg(2)
    ->Arg(4)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->MeasureProcessCPUTime();

void BM_CalmFlowTrain(benchmark::State& state) {
  torch::set_num_threads(1);
  auto o = paper_2d(int(state.range(0)));
  o.steps = 0;
  CalmFlow m(o);
  const auto data = moons_data();
  constexpr int kSteps = 5;
  for (auto _ : state) {
    m.set_steps(m.step() + kSteps);
    benchmark::DoNotOptimize(m.train(data));
  }
  state.counters["steps/s"] = benchmark::Counter(kSteps, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CalmFlowTrain)->ArgName("batch")->Arg(256)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

}  // namespace

BENCHMARK_MAIN();
