// Example: a TorchScript network as an operator. Loads a .pt file whose forward(x) (or forward(x,
// inputs)) is the step, solves x = T(x) with Anderson on tensors, and checks the contraction there.
//   example_torchscript_operator [STEP.pt]
// Without an argument it first writes a small step from TorchScript source, the way torch.jit.script
// would in Python:  torch.jit.script(model).save("step.pt").
#include <cstdio>
#include <filesystem>

#include <torch/torch.h>

#include <iterop/iterop.hpp>
#include <iterop/operators/torch_vector_ops.hpp>
#include <iterop/operators/torchscript_operator.hpp>

int main(int argc, char** argv) {
  namespace op = iterop::operators;
  std::filesystem::path file = argc > 1 ? argv[1] : std::filesystem::temp_directory_path() / "iterop_example_step.pt";
  if (argc <= 1) {  // T(x) = tanh(W x + b), ||W||_2 <= 0.8: a contraction
    torch::manual_seed(0);
    auto w = torch::randn({8, 8}, torch::kFloat64);
    w = 0.8 * w / w.norm();  // ||W||_2 <= ||W||_F = 0.8
    const auto b = torch::randn({8}, torch::kFloat64);
    const auto data = [](const torch::Tensor& t) {
      return op::TensorData{{t.sizes().begin(), t.sizes().end()}, {t.data_ptr<double>(), t.data_ptr<double>() + t.numel()}};
    };
    op::save_torchscript_module(file, "Step", "def forward(self, x):\n    return torch.tanh(torch.mv(self.w, x) + self.b)\n",
                                {{"w", data(w.contiguous())}, {"b", data(b)}});
  }
  const op::TorchScriptOperator step(file);  // float64 by default
  std::printf("%s: %s\n", file.c_str(), step.signature().c_str());
  if (step.arity() != 1) {
    std::printf("this example iterates forward(x); give a forward(x, inputs) its inputs with set_inputs()\n");
    return 1;
  }
  const auto x0 = torch::zeros({8}, torch::kFloat64);
  const auto r = iterop::solve(step, x0, iterop::Anderson{.memory = 5}, iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0});
  std::printf("Anderson: %s\n", r.brief_report().c_str());
  // Picard's observed rate against the Jacobian's spectral radius at the fixed point (JVP power iteration).
  const op::StepContraction c = op::step_contraction(step.step(), x0);
  std::printf("rho(T'(x*)) = %.4f, ||T'(x*)||_2 = %.4f, observed Picard rate %.4f after %d steps\n",
              c.jacobian_spectral_radius, c.jacobian_norm, c.mean_ratio, c.iterations);
  if (argc <= 1) std::filesystem::remove(file);
  return r.usable() && c.jacobian_norm < 1 && std::abs(c.mean_ratio - c.jacobian_spectral_radius) < 0.02 ? 0 : 1;
}
