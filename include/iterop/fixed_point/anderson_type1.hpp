// Safeguarded Type-I Anderson acceleration (Zhang, O'Donoghue & Boyd, SIAM J. Optim. 2020), for
// nonexpansive maps: Powell-regularised rank-one updates, restarts, and a Krasnoselskii-Mann fallback.
#pragma once

#include <cmath>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/core/result.hpp"
#include "iterop/fixed_point/detail/relaxed_step.hpp"
#include "iterop/fixed_point/step_input.hpp"

namespace iterop {

/// AA-I-S-m: Type-I Anderson acceleration applied to the averaged map
/// T_a = (1 - a) I + a T with residual g(x) = x - T_a(x) = -a (T(x) - x), where a = relaxation is
/// the weight on T(x), as in KrasnoselskiiMann and Anderson:
///   x_{k+1} = x_k - H_k g_k, H_k the inverse-Jacobian estimate from m rank-one updates with
///   Powell regularisation (theta_bar) and restarts (every m updates, or when the new direction is
///   nearly dependent: ||s_hat|| < restart_tol ||s||).
/// Safeguard: accept the accelerated point only if ||f(x_{k+1})|| <= D ||f_0|| (n_AA / m + 1)^-(1 + eps);
/// otherwise take the Krasnoselskii-Mann step x_k + a f_k. (Our reading of the paper's Algorithm 3:
/// the test is made on the candidate's residual, which costs one evaluation on rejection.)
struct AndersonTypeI {
  int memory = 5;                 ///< m >= 1
  double relaxation = 0.1;        ///< a in (0, 1], the weight on T(x) in the averaged map and the fallback
  double powell = 0.01;           ///< theta_bar in (0, 1)
  double restart_tol = 1e-3;      ///< tau in (0, 1)
  double safeguard_scale = 1e6;   ///< D > 0
  double safeguard_decay = 1e-6;  ///< eps > 0
  /// The old name of relaxation (the same value), kept only so that old code gets invalid_option with
  /// the name to use instead (validate() refuses any value) rather than a silent default.
  std::optional<double> averaging{};

  /// Throws invalid_option naming the field, the value and the rule (averaging: the name to use instead).
  void validate() const {
    if (averaging)
      require(false, "AndersonTypeI::averaging", *averaging,
              "renamed; use relaxation = " + format_value(*averaging) + " (the weight on T(x))");
    require(memory >= 1, "AndersonTypeI::memory", memory, "memory >= 1");
    require(memory <= 1000, "AndersonTypeI::memory", memory, "memory <= 1000");
    require(relaxation > 0 && relaxation <= 1, "AndersonTypeI::relaxation", relaxation, "0 < relaxation <= 1");
    require(powell > 0 && powell < 1, "AndersonTypeI::powell", powell, "0 < powell < 1");
    require(restart_tol > 0 && restart_tol < 1, "AndersonTypeI::restart_tol", restart_tol, "0 < restart_tol < 1");
    require(safeguard_scale > 0, "AndersonTypeI::safeguard_scale", safeguard_scale, "safeguard_scale > 0");
    require(safeguard_decay > 0, "AndersonTypeI::safeguard_decay", safeguard_decay, "safeguard_decay > 0");
  }
  std::string describe() const {
    return "AndersonTypeI(m=" + std::to_string(memory) + ", a=" + format_value(relaxation) + ")";
  }

  template <State X>
  class engine {
   public:
    using T = scalar_t<X>;
    engine(const AndersonTypeI& o, const X&) : o_(o) {}

    bool propose(const StepInput<X>& in, X& x_next, IterationRecord& rec) {
      r0_ = in.r0;
      if (in.x_prev == nullptr) {
        detail::relaxed_step(o_.relaxation, in.g, in.x, x_next);
        return false;
      }
      ensure_storage(in.x);
      const T a = T(o_.relaxation);
      X& s = *s_;
      X& y = *y_;
      X& sh = *shat_;
      ops::linear_sum(T(1), in.x, T(-1), *in.x_prev, s);        // s = x_k - x_{k-1}
      ops::linear_sum(-a, in.f, a, *in.f_prev, y);               // y = g_k - g_{k-1}, g = -a f
      if (count() == o_.memory) restart(rec);
      ops::copy(s, sh);
      for (int j = 0; j < count(); ++j)
        ops::axpby(-ops::dot(shat_list_[j], s) / shat_sq_[j], shat_list_[j], T(1), sh);
      T sh_norm = ops::norm2(sh);
      const T s_norm = ops::norm2(s);
      if (count() > 0 && sh_norm < T(o_.restart_tol) * s_norm) {
        restart(rec);
        ops::copy(s, sh);
        sh_norm = s_norm;
      }
      const T sh_sq = sh_norm * sh_norm;
      if (!(sh_sq > T(0)) || !std::isfinite(double(sh_sq))) return plain(in, x_next, rec);
      // Powell regularisation of y (B_{k-1} s_{k-1} = -g_{k-1} for Type-I steps).
      apply_H(y, *tmp_);
      const T eta = ops::dot(sh, *tmp_) / sh_sq;
      const T tb = T(o_.powell);
      const T theta = std::abs(eta) >= tb ? T(1) : (T(1) - (eta >= 0 ? tb : -tb)) / (T(1) - eta);
      X& yt = *ytilde_;
      ops::linear_sum(theta, y, (T(1) - theta) * a, *in.f_prev, yt);  // theta y - (1 - theta) g_{k-1}
      apply_H(yt, *tmp_);                                                 // H y~
      const T denom = ops::dot(sh, *tmp_);
      if (!(std::abs(denom) > T(0)) || !std::isfinite(double(denom))) return plain(in, x_next, rec);
      // New pair: u = s - H y~, w = H^T s_hat / denom (with H = H_{k-1}).
      const int slot = count();
      ops::linear_sum(T(1), s, T(-1), *tmp_, u_[slot]);
      apply_HT(sh, w_[slot]);
      ops::axpby(T(1) / denom, w_[slot], T(0), w_[slot]);
      ops::copy(sh, shat_list_[slot]);
      shat_sq_[slot] = sh_sq;
      ++count_;
      // Candidate x_k - H_k g_k = x_k + a H_k f_k.
      apply_H(in.f, *tmp_);
      ops::linear_sum(T(1), in.x, a, *tmp_, x_next);
      rec.columns = count();
      return true;
    }

    bool review(double r_next, double, IterationRecord& rec) {
      const double bound = o_.safeguard_scale * r0_ *
                           std::pow(double(accepted_) / o_.memory + 1.0, -(1.0 + o_.safeguard_decay));
      if (std::isfinite(r_next) && r_next <= bound) {
        ++accepted_;
        return true;
      }
      if (!std::isfinite(r_next)) restart(rec);
      return false;
    }

    void fallback(const X& x, const X& g, X& x_next) { detail::relaxed_step(o_.relaxation, g, x, x_next); }

   private:
    int count() const { return count_; }
    void restart(IterationRecord& rec) {
      count_ = 0;
      rec.restarted = true;
    }
    bool plain(const StepInput<X>& in, X& x_next, IterationRecord& rec) {
      restart(rec);
      detail::relaxed_step(o_.relaxation, in.g, in.x, x_next);
      return false;
    }
    void ensure_storage(const X& like) {
      if (s_) return;
      s_.emplace(ops::zeros_like(like));
      y_.emplace(ops::zeros_like(like));
      shat_.emplace(ops::zeros_like(like));
      ytilde_.emplace(ops::zeros_like(like));
      tmp_.emplace(ops::zeros_like(like));
      for (int j = 0; j < o_.memory; ++j) {
        u_.push_back(ops::zeros_like(like));
        w_.push_back(ops::zeros_like(like));
        shat_list_.push_back(ops::zeros_like(like));
      }
      shat_sq_.assign(o_.memory, T(0));
    }
    /// out = H v = v + sum_j u_j (w_j . v).
    void apply_H(const X& v, X& out) { apply_rank_one(v, u_, w_, out); }
    /// out = H^T v = v + sum_j w_j (u_j . v).
    void apply_HT(const X& v, X& out) { apply_rank_one(v, w_, u_, out); }
    void apply_rank_one(const X& v, const std::vector<X>& a, const std::vector<X>& b, X& out) {
      const int c = count();
      std::vector<const X*> bs(c), vs(c + 1);
      std::vector<T> d(c), coef(c + 1);
      for (int j = 0; j < c; ++j) bs[j] = &b[j];
      ops::dot_many<X>(v, std::span<const X* const>(bs), d.data());
      coef[0] = T(1);
      vs[0] = &v;
      for (int j = 0; j < c; ++j) {
        coef[j + 1] = d[j];
        vs[j + 1] = &a[j];
      }
      ops::linear_combination<X>(std::span<const T>(coef), std::span<const X* const>(vs), out);
    }

    const AndersonTypeI& o_;
    std::optional<X> s_, y_, shat_, ytilde_, tmp_;
    std::vector<X> u_, w_, shat_list_;
    std::vector<T> shat_sq_;
    int count_ = 0;
    long accepted_ = 0;
    double r0_ = 0;
  };
};

}  // namespace iterop
