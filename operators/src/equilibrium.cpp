// Equilibrium training: forward fixed point by the core's solve() on tensors, backward by the adjoint
// fixed point g = J^T g + dL/dx* (vector-Jacobian products by autograd), as a torch::autograd::Function.
#include "iterop/operators/equilibrium.hpp"

#include <cmath>

#include <torch/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include "detail/graph_tensors.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/operators/torch_vector_ops.hpp"

namespace iterop::operators {

void EquilibriumOptions::validate() const {
  require(training == "implicit" || training == "unrolled", "EquilibriumOptions::training", training,
          "\"implicit\" or \"unrolled\"");
  require(unrolled_steps >= 1, "EquilibriumOptions::unrolled_steps", unrolled_steps, "unrolled_steps >= 1");
  require(method == "anderson" || method == "picard", "EquilibriumOptions::method", method, "\"anderson\" or \"picard\"");
  require(memory >= 1, "EquilibriumOptions::memory", memory, "memory >= 1");
  require(forward_tol > 0 && std::isfinite(forward_tol), "EquilibriumOptions::forward_tol", forward_tol,
          "a finite forward_tol > 0");
  require(forward_max_iterations >= 1, "EquilibriumOptions::forward_max_iterations", forward_max_iterations,
          "forward_max_iterations >= 1");
  require(backward_tol > 0 && std::isfinite(backward_tol), "EquilibriumOptions::backward_tol", backward_tol,
          "a finite backward_tol > 0");
  require(backward_max_iterations >= 1, "EquilibriumOptions::backward_max_iterations", backward_max_iterations,
          "backward_max_iterations >= 1");
  require(on_failure == "skip" || on_failure == "unrolled" || on_failure == "error", "EquilibriumOptions::on_failure",
          on_failure, "\"skip\", \"unrolled\" or \"error\"");
}

namespace {

/// Solves x = g(x) from x0 by the chosen method, ||g(x) - x||_2 <= tol * scale.
template <class G>
iterop::Result<torch::Tensor> core_solve(const G& g, const torch::Tensor& x0, const EquilibriumOptions& o, double tol,
                                         double scale, int max_iterations) {
  const iterop::Stop stop{.abs_tol = tol * scale, .rel_tol = 0.0, .max_iterations = max_iterations};
  if (o.method == "picard") return iterop::solve(g, x0, iterop::Picard{}, stop);
  return iterop::solve(g, x0, iterop::Anderson{.memory = o.memory}, stop);
}

/// What the autograd node keeps: the step, the options, the tensors to differentiate, the stats.
struct Setup : torch::CustomClassHolder {
  EquilibriumStep f;
  EquilibriumOptions o;
  std::vector<torch::Tensor> wrt;
  EquilibriumStats* stats = nullptr;
};

/// Gradients of <f(x*), g> with respect to the tensors of wrt that require grad (undefined for the others).
torch::autograd::variable_list parameter_grads(const torch::Tensor& y, const std::vector<torch::Tensor>& wrt,
                                               const torch::Tensor& g) {
  std::vector<torch::Tensor> inputs;
  std::vector<std::size_t> where;
  for (std::size_t i = 0; i < wrt.size(); ++i)
    if (wrt[i].requires_grad()) {
      inputs.push_back(wrt[i]);
      where.push_back(i);
    }
  torch::autograd::variable_list out(wrt.size());
  if (inputs.empty()) return out;
  auto grads = torch::autograd::grad({y}, inputs, {g}, /*retain_graph=*/false, /*create_graph=*/false,
                                     /*allow_unused=*/true);
  for (std::size_t j = 0; j < where.size(); ++j) out[where[j]] = grads[j];
  return out;
}

struct EquilibriumFunction : torch::autograd::Function<EquilibriumFunction> {
  /// x_star: the converged forward point (computed outside, without a tape); wrt: what f reads.
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_star, at::TensorList wrt,
                               const c10::intrusive_ptr<Setup>& setup) {
    (void)wrt;
    ctx->saved_data["setup"] = c10::IValue::make_capsule(setup);
    ctx->save_for_backward({x_star});
    return x_star.clone();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    auto setup = c10::static_intrusive_pointer_cast<Setup>(ctx->saved_data["setup"].toCapsule());
    const auto& o = setup->o;
    EquilibriumStats local;
    EquilibriumStats& st = setup->stats ? *setup->stats : local;
    const torch::Tensor v = grad_outputs[0].detach();
    const torch::Tensor x_star = ctx->get_saved_variables()[0];

    torch::AutoGradMode grad_on(true);
    const torch::Tensor xs = x_star.detach().requires_grad_(true);
    const torch::Tensor y = setup->f(xs);
    auto vjp = [&](const torch::Tensor& g) {
      auto r = torch::autograd::grad({y}, {xs}, {g}, /*retain_graph=*/true, /*create_graph=*/false,
                                     /*allow_unused=*/true)[0];
      return r.defined() ? r.detach() : torch::zeros_like(g);
    };
    torch::Tensor g;
    {
      torch::NoGradGuard no_grad;
      auto adjoint = [&](const torch::Tensor& h) {
        torch::AutoGradMode on(true);
        auto r = vjp(h) + v;
        return r;
      };
      const double vn = v.to(torch::kFloat64).norm().item<double>();
      const auto r = core_solve(adjoint, v, o, o.backward_tol, vn, o.backward_max_iterations);
      st.backward_ran = true;
      st.backward_status = r.status;
      st.backward_iterations = r.iterations;
      st.backward_residual = vn > 0 ? r.residual / vn : r.residual;
      g = r.solution;
      if (r.status != iterop::Status::converged) {
        if (o.on_failure == "error")
          throw backend_error("equilibrium", "the adjoint fixed point did not converge: " + r.brief_report());
        if (o.on_failure == "skip") {
          st.fallback = "skipped";
          g = torch::zeros_like(v);
        } else {  // unrolled: the gradient of K unrolled steps from x*, sum_{k<K} (J^T)^k v
          st.fallback = "unrolled";
          torch::Tensor term = v, acc = v;
          for (int k = 1; k < o.unrolled_steps; ++k) {
            term = vjp(term);
            acc = acc + term;
          }
          g = acc;
        }
      }
    }
    auto grads = parameter_grads(y, setup->wrt, g);
    torch::autograd::variable_list out;
    out.reserve(grads.size() + 2);
    out.emplace_back();  // x_star: the fixed point does not depend on where the solve started
    for (auto& t : grads) out.push_back(t);
    out.emplace_back();  // setup
    return out;
  }
};

}  // namespace

torch::Tensor equilibrium(const EquilibriumStep& f, const torch::Tensor& x0, const std::vector<torch::Tensor>& wrt,
                          const EquilibriumOptions& options, EquilibriumStats* stats) {
  options.validate();
  require(static_cast<bool>(f), "equilibrium step", "empty", "a callable step");
  require(x0.defined() && x0.is_floating_point(), "equilibrium x0", x0.defined() ? "non-floating" : "undefined",
          "a defined floating-point tensor");
  EquilibriumStats local;
  EquilibriumStats& st = stats ? *stats : local;
  st = EquilibriumStats{};
  return detail::translate_torch_errors([&] {
    double scale = 0;  // ||f(x0)||_2, the scale of the state
    {
      torch::NoGradGuard no_grad;
      scale = f(x0.detach()).to(torch::kFloat64).norm().item<double>();
    }
    auto relative_residual = [&](const torch::Tensor& x) {
      torch::NoGradGuard no_grad;
      const auto xd = x.detach();
      const double r = (f(xd) - xd).to(torch::kFloat64).norm().item<double>();
      return scale > 0 ? r / scale : r;
    };
    if (options.training == "unrolled") {
      torch::Tensor x = x0;
      for (int k = 0; k < options.unrolled_steps; ++k) x = f(x);
      st.forward_status = iterop::Status::max_iterations;
      st.forward_iterations = options.unrolled_steps;
      st.forward_residual = relative_residual(x);
      return x;
    }
    iterop::Result<torch::Tensor> r;
    {
      torch::NoGradGuard no_grad;
      r = core_solve(f, x0.detach(), options, options.forward_tol, scale, options.forward_max_iterations);
    }
    st.forward_status = r.status;
    st.forward_iterations = r.iterations;
    st.forward_residual = scale > 0 ? r.residual / scale : r.residual;
    const torch::Tensor x_star = r.solution.detach();
    if (r.status != iterop::Status::converged) {
      if (options.on_failure == "error")
        throw backend_error("equilibrium", "the forward fixed point did not converge: " + r.brief_report());
      if (options.on_failure == "skip") {
        st.fallback = "skipped";
        return x_star;  // no gradient flows from an unconverged state
      }
      st.fallback = "unrolled";
      torch::Tensor x = x_star;
      for (int k = 0; k < options.unrolled_steps; ++k) x = f(x);
      return x;
    }
    auto setup = c10::make_intrusive<Setup>();
    setup->f = f;
    setup->o = options;
    setup->wrt = wrt;
    setup->stats = &st;
    if (!stats) setup->stats = nullptr;
    return EquilibriumFunction::apply(x_star, at::TensorList(wrt), setup);
  });
}

torch::Tensor jacobian_frobenius_penalty(const EquilibriumStep& f, const torch::Tensor& x, int samples) {
  require(samples >= 1, "jacobian_frobenius_penalty samples", samples, "samples >= 1");
  require(static_cast<bool>(f), "jacobian_frobenius_penalty step", "empty", "a callable step");
  return detail::translate_torch_errors([&] {
    torch::AutoGradMode on(true);
    const auto xs = x.detach().requires_grad_(true);
    const auto y = f(xs);
    torch::Tensor total = torch::zeros({}, y.options());
    for (int s = 0; s < samples; ++s) {
      const auto v = torch::randint(0, 2, y.sizes(), y.options()) * 2 - 1;
      const auto jtv = torch::autograd::grad({y}, {xs}, {v}, /*retain_graph=*/true, /*create_graph=*/true)[0];
      total = total + jtv.pow(2).sum();
    }
    return total / (double(samples) * double(x.numel()));
  });
}

}  // namespace iterop::operators
