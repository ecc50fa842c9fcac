// Fast lag sums for convolution Volterra kernels: h_n = sum_{j<n} k_{n-j} u_j, online (causal) in
// O(N log^2 N) by FFT over dyadic blocks (Hairer, Lubich & Schlichte 1985), or directly in O(N^2).
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/detail/fft_convolution.hpp"

namespace iterop::quadrature {

/// True when iterop was built with FFTW (ITEROP_HAVE_FFTW), so LagSumMethod::fft is available.
#if defined(ITEROP_HAVE_FFTW) && ITEROP_HAVE_FFTW
inline constexpr bool lag_sum_fft_available = true;
#else
inline constexpr bool lag_sum_fft_available = false;
#endif

/// How a lag sum is evaluated: `direct` sums every term (O(N^2) for all n, always available);
/// `fft` splits the lag triangle into dyadic blocks done by FFT (O(N log^2 N), needs FFTW);
/// `soe` carries it as the states of a sum-of-exponentials kernel (SoeHistory, O(N L)): the marching
/// loop (march.hpp) uses it for kernels that give ConvolutionKernel::soe; LagSum itself refuses it.
enum class LagSumMethod { direct, fft, soe };

/// LagSumMethod::fft where FFTW is available, otherwise LagSumMethod::direct.
inline constexpr LagSumMethod default_lag_sum_method =
    lag_sum_fft_available ? LagSumMethod::fft : LagSumMethod::direct;

/// "direct", "fft" or "soe".
inline std::string to_string(LagSumMethod m) {
  return m == LagSumMethod::fft ? "fft" : m == LagSumMethod::soe ? "soe" : "direct";
}

/// Options of LagSum. Lags 1 <= l < fft_min_block are summed directly at every step; lags
/// l >= fft_min_block in blocks of size b = fft_min_block, 2 fft_min_block, ... by FFT.
struct LagSumOptions {
  LagSumMethod method = default_lag_sum_method;  ///< fft needs FFTW
  /// Smallest FFT block (a power of two >= 1). 1 does every lag by FFT (for tests). The default 64
  /// was the fastest of 32..512 for a full pass at N = 2^16 and 2^20 (d = 1, measured).
  std::size_t fft_min_block = 64;

  /// Throws invalid_option naming the field, the value and the rule.
  void validate() const {
    require(method == LagSumMethod::direct || lag_sum_fft_available, "LagSumOptions::method", to_string(method),
            "method == direct in a build without FFTW (ITEROP_WITH_FFTW=OFF)");
    require(detail::is_power_of_two(fft_min_block), "LagSumOptions::fft_min_block", fft_min_block,
            "fft_min_block is a power of two >= 1");
  }
};

/// Work done by a LagSum since construction (counts only; no timing).
struct LagSumStats {
  std::size_t direct_multiply_adds = 0;  ///< scalar k * u multiply-adds of the direct terms
  std::size_t fft_blocks = 0;            ///< dyadic blocks done by FFT
  std::size_t ffts = 0;                  ///< real FFTs of u blocks: forward + inverse, one per component each
  std::size_t fft_points = 0;            ///< sum of the lengths of those FFTs (2b each for a block of size b)
  std::size_t kernel_ffts = 0;           ///< real FFTs of kernel bands (once per block size, at construction)
  std::size_t plans = 0;                 ///< FFTW plans created (at construction)
};

/// Online lag sum for a convolution kernel k_0..k_N and values u_j in R^d (row j = u_j):
///   h_n = sum_{j=0}^{n-1} k_{n-j} u_j,   n = 0..N   (h_0 = 0; k_0 never enters).
/// Alternate history(out) -> h_n and push(u_n), n = 0, 1, ...: h_n depends only on u_0..u_{n-1}.
/// For the trapezoidal rule on t_j = j h, int_0^{t_n} k(t_n - s) u(s) ds is approximated by
/// h (h_n - k_n u_0 / 2 + k_0 u_n / 2) with k_m = k(m h); the caller adds the end corrections.
///
/// Method fft (Hairer, Lubich & Schlichte 1985, in the lag form of their dyadic splitting): lags
/// l < B = fft_min_block are summed directly when u_{n-1} arrives; the lags in each band
/// [b, 2b), b = B, 2B, ..., are paired with aligned blocks u_{m-b..m-1}, and as soon as such a block
/// is complete (after push of u_{m-1}, b divides m) one FFT convolution of size 2b adds its
/// contributions to h_m..h_{m+2b-2}. Every (j, l) pair is covered once, never before u_j is known,
/// and always before h_{j+l} is asked for. Cost: N/b blocks per band, 2 d FFTs of size 2b each, so
/// O(d N log^2 N) in all; memory O(d N). Error of the FFT terms: a few ulps of the blockwise
/// 2-norms ||k_band||_2 ||u_block||_2; measured at most 1.2e-16 relative to sum_j |k_{n-j}| |u_j|
/// for random u and random, Abel (m^(-1/2)) and exp(-1000 t) kernels at N = 300007 and 2^20
/// (tests/quadrature/fast_lag_sum_test.cpp). Set-up (plans, kernel transforms) is done once here;
/// reset() reuses it for another pass.
///
/// Move-only. One object per thread; building, running and destroying objects in concurrent
/// threads is safe (FFTW's planner is used under one lock, detail::fftw_planner_mutex()).
class LagSum {
 public:
  /// Kernel k_0..k_N (N >= 1, finite), dimension d >= 1 of each u_j, options (validated here).
  LagSum(std::vector<double> kernel, std::size_t dimension, LagSumOptions options = {})
      : options_(options), dim_(dimension) {
    require(dimension >= 1, "LagSum::dimension", dimension, "dimension >= 1");
    require(kernel.size() >= 2, "LagSum::kernel.size()", kernel.size(),
            "kernel.size() >= 2 (k_0..k_N with N >= 1)");
    for (std::size_t m = 0; m < kernel.size(); ++m)
      if (!std::isfinite(kernel[m]))  // the message is built only on failure
        require(false, "LagSum::kernel[" + std::to_string(m) + "]", kernel[m], "every k_m is finite");
    options_.validate();
    require(options_.method != LagSumMethod::soe, "LagSum options.method", to_string(options_.method),
            "direct or fft (soe is SoeHistory's, sum_of_exponentials.hpp, from the kernel's exponentials)");
    steps_ = kernel.size() - 1;
    require(steps_ <= (std::size_t{1} << 40) / dim_, "LagSum::kernel.size() * dimension", kernel.size() * dim_,
            "N d <= 2^40");
    // Reversed kernel: krev[N - l] = k_l, so the direct terms are a forward dot product.
    krev_.assign(kernel.rbegin(), kernel.rend());
    u_.assign((steps_ + 1) * dim_, 0.0);
    acc_.assign((steps_ + 1) * dim_, 0.0);
    if (options_.method == LagSumMethod::fft) setup_fft(kernel);
  }

  /// Same, with only the method chosen.
  LagSum(std::vector<double> kernel, std::size_t dimension, LagSumMethod method)
      : LagSum(std::move(kernel), dimension, LagSumOptions{.method = method}) {}

  /// N: the kernel is k_0..k_N, so h_0..h_N can be computed and u_0..u_N pushed.
  std::size_t steps() const noexcept { return steps_; }
  /// d, the size of every u_j and h_n.
  std::size_t dimension() const noexcept { return dim_; }
  /// Number of values pushed so far: the next history() returns h_n for n = pushed().
  std::size_t pushed() const noexcept { return pushed_; }
  /// The options in use.
  const LagSumOptions& options() const noexcept { return options_; }
  /// Work counters since construction (reset() keeps them).
  const LagSumStats& stats() const noexcept { return stats_; }

  /// Writes h_n = sum_{j<n} k_{n-j} u_j for n = pushed() (zero for n = 0). out.size() == d,
  /// n <= N. Costs a copy: the terms were added as their values arrived.
  void history(std::span<double> out) const {
    if (out.size() != dim_)  // messages are built only on failure (this runs every step)
      require(false, "LagSum::history out.size()", out.size(), "out.size() == dimension = " + std::to_string(dim_));
    if (pushed_ > steps_)
      require(false, "LagSum::history n", pushed_, "n <= N = " + std::to_string(steps_) + " (the kernel ends at k_N)");
    std::copy_n(acc_.begin() + static_cast<std::ptrdiff_t>(pushed_ * dim_), dim_, out.begin());
  }

  /// Appends u_n for n = pushed() (u.size() == d, at most N + 1 values) and adds every term it
  /// completes: the direct lags of h_{n+1} and the FFT blocks ending at u_n.
  void push(std::span<const double> u) {
    if (u.size() != dim_)
      require(false, "LagSum::push u.size()", u.size(), "u.size() == dimension = " + std::to_string(dim_));
    if (pushed_ > steps_)
      require(false, "LagSum::push n", pushed_,
              "n <= N = " + std::to_string(steps_) + " (u_0..u_N; the kernel ends at k_N)");
    std::copy(u.begin(), u.end(), u_.begin() + static_cast<std::ptrdiff_t>(pushed_ * dim_));
    const std::size_t m = ++pushed_;  // u_0..u_{m-1} known
    if (m > steps_) return;           // u_N enters no h_n with n <= N
    const std::size_t lags =
        options_.method == LagSumMethod::direct ? m : std::min(m, options_.fft_min_block - 1);
    add_direct(m, lags);
#if defined(ITEROP_HAVE_FFTW) && ITEROP_HAVE_FFTW
    for (auto& band : bands_) {
      if (m % band.size != 0) break;  // bands are in increasing powers of two
      add_block(band, m);
    }
#endif
  }

  /// Forgets every pushed value (h_0 next); keeps the kernel, plans and transforms.
  void reset() {
    pushed_ = 0;
    std::fill(acc_.begin(), acc_.end(), 0.0);
  }

 private:
  /// acc[m] += sum_{l=1}^{lags} k_l u_{m-l}.
  void add_direct(std::size_t m, std::size_t lags) {
    if (lags == 0) return;
    const double* k = krev_.data() + (steps_ - m);  // k[j] = k_{m-j}
    const std::size_t j0 = m - lags;
    double* h = acc_.data() + m * dim_;
    if (dim_ == 1) {
      // Four independent partial sums: the same work as one chain, without its latency.
      const double* u = u_.data();
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      std::size_t j = j0;
      for (; j + 4 <= m; j += 4) {
        s0 += k[j] * u[j];
        s1 += k[j + 1] * u[j + 1];
        s2 += k[j + 2] * u[j + 2];
        s3 += k[j + 3] * u[j + 3];
      }
      for (; j < m; ++j) s0 += k[j] * u[j];
      h[0] += (s0 + s1) + (s2 + s3);
    } else {
      for (std::size_t j = j0; j < m; ++j) {
        const double w = k[j];
        const double* uj = u_.data() + j * dim_;
        for (std::size_t c = 0; c < dim_; ++c) h[c] += w * uj[c];
      }
    }
    stats_.direct_multiply_adds += lags * dim_;
  }

#if defined(ITEROP_HAVE_FFTW) && ITEROP_HAVE_FFTW
  /// One band of lags [size, 2 size): its plans (on the shared buffers) and the transform of
  /// k_{size..2 size-1} zero-padded to 2 size, scaled by 1 / (2 size).
  struct Band {
    std::size_t size = 0;
    detail::FftwPlan forward, inverse;
    std::vector<std::complex<double>> kernel;
  };

  void setup_fft(const std::vector<double>& kernel) {
    std::size_t largest = 0;
    for (std::size_t b = options_.fft_min_block; b <= steps_; b *= 2) largest = b;
    if (largest == 0) return;  // N < fft_min_block: every lag is direct
    real_ = detail::fftw_doubles(2 * largest * dim_);
    spec_ = detail::fftw_doubles(2 * (largest + 1) * dim_);
    for (std::size_t b = options_.fft_min_block; b <= largest; b *= 2) {
      Band band;
      band.size = b;
      const std::size_t n = 2 * b, nc = b + 1;
      band.forward = detail::FftwPlan::r2c(n, dim_, real_.get(), spec_.get());
      band.inverse = detail::FftwPlan::c2r(n, dim_, spec_.get(), real_.get());
      stats_.plans += 2;
      // The kernel band: a one-transform plan on the same buffers, used once.
      const detail::FftwPlan kplan =
          dim_ == 1 ? detail::FftwPlan() : detail::FftwPlan::r2c(n, 1, real_.get(), spec_.get());
      if (dim_ != 1) ++stats_.plans;
      double* x = real_.get();
      std::fill(x, x + n, 0.0);
      for (std::size_t i = 0; i < b && b + i <= steps_; ++i) x[i] = kernel[b + i];
      (dim_ == 1 ? band.forward : kplan).execute();
      ++stats_.kernel_ffts;
      const auto* z = reinterpret_cast<const std::complex<double>*>(spec_.get());
      const double scale = 1.0 / static_cast<double>(n);
      band.kernel.resize(nc);
      for (std::size_t f = 0; f < nc; ++f) band.kernel[f] = z[f] * scale;
      bands_.push_back(std::move(band));
    }
  }

  /// The block u_{m-b..m-1} against lags [b, 2b): adds to h_m..h_{min(m + 2b - 2, N)}.
  void add_block(Band& band, std::size_t m) {
    const std::size_t b = band.size, n = 2 * b, nc = b + 1;
    double* x = real_.get();
    const double* u = u_.data() + (m - b) * dim_;
    for (std::size_t c = 0; c < dim_; ++c) {
      double* xc = x + c * n;
      for (std::size_t i = 0; i < b; ++i) xc[i] = u[i * dim_ + c];
      std::fill(xc + b, xc + n, 0.0);
    }
    band.forward.execute();
    auto* z = reinterpret_cast<std::complex<double>*>(spec_.get());
    for (std::size_t c = 0; c < dim_; ++c) {
      std::complex<double>* zc = z + c * nc;
      for (std::size_t f = 0; f < nc; ++f) zc[f] *= band.kernel[f];
    }
    band.inverse.execute();
    const std::size_t count = std::min(n - 1, steps_ - m + 1);  // h_{m+t} for m + t <= N
    double* h = acc_.data() + m * dim_;
    if (dim_ == 1) {
      for (std::size_t t = 0; t < count; ++t) h[t] += x[t];
    } else {
      for (std::size_t t = 0; t < count; ++t)
        for (std::size_t c = 0; c < dim_; ++c) h[t * dim_ + c] += x[c * n + t];
    }
    ++stats_.fft_blocks;
    stats_.ffts += 2 * dim_;
    stats_.fft_points += 2 * dim_ * n;
  }

  std::vector<Band> bands_;
  detail::FftwArray real_, spec_;
#else
  void setup_fft(const std::vector<double>&) {}
#endif

  LagSumOptions options_;
  std::size_t dim_ = 1, steps_ = 0, pushed_ = 0;
  std::vector<double> krev_;  // krev_[N - l] = k_l
  std::vector<double> u_;     // u_j at row j
  std::vector<double> acc_;   // h_n at row n, complete for n <= pushed()
  LagSumStats stats_;
};

/// All lag sums at once, when every u is known: with u_0..u_{M-1} in rows of u (u.size() = M d,
/// M >= 1) and the kernel k_0..k_N (N >= 1), returns h_0..h_R in rows (R = min(M, N)):
/// h_n = sum_{j<n} k_{n-j} u_j. Method fft: one FFT convolution of k_1..k_R with each component
/// (O(R log R)); direct: the O(R^2) sum. For whole-trajectory operators and for checking LagSum.
/// The single FFT's error is normwise, a few ulps of log2(2R) ||k_1..k_R||_2 ||u_c||_2 at every n
/// (tested: <= 1e-15 of that), not relative to sum_j |k_{n-j}| |u_j|: where that sum is small
/// against the norms (growing kernels such as k(t) = t at small n) the relative error can exceed
/// 1e-12 (measured for k_m = m / N and random u: 2.9e-11 at N = 2048, 2.0e-8 at N = 2^16, where
/// LagSum gives 1e-16). LagSum's small early blocks keep the relative error at rounding level; use
/// it when that matters. The absolute error stays at the normwise level above.
inline std::vector<double> lag_sums(std::span<const double> kernel, std::span<const double> u,
                                    std::size_t dimension = 1, LagSumMethod method = default_lag_sum_method) {
  require(dimension >= 1, "lag_sums dimension", dimension, "dimension >= 1");
  require(kernel.size() >= 2, "lag_sums kernel.size()", kernel.size(), "kernel.size() >= 2 (k_0..k_N with N >= 1)");
  for (std::size_t m = 0; m < kernel.size(); ++m)
    if (!std::isfinite(kernel[m]))
      require(false, "lag_sums kernel[" + std::to_string(m) + "]", kernel[m], "every k_m is finite");
  require(!u.empty() && u.size() % dimension == 0, "lag_sums u.size()", u.size(),
          "u.size() is a positive multiple of dimension = " + std::to_string(dimension));
  require(method == LagSumMethod::direct || lag_sum_fft_available, "lag_sums method", to_string(method),
          "method == direct in a build without FFTW (ITEROP_WITH_FFTW=OFF)");
  const std::size_t d = dimension, rows = std::min(u.size() / d, kernel.size() - 1);
  std::vector<double> h((rows + 1) * d, 0.0);
  if (method == LagSumMethod::direct) {
    for (std::size_t n = 1; n <= rows; ++n)
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t c = 0; c < d; ++c) h[n * d + c] += kernel[n - j] * u[j * d + c];
    return h;
  }
#if defined(ITEROP_HAVE_FFTW) && ITEROP_HAVE_FFTW
  // h_{t+1} = sum_j k_{t+1-j} u_j: the convolution of k_1..k_rows with u_0..u_{rows-1}, entries 0..rows-1.
  detail::fft_linear_convolution(kernel.subspan(1, rows), u.first(rows * d), d,
                                 std::span<double>(h).subspan(d, rows * d));
#endif
  return h;
}

}  // namespace iterop::quadrature
