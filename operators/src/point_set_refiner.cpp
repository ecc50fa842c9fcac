// The point-set refiner: a TorchScript step trained in C++ to improve its own output, saved, loaded
// back through TorchScriptOperator, evaluated after k iterations and at its fixed point by the core's solve().
#include "iterop/operators/point_set_refiner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "detail/graph_tensors.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/iterop.hpp"
#include "iterop/operators/torch_vector_ops.hpp"
#include "iterop/operators/torchscript_operator.hpp"

namespace iterop::operators {

void RefinerOptions::validate() const {
  require(points >= 4, "RefinerOptions::points", points, "points >= 4");
  require(noise > 0 && std::isfinite(noise), "RefinerOptions::noise", noise, "a finite noise > 0");
  require(bandwidth > 0 && std::isfinite(bandwidth), "RefinerOptions::bandwidth", bandwidth, "a finite bandwidth > 0");
  require(width >= 1, "RefinerOptions::width", width, "width >= 1");
  require(train_iterations >= 1, "RefinerOptions::train_iterations", train_iterations, "train_iterations >= 1");
  require(fixed_point_weight >= 0 && std::isfinite(fixed_point_weight), "RefinerOptions::fixed_point_weight",
          fixed_point_weight, "a finite weight >= 0");
  require(batch >= 1, "RefinerOptions::batch", batch, "batch >= 1");
  require(training_steps >= 0, "RefinerOptions::training_steps", training_steps, "training_steps >= 0");
  require(lr > 0 && std::isfinite(lr), "RefinerOptions::lr", lr, "a finite lr > 0");
  require(test_sets >= 1, "RefinerOptions::test_sets", test_sets, "test_sets >= 1");
  for (int k : eval_iterations) require(k >= 1, "RefinerOptions::eval_iterations", k, "every entry >= 1");
  require(tol > 0 && std::isfinite(tol), "RefinerOptions::tol", tol, "a finite tol > 0");
  require(max_iterations >= 1, "RefinerOptions::max_iterations", max_iterations, "max_iterations >= 1");
}

namespace {

/// The step in TorchScript; x, y of shape [..., N, 2].
constexpr const char* refiner_source = R"(
def forward(self, x, y):
    h = self.h
    d = x.unsqueeze(-3) - x.unsqueeze(-2)
    w = torch.softmax(-(d * d).sum(-1) / (2.0 * h * h), -1)
    m = (w.unsqueeze(-1) * d).sum(-2) / h
    c = (w.unsqueeze(-1).unsqueeze(-1) * (d.unsqueeze(-1) * d.unsqueeze(-2))).sum(-3) / (h * h)
    f = torch.cat([m, c.flatten(-2), (x - y) / h], -1)
    z = torch.tanh(torch.matmul(f, self.w1) + self.b1)
    z = torch.tanh(torch.matmul(z, self.w2) + self.b2)
    return x + 0.5 * h * torch.tanh(torch.matmul(z, self.w3))
)";

/// Test or training sets: clean points c, noisy y = c + noise eps, and a dense polyline of each curve.
struct PointSets {
  torch::Tensor clean, noisy, curve;  // [B, N, 2], [B, N, 2], [B, M, 2]
};

PointSets draw_sets(int count, const RefinerOptions& o, at::Generator& gen) {
  const auto f = torch::TensorOptions().dtype(torch::kFloat32);
  const auto u = [&](double lo, double hi) { return lo + (hi - lo) * torch::rand({count, 1}, gen, f); };
  const auto closed = torch::rand({count, 1}, gen, f) < 0.5;
  const auto a = u(0.4, 0.9), b = u(0.4, 0.9), theta = u(0.0, 2 * std::numbers::pi);
  const auto length = u(0.6, 0.9), amplitude = u(0.1, 0.3), omega = u(1.0, 2.5);
  const auto cx = u(-0.1, 0.1), cy = u(-0.1, 0.1);
  const auto curve_at = [&](const torch::Tensor& t) {  // t: [B, n] in [0, 1] -> [B, n, 2]
    const auto s = 2 * t - 1;
    const auto px = torch::where(closed, a * torch::cos(2 * std::numbers::pi * t), length * s);
    const auto py = torch::where(closed, b * torch::sin(2 * std::numbers::pi * t),
                                 amplitude * torch::sin(omega * std::numbers::pi * s));
    const auto cs = torch::cos(theta), sn = torch::sin(theta);
    return torch::stack({cx + cs * px - sn * py, cy + sn * px + cs * py}, -1);
  };
  PointSets p;
  p.clean = curve_at(torch::rand({count, o.points}, gen, f));
  p.noisy = p.clean + o.noise * torch::randn({count, o.points, 2}, gen, f);
  p.curve = curve_at(torch::linspace(0, 1, 512, f).unsqueeze(0).expand({count, 512}));
  return p;
}

RefinerErrors errors_of(int k, const torch::Tensor& x, const PointSets& p) {
  const auto x64 = x.to(torch::kFloat64);
  RefinerErrors e;
  e.iterations = k;
  e.rmse = std::sqrt((x64 - p.clean.to(torch::kFloat64)).pow(2).mean().item<double>());
  e.curve_distance = torch::cdist(x64, p.curve.to(torch::kFloat64)).amin(-1).mean().item<double>();
  return e;
}

}  // namespace

RefinerReport run_point_set_refiner(const RefinerOptions& o, const std::filesystem::path& model_file) {
  o.validate();
  return detail::translate_torch_errors([&] {
    RefinerReport report;
    auto gen = at::detail::createCPUGenerator(o.seed);
    const auto f = torch::TensorOptions().dtype(torch::kFloat32);
    const auto init = [&](int64_t rows, int64_t cols) {
      return (torch::randn({rows, cols}, gen, f) / std::sqrt(double(rows))).requires_grad_(true);
    };
    torch::jit::Module module("PointSetRefiner");
    module.register_buffer("h", torch::tensor(o.bandwidth, f));
    module.register_parameter("w1", init(8, o.width), false);
    module.register_parameter("b1", torch::zeros({o.width}, f).requires_grad_(true), false);
    module.register_parameter("w2", init(o.width, o.width), false);
    module.register_parameter("b2", torch::zeros({o.width}, f).requires_grad_(true), false);
    module.register_parameter("w3", torch::zeros({o.width, 2}, f).requires_grad_(true), false);
    module.define(refiner_source);
    std::vector<torch::Tensor> params;
    for (const auto& p : module.parameters()) params.push_back(p);
    for (const auto& p : params) report.parameters += p.numel();

    // Training: unrolled recycling with every iterate supervised, and a final output left in place.
    torch::jit::GraphOptimizerEnabledGuard plain(false);
    torch::optim::Adam adam(params, torch::optim::AdamOptions(o.lr));
    const auto step = [&](const torch::Tensor& x, const torch::Tensor& y) { return module.forward({x, y}).toTensor(); };
    const auto t0 = std::chrono::steady_clock::now();
    for (int s = 0; s < o.training_steps; ++s) {
      const PointSets p = draw_sets(o.batch, o, gen);
      torch::Tensor x = p.noisy, loss = torch::zeros({}, f);
      for (int k = 1; k <= o.train_iterations; ++k) {  // iterate k weighs k: later iterates matter more
        x = step(x, p.noisy);
        loss = loss + k * (x - p.clean).pow(2).mean();
      }
      loss = loss / (o.train_iterations * (o.train_iterations + 1) / 2.0);
      if (o.fixed_point_weight > 0) loss = loss + o.fixed_point_weight * (step(x, p.noisy) - x).pow(2).mean();
      adam.zero_grad();
      loss.backward();
      adam.step();
      report.final_loss = loss.item<double>();
    }
    report.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    module.save(model_file.string());

    // Evaluation through the saved file, as any user's TorchScript step: float64, inputs y fixed.
    TorchScriptOperator op(model_file);
    const PointSets test = draw_sets(o.test_sets, o, gen);
    const torch::Tensor y = test.noisy.to(torch::kFloat64);
    op.set_inputs(y);
    report.errors.push_back(errors_of(0, y, test));
    const auto first = y[0].contiguous();
    report.first_test_set = {{first.size(0), first.size(1)},
                             {first.data_ptr<double>(), first.data_ptr<double>() + first.numel()}};
    torch::Tensor x = y;
    std::vector<int> ks = o.eval_iterations;
    std::sort(ks.begin(), ks.end());
    for (int k = 1, next = 0; next < static_cast<int>(ks.size()); ++k) {
      x = op(x);
      while (next < static_cast<int>(ks.size()) && ks[next] == k) report.errors.push_back(errors_of(ks[next++], x, test));
    }
    const auto r = iterop::solve(op, y, iterop::Anderson{.memory = 5},
                                 iterop::Stop{.abs_tol = 0.0, .rel_tol = o.tol, .max_iterations = o.max_iterations});
    report.fixed_point_status = std::string(to_string(r.status));
    report.fixed_point_method = r.method;
    report.fixed_point_iterations = r.iterations;
    report.fixed_point_residual = r.residual;
    report.errors.push_back(errors_of(-1, r.solution, test));
    report.contraction = step_contraction(op.step(), y, 150, {.max_iterations = 150});
    return report;
  });
}

}  // namespace iterop::operators
