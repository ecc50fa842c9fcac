// iterop::ops: the vector operations the algorithms call, built on vector_ops<X>.
// Uses a type's own (fused) kernel where vector_ops provides one, and a generic fallback otherwise.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "iterop/core/concepts.hpp"

namespace iterop::ops {

template <State X> using S = scalar_t<X>;

template <State X> std::size_t size(const X& x) { return vector_ops<X>::size(x); }
template <State X> X zeros_like(const X& x) { return vector_ops<X>::zeros_like(x); }

/// dst = src.
template <State X> void copy(const X& src, X& dst) {
  if constexpr (requires { vector_ops<X>::copy(src, dst); }) vector_ops<X>::copy(src, dst);
  else dst = src;
}

/// y = a x + b y (b == 0 overwrites y).
template <State X> void axpby(S<X> a, const X& x, S<X> b, X& y) { vector_ops<X>::axpby(a, x, b, y); }

/// z = a x + b y (z may alias x or y only through the fused kernel of a contiguous type).
template <State X> void linear_sum(S<X> a, const X& x, S<X> b, const X& y, X& z) {
  if constexpr (requires { vector_ops<X>::linear_sum(a, x, b, y, z); }) {
    vector_ops<X>::linear_sum(a, x, b, y, z);
  } else if (&z == &y) {
    vector_ops<X>::axpby(a, x, b, z);
  } else {
    copy(x, z);
    vector_ops<X>::axpby(b, y, a, z);
  }
}

template <State X> S<X> dot(const X& x, const X& y) { return vector_ops<X>::dot(x, y); }

template <State X> S<X> norm2(const X& x) {
  if constexpr (requires { vector_ops<X>::norm2(x); }) return vector_ops<X>::norm2(x);
  else return std::sqrt(vector_ops<X>::dot(x, x));
}

/// Whether a type supports the max-norm (needs vector_ops<X>::norm_inf).
template <class X> inline constexpr bool has_norm_inf = requires(const X& x) { vector_ops<X>::norm_inf(x); };
/// Whether a type supports the SUNDIALS weighted RMS norm (needs vector_ops<X>::wrms_norm).
template <class X> inline constexpr bool has_wrms_norm =
    requires(const X& x, S<X> t) { vector_ops<X>::wrms_norm(x, x, t, t); };

template <State X> S<X> norm_inf(const X& x) {
  static_assert(has_norm_inf<X>, "The max-norm needs vector_ops<X>::norm_inf for this vector type.");
  return vector_ops<X>::norm_inf(x);
}

/// True when every entry is finite. Fallback: the squared norm is finite (may also flag overflow).
template <State X> bool all_finite(const X& x) {
  if constexpr (requires { vector_ops<X>::all_finite(x); }) return vector_ops<X>::all_finite(x);
  else return std::isfinite(vector_ops<X>::dot(x, x));
}

/// out[j] = <x, ys[j]>.
template <State X> void dot_many(const X& x, std::span<const X* const> ys, S<X>* out) {
  if constexpr (requires { vector_ops<X>::dot_many(x, ys, out); }) {
    vector_ops<X>::dot_many(x, ys, out);
  } else {
    for (std::size_t j = 0; j < ys.size(); ++j) out[j] = vector_ops<X>::dot(x, *ys[j]);
  }
}

/// y = sum_j c[j] xs[j] (y must not alias any xs[j]).
template <State X> void linear_combination(std::span<const S<X>> c, std::span<const X* const> xs, X& y) {
  if constexpr (requires { vector_ops<X>::linear_combination(c, xs, y); }) {
    vector_ops<X>::linear_combination(c, xs, y);
  } else {
    if (xs.empty()) {
      vector_ops<X>::axpby(S<X>(0), y, S<X>(0), y);
      return;
    }
    vector_ops<X>::axpby(c[0], *xs[0], S<X>(0), y);
    for (std::size_t j = 1; j < xs.size(); ++j) vector_ops<X>::axpby(c[j], *xs[j], S<X>(1), y);
  }
}

/// out[j] = sum_l in[l] P[l, j] (P: in.size() x out.size(), column-major); out may alias in.
template <State X>
void transform_columns(std::span<X* const> in, const S<X>* P, std::span<X* const> out) {
  if constexpr (requires { vector_ops<X>::transform_columns(in, P, out); }) {
    vector_ops<X>::transform_columns(in, P, out);
  } else {
    const std::size_t k = in.size();
    std::vector<X> old;
    old.reserve(k);
    for (std::size_t l = 0; l < k; ++l) old.push_back(*in[l]);
    for (std::size_t j = 0; j < out.size(); ++j) {
      vector_ops<X>::axpby(P[j * k], old[0], S<X>(0), *out[j]);
      for (std::size_t l = 1; l < k; ++l) vector_ops<X>::axpby(P[j * k + l], old[l], S<X>(1), *out[j]);
    }
  }
}

/// ||x - y||_2, one pass where the type provides distance2.
template <State X> S<X> distance2(const X& x, const X& y, X& scratch) {
  if constexpr (requires { vector_ops<X>::distance2(x, y); }) {
    return vector_ops<X>::distance2(x, y);
  } else {
    linear_sum(S<X>(1), x, S<X>(-1), y, scratch);
    return norm2(scratch);
  }
}

}  // namespace iterop::ops
