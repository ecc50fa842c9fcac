// Options and per-pass statistics of equilibrium (implicit) training: plain data, no torch, so that
// the options of learned operators (e.g. PignOptions) can carry them. The training itself is in
// equilibrium.hpp (torch-facing).
#pragma once

#include <string>

#include "iterop/core/status.hpp"

namespace iterop::operators {

/// How a learned step is trained and how its fixed point is solved.
struct EquilibriumOptions {
  /// "implicit": solve x* = f(x*) and differentiate by the adjoint fixed point; "unrolled":
  /// backpropagate through `unrolled_steps` applications of f from x0 (the classical mode).
  std::string training = "implicit";
  int unrolled_steps = 9;               ///< K of unrolled training and of the "unrolled" fallback (>= 1)
  std::string method = "anderson";      ///< "anderson" (memory below) or "picard", for both solves
  int memory = 5;                       ///< Anderson memory (>= 1)
  /// ||f(x) - x||_2 <= forward_tol ||f(x0)||_2 (> 0): relative to the scale of the state, so that a
  /// warm start (x0 near x*) does not tighten the test.
  double forward_tol = 1e-5;
  int forward_max_iterations = 200;     ///< (>= 1)
  double backward_tol = 1e-5;           ///< ||J^T g + v - g||_2 <= backward_tol ||v||_2, v = dL/dx* (> 0)
  int backward_max_iterations = 200;    ///< (>= 1)
  /// What happens when a solve does not converge (never a silent gradient from an unconverged
  /// state): "skip": the gradient of that step is zero and counted as skipped (a training loop
  /// reads EquilibriumStats and skips the optimizer step); "unrolled": the gradient of
  /// `unrolled_steps` unrolled applications of f from the forward point (a truncated Neumann series
  /// of the adjoint), counted; "error": throws iterop::backend_error.
  std::string on_failure = "skip";

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// What one equilibrium pass did (filled by equilibrium(); the backward fields once backward ran).
struct EquilibriumStats {
  Status forward_status = Status::converged;
  int forward_iterations = 0;
  double forward_residual = 0;   ///< ||f(x) - x||_2 / ||f(x0)||_2 at the returned point
  bool backward_ran = false;
  Status backward_status = Status::converged;
  int backward_iterations = 0;
  double backward_residual = 0;  ///< relative adjoint residual at the returned g
  /// "": the exact implicit (or unrolled-mode) gradient; "skipped": zero gradient (on_failure = skip);
  /// "unrolled": the unrolled fallback's gradient.
  std::string fallback;
  /// true unless a fallback replaced the gradient: an optimizer step may use it.
  bool gradient_usable() const { return fallback != "skipped"; }
};

}  // namespace iterop::operators
