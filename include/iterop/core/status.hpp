// Status: how an iteration ended. Outcomes are data, never exceptions.
#pragma once

#include <string_view>

namespace iterop {

/// How an iterative solve ended.
enum class Status {
  converged,            ///< the residual test of Stop was met
  small_step,           ///< ||x_{k+1} - x_k|| fell below Stop::step_tol before the residual test was met
  max_iterations,       ///< Stop::max_iterations reached
  max_evaluations,      ///< Stop::max_evaluations reached
  stagnated,            ///< no sufficient residual decrease over Stop::stagnation_window iterations
  diverged,             ///< the residual grew past Stop::divergence_factor times the initial residual
  non_finite,           ///< NaN or Inf in an iterate or in T(x)
  stopped_by_observer,  ///< the observer asked to stop
  blow_up,              ///< the solution of an evolution problem (a Volterra march) grows without bound before its end
  /// The method or backend declared success, but the true residual ||T(x) - x|| that iterop recomputed
  /// at the returned x (one more evaluation of T) does not meet Stop's rule: never reported as converged.
  verification_failed,
};

/// Lower-case name of a status ("converged", "max_iterations", ...).
constexpr std::string_view to_string(Status s) {
  switch (s) {
    case Status::converged: return "converged";
    case Status::small_step: return "small_step";
    case Status::max_iterations: return "max_iterations";
    case Status::max_evaluations: return "max_evaluations";
    case Status::stagnated: return "stagnated";
    case Status::diverged: return "diverged";
    case Status::non_finite: return "non_finite";
    case Status::stopped_by_observer: return "stopped_by_observer";
    case Status::verification_failed: return "verification_failed";
    case Status::blow_up: return "blow_up";
  }
  return "unknown";
}

}  // namespace iterop
