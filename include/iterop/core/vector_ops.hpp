// vector_ops: the customisation point through which every iterop algorithm touches a vector.
// Specialise iterop::vector_ops<X> for your type; contiguous types get fused kernels for free.
#pragma once

#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

namespace iterop {

/// Customisation point: specialise for a vector type X. Required members (see docs/concepts/state.md):
///   using scalar;                                   floating-point element type
///   static std::size_t size(const X&);              number of entries
///   static X zeros_like(const X&);                  a zero vector of the same shape
///   static void axpby(scalar a, const X& x, scalar b, X& y);   y = a x + b y (b == 0 overwrites y)
///   static scalar dot(const X&, const X&);          Euclidean inner product
/// Optional members, used when present (generic fallbacks otherwise, see iterop::ops):
///   copy, linear_sum, norm2, norm_inf, wrms_norm, all_finite, dot_many, linear_combination,
///   distance2, distance_inf, transform_columns.
template <class X>
struct vector_ops;

/// Fused kernels for vector types that store their scalars contiguously (data() and size()).
/// Derive a vector_ops specialisation from it and add zeros_like.
template <class X, std::floating_point T>
struct contiguous_vector_ops {
  using scalar = T;

  static std::size_t size(const X& x) { return static_cast<std::size_t>(x.size()); }
  static const T* ptr(const X& x) { return x.data(); }
  static T* ptr(X& x) { return x.data(); }

  /// dst = src (same size).
  static void copy(const X& src, X& dst) {
    const T* s = ptr(src);
    T* d = ptr(dst);
    const std::size_t n = size(src);
    for (std::size_t i = 0; i < n; ++i) d[i] = s[i];
  }

  /// y = a x + b y; b == 0 overwrites y (so NaN in y does not leak).
  static void axpby(T a, const X& x, T b, X& y) {
    const T* px = ptr(x);
    T* py = ptr(y);
    const std::size_t n = size(x);
    if (b == T(0)) {
      for (std::size_t i = 0; i < n; ++i) py[i] = a * px[i];
    } else {
      for (std::size_t i = 0; i < n; ++i) py[i] = a * px[i] + b * py[i];
    }
  }

  /// z = a x + b y.
  static void linear_sum(T a, const X& x, T b, const X& y, X& z) {
    const T* px = ptr(x);
    const T* py = ptr(y);
    T* pz = ptr(z);
    const std::size_t n = size(x);
    for (std::size_t i = 0; i < n; ++i) pz[i] = a * px[i] + b * py[i];
  }

  static T dot(const X& x, const X& y) {
    const T* px = ptr(x);
    const T* py = ptr(y);
    const std::size_t n = size(x);
    T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      s0 += px[i] * py[i];
      s1 += px[i + 1] * py[i + 1];
      s2 += px[i + 2] * py[i + 2];
      s3 += px[i + 3] * py[i + 3];
    }
    for (; i < n; ++i) s0 += px[i] * py[i];
    return (s0 + s1) + (s2 + s3);
  }

  static T norm2(const X& x) { return std::sqrt(dot(x, x)); }

  static T norm_inf(const X& x) {
    const T* px = ptr(x);
    const std::size_t n = size(x);
    T m = 0;
    bool nan = false;  // a NaN anywhere makes the norm NaN (a running max alone would drop it at the next entry)
    for (std::size_t i = 0; i < n; ++i) {
      const T a = std::abs(px[i]);
      nan |= a != a;
      m = a > m ? a : m;
    }
    return nan ? std::numeric_limits<T>::quiet_NaN() : m;
  }

  /// ||x - y||_2 in one pass.
  static T distance2(const X& x, const X& y) {
    const T* px = ptr(x);
    const T* py = ptr(y);
    const std::size_t n = size(x);
    T s = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const T d = px[i] - py[i];
      s += d * d;
    }
    return std::sqrt(s);
  }

  /// ||x - y||_inf in one pass.
  static T distance_inf(const X& x, const X& y) {
    const T* px = ptr(x);
    const T* py = ptr(y);
    const std::size_t n = size(x);
    T m = 0;
    bool nan = false;
    for (std::size_t i = 0; i < n; ++i) {
      const T a = std::abs(px[i] - py[i]);
      nan |= a != a;
      m = a > m ? a : m;
    }
    return nan ? std::numeric_limits<T>::quiet_NaN() : m;
  }

  /// Weighted root-mean-square norm as in SUNDIALS: sqrt(mean((v_i / (rtol |x_i| + atol))^2)).
  static T wrms_norm(const X& v, const X& x, T rtol, T atol) {
    const T* pv = ptr(v);
    const T* px = ptr(x);
    const std::size_t n = size(v);
    if (n == 0) return T(0);
    T s = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const T w = pv[i] / (rtol * std::abs(px[i]) + atol);
      s += w * w;
    }
    return std::sqrt(s / static_cast<T>(n));
  }

  static bool all_finite(const X& x) {
    const T* px = ptr(x);
    const std::size_t n = size(x);
    T acc = 0;
    for (std::size_t i = 0; i < n; ++i) acc += px[i] * T(0);  // NaN or Inf turns acc into NaN
    return acc == T(0);
  }

  /// out[j] = <x, ys[j]> for all j, in one blocked pass over x.
  static void dot_many(const X& x, std::span<const X* const> ys, T* out) {
    const std::size_t m = ys.size();
    for (std::size_t j = 0; j < m; ++j) out[j] = T(0);
    const std::size_t n = size(x);
    const T* px = ptr(x);
    constexpr std::size_t block = 512;
    for (std::size_t lo = 0; lo < n; lo += block) {
      const std::size_t hi = lo + block < n ? lo + block : n;
      for (std::size_t j = 0; j < m; ++j) {
        const T* py = ptr(*ys[j]);
        T s0 = 0, s1 = 0;
        std::size_t i = lo;
        for (; i + 2 <= hi; i += 2) {
          s0 += px[i] * py[i];
          s1 += px[i + 1] * py[i + 1];
        }
        for (; i < hi; ++i) s0 += px[i] * py[i];
        out[j] += s0 + s1;
      }
    }
  }

  /// y = sum_j c[j] xs[j] in one pass (y may not alias any xs[j]).
  static void linear_combination(std::span<const T> c, std::span<const X* const> xs, X& y) {
    const std::size_t m = xs.size();
    const std::size_t n = size(y);
    T* py = ptr(y);
    if (m == 0) {
      for (std::size_t i = 0; i < n; ++i) py[i] = T(0);
      return;
    }
    constexpr std::size_t block = 512;
    for (std::size_t lo = 0; lo < n; lo += block) {
      const std::size_t hi = lo + block < n ? lo + block : n;
      {
        const T* p0 = ptr(*xs[0]);
        const T c0 = c[0];
        for (std::size_t i = lo; i < hi; ++i) py[i] = c0 * p0[i];
      }
      for (std::size_t j = 1; j < m; ++j) {
        const T* pj = ptr(*xs[j]);
        const T cj = c[j];
        for (std::size_t i = lo; i < hi; ++i) py[i] += cj * pj[i];
      }
    }
  }

  /// out[j] = sum_l in[l] P[l, j] for j < out.size(); P is in.size() x out.size(), column-major.
  /// `out` may alias any of `in` (all inputs of an entry are read before it is written).
  static void transform_columns(std::span<X* const> in, const T* P, std::span<X* const> out) {
    const std::size_t k = in.size();
    const std::size_t kout = out.size();
    if (k == 0 || kout == 0) return;
    const std::size_t n = size(*in[0]);
    std::vector<const T*> pin(k);
    std::vector<T*> pout(kout);
    for (std::size_t l = 0; l < k; ++l) pin[l] = ptr(*in[l]);
    for (std::size_t j = 0; j < kout; ++j) pout[j] = ptr(*out[j]);
    constexpr std::size_t block = 256;
    std::vector<T> tmp(k * block);
    for (std::size_t lo = 0; lo < n; lo += block) {
      const std::size_t hi = lo + block < n ? lo + block : n;
      const std::size_t len = hi - lo;
      for (std::size_t l = 0; l < k; ++l)
        for (std::size_t i = 0; i < len; ++i) tmp[l * block + i] = pin[l][lo + i];
      for (std::size_t j = 0; j < kout; ++j) {
        T* o = pout[j] + lo;
        const T p0 = P[j * k];
        for (std::size_t i = 0; i < len; ++i) o[i] = p0 * tmp[i];
        for (std::size_t l = 1; l < k; ++l) {
          const T pl = P[j * k + l];
          const T* t = &tmp[l * block];
          for (std::size_t i = 0; i < len; ++i) o[i] += pl * t[i];
        }
      }
    }
  }
};

/// std::vector<T> for T = float, double, long double.
template <std::floating_point T, class A>
struct vector_ops<std::vector<T, A>> : contiguous_vector_ops<std::vector<T, A>, T> {
  static std::vector<T, A> zeros_like(const std::vector<T, A>& x) {
    return std::vector<T, A>(x.size(), T(0), x.get_allocator());
  }
};

/// std::array<T, N> for T = float, double, long double.
template <std::floating_point T, std::size_t N>
struct vector_ops<std::array<T, N>> : contiguous_vector_ops<std::array<T, N>, T> {
  static std::array<T, N> zeros_like(const std::array<T, N>&) { return std::array<T, N>{}; }
};

/// The scalar type of a State.
template <class X>
using scalar_t = typename vector_ops<X>::scalar;

}  // namespace iterop
