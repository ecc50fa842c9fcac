// Anderson acceleration, Type II (Walker & Ni 2011; Toth & Kelley 2015): depth m, relaxation (damping) beta,
// delay, thin QR updated column by column, condition-based dropping, ridge, restarts, safeguards.
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/core/result.hpp"
#include "iterop/fixed_point/detail/difference_window.hpp"
#include "iterop/fixed_point/orthogonalization.hpp"
#include "iterop/fixed_point/detail/relaxed_step.hpp"
#include "iterop/fixed_point/step_input.hpp"

namespace iterop {

/// Anderson acceleration (Type II) of x = T(x), with f = T(x) - x:
///   gamma = argmin ||f_k - dF_k gamma||_2 (+ ridge),
///   x_{k+1} = T(x_k) - dG_k gamma - (1 - beta)(f_k - dF_k gamma),
/// where dF_k, dG_k hold the last m differences of f and of T(x), and beta = relaxation is the weight
/// on T(x) (Walker and Ni's damping), as in KrasnoselskiiMann. memory = 0 is Krasnoselskii-Mann.
struct Anderson {
  int memory = 5;          ///< depth m >= 0
  double relaxation = 1.0;  ///< beta in (0, 1], the weight on T(x); 1 is unrelaxed (undamped)
  int delay = 0;           ///< plain damped steps before the history starts, >= 0
  Orthogonalization orthogonalization = Orthogonalization::cgs2;  ///< CGS2 or MGS2
  /// Drop the oldest columns while the 1-norm condition number of R exceeds this (>= 1; infinity disables).
  double max_condition = 1e10;
  /// Ridge: minimise ||f - dF gamma||^2 + (regularization ||dF||_F)^2 ||gamma||^2 (>= 0; 0 disables).
  double regularization = 0.0;
  /// Recompute Q and R from the stored differences every this many column updates (0 never).
  int rebuild_period = 64;
  /// Clear the history every this many accelerated steps (0 never).
  int restart_period = 0;
  /// Reject an accelerated step whose residual exceeds safeguard_growth times the current one and
  /// take the plain damped step instead (> 1; infinity disables). Non-finite steps are always rejected.
  double safeguard_growth = 1e4;
  /// Clear the history after a rejected step (a non-finite step always clears it).
  bool restart_on_rejection = true;
  /// The old name of relaxation (the same value), kept only so that old code gets invalid_option with
  /// the name to use instead (validate() refuses any value) rather than a silent default.
  std::optional<double> damping{};

  /// Throws invalid_option naming the field, the value and the rule (damping: the name to use instead).
  void validate() const {
    if (damping)
      require(false, "Anderson::damping", *damping,
              "renamed; use relaxation = " + format_value(*damping) + " (the weight on T(x))");
    require(memory >= 0, "Anderson::memory", memory, "memory >= 0");
    require(memory <= 1000, "Anderson::memory", memory, "memory <= 1000");
    require(relaxation > 0 && relaxation <= 1, "Anderson::relaxation", relaxation, "0 < relaxation <= 1");
    require(delay >= 0, "Anderson::delay", delay, "delay >= 0");
    require(max_condition >= 1, "Anderson::max_condition", max_condition, "max_condition >= 1");
    require(regularization >= 0 && std::isfinite(regularization), "Anderson::regularization", regularization,
            "regularization >= 0 and finite");
    require(rebuild_period >= 0, "Anderson::rebuild_period", rebuild_period, "rebuild_period >= 0");
    require(restart_period >= 0, "Anderson::restart_period", restart_period, "restart_period >= 0");
    require(safeguard_growth > 1, "Anderson::safeguard_growth", safeguard_growth, "safeguard_growth > 1");
  }

  std::string describe() const {
    std::string s = "Anderson(m=" + std::to_string(memory) + ", beta=" + format_value(relaxation);
    if (delay) s += ", delay=" + std::to_string(delay);
    s += ", " + std::string(to_string(orthogonalization));
    if (regularization > 0) s += ", ridge=" + format_value(regularization);
    return s + ")";
  }

  template <State X>
  class engine {
   public:
    using T = scalar_t<X>;
    engine(const Anderson& o, const X&) : o_(o), window_(o.memory > 0 ? o.memory : 1, o.orthogonalization) {}

    /// Writes x_{k+1}; returns true when the step is accelerated (then review() is asked).
    bool propose(const StepInput<X>& in, X& x_next, IterationRecord& rec) {
      if (o_.memory == 0 || in.k < o_.delay) {
        detail::relaxed_step(o_.relaxation, in.g, in.x, x_next);
        return false;
      }
      if (in.k > o_.delay && in.f_prev != nullptr) update_history(in, rec);
      const int c = window_.columns();
      rec.columns = c;
      if (c == 0) {
        detail::relaxed_step(o_.relaxation, in.g, in.x, x_next);
        return false;
      }
      if (!least_squares(in.f, in.f_norm2, rec)) {  // non-finite coefficients: plain step, fresh history
        window_.clear();
        rec.restarted = true;
        rec.columns = 0;
        detail::relaxed_step(o_.relaxation, in.g, in.x, x_next);
        return false;
      }
      combine(in, x_next);
      ++accelerated_since_restart_;
      return true;
    }

    /// Safeguard: accept the accelerated step unless its residual is non-finite or grew too much.
    bool review(double r_next, double r_current, IterationRecord& rec) {
      const bool finite = std::isfinite(r_next);
      if (finite && !(r_next > o_.safeguard_growth * r_current)) return true;
      if (!finite || o_.restart_on_rejection) {
        window_.clear();
        accelerated_since_restart_ = 0;
        rec.restarted = true;
      }
      return false;
    }

    /// The plain relaxed step taken after a rejection.
    void fallback(const X& x, const X& g, X& x_next) { detail::relaxed_step(o_.relaxation, g, x, x_next); }

   private:
    void update_history(const StepInput<X>& in, IterationRecord& rec) {
      if (o_.restart_period > 0 && accelerated_since_restart_ >= o_.restart_period) {
        window_.clear();
        accelerated_since_restart_ = 0;
        rec.restarted = true;
      }
      window_.push(in.f, *in.f_prev, in.g, *in.g_prev, rec.dropped);
      if (o_.rebuild_period > 0 && window_.updates_since_rebuild() >= o_.rebuild_period)
        rec.dropped += window_.rebuild();
      if (std::isfinite(o_.max_condition)) {
        T cond = window_.condition();
        while (window_.columns() > 1 && !(cond <= T(o_.max_condition))) {
          window_.drop_oldest();
          ++rec.dropped;
          cond = window_.condition();
        }
      }
    }

    /// gamma from R gamma = Q^T f (or the ridge normal equations); gain and condition into rec.
    bool least_squares(const X& f, double f_norm2, IterationRecord& rec) {
      const int c = window_.columns();
      window_.project(f, h_);
      gamma_.assign(c, T(0));
      double res2;
      if (o_.regularization > 0) {
        // (R^T R + lambda^2 I) gamma = R^T h, lambda = regularization ||R||_F.
        T fro2 = 0;
        for (int j = 0; j < c; ++j)
          for (int i = 0; i <= j; ++i) fro2 += window_.r(i, j) * window_.r(i, j);
        const T lam2 = T(o_.regularization * o_.regularization) * fro2;
        std::vector<T> A(static_cast<std::size_t>(c) * c, T(0)), b(c, T(0));
        for (int i = 0; i < c; ++i) {
          for (int j = 0; j < c; ++j) {
            T s = 0;
            for (int l = 0; l <= std::min(i, j); ++l) s += window_.r(l, i) * window_.r(l, j);
            A[i * c + j] = s + (i == j ? lam2 : T(0));
          }
          for (int l = 0; l <= i; ++l) b[i] += window_.r(l, i) * h_[l];
        }
        if (!cholesky_solve(A, b, c)) return false;
        gamma_ = b;
        // ||f - Q R gamma||^2 = ||f||^2 - 2 h.v + ||v||^2 with v = R gamma.
        double hv = 0, vv = 0;
        for (int i = 0; i < c; ++i) {
          T v = 0;
          for (int j = i; j < c; ++j) v += window_.r(i, j) * gamma_[j];
          hv += double(h_[i] * v);
          vv += double(v * v);
        }
        res2 = f_norm2 * f_norm2 - 2 * hv + vv;
      } else {
        for (int i = c - 1; i >= 0; --i) {
          T s = h_[i];
          for (int j = i + 1; j < c; ++j) s -= window_.r(i, j) * gamma_[j];
          gamma_[i] = s / window_.r(i, i);
        }
        double hh = 0;
        for (int i = 0; i < c; ++i) hh += double(h_[i] * h_[i]);
        res2 = f_norm2 * f_norm2 - hh;
      }
      for (int i = 0; i < c; ++i)
        if (!std::isfinite(double(gamma_[i]))) return false;
      rec.gain = f_norm2 > 0 ? std::sqrt(std::max(res2, 0.0)) / f_norm2 : 0.0;
      rec.condition = double(window_.condition());
      return true;
    }

    /// x_next = g - (1 - beta) f - sum gamma_j (dG_j - (1 - beta) dF_j), in one fused pass.
    void combine(const StepInput<X>& in, X& x_next) {
      const int c = window_.columns();
      const T one_minus_beta = T(1.0 - o_.relaxation);
      coef_.clear();
      vecs_.clear();
      coef_.push_back(T(1));
      vecs_.push_back(&in.g);
      if (one_minus_beta != T(0)) {
        coef_.push_back(-one_minus_beta);
        vecs_.push_back(&in.f);
      }
      for (int j = 0; j < c; ++j) {
        coef_.push_back(-gamma_[j]);
        vecs_.push_back(&window_.dG(j));
        if (one_minus_beta != T(0)) {
          coef_.push_back(one_minus_beta * gamma_[j]);
          vecs_.push_back(&window_.dF(j));
        }
      }
      ops::linear_combination<X>(std::span<const T>(coef_), std::span<const X* const>(vecs_), x_next);
    }

    static bool cholesky_solve(std::vector<T>& A, std::vector<T>& b, int n) {
      for (int j = 0; j < n; ++j) {
        T d = A[j * n + j];
        for (int l = 0; l < j; ++l) d -= A[j * n + l] * A[j * n + l];
        if (!(d > T(0))) return false;
        d = std::sqrt(d);
        A[j * n + j] = d;
        for (int i = j + 1; i < n; ++i) {
          T s = A[i * n + j];
          for (int l = 0; l < j; ++l) s -= A[i * n + l] * A[j * n + l];
          A[i * n + j] = s / d;
        }
      }
      for (int i = 0; i < n; ++i) {
        T s = b[i];
        for (int l = 0; l < i; ++l) s -= A[i * n + l] * b[l];
        b[i] = s / A[i * n + i];
      }
      for (int i = n - 1; i >= 0; --i) {
        T s = b[i];
        for (int l = i + 1; l < n; ++l) s -= A[l * n + i] * b[l];
        b[i] = s / A[i * n + i];
      }
      return true;
    }

    const Anderson& o_;
    detail::difference_window<X> window_;
    std::vector<T> h_, gamma_, coef_;
    std::vector<const X*> vecs_;
    int accelerated_since_restart_ = 0;
  };
};

}  // namespace iterop
