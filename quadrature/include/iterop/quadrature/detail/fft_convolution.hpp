// FFTW 3 plumbing for the fast lag sums (private): RAII buffers and plans, one planner lock for
// the process, FFT-friendly sizes, and batched real linear convolution of one kernel with d signals.
#pragma once

#include <algorithm>
#include <complex>
#include <cstddef>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"

#if defined(ITEROP_HAVE_FFTW) && ITEROP_HAVE_FFTW
#include <fftw3.h>

#include <mutex>
#endif

namespace iterop::quadrature::detail {

/// Smallest m >= n of the form 2^a 3^b 5^c 7^d (sizes FFTW transforms fastest); 1 for n <= 1.
inline std::size_t next_fast_fft_size(std::size_t n) {
  if (n <= 1) return 1;
  for (std::size_t m = n;; ++m) {
    std::size_t r = m;
    for (std::size_t p : {2u, 3u, 5u, 7u})
      while (r % p == 0) r /= p;
    if (r == 1) return m;
  }
}

/// True when n is a power of two (n >= 1).
constexpr bool is_power_of_two(std::size_t n) { return n != 0 && (n & (n - 1)) == 0; }

#if defined(ITEROP_HAVE_FFTW) && ITEROP_HAVE_FFTW

/// FFTW's planner (and fftw_destroy_plan) is not thread-safe: every plan iterop creates or
/// destroys goes through this one lock. Executing distinct plans concurrently is safe.
inline std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

/// Deleter for memory from fftw_malloc (SIMD-aligned).
struct FftwFree {
  void operator()(double* p) const noexcept { fftw_free(p); }
};

/// An fftw_malloc'ed array of doubles (a complex array of n entries holds 2n doubles).
using FftwArray = std::unique_ptr<double[], FftwFree>;

/// Allocates `count` doubles with fftw_malloc; throws std::bad_alloc on failure.
inline FftwArray fftw_doubles(std::size_t count) {
  void* p = fftw_malloc(sizeof(double) * std::max<std::size_t>(count, 1));
  if (p == nullptr) throw std::bad_alloc();
  return FftwArray(static_cast<double*>(p));
}

/// View of an fftw_malloc'ed double array as fftw_complex (FFTW documents this layout).
inline fftw_complex* as_fftw_complex(double* p) noexcept { return reinterpret_cast<fftw_complex*>(p); }

/// Throws invalid_option unless n fits FFTW's int sizes.
inline int fftw_int(std::size_t n, std::string_view what) {
  require(n <= static_cast<std::size_t>(std::numeric_limits<int>::max()), what, n,
          "fits FFTW's int sizes (<= 2147483647)");
  return static_cast<int>(n);
}

/// An FFTW plan that owns itself: created and destroyed under fftw_planner_mutex(), move-only.
/// Plans use FFTW_ESTIMATE, so creating them never touches the arrays' contents.
class FftwPlan {
 public:
  FftwPlan() = default;
  FftwPlan(const FftwPlan&) = delete;
  FftwPlan& operator=(const FftwPlan&) = delete;
  FftwPlan(FftwPlan&& o) noexcept : plan_(o.plan_) { o.plan_ = nullptr; }
  FftwPlan& operator=(FftwPlan&& o) noexcept {
    if (this != &o) {
      destroy();
      plan_ = o.plan_;
      o.plan_ = nullptr;
    }
    return *this;
  }
  ~FftwPlan() { destroy(); }

  /// `howmany` real-to-complex transforms of length n: signal i at in + i n, its n/2 + 1
  /// coefficients at out + i (n/2 + 1) (complex entries).
  static FftwPlan r2c(std::size_t n, std::size_t howmany, double* in, double* out) {
    const int ni = fftw_int(n, "FFT length"), hi = fftw_int(howmany, "FFT batch count");
    const int nc = fftw_int(n / 2 + 1, "FFT complex length");
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    return FftwPlan(fftw_plan_many_dft_r2c(1, &ni, hi, in, nullptr, 1, ni, as_fftw_complex(out), nullptr, 1,
                                           nc, FFTW_ESTIMATE));
  }
  /// The inverse layout of r2c (unnormalised: the result is n times the signal). Overwrites `in`.
  static FftwPlan c2r(std::size_t n, std::size_t howmany, double* in, double* out) {
    const int ni = fftw_int(n, "FFT length"), hi = fftw_int(howmany, "FFT batch count");
    const int nc = fftw_int(n / 2 + 1, "FFT complex length");
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    return FftwPlan(fftw_plan_many_dft_c2r(1, &ni, hi, as_fftw_complex(in), nullptr, 1, nc, out, nullptr, 1,
                                           ni, FFTW_ESTIMATE));
  }

  /// Runs the transform on the arrays it was planned with.
  void execute() const noexcept { fftw_execute(plan_); }

 private:
  explicit FftwPlan(fftw_plan p) : plan_(p) {
    if (plan_ == nullptr) throw backend_error("FFTW", "fftw_plan_many_dft returned no plan");
  }
  void destroy() noexcept {
    if (plan_ != nullptr) {
      std::lock_guard<std::mutex> lock(fftw_planner_mutex());
      fftw_destroy_plan(plan_);
      plan_ = nullptr;
    }
  }
  fftw_plan plan_ = nullptr;
};

/// out_c[t] = sum_i kernel[i] signal_c[t - i] for t = 0..out_length-1 and c = 0..count-1 (linear
/// convolution, truncated to out_length), by one FFT of size >= kernel + signal - 1 (a fast size).
/// Signals and outputs are interleaved by row: signal_c[j] = signals[j * count + c],
/// out_c[t] = out[t * count + c]; signal rows beyond signals.size() / count are zero.
/// Returns the number of real FFTs done (1 + 2 count; 0 and out untouched when an input is empty).
/// Error: a few ulps of ||kernel||_2 ||signal_c||_2 for every t (normwise, not relative to
/// sum_i |kernel[i]| |signal_c[t - i]|).
inline std::size_t fft_linear_convolution(std::span<const double> kernel, std::span<const double> signals,
                                          std::size_t count, std::span<double> out) {
  const std::size_t out_length = out.size() / count;
  const std::size_t klen = std::min(kernel.size(), out_length);
  const std::size_t slen = std::min(signals.size() / count, out_length);
  if (klen == 0 || slen == 0) return 0;  // nothing to convolve: out is left as it is
  // The linear convolution has klen + slen - 1 entries; a cyclic one of that size has no wrap-around.
  const std::size_t full = klen + slen - 1;
  const std::size_t n = next_fast_fft_size(full);
  const std::size_t nc = n / 2 + 1;
  FftwArray real = fftw_doubles(n * count), spec = fftw_doubles(2 * nc * count);
  FftwArray kreal = fftw_doubles(n), kspec = fftw_doubles(2 * nc);
  const FftwPlan kplan = FftwPlan::r2c(n, 1, kreal.get(), kspec.get());
  const FftwPlan fwd = FftwPlan::r2c(n, count, real.get(), spec.get());
  const FftwPlan inv = FftwPlan::c2r(n, count, spec.get(), real.get());

  std::fill(kreal.get(), kreal.get() + n, 0.0);
  std::copy(kernel.begin(), kernel.begin() + static_cast<std::ptrdiff_t>(klen), kreal.get());
  kplan.execute();
  std::fill(real.get(), real.get() + n * count, 0.0);
  for (std::size_t j = 0; j < slen; ++j)
    for (std::size_t c = 0; c < count; ++c) real[c * n + j] = signals[j * count + c];
  fwd.execute();
  const double scale = 1.0 / static_cast<double>(n);
  const auto* kz = reinterpret_cast<const std::complex<double>*>(kspec.get());
  auto* z = reinterpret_cast<std::complex<double>*>(spec.get());
  for (std::size_t c = 0; c < count; ++c)
    for (std::size_t f = 0; f < nc; ++f) z[c * nc + f] *= kz[f] * scale;
  inv.execute();
  for (std::size_t t = 0; t < out_length; ++t)
    for (std::size_t c = 0; c < count; ++c) out[t * count + c] = t < full ? real[c * n + t] : 0.0;
  return 1 + 2 * count;
}

#endif  // ITEROP_HAVE_FFTW

}  // namespace iterop::quadrature::detail
