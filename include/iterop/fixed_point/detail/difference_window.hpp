// The sliding window of Anderson acceleration: residual differences dF = QR (thin QR, updated
// column by column), the matching operator differences dG, Givens deletion of the oldest column.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "iterop/core/vector_algebra.hpp"
#include "iterop/fixed_point/orthogonalization.hpp"

namespace iterop::detail {

/// Columns are kept in slots; `order_` lists the slots from oldest to newest.
template <State X>
class difference_window {
 public:
  using T = scalar_t<X>;

  difference_window(int capacity, Orthogonalization orth) : cap_(capacity), orth_(orth) {
    R_.assign(static_cast<std::size_t>(cap_) * cap_, T(0));
  }

  int columns() const { return static_cast<int>(order_.size()); }
  int capacity() const { return cap_; }

  /// Forget every column.
  void clear() { order_.clear(); }

  /// Appends (df, dg) = (f_new - f_old, g_new - g_old). If the window is full the oldest column is
  /// dropped first. If df is numerically dependent on the window, the oldest columns are dropped
  /// until it is not: the newest information wins. Returns false (stores nothing) when df is zero.
  bool push(const X& f_new, const X& f_old, const X& g_new, const X& g_old, int& dropped) {
    ensure_storage(f_new);
    if (columns() == cap_) {
      drop_oldest();
      ++dropped;
    }
    const int slot = free_slot();
    X& df = dF_[slot];
    ops::linear_sum(T(1), f_new, T(-1), f_old, df);
    ops::linear_sum(T(1), g_new, T(-1), g_old, dG_[slot]);
    const T df_norm = ops::norm2(df);
    if (!(df_norm > T(0)) || !std::isfinite(df_norm)) {
      ++dropped;
      return false;
    }
    while (!orthogonalize_new(slot, df_norm)) {
      ++dropped;
      if (columns() == 0) return false;
      drop_oldest();
    }
    order_.push_back(slot);
    ++updates_since_rebuild_;
    return true;
  }

  /// Removes the oldest column: R loses its first column and is re-triangularised by Givens
  /// rotations, which are applied to Q in one pass.
  void drop_oldest() {
    const int c = columns();
    if (c == 0) return;
    if (c == 1) {
      order_.clear();
      return;
    }
    // R' = R[:, 1..c-1] is upper Hessenberg, c x (c-1).
    std::vector<T> H(static_cast<std::size_t>(c) * (c - 1));
    for (int j = 0; j < c - 1; ++j)
      for (int i = 0; i < c; ++i) H[j * c + i] = r(i, j + 1);
    // P accumulates the rotations: Q_new = Q P.
    std::vector<T> P(static_cast<std::size_t>(c) * c, T(0));
    for (int i = 0; i < c; ++i) P[i * c + i] = T(1);
    for (int i = 0; i < c - 1; ++i) {
      const T a = H[i * c + i], b = H[i * c + i + 1];
      const T rr = std::hypot(a, b);
      const T cs = rr == T(0) ? T(1) : a / rr;
      const T sn = rr == T(0) ? T(0) : b / rr;
      for (int j = i; j < c - 1; ++j) {
        const T u = H[j * c + i], v = H[j * c + i + 1];
        H[j * c + i] = cs * u + sn * v;
        H[j * c + i + 1] = -sn * u + cs * v;
      }
      for (int l = 0; l < c; ++l) {
        const T u = P[i * c + l], v = P[(i + 1) * c + l];
        P[i * c + l] = cs * u + sn * v;
        P[(i + 1) * c + l] = -sn * u + cs * v;
      }
    }
    // New logical column j (j < c-1) is stored in the slot of old logical column j+1.
    std::vector<X*> in(c), out(c - 1);
    for (int l = 0; l < c; ++l) in[l] = &Q_[order_[l]];
    for (int j = 0; j < c - 1; ++j) out[j] = &Q_[order_[j + 1]];
    ops::transform_columns<X>(std::span<X* const>(in), P.data(), std::span<X* const>(out));
    order_.erase(order_.begin());
    for (int j = 0; j < c - 1; ++j)
      for (int i = 0; i < cap_; ++i) r(i, j) = (i <= j) ? H[j * c + i] : T(0);
  }

  /// Recomputes Q and R from the stored dF columns (oldest first), dropping dependent ones.
  int rebuild() {
    std::vector<int> old;
    old.swap(order_);
    int dropped = 0;
    for (int slot : old) {
      if (orthogonalize_new(slot, ops::norm2(dF_[slot]))) order_.push_back(slot);
      else ++dropped;
    }
    updates_since_rebuild_ = 0;
    return dropped;
  }
  int updates_since_rebuild() const { return updates_since_rebuild_; }

  /// h = Q^T f.
  void project(const X& f, std::vector<T>& h) const {
    const int c = columns();
    h.assign(c, T(0));
    if (c == 0) return;
    std::vector<const X*> qs(c);
    for (int j = 0; j < c; ++j) qs[j] = &Q_[order_[j]];
    ops::dot_many<X>(f, std::span<const X* const>(qs), h.data());
  }

  /// 1-norm condition number of R, from its explicit inverse (R is at most a few dozen columns).
  T condition() const {
    const int c = columns();
    if (c == 0) return T(1);
    std::vector<T> inv(static_cast<std::size_t>(c) * c, T(0));
    for (int j = c - 1; j >= 0; --j) {
      inv[j * c + j] = T(1) / r(j, j);
      for (int i = j - 1; i >= 0; --i) {
        T s = 0;
        for (int l = i + 1; l <= j; ++l) s += r(i, l) * inv[j * c + l];
        inv[j * c + i] = -s / r(i, i);
      }
    }
    T norm_r = 0, norm_inv = 0;
    for (int j = 0; j < c; ++j) {
      T sr = 0, si = 0;
      for (int i = 0; i <= j; ++i) {
        sr += std::abs(r(i, j));
        si += std::abs(inv[j * c + i]);
      }
      norm_r = std::max(norm_r, sr);
      norm_inv = std::max(norm_inv, si);
    }
    const T k = norm_r * norm_inv;
    return std::isfinite(k) ? k : std::numeric_limits<T>::infinity();
  }

  T& r(int i, int j) { return R_[static_cast<std::size_t>(j) * cap_ + i]; }
  T r(int i, int j) const { return R_[static_cast<std::size_t>(j) * cap_ + i]; }

  const X& dF(int j) const { return dF_[order_[j]]; }
  const X& dG(int j) const { return dG_[order_[j]]; }
  const X& Q(int j) const { return Q_[order_[j]]; }

 private:
  void ensure_storage(const X& like) {
    if (!dF_.empty()) return;
    dF_.reserve(cap_);
    dG_.reserve(cap_);
    Q_.reserve(cap_);
    for (int i = 0; i < cap_; ++i) {
      dF_.push_back(ops::zeros_like(like));
      dG_.push_back(ops::zeros_like(like));
      Q_.push_back(ops::zeros_like(like));
    }
    scratch_.emplace(ops::zeros_like(like));
  }

  int free_slot() const {
    for (int s = 0; s < cap_; ++s)
      if (std::find(order_.begin(), order_.end(), s) == order_.end()) return s;
    return -1;  // unreachable: push() drops a column when full
  }

  /// Q[slot] = normalised component of dF[slot] orthogonal to the current Q; R's new column. `df_norm` is
  /// ||dF[slot]||_2, computed once by the caller (one reduction less per step on distributed vectors).
  /// Returns false when the column is dependent (norm after orthogonalisation tiny).
  bool orthogonalize_new(int slot, T df_norm) {
    const int c = columns();
    const X& df = dF_[slot];
    X& q = Q_[slot];
    if (!(df_norm > T(0)) || !std::isfinite(df_norm)) return false;
    std::vector<T> coef(c, T(0));
    if (c == 0) {
      ops::copy(df, q);
    } else if (orth_ == Orthogonalization::cgs2) {
      std::vector<const X*> qs(c);
      for (int j = 0; j < c; ++j) qs[j] = &Q_[order_[j]];
      std::vector<T> h(c), lc(c + 1);
      std::vector<const X*> vs(c + 1);
      const X* src = &df;
      X* dst = &*scratch_;
      for (int pass = 0; pass < 2; ++pass) {
        ops::dot_many<X>(*src, std::span<const X* const>(qs), h.data());
        lc[0] = T(1);
        vs[0] = src;
        for (int j = 0; j < c; ++j) {
          lc[j + 1] = -h[j];
          vs[j + 1] = qs[j];
          coef[j] += h[j];
        }
        ops::linear_combination<X>(std::span<const T>(lc), std::span<const X* const>(vs), *dst);
        src = dst;
        dst = &q;
      }
      // After two passes the result is in q.
    } else {
      ops::copy(df, q);
      for (int pass = 0; pass < 2; ++pass) {
        for (int j = 0; j < c; ++j) {
          const X& qj = Q_[order_[j]];
          const T h = ops::dot(q, qj);
          ops::axpby(-h, qj, T(1), q);
          coef[j] += h;
        }
      }
    }
    const T rho = ops::norm2(q);
    // Dependent: what is left is at rounding level relative to the column itself.
    if (!(rho > T(64) * std::numeric_limits<T>::epsilon() * df_norm)) return false;
    ops::axpby(T(1) / rho, q, T(0), q);
    for (int i = 0; i < cap_; ++i) r(i, c) = (i < c) ? coef[i] : (i == c ? rho : T(0));
    return true;
  }

  int cap_;
  Orthogonalization orth_;
  std::vector<X> dF_, dG_, Q_;
  std::optional<X> scratch_;
  std::vector<int> order_;
  std::vector<T> R_;  // cap x cap, column-major, logical column order
  int updates_since_rebuild_ = 0;
};

}  // namespace iterop::detail
