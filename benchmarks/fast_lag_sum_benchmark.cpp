// Google Benchmark of fast_lag_sum.hpp: online lag sums h_n = sum_{j<n} k_{n-j} u_j (d = 1) by FFT over
// dyadic blocks for N = 2^10..2^20 and directly for N <= 2^16, plus plan set-up and the one-FFT batch.
//
// A run is one full online pass: history(h_n) then push(u_n) for n = 0..N, on a LagSum built once
// outside the timed loop (reset() between passes; plan creation is timed apart in BM_LagSumSetup).
// After the runs the program prints, from the same run: the least-squares exponent p of
// time ~ N^p over the FFT runs (beside the exponent N log^2 N itself has over the same N), the
// ratio time / (N log2^2 N) per N, and the speed-up direct / FFT at N = 2^16.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "iterop/quadrature/fast_lag_sum.hpp"

namespace {

using iterop::quadrature::LagSum;
using iterop::quadrature::LagSumMethod;

constexpr std::int64_t kMinN = std::int64_t{1} << 10;
constexpr std::int64_t kMaxFftN = std::int64_t{1} << 20;
constexpr std::int64_t kMaxDirectN = std::int64_t{1} << 16;

/// Abel kernel k_m = (m h)^(-1/2) (k_0 = 0) with h = 1 / N, and u_j uniform in [-1, 1] (seeded).
struct Data {
  std::vector<double> k, u;
  explicit Data(std::size_t n_steps) : k(n_steps + 1, 0.0), u(n_steps + 1) {
    const double h = 1.0 / static_cast<double>(n_steps);
    for (std::size_t m = 1; m <= n_steps; ++m) k[m] = 1.0 / std::sqrt(static_cast<double>(m) * h);
    std::mt19937_64 rng(2024);
    std::uniform_real_distribution<double> dist(-1.0, 1.0);
    for (double& x : u) x = dist(rng);
  }
};

/// One online pass over u_0..u_N; returns a checksum so the work cannot be dropped.
double online_pass(LagSum& sum, const std::vector<double>& u) {
  double h = 0, checksum = 0;
  const std::size_t n_steps = sum.steps();
  for (std::size_t n = 0; n <= n_steps; ++n) {
    sum.history(std::span<double>(&h, 1));
    checksum += h;
    sum.push(std::span<const double>(&u[n], 1));
  }
  return checksum;
}

double n_log2_squared(benchmark::IterationCount n) {
  const double x = static_cast<double>(n), l = std::log2(x);
  return x * l * l;
}

void run_online(benchmark::State& state, LagSumMethod method) {
  const auto n_steps = static_cast<std::size_t>(state.range(0));
  const Data data(n_steps);
  LagSum sum(data.k, 1, method);
  for (auto _ : state) {
    sum.reset();
    benchmark::DoNotOptimize(online_pass(sum, data.u));
  }
  state.SetComplexityN(state.range(0));
  state.counters["steps/s"] =
      benchmark::Counter(static_cast<double>(n_steps + 1), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_LagSumFft(benchmark::State& state) { run_online(state, LagSumMethod::fft); }
void BM_LagSumDirect(benchmark::State& state) { run_online(state, LagSumMethod::direct); }

/// Construction: FFTW plans (FFTW_ESTIMATE) for every block size and the kernel bands' transforms.
void BM_LagSumSetup(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    LagSum sum(data.k, 1, LagSumMethod::fft);
    benchmark::DoNotOptimize(sum.stats().plans);
  }
}

/// All h_n at once by one FFT convolution (plans included), when every u_j is known.
void BM_LagSumsBatchFft(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(iterop::quadrature::lag_sums(data.k, data.u, 1, LagSumMethod::fft).back());
}

BENCHMARK(BM_LagSumFft)
    ->RangeMultiplier(2)
    ->Range(kMinN, kMaxFftN)
    ->Unit(benchmark::kMillisecond)
    ->Complexity(n_log2_squared);
BENCHMARK(BM_LagSumDirect)
    ->RangeMultiplier(2)
    ->Range(kMinN, kMaxDirectN)
    ->Unit(benchmark::kMillisecond)
    ->Complexity(benchmark::oNSquared);
BENCHMARK(BM_LagSumSetup)->Arg(kMinN)->Arg(kMaxDirectN)->Arg(kMaxFftN)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LagSumsBatchFft)->Arg(kMinN)->Arg(kMaxDirectN)->Arg(kMaxFftN)->Unit(benchmark::kMillisecond);

/// The console output, plus every plain run's CPU and real time (ms) kept by name and N.
class KeepingReporter : public benchmark::ConsoleReporter {
 public:
  struct Times {
    double cpu_ms = 0, real_ms = 0;
  };
  std::map<std::string, std::map<std::int64_t, Times>> times;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      const double to_ms = r.time_unit == benchmark::kMillisecond ? 1.0
                           : r.time_unit == benchmark::kMicrosecond ? 1e-3
                           : r.time_unit == benchmark::kNanosecond  ? 1e-6
                                                                    : 1e3;
      times[r.run_name.function_name][r.complexity_n] = {r.GetAdjustedCPUTime() * to_ms,
                                                          r.GetAdjustedRealTime() * to_ms};
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

/// Least-squares slope of log y against log x.
double log_log_slope(const std::vector<double>& x, const std::vector<double>& y) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double m = static_cast<double>(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double a = std::log(x[i]), b = std::log(y[i]);
    sx += a; sy += b; sxx += a * a; sxy += a * b;
  }
  return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  KeepingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const auto& fft = reporter.times["BM_LagSumFft"];
  const auto& direct = reporter.times["BM_LagSumDirect"];
  if (fft.size() >= 2) {
    std::vector<double> n, cpu, real, model;
    for (const auto& [size, t] : fft) {
      n.push_back(static_cast<double>(size));
      cpu.push_back(t.cpu_ms);
      real.push_back(t.real_ms);
      model.push_back(n_log2_squared(size));
    }
    std::printf("\nFFT lag sums, N = %.0f .. %.0f (%zu sizes), d = 1:\n", n.front(), n.back(), n.size());
    std::printf("  fitted exponent p in time ~ N^p: %.3f (CPU time), %.3f (real time)\n", log_log_slope(n, cpu),
                log_log_slope(n, real));
    std::printf("  exponent of N log^2 N itself over the same N: %.3f; of N log N: %.3f\n", log_log_slope(n, model),
                [&] {
                  std::vector<double> nl;
                  for (double x : n) nl.push_back(x * std::log2(x));
                  return log_log_slope(n, nl);
                }());
    std::printf("  CPU time / (N log2^2 N), in ns:");
    for (std::size_t i = 0; i < n.size(); ++i) std::printf(" %.3f", cpu[i] * 1e6 / model[i]);
    std::printf("\n");
  }
  const auto f16 = fft.find(kMaxDirectN);
  const auto d16 = direct.find(kMaxDirectN);
  if (f16 != fft.end() && d16 != direct.end()) {
    std::printf("Speed-up direct / FFT at N = 2^16: %.1fx (CPU: %.3f ms / %.3f ms), %.1fx (real)\n",
                d16->second.cpu_ms / f16->second.cpu_ms, d16->second.cpu_ms, f16->second.cpu_ms,
                d16->second.real_ms / f16->second.real_ms);
  }
  if (direct.size() >= 2) {
    std::vector<double> n, cpu;
    for (const auto& [size, t] : direct) {
      n.push_back(static_cast<double>(size));
      cpu.push_back(t.cpu_ms);
    }
    std::printf("Direct lag sums: fitted exponent p in time ~ N^p: %.3f (CPU time)\n", log_log_slope(n, cpu));
  }
  return 0;
}
