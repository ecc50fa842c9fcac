// Theory checks of the fixed-point core, parametrised by their operator so that tests can break a
// premise on purpose: Banach bounds, Krasnoselskii-Mann, Anderson gain and GMRES equivalence, causal operators.
#pragma once

#include <vector>

#include "iterop/problems/linear_map.hpp"
#include "iterop/theory_checks/check.hpp"

namespace iterop::theory {

/// Banach a-priori and a-posteriori bounds at every Picard iterate of G(x) = M x + b, with the
/// certified factor q = ||M||_2 (M symmetric), and the a-priori iteration count. Premise: q < 1.
CheckResult banach_bounds_linear(const problems::LinearMap& G);
/// The same on a nonlinear contraction T(x)_i = c cos(x_{i+1}) + 0.1, q = |c|. Premise: |c| < 1.
CheckResult banach_bounds_nonlinear(double c);
/// Krasnoselskii-Mann with relaxation r (the weight on G(x)): the observed rate on G is at most
/// (1 - r) + r q and, for the rotation (q = 1), equals sqrt(r^2 + (1 - r)^2); premise: q <= 1 (nonexpansive).
CheckResult krasnoselskii_mann_bound(const problems::LinearMap& G, double relaxation);
CheckResult krasnoselskii_mann_rotation();
/// Anderson (beta = 1) on a linear map: ||f_{k+1}|| <= ||M||_2 theta_k ||f_k|| at every step
/// (Evans et al. 2020, exact for linear G). Premise: G affine with ||M||_2 < 1.
CheckResult anderson_gain_predicts_rate(const problems::LinearMap& G, int memory);
/// Anderson with unlimited depth equals GMRES: ||f_{k+1}|| = ||M r_k^GMRES|| (Walker & Ni 2011).
CheckResult anderson_matches_gmres(const problems::LinearMap& G);
/// A strictly causal operator on N points reaches its fixed point in at most N Picard sweeps.
/// `lower_triangular` = false builds an operator that is not causal (premise broken).
CheckResult causal_operator_sweeps(int N, bool lower_triangular);
/// Linear attention y -> b + (scale A) y with fixed queries and keys: Picard converges iff the
/// spectral radius is below 1, and the limit is the Neumann series sum_k (scale A)^k b.
CheckResult linear_attention_neumann(double spectral_radius);
/// GCN step X -> alpha X + (1 - alpha) ReLU(A_hat X W): Lipschitz <= alpha + (1 - alpha) ||W||_2 and a
/// unique fixed point when that is below 1 (premise). `w_norm` sets ||W||_2.
CheckResult gcn_contraction(double alpha, double w_norm);

}  // namespace iterop::theory
