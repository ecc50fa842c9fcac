// The learned-contraction theory check for any learned step T (a TorchScript file, a trained network):
// the observed Picard rate against rho(T'(x*)), with the local contraction ||T'(x*)||_2 < 1 as premise.
#pragma once

#include <string>

#include "iterop/operators/torchscript_function.hpp"
#include "iterop/theory_checks/check.hpp"

namespace iterop::experiments {

/// The check of docs/theory/learned_contraction.md for a step without a known global bound, from the
/// diagnostics of operators::step_contraction (Picard from x0 to x_K, Jacobian at x_K):
///   premise   ||T'(x_K)||_2 < 1 (a local contraction: x* is attracting, Picard's rate there is
///             rho(T'(x*))) and the iteration reached x* (relative residual <= 1e-9);
///   measured  the observed rate (geometric mean of the step ratios, second half);
///   target    rho(T'(x_K)); PASS when they agree within 2 % of rho (margin 0.02 rho - |observed - rho|).
/// `name` and `experiment` describe the step and the run in the result.
theory::CheckResult learned_step_check(const std::string& name, const operators::StepContraction& c,
                                       const std::string& experiment);

}  // namespace iterop::experiments
