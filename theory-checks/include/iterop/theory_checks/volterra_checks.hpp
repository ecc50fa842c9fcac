// Theory checks of the Volterra component: the factorial Picard bound (premise: K Lipschitz in y,
// checked numerically), the stated order of every quadrature rule, product integration on A2.
#pragma once

#include <string>

#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/theory_checks/check.hpp"

namespace iterop::theory {

/// Picard sweeps on the trapezoidal discretisation satisfy ||Y_{k+1} - Y_k|| <= (L T)^k / k! ||Y_1 - Y_0||.
/// Premise: K is Lipschitz in y with constant <= L on the range the iterates visit, estimated from
/// difference quotients at shrinking spacings (a kernel like sqrt|y| fails it).
CheckResult volterra_picard_factorial(const quadrature::SecondKindProblem& p, double L, int steps);
/// The observed order (least-squares slope over 5 halvings) of `method` on reference problem `id` is
/// within 0.3 of the method's stated order. Methods: trapezoid, block_simpson, product_trapezoid,
/// midpoint, ide_trapezoid.
CheckResult quadrature_order(const std::string& method, const std::string& problem_id);

/// Fast lag sums (online dyadic FFT blocks, Hairer, Lubich & Schlichte) equal the direct sums
/// h_n = sum_{j<n} k_{n-j} u_j to 1e-12 relative to sum_j |k_{n-j}| |u_j|, for N = `steps`.
/// Premise: the FFT method is built (FFTW).
CheckResult lag_sums_fft_equal_direct(int steps);

}  // namespace iterop::theory
