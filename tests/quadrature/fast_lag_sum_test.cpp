// Tests of fast_lag_sum.hpp: FFT lag sums against a long-double direct sum (N = 1 .. 2^20, d = 1, 3),
// causality, batch sums, the exact work counts of the dyadic splitting, and the input checks.
#include "iterop/quadrature/fast_lag_sum.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstddef>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using iterop::quadrature::lag_sum_fft_available;
using iterop::quadrature::lag_sums;
using iterop::quadrature::LagSum;
using iterop::quadrature::LagSumMethod;
using iterop::quadrature::LagSumOptions;

std::vector<double> random_values(std::size_t count, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(count);
  for (double& x : v) x = dist(rng);
  return v;
}

enum class Kernel { random, weakly_singular, stiff_exponential, growing };

/// k_0..k_N on t_m = m / N: random in [-1, 1], m^(-1/2) (k_0 = 0), exp(-1000 t), or t (L2's kernel).
std::vector<double> make_kernel(Kernel kind, std::size_t n_steps, unsigned seed = 7) {
  if (kind == Kernel::random) return random_values(n_steps + 1, seed);
  std::vector<double> k(n_steps + 1);
  const double h = 1.0 / static_cast<double>(n_steps);
  for (std::size_t m = 0; m <= n_steps; ++m) {
    const double t = static_cast<double>(m) * h;
    switch (kind) {
      case Kernel::weakly_singular: k[m] = m == 0 ? 0.0 : 1.0 / std::sqrt(static_cast<double>(m)); break;
      case Kernel::stiff_exponential: k[m] = std::exp(-1000.0 * t); break;
      case Kernel::growing: k[m] = t; break;
      case Kernel::random: break;
    }
  }
  return k;
}

/// h_n and the scale s_n = sum_j |k_{n-j}| |u_j| (component c), in long double.
struct Reference {
  long double value = 0, scale = 0;
};
Reference direct_entry(const std::vector<double>& k, const std::vector<double>& u, std::size_t d, std::size_t n,
                       std::size_t c) {
  Reference r;
  for (std::size_t j = 0; j < n; ++j) {
    const long double term = static_cast<long double>(k[n - j]) * u[j * d + c];
    r.value += term;
    r.scale += std::fabs(term);
  }
  return r;
}

/// Pushes u_0..u_N through `sum` and returns h_0..h_N as read before each push.
std::vector<double> run_online(LagSum& sum, const std::vector<double>& u) {
  const std::size_t d = sum.dimension(), n_steps = sum.steps();
  std::vector<double> h((n_steps + 1) * d);
  for (std::size_t n = 0; n <= n_steps; ++n) {
    sum.history(std::span<double>(h).subspan(n * d, d));
    sum.push(std::span<const double>(u).subspan(n * d, d));
  }
  return h;
}

/// Largest |h_n - ref_n| / s_n over the given n (all components); s_n = 0 requires h_n == 0.
double max_relative_error(const std::vector<double>& k, const std::vector<double>& u, std::size_t d,
                          const std::vector<double>& h, const std::vector<std::size_t>& ns) {
  double worst = 0;
  for (std::size_t n : ns)
    for (std::size_t c = 0; c < d; ++c) {
      const Reference r = direct_entry(k, u, d, n, c);
      const long double err = std::fabs(static_cast<long double>(h[n * d + c]) - r.value);
      if (r.scale == 0) {
        if (err != 0) return INFINITY;
        continue;
      }
      worst = std::max(worst, static_cast<double>(err / r.scale));
    }
  return worst;
}

/// Largest |h_n - ref_n| / (||k_1..k_N||_2 ||u_c||_2 log2(2N)): the single-FFT batch's error measure.
[[maybe_unused]] double max_normwise_error(const std::vector<double>& k, const std::vector<double>& u, std::size_t d,
                          const std::vector<double>& h) {
  const std::size_t n_steps = k.size() - 1;
  long double kk = 0;
  for (std::size_t m = 1; m <= n_steps; ++m) kk += static_cast<long double>(k[m]) * k[m];
  double worst = 0;
  for (std::size_t c = 0; c < d; ++c) {
    long double uu = 0;
    for (std::size_t j = 0; j < n_steps; ++j) uu += static_cast<long double>(u[j * d + c]) * u[j * d + c];
    const long double norm = std::sqrt(kk * uu) * std::log2(2.0 * static_cast<double>(n_steps));
    for (std::size_t n = 1; n <= n_steps; ++n) {
      const Reference r = direct_entry(k, u, d, n, c);
      worst = std::max(worst, static_cast<double>(std::fabs(h[n * d + c] - r.value) / norm));
    }
  }
  return worst;
}

std::vector<std::size_t> all_steps(std::size_t n_steps) {
  std::vector<std::size_t> ns(n_steps + 1);
  for (std::size_t n = 0; n <= n_steps; ++n) ns[n] = n;
  return ns;
}

TEST(LagSum, HandComputedValues) {
  // k = (5, 2, 3), u_0 = 1, u_1 = 10: h_0 = 0, h_1 = k_1 u_0 = 2, h_2 = k_2 u_0 + k_1 u_1 = 23.
  for (LagSumMethod method : {LagSumMethod::direct, iterop::quadrature::default_lag_sum_method}) {
    LagSum sum({5.0, 2.0, 3.0}, 1, LagSumOptions{.method = method, .fft_min_block = 1});
    const std::vector<double> h = run_online(sum, {1.0, 10.0, 100.0});
    EXPECT_DOUBLE_EQ(h[0], 0.0);
    EXPECT_DOUBLE_EQ(h[1], 2.0);
    EXPECT_DOUBLE_EQ(h[2], 23.0);
    const std::vector<double> batch = lag_sums(std::vector<double>{5.0, 2.0, 3.0}, std::vector<double>{1.0, 10.0}, 1, method);
    ASSERT_EQ(batch.size(), 3u);
    EXPECT_NEAR(batch[1], 2.0, 1e-15);
    EXPECT_NEAR(batch[2], 23.0, 1e-14);
  }
}

TEST(LagSum, DirectMethodMatchesReference) {
  for (std::size_t d : {1u, 3u})
    for (std::size_t n_steps : {1u, 2u, 3u, 17u, 300u}) {
      const auto k = make_kernel(Kernel::random, n_steps);
      const auto u = random_values((n_steps + 1) * d, 11);
      LagSum sum(k, d, LagSumMethod::direct);
      const auto h = run_online(sum, u);
      EXPECT_LE(max_relative_error(k, u, d, h, all_steps(n_steps)), 1e-14) << "N = " << n_steps << ", d = " << d;
    }
}

#if defined(ITEROP_HAVE_FFTW) && ITEROP_HAVE_FFTW

TEST(LagSum, FftMatchesDirectSmallAndOddSizes) {
  const std::vector<std::size_t> sizes = {1, 2, 3, 4, 5, 7, 8, 9, 31, 63, 64, 65, 100, 127, 128, 129, 1000, 1023, 1025, 2048};
  for (std::size_t d : {1u, 3u})
    for (std::size_t n_steps : sizes)
      for (Kernel kind : {Kernel::random, Kernel::weakly_singular, Kernel::growing}) {
        const auto k = make_kernel(kind, n_steps);
        const auto u = random_values((n_steps + 1) * d, 100 + static_cast<unsigned>(n_steps));
        for (std::size_t block : {1u, 4u, 64u}) {
          LagSum sum(k, d, LagSumOptions{.method = LagSumMethod::fft, .fft_min_block = block});
          const auto h = run_online(sum, u);
          EXPECT_LE(max_relative_error(k, u, d, h, all_steps(n_steps)), 1e-12)
              << "N = " << n_steps << ", d = " << d << ", fft_min_block = " << block;
          if (block == 1) {
            EXPECT_GT(sum.stats().fft_blocks, 0u);
          }
        }
        const auto batch = lag_sums(k, u, d, LagSumMethod::fft);
        ASSERT_EQ(batch.size(), (n_steps + 1) * d);
        EXPECT_LE(max_normwise_error(k, u, d, batch), 1e-15) << "batch, N = " << n_steps;
        if (kind == Kernel::weakly_singular) {
          EXPECT_LE(max_relative_error(k, u, d, batch, all_steps(n_steps)), 1e-12) << "batch, N = " << n_steps;
        }
      }
}

/// The bar: FFT within 1e-12 of the direct sum, relative to sum_j |k_{n-j}| |u_j|, up to
/// N = 2^20 (checked at 200 random n, the first and last steps and the steps around powers of two).
TEST(LagSum, FftMatchesDirectUpToTwoToTheTwenty) {
  for (std::size_t n_steps : {std::size_t{1} << 20, std::size_t{300007}}) {
    std::vector<std::size_t> ns = {1, 2, 3, n_steps - 1, n_steps};
    for (std::size_t p = 64; p < n_steps; p *= 2)
      for (std::size_t q : {p - 1, p, p + 1}) ns.push_back(q);
    std::mt19937_64 rng(5);
    std::uniform_int_distribution<std::size_t> pick(1, n_steps);
    for (int i = 0; i < 40; ++i) ns.push_back(pick(rng));
    const auto u = random_values(n_steps + 1, 3);
    for (Kernel kind : {Kernel::random, Kernel::weakly_singular, Kernel::stiff_exponential}) {
      const auto k = make_kernel(kind, n_steps);
      LagSum sum(k, 1);
      ASSERT_EQ(sum.options().method, LagSumMethod::fft);
      const auto h = run_online(sum, u);
      const double err = max_relative_error(k, u, 1, h, ns);
      EXPECT_LE(err, 1e-12) << "N = " << n_steps << ", kernel " << static_cast<int>(kind);
      char text[32];
      std::snprintf(text, sizeof text, "%.3g", err);
      RecordProperty("max_rel_error_N" + std::to_string(n_steps) + "_kernel" + std::to_string(static_cast<int>(kind)),
                     text);
      if (kind == Kernel::weakly_singular) {
        const auto batch = lag_sums(k, u, 1, LagSumMethod::fft);
        EXPECT_LE(max_relative_error(k, u, 1, batch, ns), 1e-12) << "batch, N = " << n_steps;
      }
    }
  }
}

TEST(LagSum, NeverLooksAhead) {
  // Perturbing u_j for j >= p leaves h_0..h_p bitwise unchanged, and does change h_{p+1}.
  const std::size_t n_steps = 777, d = 2;
  const auto k = make_kernel(Kernel::random, n_steps);
  const auto u = random_values((n_steps + 1) * d, 21);
  for (std::size_t block : {1u, 8u, 64u})
    for (std::size_t p : {0u, 1u, 63u, 64u, 65u, 255u, 256u, 500u, 776u}) {
      auto v = u;
      for (std::size_t i = p * d; i < v.size(); ++i) v[i] += 1e3 * std::cos(static_cast<double>(i));
      LagSum a(k, d, LagSumOptions{.method = LagSumMethod::fft, .fft_min_block = block});
      LagSum b(k, d, LagSumOptions{.method = LagSumMethod::fft, .fft_min_block = block});
      const auto ha = run_online(a, u), hb = run_online(b, v);
      for (std::size_t i = 0; i < (p + 1) * d; ++i)
        ASSERT_EQ(ha[i], hb[i]) << "h_" << i / d << " changed after perturbing u_" << p << ".., block " << block;
      EXPECT_NE(ha[(p + 1) * d], hb[(p + 1) * d]) << "h_" << p + 1 << " does not see u_" << p;
    }
}

TEST(LagSum, ResetReproducesTheFirstPass) {
  const std::size_t n_steps = 1000, d = 3;
  const auto k = make_kernel(Kernel::weakly_singular, n_steps);
  const auto u = random_values((n_steps + 1) * d, 8);
  LagSum sum(k, d);
  const auto first = run_online(sum, u);
  sum.reset();
  EXPECT_EQ(sum.pushed(), 0u);
  const auto second = run_online(sum, u);
  EXPECT_EQ(first, second);
}

TEST(LagSum, ObjectsBuiltAndRunInConcurrentThreadsMatchSerialRuns) {
  // FFTW's planner is not thread-safe; LagSum serialises plan creation and destruction.
  const std::size_t n_steps = 5000;
  const auto u = random_values(n_steps + 1, 31);
  std::vector<std::vector<double>> kernels, serial, parallel(4);
  for (unsigned i = 0; i < 4; ++i) {
    kernels.push_back(make_kernel(Kernel::random, n_steps, 40 + i));
    LagSum sum(kernels.back(), 1, LagSumOptions{.fft_min_block = 16});
    serial.push_back(run_online(sum, u));
  }
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 3; ++rep) {
        LagSum sum(kernels[i], 1, LagSumOptions{.fft_min_block = 16});
        parallel[i] = run_online(sum, u);
      }
    });
  for (auto& t : threads) t.join();
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(serial[i], parallel[i]) << "thread " << i;
}

/// Exact work of the splitting for N = 2^K, blocks from B = 2^c: bands b = B, 2B, .., N with N / b
/// blocks each (2^(K-c+1) - 1 blocks), 2d FFTs of length 2b per block (4 d N per band, so
/// 4 d N (K - c + 1) points: N log N growth), one kernel FFT per band, and d sum_{m=1}^N min(B-1, m)
/// direct terms.
TEST(LagSum, WorkCountsOfTheDyadicSplitting) {
  for (std::size_t d : {1u, 3u})
    for (std::size_t log_n : {10u, 13u})
      for (std::size_t log_b : {0u, 4u, 6u}) {
        const std::size_t n_steps = std::size_t{1} << log_n, block = std::size_t{1} << log_b;
        LagSum sum(make_kernel(Kernel::random, n_steps), d, LagSumOptions{.method = LagSumMethod::fft, .fft_min_block = block});
        run_online(sum, random_values((n_steps + 1) * d, 1));
        const std::size_t bands = log_n - log_b + 1;
        std::size_t direct = 0;
        for (std::size_t m = 1; m <= n_steps; ++m) direct += std::min(block - 1, m);
        const auto& s = sum.stats();
        EXPECT_EQ(s.fft_blocks, (std::size_t{1} << bands) - 1);
        EXPECT_EQ(s.ffts, 2 * d * ((std::size_t{1} << bands) - 1));
        EXPECT_EQ(s.fft_points, 4 * d * n_steps * bands);
        EXPECT_EQ(s.kernel_ffts, bands);
        EXPECT_EQ(s.plans, (d == 1 ? 2 : 3) * bands);
        EXPECT_EQ(s.direct_multiply_adds, d * direct);
      }
  LagSum direct(make_kernel(Kernel::random, 100), 2, LagSumMethod::direct);
  run_online(direct, random_values(202, 1));
  EXPECT_EQ(direct.stats().direct_multiply_adds, 2u * 100u * 101u / 2u);
  EXPECT_EQ(direct.stats().ffts, 0u);
}

TEST(LagSum, BatchDirectAndFftAgreeAndTruncateToTheKernel) {
  // u_0..u_{M-1} with M > N gives h_0..h_N; M < N gives h_0..h_M.
  const auto k = make_kernel(Kernel::random, 50);
  const auto u = random_values(60 * 3, 4);
  const auto a = lag_sums(k, u, 3, LagSumMethod::direct), b = lag_sums(k, u, 3, LagSumMethod::fft);
  ASSERT_EQ(a.size(), 51u * 3u);
  ASSERT_EQ(b.size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-13);
  const auto c = lag_sums(k, std::span<const double>(u).first(10 * 3), 3, LagSumMethod::fft);
  ASSERT_EQ(c.size(), 11u * 3u);
  for (std::size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(c[i], a[i], 1e-13);
}

#else

TEST(LagSum, FftMethodRefusedWithoutFftw) {
  EXPECT_FALSE(lag_sum_fft_available);
  EXPECT_THROW(LagSum({1.0, 2.0}, 1, LagSumMethod::fft), iterop::invalid_option);
}

#endif  // ITEROP_HAVE_FFTW

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const iterop::invalid_option& e) {
    return e.what();
  }
  return "(no invalid_option thrown)";
}

TEST(LagSum, InvalidInputsThrowNamingFieldValueAndRule) {
  EXPECT_EQ(message_of([] { LagSum({1.0, 2.0}, 0); }), "LagSum::dimension = 0. Violated constraint: dimension >= 1.");
  EXPECT_EQ(message_of([] { LagSum({1.0}, 1); }),
            "LagSum::kernel.size() = 1. Violated constraint: kernel.size() >= 2 (k_0..k_N with N >= 1).");
  EXPECT_EQ(message_of([] { LagSum({1.0, NAN, 2.0}, 1); }),
            "LagSum::kernel[1] = nan. Violated constraint: every k_m is finite.");
  EXPECT_EQ(message_of([] { LagSum({1.0, 2.0}, 1, LagSumOptions{.fft_min_block = 3}); }),
            "LagSumOptions::fft_min_block = 3. Violated constraint: fft_min_block is a power of two >= 1.");
  EXPECT_EQ(message_of([] { LagSum({1.0, 2.0}, 1, LagSumOptions{.fft_min_block = 0}); }),
            "LagSumOptions::fft_min_block = 0. Violated constraint: fft_min_block is a power of two >= 1.");

  LagSum sum({1.0, 2.0, 3.0}, 2);
  std::vector<double> out(2), wrong(3);
  EXPECT_EQ(message_of([&] { sum.push(wrong); }),
            "LagSum::push u.size() = 3. Violated constraint: u.size() == dimension = 2.");
  EXPECT_EQ(message_of([&] { sum.history(wrong); }),
            "LagSum::history out.size() = 3. Violated constraint: out.size() == dimension = 2.");
  for (int i = 0; i < 3; ++i) sum.push(out);  // u_0..u_N, N = 2
  EXPECT_EQ(message_of([&] { sum.push(out); }),
            "LagSum::push n = 3. Violated constraint: n <= N = 2 (u_0..u_N; the kernel ends at k_N).");
  EXPECT_EQ(message_of([&] { sum.history(out); }),
            "LagSum::history n = 3. Violated constraint: n <= N = 2 (the kernel ends at k_N).");

  EXPECT_EQ(message_of([] { lag_sums(std::vector<double>{1.0, 2.0}, std::vector<double>{1.0, 2.0, 3.0}, 2); }),
            "lag_sums u.size() = 3. Violated constraint: u.size() is a positive multiple of dimension = 2.");
  EXPECT_EQ(message_of([] { lag_sums(std::vector<double>{1.0}, std::vector<double>{1.0}, 1); }),
            "lag_sums kernel.size() = 1. Violated constraint: kernel.size() >= 2 (k_0..k_N with N >= 1).");
}

}  // namespace
