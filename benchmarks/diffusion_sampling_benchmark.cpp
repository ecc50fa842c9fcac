// Google Benchmark of the diffusion denoiser's sampling chain (diffusion_denoiser.hpp) at S = 100
// denoising steps (T = 100): sequential sampling against parallel-in-time sampling (the chain as a
// causal operator on trajectories, solved by Picard or Anderson(5) over the whole chain, tolerance
// 1e-3 x the noise scale per step). Model: MLP width 128, depth 3, trained 1500 Adam steps on moons
// (seed 0); 256 samples; one torch thread.
//
// - BM_DenoiserSequential/sampler: S network calls of 256 rows (sampler 0 = DDPM, 1 = DDIM eta 0).
// - BM_DenoiserParallel/sampler/method (method 0 = Picard, 1 = Anderson): counters sweeps (sequential
//   batched network calls), network_evaluations (per chain step and sweep), sweeps_per_step = sweeps / S,
//   evaluations_per_step, max_abs_diff (largest coordinate difference from the sequential sample), and
//   time_ratio_vs_sequential = CPU time of parallel / sequential sampling measured in the same process
//   (interleaved runs, fastest of 5 each, process CPU time: the machine may be shared).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

#include <torch/utils.h>

#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/operators/diffusion_denoiser.hpp"

namespace {

namespace op = iterop::operators;
constexpr int kSteps = 100;
constexpr std::size_t kSamples = 256;

const op::DiffusionDenoiser& model() {
  static const op::DiffusionDenoiser m = [] {
    torch::set_num_threads(1);
    op::DenoiserOptions o;
    o.dim = 2;
    o.width = 128;
    o.depth = 3;
    o.diffusion_steps = kSteps;
    o.training_steps = 1500;
    o.seed = 0;
    op::DiffusionDenoiser d(o);
    (void)d.train(iterop::distributions::sample_dataset("moons", 10000, 2, 0));
    return d;
  }();
  return m;
}

op::SamplingOptions sampling(int sampler) {
  op::SamplingOptions s;
  s.sampler = sampler == 0 ? op::Sampler::ddpm : op::Sampler::ddim;
  s.steps = kSteps;
  s.samples = kSamples;
  s.seed = 3;
  return s;
}

op::ParallelSamplingOptions parallel(int method) {
  op::ParallelSamplingOptions p;
  p.method = method == 0 ? op::ChainMethod::picard : op::ChainMethod::anderson;
  p.tolerance = 1e-3;
  return p;
}

/// Process CPU seconds of one call of f.
template <class F>
double cpu_seconds(F&& f) {
  const std::clock_t c0 = std::clock();
  f();
  return double(std::clock() - c0) / CLOCKS_PER_SEC;
}

void BM_DenoiserSequential(benchmark::State& state) {
  const auto& m = model();
  torch::set_num_threads(1);
  const auto s = sampling(int(state.range(0)));
  op::SamplingResult r;
  for (auto _ : state) {
    r = m.sample(s);
    benchmark::DoNotOptimize(r.samples.values.data());
  }
  state.counters["sweeps"] = r.sweeps;
  state.counters["network_evaluations"] = double(r.network_evaluations);
}
BENCHMARK(BM_DenoiserSequential)->ArgName("sampler")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_DenoiserParallel(benchmark::State& state) {
  const auto& m = model();
  torch::set_num_threads(1);
  const auto s = sampling(int(state.range(0)));
  const auto p = parallel(int(state.range(1)));
  op::SamplingResult r;
  for (auto _ : state) {
    r = m.sample_parallel(s, p);
    benchmark::DoNotOptimize(r.samples.values.data());
  }
  if (r.status != iterop::Status::converged) {
    state.SkipWithError(("parallel sampling did not converge: " + r.message).c_str());
    return;
  }
  const auto seq = m.sample(s);
  double diff = 0;
  for (std::size_t i = 0; i < seq.samples.values.size(); ++i)
    diff = std::max(diff, std::abs(seq.samples.values[i] - r.samples.values[i]));
  // Interleaved, fastest of 5 each: on a shared machine the minimum is the least disturbed run.
  double t_seq = std::numeric_limits<double>::infinity(), t_par = t_seq;
  for (int i = 0; i < 5; ++i) {
    t_seq = std::min(t_seq, cpu_seconds([&] { (void)m.sample(s); }));
    t_par = std::min(t_par, cpu_seconds([&] { (void)m.sample_parallel(s, p); }));
  }
  state.counters["steps"] = kSteps;
  state.counters["sweeps"] = r.sweeps;
  state.counters["network_evaluations"] = double(r.network_evaluations);
  state.counters["sweeps_per_step"] = double(r.sweeps) / kSteps;
  state.counters["evaluations_per_step"] = double(r.network_evaluations) / kSteps;
  state.counters["max_abs_diff"] = diff;
  state.counters["time_ratio_vs_sequential"] = t_par / t_seq;
}
BENCHMARK(BM_DenoiserParallel)
    ->ArgNames({"sampler", "method"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
