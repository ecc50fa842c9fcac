// Theory checks for trained neural operators (built with the LibTorch operators only): the estimated
// contraction of a trained PIGN step (global bound and Jacobian spectral radius) against the rate its
// iteration shows. Registered into iterop::theory's registry by register_learned_operator_checks().
#pragma once

#include <cstdint>

#include "iterop/theory_checks/check.hpp"

namespace iterop::experiments {

/// "pign.learned_contraction": trains PIGN on the built-in SBM generator (seeded, 60 epochs, about 2 s)
/// with spectral normalisation ||W||_2 <= spectral_norm_bound (0: none), iterates its relaxed step
/// T(X) = 0.55 X + 0.45 ReLU(A_hat X W + b) from the encoder output to the fixed point x*, and compares:
///   measured  the observed rate (geometric mean of ||x_{k+1} - x_k|| / ||x_k - x_{k-1}||, second half),
///   target    rho(T'(x*)) by power iteration on autograd JVPs (local theorem: the asymptotic rate),
/// passing when they agree within 2 % and every step ratio is at most the global Lipschitz bound
/// alpha + (1 - alpha) ||W||_2. Premise: that bound is below 1 (a contraction, so x* exists and is
/// unique) and the iteration reached x* (relative residual <= 1e-9); otherwise PREMISE NOT MET.
theory::CheckResult pign_learned_contraction(double spectral_norm_bound, std::uint64_t seed = 0);

/// Adds pign.learned_contraction (spectral_norm_bound 0.9, seed 0) to iterop::theory's registry, so
/// that `iterop check` and the theory-checks experiment run it. Idempotent.
void register_learned_operator_checks();

}  // namespace iterop::experiments
