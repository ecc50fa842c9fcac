// The registry of built-in theory checks and the verdict rule shared by all of them.
// A check never reports PASS when its premise fails.
#include <cmath>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/theory_checks/check.hpp"
#include "iterop/theory_checks/fixed_point_checks.hpp"
#include "iterop/theory_checks/volterra_checks.hpp"

namespace iterop::theory {

CheckResult conclude(CheckResult r) {
  if (!r.premise_met) {
    r.verdict = Verdict::premise_not_met;
  } else {
    r.verdict = (std::isfinite(r.margin) && r.margin >= 0) ? Verdict::pass : Verdict::fail;
  }
  return r;
}

namespace {

TheoryCheck make(std::string name, std::string statement, std::string premise, std::function<CheckResult()> run) {
  return {std::move(name), std::move(statement), std::move(premise), std::move(run)};
}

std::vector<TheoryCheck> build() {
  using problems::LinearMap;
  std::vector<TheoryCheck> c;
  c.push_back(make("banach.linear", "Banach a-priori / a-posteriori bounds and iteration count, linear contraction",
                   "||M||_2 < 1", [] { return banach_bounds_linear(LinearMap(LinearMap::spaced_spectrum(-0.7, 0.85, 12), 21)); }));
  c.push_back(make("banach.nonlinear", "Banach bounds, nonlinear contraction T(x)_i = 0.6 cos(x_{i+1}) + 0.1",
                   "|c| < 1", [] { return banach_bounds_nonlinear(0.6); }));
  c.push_back(make("km.bound", "Krasnoselskii-Mann Lipschitz bound (1 - r) + r q, relaxation r = 0.7", "q <= 1",
                   [] { return krasnoselskii_mann_bound(LinearMap(LinearMap::spaced_spectrum(-0.9, 0.9, 9), 4), 0.7); }));
  c.push_back(make("km.rotation", "Rotation: Picard cycles, Krasnoselskii-Mann(0.5) converges at sqrt(0.5)",
                   "nonexpansive", [] { return krasnoselskii_mann_rotation(); }));
  c.push_back(make("anderson.gain", "Anderson gain theta_k bounds the step's rate on affine maps", "||M||_2 < 1",
                   [] { return anderson_gain_predicts_rate(LinearMap(LinearMap::spaced_spectrum(-0.5, 0.95, 40), 8), 5); }));
  c.push_back(make("anderson.gmres", "Anderson with unlimited depth equals GMRES on affine maps", "I - M nonsingular",
                   [] { return anderson_matches_gmres(LinearMap(LinearMap::spaced_spectrum(-0.9, 0.9, 12), 6)); }));
  c.push_back(make("causal.sweeps", "A strictly causal operator on N points is solved by at most N Picard sweeps",
                   "strictly causal", [] { return causal_operator_sweeps(32, true); }));
  c.push_back(make("attention.neumann", "Linear attention: Picard converges (rho = 0.9) to the Neumann series",
                   "rho != 1", [] { return linear_attention_neumann(0.9); }));
  c.push_back(make("attention.divergence", "Linear attention: Picard does not converge when rho = 1.1", "rho != 1", [] {
    auto r = linear_attention_neumann(1.1);
    r.name = "attention.divergence";
    return r;
  }));
  c.push_back(make("gcn.contraction", "GCN step contraction bound and unique fixed point", "alpha + (1 - alpha) ||W||_2 < 1",
                   [] { return gcn_contraction(0.55, 0.8); }));
  c.push_back(make("volterra.picard_factorial", "Picard on a Volterra equation obeys (L T)^k / k!", "K Lipschitz in y", [] {
    auto p = quadrature::reference::L2();
    p.T = 2.0;
    return volterra_picard_factorial(p, 2.0, 200);
  }));
  c.push_back(make("lag_sums.fft_equals_direct", "FFT lag sums equal the direct sums", "FFT method built",
                   [] { return lag_sums_fft_equal_direct(4096); }));
  const std::pair<const char*, const char*> orders[] = {
      {"trapezoid", "L2"},     {"trapezoid", "L3"},     {"trapezoid", "N1"},     {"trapezoid", "N3"},
      {"trapezoid", "S1"},     {"block_simpson", "L2"}, {"block_simpson", "N1"}, {"block_simpson", "N3"},
      {"block_simpson", "S1"}, {"product_trapezoid", "A2"}, {"midpoint", "F2"},  {"ide_trapezoid", "D2"}};
  for (const auto& [method, id] : orders) {
    const std::string m = method, i = id;
    c.push_back(make("quadrature.order." + m + "." + i, "Observed order of " + m + " on " + i + " is its stated order",
                     "smooth solution", [m, i] { return quadrature_order(m, i); }));
  }
  return c;
}

}  // namespace

namespace {
std::vector<TheoryCheck>& registry() {
  static std::vector<TheoryCheck> checks = build();
  return checks;
}
}  // namespace

const std::vector<TheoryCheck>& all_checks() { return registry(); }

void register_check(TheoryCheck check) {
  for (const auto& c : registry())
    if (c.name == check.name) return;
  registry().push_back(std::move(check));
}

const TheoryCheck& find_check(const std::string& name) {
  for (const auto& c : all_checks())
    if (c.name == name) return c;
  std::string known;
  for (const auto& c : all_checks()) known += (known.empty() ? "" : ", ") + c.name;
  require(false, "check", name, "one of " + known);
  return all_checks().front();  // unreachable
}

}  // namespace iterop::theory
