// Power iterations for contraction diagnostics of learned operators: ||W||_2 of a matrix, and the
// spectral radius and norm of a step's Jacobian from autograd products (double-backward JVP).
#include "iterop/operators/learned_contraction.hpp"

#include <cmath>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include "detail/graph_tensors.hpp"
#include "iterop/core/errors.hpp"

namespace iterop::operators {

void PowerIterationOptions::validate() const {
  require(max_iterations >= 2, "PowerIterationOptions::max_iterations", max_iterations, "max_iterations >= 2");
  require(tol > 0 && std::isfinite(tol), "PowerIterationOptions::tol", tol, "a finite tol > 0");
}

namespace {

/// A unit random vector of `like`'s shape, float64 on its device, from a generator seeded with `seed`.
torch::Tensor random_unit(const torch::Tensor& like, std::uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto v = torch::randn(like.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat64)).to(like.device());
  return v / v.norm();
}

double norm_of(const torch::Tensor& t) { return t.norm().item<double>(); }

/// Shared loop: r_k = ||A v_k||, v_{k+1} = A v_k / r_k; the estimate is r_k once it settles, else the
/// geometric mean of the second half (`apply` returns A v for a unit v).
template <class Apply>
SpectralEstimate power_loop(Apply&& apply, torch::Tensor v, const PowerIterationOptions& o, bool take_sqrt) {
  SpectralEstimate e;
  std::vector<double> r;
  r.reserve(static_cast<std::size_t>(o.max_iterations));
  for (int k = 0; k < o.max_iterations; ++k) {
    auto w = apply(v);
    const double rk = norm_of(w);
    e.iterations = k + 1;
    if (!(rk > 0) || !std::isfinite(rk)) {  // A v = 0 (or a non-finite product): report it as is
      e.value = std::isfinite(rk) ? 0.0 : rk;
      e.converged = std::isfinite(rk);
      e.last_change = 0;
      return e;
    }
    r.push_back(rk);
    v = w / rk;
    if (k >= 1) {
      e.last_change = std::abs(rk - r[r.size() - 2]) / rk;
      if (e.last_change <= o.tol) {
        e.converged = true;
        e.value = take_sqrt ? std::sqrt(rk) : rk;
        return e;
      }
    }
  }
  double log_sum = 0;
  const std::size_t first = r.size() / 2;
  for (std::size_t j = first; j < r.size(); ++j) log_sum += std::log(r[j]);
  const double g = std::exp(log_sum / double(r.size() - first));
  e.value = take_sqrt ? std::sqrt(g) : g;
  return e;
}

}  // namespace

SpectralEstimate matrix_spectral_norm(const torch::Tensor& w, const PowerIterationOptions& o) {
  o.validate();
  require(w.defined() && w.dim() == 2, "matrix_spectral_norm w.dim()", w.defined() ? w.dim() : -1, "a 2-D tensor");
  require(w.is_floating_point(), "matrix_spectral_norm w.dtype", std::string(c10::toString(w.scalar_type())),
          "a floating dtype");
  return detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    auto m = w.detach().to(torch::kFloat64);
    if (m.numel() == 0) return SpectralEstimate{0.0, 0, true, 0.0};
    auto v = random_unit(torch::empty({m.size(1)}, m.options()), o.seed);
    // Power iteration on W^T W: its eigenvalue sigma_1^2 is r_k; the norm is sqrt(r_k).
    return power_loop([&](const torch::Tensor& x) { return torch::mv(m.t(), torch::mv(m, x)); }, v, o, true);
  });
}

StepJacobian::StepJacobian(const TensorStep& step, const torch::Tensor& x) {
  require(static_cast<bool>(step), "StepJacobian step", "empty", "a callable step");
  require(x.defined() && x.is_floating_point(), "StepJacobian x", x.defined() ? "non-floating" : "undefined",
          "a defined floating tensor");
  detail::translate_torch_errors([&] {
    torch::AutoGradMode enable_grad(true);
    x_ = x.detach().to(torch::kFloat64).clone().requires_grad_(true);
    y_ = step(x_);
    require(y_.defined() && y_.is_floating_point(), "StepJacobian T(x)", "undefined or non-floating",
            "a floating tensor");
    u_ = torch::zeros_like(y_).requires_grad_(true);
    if (y_.requires_grad()) {
      auto g = torch::autograd::grad({y_}, {x_}, {u_}, /*retain_graph=*/true, /*create_graph=*/true,
                                     /*allow_unused=*/true);
      g_ = g[0];
    }
    return 0;
  });
}

torch::Tensor StepJacobian::jvp(const torch::Tensor& v) const {
  require(v.sizes() == x_.sizes(), "StepJacobian::jvp v.sizes()", "different", "the shape of x");
  return detail::translate_torch_errors([&] {
    // J v = d/du <J^T u, v>; g_ is linear in u, so this is exact. g_ undefined or free of u: J = 0.
    if (!g_.defined() || !g_.requires_grad()) return torch::zeros_like(y_).detach();
    auto r = torch::autograd::grad({g_}, {u_}, {v.to(torch::kFloat64)}, /*retain_graph=*/true,
                                   /*create_graph=*/false, /*allow_unused=*/true);
    return r[0].defined() ? r[0] : torch::zeros_like(y_).detach();
  });
}

torch::Tensor StepJacobian::vjp(const torch::Tensor& w) const {
  require(w.sizes() == y_.sizes(), "StepJacobian::vjp w.sizes()", "different", "the shape of T(x)");
  return detail::translate_torch_errors([&] {
    if (!y_.requires_grad()) return torch::zeros_like(x_).detach();
    auto r = torch::autograd::grad({y_}, {x_}, {w.to(torch::kFloat64)}, /*retain_graph=*/true,
                                   /*create_graph=*/false, /*allow_unused=*/true);
    return r[0].defined() ? r[0] : torch::zeros_like(x_).detach();
  });
}

torch::Tensor StepJacobian::value() const { return y_.detach(); }

SpectralEstimate jacobian_spectral_radius(const TensorStep& step, const torch::Tensor& x,
                                          const PowerIterationOptions& o) {
  o.validate();
  const StepJacobian jac(step, x);
  require(jac.value().sizes() == jac.point().sizes(), "jacobian_spectral_radius T(x).sizes()", "different from x",
          "a step mapping x's shape to itself");
  return detail::translate_torch_errors([&] {
    auto v = random_unit(jac.point(), o.seed);
    return power_loop([&](const torch::Tensor& z) { return jac.jvp(z); }, v, o, false);
  });
}

SpectralEstimate jacobian_spectral_norm(const TensorStep& step, const torch::Tensor& x, const PowerIterationOptions& o) {
  o.validate();
  const StepJacobian jac(step, x);
  return detail::translate_torch_errors([&] {
    auto v = random_unit(jac.point(), o.seed);
    return power_loop([&](const torch::Tensor& z) { return jac.vjp(jac.jvp(z)); }, v, o, true);
  });
}

}  // namespace iterop::operators
