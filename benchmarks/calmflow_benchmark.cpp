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
// - BM_CalmFlowTrainStep: training steps of the default model (CalmFlowOptions' head) at batch 256: 30 steps in one
//   train() call after 5 warm-up steps, counter cpu_ms_per_step (process CPU time per step), one
//   intra-op thread and a single-threaded BLAS.
//   When it ran, the program ends by comparing it with the same model in PyTorch eager
//   (benchmarks/reference/calmflow_eager.py, run with python3 where `import torch` works; skipped
//   with a message otherwise): 3 rounds of C++ then eager, 30 timed steps each after 5 warm-up steps,
//   and prints the medians and the C++ / eager CPU-time ratio per training step (issue 11: at most
//   0.67), and also the ratio against eager run with glibc malloc keeping freed memory (GLIBC_TUNABLES),
//   which the C++ training gets from its CPU memory cache: that one compares the computation alone. Environment: ITEROP_PYTHON (interpreter; default python3, then /usr/bin/python3),
//   ITEROP_EAGER_HEADS (comma-separated heads to compare among gaussian, flow, variational; default
//   the default head of CalmFlowOptions; "variational" is the paper's), ITEROP_EAGER_REFERENCE=0 (skip the comparison).
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include <torch/utils.h>

#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/operators/calmflow.hpp"

namespace {

using namespace iterop::operators;
namespace dist = iterop::distributions;

/// One intra-op torch thread, and one BLAS thread where the BLAS is OpenBLAS with its own pool
/// (Debian's LibTorch; torch::set_num_threads does not reach it), so that process CPU time is the
/// work of one thread rather than that plus a spinning BLAS worker.
void single_thread() {
  torch::set_num_threads(1);
  using SetThreads = void (*)(int);
  if (auto* f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(1);
}

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

// --- one training step, and the comparison with PyTorch eager ---------------------------------

constexpr int kWarmupSteps = 5;
constexpr int kTimedSteps = 30;
bool g_train_step_ran = false;

void BM_CalmFlowTrainStep(benchmark::State& state) {
  single_thread();
  auto o = paper_2d();
  o.steps = kWarmupSteps;
  CalmFlow m(o);
  const auto data = moons_data();
  (void)m.train(data);
  double cpu = 0;
  for (auto _ : state) {
    m.set_steps(m.step() + kTimedSteps);  // one call, as a training run makes it
    const double t0 = cpu_seconds();
    benchmark::DoNotOptimize(m.train(data));
    cpu += cpu_seconds() - t0;
  }
  state.counters["cpu_ms_per_step"] = 1e3 * cpu / double(kTimedSteps * state.iterations());
  state.counters["parameters"] = double(m.num_parameters());
  g_train_step_ran = true;
}
BENCHMARK(BM_CalmFlowTrainStep)->Unit(benchmark::kMillisecond)->Iterations(1)->MeasureProcessCPUTime();

struct StepTime {
  double cpu_seconds = 0;  ///< per training step
  long parameters = 0;
  CalmFlowOptions options;
};

/// CPU time per training step of a fresh model with `head` after the warm-up steps.
StepTime cpp_step_time(const std::string& head) {
  single_thread();
  auto o = paper_2d();
  o.head = head;
  o.steps = kWarmupSteps;
  CalmFlow m(o);
  const auto data = moons_data();
  (void)m.train(data);
  m.set_steps(kWarmupSteps + kTimedSteps);
  const double t0 = cpu_seconds();
  benchmark::DoNotOptimize(m.train(data));
  return {(cpu_seconds() - t0) / kTimedSteps, m.num_parameters(), m.options()};
}

/// Runs `command` and returns its standard output (empty on failure).
std::string run_command(const std::string& command, int& status) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) {
    status = -1;
    return out;
  }
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), int(buf.size()), p) != nullptr) out += buf.data();
  status = pclose(p);
  return out;
}

/// The value after `key=` in `text` (NaN if absent).
double field(const std::string& text, const std::string& key) {
  const auto at = text.find(key + "=");
  if (at == std::string::npos) return std::nan("");
  return std::strtod(text.c_str() + at + key.size() + 1, nullptr);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

/// A python3 with torch, or empty.
std::string find_python() {
  std::vector<std::string> candidates;
  if (const char* e = std::getenv("ITEROP_PYTHON"); e != nullptr && *e != 0) candidates.emplace_back(e);
  candidates.emplace_back("python3");
  candidates.emplace_back("/usr/bin/python3");
  for (const auto& py : candidates)
    if (std::system(("'" + py + "' -c 'import torch' >/dev/null 2>&1").c_str()) == 0) return py;
  return {};
}

void compare_with_eager() {
  if (const char* e = std::getenv("ITEROP_EAGER_REFERENCE"); e != nullptr && std::string(e) == "0") {
    std::printf("calmflow eager comparison: skipped (ITEROP_EAGER_REFERENCE=0).\n");
    return;
  }
  const std::string script = ITEROP_CALMFLOW_EAGER_SCRIPT;
  const std::string python = find_python();
  if (python.empty()) {
    std::printf("calmflow eager comparison: skipped: no python3 with torch (`python3 -c \"import torch\"` fails; "
                "install python3-torch, or set ITEROP_PYTHON, to compare with %s).\n",
                script.c_str());
    return;
  }
  std::vector<std::string> heads;
  {
    const char* e = std::getenv("ITEROP_EAGER_HEADS");
    std::stringstream in(e != nullptr && *e != 0 ? e : CalmFlowOptions{}.head);
    for (std::string h; std::getline(in, h, ',');)
      if (!h.empty()) heads.push_back(h);
  }
  constexpr int kRounds = 3;
  std::printf("\ncalmflow training step, C++ against PyTorch eager (%s %s): batch 256, N 16, M 8, K 1, width 64, "
              "2 layers, 2 heads, feed-forward 256, D 2, Adam; one thread; process CPU time per step over %d steps "
              "after %d warm-up steps; %d rounds of C++ then eager.\n",
              python.c_str(), script.c_str(), kTimedSteps, kWarmupSteps, kRounds);
  // The eager reference as a user runs it, and with glibc malloc told to keep freed memory (what the
  // C++ training gets from its CPU memory cache, detail::CpuMemoryCache): the second ratio compares
  // the computation alone.
  const std::string kept_memory = "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824";
  for (const auto& head : heads) {
    std::vector<double> cpp, eager, eager_kept;
    for (int r = 0; r < kRounds; ++r) {
      const auto c = cpp_step_time(head);
      double e[2] = {0, 0};
      bool failed = false;
      for (int variant = 0; variant < 2 && !failed; ++variant) {
        std::ostringstream cmd;
        cmd << (variant == 1 ? kept_memory + " " : std::string()) << "'" << python << "' '" << script << "' --head "
            << head << " --steps " << kTimedSteps << " --warmup " << kWarmupSteps << " --parameters " << c.parameters
            << " --time-input " << (c.options.time_input ? 1 : 0) << " --lr-schedule " << c.options.lr_schedule
            << " 2>&1";
        int status = 0;
        const auto out = run_command(cmd.str(), status);
        e[variant] = field(out, "eager_cpu_seconds_per_step");
        if (status != 0 || !std::isfinite(e[variant])) {
          std::printf("  head %s: the eager reference failed (status %d, C++ parameters %ld, eager %.0f):\n%s\n",
                      head.c_str(), status, c.parameters, field(out, "parameters"), out.c_str());
          failed = true;
        }
      }
      if (failed) break;
      std::printf("  head %s round %d: C++ %.1f ms, eager %.1f ms, eager keeping freed memory %.1f ms CPU per step "
                  "(parameters %ld)\n",
                  head.c_str(), r + 1, 1e3 * c.cpu_seconds, 1e3 * e[0], 1e3 * e[1], c.parameters);
      std::fflush(stdout);
      cpp.push_back(c.cpu_seconds);
      eager.push_back(e[0]);
      eager_kept.push_back(e[1]);
    }
    if (cpp.size() != std::size_t(kRounds)) continue;
    const double mc = median(cpp), me = median(eager), mk = median(eager_kept);
    std::printf("  head %s median: C++ %.1f ms, eager %.1f ms CPU per step; C++ / eager CPU-time ratio per training "
                "step %.3f (issue 11: at most 0.67); against eager keeping freed memory (%s) %.1f ms: %.3f\n",
                head.c_str(), 1e3 * mc, 1e3 * me, mc / me, kept_memory.c_str(), 1e3 * mk, mc / mk);
    std::printf("calmflow_train_step head=%s cpp_ms=%.2f eager_ms=%.2f ratio=%.3f eager_kept_memory_ms=%.2f "
                "ratio_kept_memory=%.3f\n",
                head.c_str(), 1e3 * mc, 1e3 * me, mc / me, 1e3 * mk, mc / mk);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fflush(stdout);
  if (g_train_step_ran) compare_with_eager();
  return 0;
}
