// StopMonitor: the one implementation of Stop: norms of residuals and steps, the tests in their fixed
// order, the message of each outcome, and the iterate returned; shared by solve() and the KINSOL baseline.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "iterop/core/concepts.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/core/norm.hpp"
#include "iterop/core/result.hpp"
#include "iterop/core/status.hpp"
#include "iterop/core/vector_algebra.hpp"
#include "iterop/fixed_point/stop.hpp"

namespace iterop {

/// Which iterate a finished solve returns (StopMonitor::returned_iterate()).
struct ReturnedIterate {
  /// true: the best iterate stored by the monitor (StopMonitor::take_best()); false: the last finite
  /// iterate, which the caller holds (x0 when no evaluated iterate was finite).
  bool best = false;
  int iteration = 0;                ///< k of the returned iterate
  double residual = not_available;  ///< its residual in the Stop norm
};

/// Applies a Stop to a sequence of evaluated iterates x_0, x_1, ... of x = T(x). The solver measures
/// with residual() and step_norm() (2-norm, max-norm or SUNDIALS' weighted RMS, as Stop::norm says),
/// hands each iterate to record(), then asks check(), which applies the tests in one fixed order:
///   non_finite, converged (||f_k|| <= abs_tol + rel_tol ||f_0||, or wrms <= 1), small_step,
///   stopped_by_observer, max_iterations, max_evaluations, diverged, stagnated,
/// and, when one holds, sets status() and message(). verify() audits a success afterwards against the
/// residual recomputed at the returned x (Status::verification_failed when it does not hold). The best iterate (smallest finite residual) is
/// copied when Stop::returned is Returned::best; returned_iterate() says which iterate to return.
/// X must meet State (and provide norm_inf / wrms_norm for those norms: Stop::validate_for<X>()).
template <State X>
class StopMonitor {
 public:
  /// Keeps a copy of `stop` (validate it first).
  explicit StopMonitor(const Stop& stop) : stop_(stop) {}

  const Stop& stop() const { return stop_; }

  // ---- norms ------------------------------------------------------------------------------------

  /// ||f|| in Stop::norm; the wrms weights are 1 / (rel_tol |x_i| + abs_tol).
  double residual_norm(const X& f, const X& x) const {
    return measure(stop_.norm, f, x, stop_.rel_tol, stop_.abs_tol);
  }

  /// f = g - x with g = T(x); returns ||f|| in Stop::norm.
  double residual(const X& x, const X& g, X& f) const {
    using T = scalar_t<X>;
    ops::linear_sum(T(1), g, T(-1), x, f);
    return residual_norm(f, x);
  }

  /// ||x_new - x_old|| in Stop::norm (wrms weights from x_new); uses a scratch vector of the monitor.
  double step_norm(const X& x_new, const X& x_old) {
    using T = scalar_t<X>;
    if (!scratch_) scratch_.emplace(ops::zeros_like(x_new));
    if (stop_.norm == Norm::two) return static_cast<double>(ops::distance2(x_new, x_old, *scratch_));
    ops::linear_sum(T(1), x_new, T(-1), x_old, *scratch_);
    return measure(stop_.norm, *scratch_, x_new, stop_.rel_tol, stop_.abs_tol);
  }

  // ---- the sequence of iterates ------------------------------------------------------------------

  /// Records iterate k = iteration() + 1 (the first call is x_0): its residual ||T(x_k) - x_k|| and
  /// its step ||x_k - x_{k-1}|| (not_available for x_0). A finite residual makes x_k the last finite
  /// iterate, and the best one when its residual is below every earlier one (x_k is then copied if
  /// Stop::returned is Returned::best). A non-finite iterate is not kept: check() ends the solve.
  void record(const X& x, double residual, double step = not_available) {
    const int k = static_cast<int>(residuals_.size());
    residuals_.push_back(residual);
    step_ = step;
    if (k == 0) {
      r0_ = residual;
      tol_ = stop_.norm == Norm::wrms ? 1.0 : stop_.abs_tol + stop_.rel_tol * r0_;
    }
    if (!std::isfinite(residual)) return;
    last_k_ = k;
    last_r_ = residual;
    if (residual < best_r_ || !std::isfinite(best_r_)) {
      best_r_ = residual;
      best_k_ = k;
      if (stop_.returned == Returned::best) {
        if (!best_) best_.emplace(ops::zeros_like(x));
        ops::copy(x, *best_);
      }
    }
    best_so_far_.push_back(best_r_);
  }

  /// The tests on the newest iterate, in the fixed order above. `evaluations`: operator evaluations
  /// so far; `observer_stop`: an observer asked to stop. Returns true when the solve must end (then
  /// status() and message() say why).
  bool check(long evaluations, bool observer_stop = false) {
    const int k = iteration();
    const double r = residuals_.back();
    if (!std::isfinite(r)) return conclude(Status::non_finite);
    if (r <= tol_) return conclude(Status::converged);
    if (stop_.step_tol > 0 && k > 0 && step_ <= stop_.step_tol) return conclude(Status::small_step);
    if (observer_stop) return conclude(Status::stopped_by_observer);
    if (k >= stop_.max_iterations) return conclude(Status::max_iterations);
    if (evaluations >= stop_.max_evaluations) return conclude(Status::max_evaluations);
    if (r > stop_.divergence_factor * r0_) return conclude(Status::diverged);
    const int w = stop_.stagnation_window;
    if (w > 0 && k >= w &&
        !(best_so_far_[static_cast<std::size_t>(k)] <
          stop_.stagnation_factor * best_so_far_[static_cast<std::size_t>(k - w)]))
      return conclude(Status::stagnated);
    return false;
  }

  /// Only the first test (a solver that applies its own rule still reports non-finite residuals the
  /// same way). Returns true when the newest residual is not finite.
  bool check_finite() {
    return !std::isfinite(residuals_.back()) && conclude(Status::non_finite);
  }

  /// Ends with `status` (decided by the caller, e.g. a backend's own iteration limit): sets status()
  /// and message() as check() would. Returns true.
  bool conclude(Status status) {
    status_ = status;
    message_ = message_for(status);
    decided_ = true;
    return true;
  }

  /// The false-success audit of a finished solve: `recomputed` is ||T(x) - x|| of the returned x,
  /// evaluated again after the solve (or, for a backend, the true residual of the vector it returned),
  /// and `claim` says who declared success. When the status is converged (or `claim` is not empty:
  /// a backend's own success) and `recomputed` does not meet the tolerance, the status becomes
  /// verification_failed and the message gives both values. Returns whether the success stands.
  bool verify(double recomputed, const std::string& claim = "") {
    verified_ = recomputed;
    const bool claimed = (decided_ && status_ == Status::converged) || !claim.empty();
    if (!claimed || (std::isfinite(recomputed) && recomputed <= tol_)) return true;
    claim_ = claim.empty() ? "The residual test was met (" + message_ + ")" : claim;
    status_ = Status::verification_failed;
    message_ = message_for(Status::verification_failed);
    decided_ = true;
    return false;
  }

  /// The sentence for `status` about the newest iterate, e.g. "Residual 1e-09 <= tolerance 1e-08.".
  std::string message_for(Status status) const {
    const int k = iteration();
    const double r = residuals_.empty() ? not_available : residuals_.back();
    switch (status) {
      case Status::non_finite:
        return k == 0 ? "T(x0) - x0 is not finite (NaN or Inf)."
                      : "The residual became non-finite (NaN or Inf) at iteration " + std::to_string(k) + ".";
      case Status::converged: return "Residual " + format_value(r) + " <= tolerance " + format_value(tol_) + ".";
      case Status::small_step:
        return "Step " + format_value(step_) + " <= Stop::step_tol " + format_value(stop_.step_tol) +
               " while the residual " + format_value(r) + " is above the tolerance " + format_value(tol_) + ".";
      case Status::stopped_by_observer:
        return "The observer stopped the solve at iteration " + std::to_string(k) + ".";
      case Status::blow_up: return "The solution blows up (not a status of a fixed-point iteration).";
      case Status::max_iterations:
        return "Reached Stop::max_iterations = " + std::to_string(stop_.max_iterations) + " with residual " +
               format_value(r) + " above the tolerance " + format_value(tol_) + ".";
      case Status::max_evaluations:
        return "Reached Stop::max_evaluations = " + std::to_string(stop_.max_evaluations) + ".";
      case Status::diverged:
        return "Residual " + format_value(r) + " exceeds Stop::divergence_factor (" +
               format_value(stop_.divergence_factor) + ") times the initial residual " + format_value(r0_) + ".";
      case Status::stagnated:
        return "The best residual fell by less than a factor " + format_value(stop_.stagnation_factor) +
               " over the last " + std::to_string(stop_.stagnation_window) + " iterations (best " +
               format_value(best_r_) + ").";
      case Status::verification_failed:
        return claim_ + ", but the true residual ||T(x) - x|| recomputed at the returned x is " +
               format_value(verified_) + ", above the tolerance " + format_value(tol_) + ": not converged.";
    }
    return {};
  }

  // ---- what was seen ------------------------------------------------------------------------------

  int iteration() const { return static_cast<int>(residuals_.size()) - 1; }  ///< k of the newest iterate
  const std::vector<double>& residuals() const { return residuals_; }        ///< ||f_k|| for every k
  double initial_residual() const { return r0_; }                            ///< ||f_0||
  double tolerance() const { return tol_; }  ///< abs_tol + rel_tol ||f_0||, or 1 for Norm::wrms
  double best_residual() const { return best_r_; }
  int best_iteration() const { return best_k_; }
  bool have_finite() const { return last_k_ >= 0; }  ///< some evaluated iterate was finite
  int last_finite_iteration() const { return last_k_; }
  double last_finite_residual() const { return last_r_; }

  bool decided() const { return decided_; }                ///< check() or conclude() ended the solve
  double verified_residual() const { return verified_; }   ///< the value given to verify()
  Status status() const { return status_; }                 ///< valid once decided()
  const std::string& message() const { return message_; }  ///< valid once decided()

  /// The iterate to return under `policy`: the best one when it is not the last finite one and the
  /// solve did not converge, otherwise the last finite one (x0 with its residual when none was finite).
  ReturnedIterate returned_iterate(Returned policy) const {
    if (last_k_ < 0) return {false, 0, residuals_.empty() ? not_available : residuals_.front()};
    if (policy == Returned::best && !(decided_ && status_ == Status::converged) && std::isfinite(best_r_) &&
        best_k_ != last_k_)
      return {true, best_k_, best_r_};
    return {false, last_k_, last_r_};
  }
  /// returned_iterate(Stop::returned).
  ReturnedIterate returned_iterate() const { return returned_iterate(stop_.returned); }

  /// Moves the stored best iterate out (when returned_iterate().best).
  X take_best() { return std::move(*best_); }

 private:
  Stop stop_;
  std::vector<double> residuals_, best_so_far_;
  double step_ = not_available;
  double r0_ = not_available, tol_ = not_available;
  double best_r_ = not_available, last_r_ = not_available;
  int best_k_ = -1, last_k_ = -1;
  std::optional<X> best_, scratch_;
  bool decided_ = false;
  Status status_ = Status::max_iterations;
  std::string message_, claim_ = "The residual test was met";
  double verified_ = not_available;
};

}  // namespace iterop
