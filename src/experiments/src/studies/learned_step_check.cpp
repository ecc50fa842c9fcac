// The learned-contraction check for any learned step: observed Picard rate against rho(T'(x*)).
#include "iterop/experiments/studies/learned_step_check.hpp"

#include <cmath>

#include <fmt/format.h>

namespace iterop::experiments {

theory::CheckResult learned_step_check(const std::string& name, const operators::StepContraction& c,
                                       const std::string& experiment) {
  const double tolerance = 0.02;
  theory::CheckResult r;
  r.name = name;
  r.statement =
      "For a learned step T with an attracting fixed point x*, Picard x_{k+1} = T(x_k) converges at the asymptotic "
      "rate rho(T'(x*)) (local theorem; docs/theory/learned_contraction.md)";
  r.premise = "||T'(x*)||_2 < 1 (local contraction) and the iteration reached x*";
  r.premise_met = c.jacobian_norm < 1 && c.final_residual <= 1e-9;
  r.premise_evidence = fmt::format("||T'(x_K)||_2 = {:.6g} (power iteration on J^T J), relative residual at x_K = {:.3g}",
                                   c.jacobian_norm, c.final_residual);
  r.experiment = fmt::format("{}; {} Picard iterations in float64, rho(T'(x_K)) and ||T'(x_K)||_2 by power iteration "
                             "on autograd Jacobian-vector products",
                             experiment, c.iterations);
  r.quantity = "observed rate (geometric mean of the step ratios, second half)";
  r.measured = c.mean_ratio;
  r.bound = c.jacobian_spectral_radius;
  r.margin = tolerance * c.jacobian_spectral_radius - std::abs(c.mean_ratio - c.jacobian_spectral_radius);
  r.details = fmt::format(
      "||T'(x*)||_2 = {:.6g} >= rho(T'(x*)) = {:.6g} (JVP power iteration {}); observed rate {:.6g}, max step ratio "
      "{:.6g}; pass: observed rate within {} % of rho",
      c.jacobian_norm, c.jacobian_spectral_radius, c.jacobian_radius_converged ? "converged" : "ran to its cap",
      c.mean_ratio, c.max_ratio, 100 * tolerance);
  return theory::conclude(r);
}

}  // namespace iterop::experiments
