// Any TorchScript network as an operator T: a .pt file (torch::jit::load) whose forward(x) or
// forward(x, inputs) is the step, solved by the core's solve() on tensors. Torch-facing: link iterop::operators_torch.
//
// The recycling pattern: a network fed its own output until it stops changing, x_{k+1} = T(x_k),
// for networks trained anywhere (torch.jit.script(model).save("step.pt") in Python).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <ATen/ATen.h>
#include <torch/types.h>

#include "iterop/operators/learned_contraction.hpp"
#include "iterop/operators/torchscript_function.hpp"

namespace iterop::operators {

/// A TorchScript module's forward as an operator on tensors: y = forward(x) or forward(x, inputs),
/// with `inputs` fixed while x is iterated. Usable as iterop::solve(op, x0, method, stop) with
/// torch::Tensor states (vector_ops<torch::Tensor>). Copies share the loaded module.
class TorchScriptOperator {
 public:
  /// Loads `file` with torch::jit::load on the CPU, puts the module in eval mode and casts it to
  /// o.dtype. forward must take one or two tensors (x, inputs) after self. Throws
  /// iterop::invalid_option naming the file for a missing file, a file that is not a TorchScript
  /// module, a module without forward, or a forward of another signature (it prints the schema).
  explicit TorchScriptOperator(const std::filesystem::path& file, const TorchScriptOptions& o = {});

  /// 1 for forward(x), 2 for forward(x, inputs).
  int arity() const;
  /// forward's schema, e.g. "forward(__torch__.Step self, Tensor x, Tensor inputs) -> Tensor".
  const std::string& signature() const;
  /// The file it was loaded from.
  const std::filesystem::path& file() const;

  /// Sets the second argument of forward(x, inputs) (cast to the module's dtype). Throws
  /// invalid_option for a one-argument forward or an undefined / non-floating tensor.
  void set_inputs(const torch::Tensor& inputs);
  /// The inputs set (undefined for a one-argument forward).
  const torch::Tensor& inputs() const;

  /// y = T(x) without autograd (torch::NoGradGuard): x is cast to the module's dtype and the output
  /// back to x's dtype. Throws invalid_option when forward returns something else than a tensor, or a
  /// tensor of another shape than x, or when forward(x, inputs) is called before set_inputs().
  torch::Tensor operator()(const torch::Tensor& x) const;
  /// The (x, y) form of the Operator concept: y = T(x) (rebinds y).
  void operator()(const torch::Tensor& x, torch::Tensor& y) const { y = (*this)(x); }

  /// T as a differentiable TensorStep (autograd as the caller has it): for the Jacobian diagnostics
  /// (jacobian_spectral_radius / jacobian_spectral_norm) and for training through the step.
  TensorStep step() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

/// Picard x_{k+1} = T(x_k) from x0 in float64 for at most `iterations` steps (it stops once
/// ||x_{k+1} - x_k|| <= 1e-13 ||x_{k+1}||), the observed step ratios, and rho(T'(x_K)) and
/// ||T'(x_K)||_2 at the last iterate by power iteration on autograd products (learned_contraction).
/// Works for any differentiable step mapping x0's shape to itself. Throws invalid_option for
/// iterations < 2 or a step that changes the shape.
StepContraction step_contraction(const TensorStep& step, const torch::Tensor& x0, int iterations = 200,
                                 const PowerIterationOptions& power = {});

}  // namespace iterop::operators
