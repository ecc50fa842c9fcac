// Stop: when a fixed-point iteration ends: residual tolerances, step tolerance, budgets,
// stagnation, divergence; and which iterate is returned.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "iterop/core/errors.hpp"
#include "iterop/core/norm.hpp"
#include "iterop/core/result.hpp"

namespace iterop {

/// Stopping rules for solve(). The residual of x is f = T(x) - x.
/// Converged when ||f_k|| <= abs_tol + rel_tol ||f_0|| (Norm::two, Norm::max), or when the SUNDIALS
/// weighted RMS norm with weights 1 / (rel_tol |x_i| + abs_tol) is <= 1 (Norm::wrms).
struct Stop {
  double abs_tol = 1e-10;   ///< absolute residual tolerance, >= 0
  double rel_tol = 1e-8;    ///< tolerance relative to ||f_0|| (two, max) or to |x_i| (wrms), >= 0
  Norm norm = Norm::two;    ///< norm of residuals and steps
  double step_tol = 0.0;    ///< Status::small_step when ||x_{k+1} - x_k|| <= step_tol (0 disables)
  int max_iterations = 1000;                                ///< >= 0
  long max_evaluations = std::numeric_limits<long>::max();  ///< operator evaluations, >= 1
  /// Status::stagnated when the best residual of the last `stagnation_window` iterations is not
  /// below stagnation_factor times the best residual before them (0 disables).
  int stagnation_window = 100;
  double stagnation_factor = 0.999;  ///< in (0, 1]
  /// Status::diverged when ||f_k|| > divergence_factor ||f_0|| (infinity disables).
  double divergence_factor = 1e8;
  Returned returned = Returned::best;  ///< iterate returned when not converged
  /// The false-success audit: when a solve converges, T is evaluated once more at the returned x and
  /// the test is applied again to that recomputed ||T(x) - x||; if it fails, the status becomes
  /// Status::verification_failed (never converged). The evaluation is not counted in
  /// Result::evaluations (the method's work); Result::counters holds "verified_residual".
  bool verify = true;

  /// Throws invalid_option naming the field, the value and the rule.
  void validate() const {
    require(abs_tol >= 0 && std::isfinite(abs_tol), "Stop::abs_tol", abs_tol, "abs_tol >= 0 and finite");
    require(rel_tol >= 0 && std::isfinite(rel_tol), "Stop::rel_tol", rel_tol, "rel_tol >= 0 and finite");
    require(abs_tol > 0 || rel_tol > 0 || norm != Norm::wrms, "Stop::abs_tol", abs_tol,
            "abs_tol > 0 or rel_tol > 0 with Norm::wrms (weights 1 / (rel_tol |x_i| + abs_tol))");
    require(step_tol >= 0 && std::isfinite(step_tol), "Stop::step_tol", step_tol, "step_tol >= 0 and finite");
    require(max_iterations >= 0, "Stop::max_iterations", max_iterations, "max_iterations >= 0");
    require(max_evaluations >= 1, "Stop::max_evaluations", max_evaluations, "max_evaluations >= 1");
    require(stagnation_window >= 0, "Stop::stagnation_window", stagnation_window, "stagnation_window >= 0");
    require(stagnation_factor > 0 && stagnation_factor <= 1, "Stop::stagnation_factor", stagnation_factor,
            "0 < stagnation_factor <= 1");
    require(divergence_factor > 1, "Stop::divergence_factor", divergence_factor, "divergence_factor > 1");
  }

  /// validate(), plus the checks that depend on the vector type X.
  template <State X>
  void validate_for() const {
    validate();
    if constexpr (!ops::has_norm_inf<X>)
      require(norm != Norm::max, "Stop::norm", std::string("max"),
              "the vector type provides vector_ops<X>::norm_inf");
    if constexpr (!ops::has_wrms_norm<X>)
      require(norm != Norm::wrms, "Stop::norm", std::string("wrms"),
              "the vector type provides vector_ops<X>::wrms_norm");
  }
};

}  // namespace iterop
