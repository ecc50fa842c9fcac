// Contraction diagnostics for learned operators: the spectral norm of a weight matrix, and the
// spectral radius and spectral norm of the Jacobian of a whole learned step T at a point, by power
// iteration on autograd Jacobian-vector products. Torch-facing: link iterop::operators_torch.
//
// What each quantity says about x_{k+1} = T(x_k) near a point x:
//   rho(T'(x))     spectral radius: the asymptotic rate of Picard at a fixed point x = x* (local theorem);
//   ||T'(x)||_2    spectral norm: the local Lipschitz constant at x, rho(T'(x)) <= ||T'(x)||_2;
//   ||W||_2        enters global bounds such as alpha + (1 - alpha) ||W||_2 for a relaxed GCN step.
#pragma once

#include <cstdint>
#include <functional>

#include <ATen/ATen.h>
#include <torch/types.h>

namespace iterop::operators {

/// Options of the power iterations below.
struct PowerIterationOptions {
  int max_iterations = 500;  ///< power-iteration steps at most (>= 2)
  double tol = 1e-10;        ///< stop when successive estimates differ by at most tol * estimate (> 0)
  std::uint64_t seed = 0;    ///< seed of the random start vector (a torch::Generator; the global one is untouched)

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// A power-iteration estimate.
struct SpectralEstimate {
  double value = 0;        ///< the estimate (spectral norm or spectral radius)
  int iterations = 0;      ///< power-iteration steps run (each costs one J v, plus one J^T w for norms)
  bool converged = false;  ///< whether successive estimates met the tolerance before max_iterations
  double last_change = 0;  ///< |estimate_k - estimate_{k-1}| / estimate_k at the end
};

/// ||W||_2 (largest singular value) of a matrix by power iteration on W^T W, in float64 on the
/// matrix's device. A zero matrix gives 0. Throws invalid_option for a tensor that is not 2-D floating.
SpectralEstimate matrix_spectral_norm(const torch::Tensor& w, const PowerIterationOptions& o = {});

/// A step operator on tensors: y = T(x), same shape as x, differentiable by autograd in x.
using TensorStep = std::function<torch::Tensor(const torch::Tensor&)>;

/// Jacobian-vector products of T at x by the double-backward trick: with y = T(x) and a dummy
/// cotangent u, g(u) = J^T u = grad(y, x, u, create_graph) is linear in u, and
/// J v = grad(g, u, v). One graph of T is built at construction; every product reuses it.
/// Forward-mode AD is not used (LibTorch 1.13's C++ dual tensors cover fewer operators, e.g. not
/// sparse-dense mm). Vector-Jacobian products J^T w come from the same graph.
class StepJacobian {
 public:
  /// Evaluates T at x with gradients on (x is detached and cast to float64 first; T must accept
  /// float64 and be differentiable in x). Throws invalid_option for an empty step or a bad x.
  StepJacobian(const TensorStep& step, const torch::Tensor& x);
  /// J v, v of x's shape.
  torch::Tensor jvp(const torch::Tensor& v) const;
  /// J^T w, w of T(x)'s shape.
  torch::Tensor vjp(const torch::Tensor& w) const;
  /// T(x) (detached, float64).
  torch::Tensor value() const;
  /// x (detached, float64).
  const torch::Tensor& point() const { return x_; }

 private:
  torch::Tensor x_, y_, u_, g_;
};

/// rho(T'(x)), the spectral radius of the Jacobian at x, by power iteration on J v products only:
/// v_{k+1} = J v_k / ||J v_k||, r_k = ||J v_k||. When r_k settles (|r_k - r_{k-1}| <= tol r_k: a
/// simple dominant eigenvalue, error like |lambda_2 / lambda_1|^k) the estimate is r_k and converged
/// is true. Otherwise (max_iterations reached) the estimate is the geometric mean of r_j over the
/// second half, (||J^k v_0|| / ||J^{k/2} v_0||)^(2/k), which still tends to rho(J) (Gelfand), also
/// when the dominant eigenvalues are a complex pair or +-lambda (where r_k oscillates), with an
/// error like 1/k; converged is then false. Only J v is used: this is the spectral radius, not the
/// norm (for a non-normal J they differ; see jacobian_spectral_norm).
SpectralEstimate jacobian_spectral_radius(const TensorStep& step, const torch::Tensor& x,
                                          const PowerIterationOptions& o = {});

/// ||T'(x)||_2, the spectral norm of the Jacobian at x, by power iteration on J^T J (one J v and one
/// J^T w product per step). An upper bound of the spectral radius; the local Lipschitz constant.
SpectralEstimate jacobian_spectral_norm(const TensorStep& step, const torch::Tensor& x,
                                        const PowerIterationOptions& o = {});

}  // namespace iterop::operators
