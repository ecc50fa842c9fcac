// The theory check pign.learned_contraction: a trained PIGN step's observed Picard rate against the
// spectral radius of its Jacobian and the Lipschitz bound alpha + (1 - alpha) ||W||_2.
#include "iterop/experiments/studies/learned_operator_checks.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/operators/pign.hpp"
#include "iterop/operators/planetoid.hpp"

namespace iterop::experiments {

namespace op = operators;

theory::CheckResult pign_learned_contraction(double spectral_norm_bound, std::uint64_t seed) {
  require(spectral_norm_bound >= 0, "pign_learned_contraction spectral_norm_bound", spectral_norm_bound,
          "0 (none) or a bound c > 0");
  const double alpha = 0.55, tolerance = 0.02;
  theory::CheckResult r;
  r.name = "pign.learned_contraction";
  r.statement =
      "For a trained PIGN step T(X) = alpha X + (1 - alpha) ReLU(A_hat X W + b): Picard converges at the asymptotic "
      "rate rho(T'(x*)) (local theorem), and every step ratio ||x_{k+1} - x_k|| / ||x_k - x_{k-1}|| is at most the "
      "Lipschitz bound alpha + (1 - alpha) ||W||_2 (||A_hat||_2 = 1)";
  r.premise = "estimated contraction alpha + (1 - alpha) ||W||_2 < 1, and the iteration reached x*";
  const op::GraphData g = op::make_sbm({.seed = 2});
  op::Pign model(g, {.input_dropout = 0.5, .dropout_in_loop = false, .epochs = 60,
                     .spectral_norm_bound = spectral_norm_bound, .seed = seed});
  const op::TrainReport tr = model.train();
  const op::PignContraction c = model.contraction(alpha, 200);
  r.premise_met = c.bound < 1 && c.final_residual <= 1e-9;
  r.premise_evidence = fmt::format("||W||_2 = {:.6g} (power iteration), bound = {:.6g}; relative residual at x_K = {:.3g}",
                                   c.weight_norm, c.bound, c.final_residual);
  r.experiment = fmt::format(
      "PIGN (width 32, K = 9, spectral normalisation c = {}) trained 60 epochs on the SBM generator (600 nodes, graph "
      "seed 2, training seed {}; test accuracy {:.1f} %), then {} iterations of T at alpha = {} from the encoder output "
      "in float64; rho(T'(x_K)) and ||T'(x_K)||_2 by power iteration on double-backward Jacobian-vector products",
      spectral_norm_bound, seed, 100 * tr.test_acc, c.iterations, alpha);
  r.quantity = "observed rate (geometric mean of the step ratios, second half)";
  r.measured = c.mean_ratio;
  r.bound = c.jacobian_spectral_radius;
  const double near = tolerance * c.jacobian_spectral_radius - std::abs(c.mean_ratio - c.jacobian_spectral_radius);
  const double lipschitz = c.bound * (1 + 1e-9) - c.max_ratio;
  r.margin = std::min(near, lipschitz);
  r.details = fmt::format(
      "bound alpha + (1 - alpha) ||W||_2 = {:.6g} >= ||T'(x*)||_2 = {:.6g} >= rho(T'(x*)) = {:.6g} (JVP power iteration "
      "{}); observed rate {:.6g}, max step ratio {:.6g}; pass: observed rate within {} % of rho and max ratio <= bound",
      c.bound, c.jacobian_norm, c.jacobian_spectral_radius,
      c.jacobian_radius_converged ? "converged" : "ran to its cap: second-half geometric mean", c.mean_ratio,
      c.max_ratio, 100 * tolerance);
  return theory::conclude(r);
}

void register_learned_operator_checks() {
  theory::register_check({"pign.learned_contraction",
                          "Trained PIGN step: observed Picard rate equals rho(T'(x*)), below the bound alpha + (1 - alpha) ||W||_2",
                          "alpha + (1 - alpha) ||W||_2 < 1", [] { return pign_learned_contraction(0.9, 0); }});
}

}  // namespace iterop::experiments
