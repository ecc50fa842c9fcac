// Equilibrium (implicit) training of a learned step f(x; theta): the forward pass solves x* = f(x*)
// with the core's solve() on tensors (no autograd tape), the backward pass solves the adjoint fixed
// point g = J_f(x*)^T g + dL/dx* with the same core, by vector-Jacobian products from autograd
// (a torch::autograd::Function). Unrolled training through K steps is the other mode. Plus the
// contraction-keeping penalty ||J_f||_F^2 by Hutchinson estimates. Torch-facing: link
// iterop::operators_torch.
//
// Gradient (implicit function theorem): at x* = f(x*, theta), dx*/dtheta = (I - J)^-1 df/dtheta, so
// for a loss L(x*) the gradient is (df/dtheta)^T g with g = (I - J^T)^-1 dL/dx*, i.e. the fixed point
// of g = J^T g + dL/dx*. It converges by Picard/Anderson whenever rho(J) < 1, the same condition as
// the forward iteration. Memory is O(1) in the number of iterations (no tape through the solve).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/types.h>

#include "iterop/operators/equilibrium_options.hpp"

namespace iterop::operators {

/// A learned step x -> f(x): same shape in and out; it reads its parameters and inputs (captured),
/// which are listed in `wrt` of equilibrium(). It must be deterministic across calls within one pass
/// (sample dropout masks once per pass, outside f).
using EquilibriumStep = std::function<torch::Tensor(const torch::Tensor&)>;

/// The fixed point x* = f(x*) as a differentiable function of the tensors in `wrt` (parameters and
/// inputs f reads; those requiring grad receive gradients). Implicit mode: forward solve from x0 by
/// the core (no tape), backward by the adjoint fixed point (see the file comment); unrolled mode:
/// f applied options.unrolled_steps times from x0 with the tape. `stats` (optional) receives the
/// solve statuses; it must outlive the backward pass. Throws invalid_option for bad options or an x0
/// that is not floating point.
torch::Tensor equilibrium(const EquilibriumStep& f, const torch::Tensor& x0, const std::vector<torch::Tensor>& wrt,
                          const EquilibriumOptions& options, EquilibriumStats* stats = nullptr);

/// Hutchinson estimate of ||J_f(x)||_F^2 / numel(x) from `samples` Rademacher vectors v (E ||J^T v||^2
/// = ||J||_F^2), differentiable in f's parameters (create_graph): a penalty that keeps f contractive
/// when added to the loss. x is detached first. The estimate is unbiased; its relative spread is about
/// sqrt(2 / samples) for a J with many comparable singular values.
torch::Tensor jacobian_frobenius_penalty(const EquilibriumStep& f, const torch::Tensor& x, int samples = 1);

}  // namespace iterop::operators
