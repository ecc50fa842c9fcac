// Tests of equilibrium (implicit) training: on a small contraction x = tanh(W x + U u + b) the implicit
// gradients equal central finite differences of the loss (1e-4 relative) and the gradients of 200
// unrolled steps (1e-6); non-convergence of either solve takes the chosen fallback and says so; the
// Hutchinson Jacobian penalty estimates ||J||_F^2; bad options are refused.
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "iterop/core/errors.hpp"
#include "iterop/operators/equilibrium.hpp"

using namespace iterop::operators;

namespace {

/// A contraction of factor 0.5 in x (||W||_2 = 0.5, tanh 1-Lipschitz), float64, with parameters W, U, b
/// and an input u; loss L(x*) = sum(c * x*) + 0.5 ||x*||^2.
struct SmallContraction {
  torch::Tensor w, uw, b, u, c;
  SmallContraction() {
    torch::manual_seed(11);
    auto w0 = torch::randn({6, 6}, torch::kFloat64);
    w = (0.5 * w0 / torch::linalg::svdvals(w0, c10::nullopt).max()).requires_grad_(true);
    uw = (0.7 * torch::randn({6, 3}, torch::kFloat64)).requires_grad_(true);
    b = (0.1 * torch::randn({6, 1}, torch::kFloat64)).requires_grad_(true);
    u = torch::randn({3, 4}, torch::kFloat64).requires_grad_(true);
    c = torch::randn({6, 4}, torch::kFloat64);
  }
  torch::Tensor step(const torch::Tensor& x) const { return torch::tanh(torch::mm(w, x) + torch::mm(uw, u) + b); }
  std::vector<torch::Tensor> wrt() const { return {w, uw, b, u}; }
  torch::Tensor loss(const torch::Tensor& x) const { return (c * x).sum() + 0.5 * x.pow(2).sum(); }
  torch::Tensor x0() const { return torch::zeros({6, 4}, torch::kFloat64); }
};

EquilibriumOptions tight() {
  EquilibriumOptions o;
  o.forward_tol = 1e-13;
  o.backward_tol = 1e-13;
  o.forward_max_iterations = 500;
  o.backward_max_iterations = 500;
  return o;
}

std::vector<torch::Tensor> implicit_grads(const SmallContraction& p, const EquilibriumOptions& o,
                                          EquilibriumStats* stats = nullptr) {
  const EquilibriumStep f = [&](const torch::Tensor& x) { return p.step(x); };
  auto x = equilibrium(f, p.x0(), p.wrt(), o, stats);
  return torch::autograd::grad({p.loss(x)}, p.wrt());
}

double max_relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

}  // namespace

TEST(Equilibrium, ImplicitGradientsMatchCentralFiniteDifferences) {
  SmallContraction p;
  EquilibriumStats st;
  const auto grads = implicit_grads(p, tight(), &st);
  EXPECT_EQ(st.forward_status, iterop::Status::converged);
  EXPECT_TRUE(st.backward_ran);
  EXPECT_EQ(st.backward_status, iterop::Status::converged);
  EXPECT_TRUE(st.fallback.empty());
  const EquilibriumStep f = [&](const torch::Tensor& x) { return p.step(x); };
  auto loss_at = [&]() {
    torch::NoGradGuard no_grad;
    auto x = equilibrium(f, p.x0(), {}, tight());
    return p.loss(x).item<double>();
  };
  const auto tensors = p.wrt();
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    auto flat = tensors[t].detach().view({-1});  // shares storage with the parameter
    auto fd = torch::zeros_like(flat);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double h = 1e-6, old = flat[i].item<double>();
      flat[i] = old + h;
      const double up = loss_at();
      flat[i] = old - h;
      const double down = loss_at();
      flat[i] = old;
      fd[i] = (up - down) / (2 * h);
    }
    EXPECT_LT(max_relative_difference(grads[t].reshape({-1}), fd), 1e-4) << "tensor " << t;
  }
}

TEST(Equilibrium, ImplicitGradientsMatchTwoHundredUnrolledSteps) {
  SmallContraction p;
  for (const char* method : {"anderson", "picard"}) {
    EquilibriumOptions o = tight();
    o.method = method;
    const auto implicit = implicit_grads(p, o);
    EquilibriumOptions u = o;
    u.training = "unrolled";
    u.unrolled_steps = 200;
    EquilibriumStats st;
    const auto unrolled = implicit_grads(p, u, &st);
    EXPECT_EQ(st.forward_iterations, 200);
    EXPECT_LT(st.forward_residual, 1e-12);
    for (std::size_t t = 0; t < implicit.size(); ++t)
      EXPECT_LT(max_relative_difference(implicit[t], unrolled[t]), 1e-6) << method << " tensor " << t;
    // A few unrolled steps are a different (truncated) gradient: the comparison can fail.
    u.unrolled_steps = 2;
    const auto short_unrolled = implicit_grads(p, u);
    EXPECT_GT(max_relative_difference(short_unrolled[0], implicit[0]), 1e-3);
  }
}

TEST(Equilibrium, ForwardFailureTakesTheChosenFallbackAndSaysSo) {
  torch::manual_seed(2);
  auto w = torch::eye(4, torch::kFloat64).requires_grad_(true);  // x -> x + 1: no fixed point at all
  const EquilibriumStep f = [&](const torch::Tensor& x) { return torch::mm(w, x) + 1.0; };
  const auto x0 = torch::zeros({4, 2}, torch::kFloat64);
  EquilibriumOptions o;
  o.forward_max_iterations = 20;
  EquilibriumStats st;
  auto x = equilibrium(f, x0, {w}, o, &st);
  EXPECT_NE(st.forward_status, iterop::Status::converged);
  EXPECT_EQ(st.fallback, "skipped");
  EXPECT_FALSE(st.gradient_usable());
  EXPECT_FALSE(x.requires_grad());  // no gradient from an unconverged state
  o.on_failure = "unrolled";
  o.unrolled_steps = 3;
  x = equilibrium(f, x0, {w}, o, &st);
  EXPECT_EQ(st.fallback, "unrolled");
  EXPECT_TRUE(st.gradient_usable());
  EXPECT_TRUE(x.requires_grad());
  o.on_failure = "error";
  EXPECT_THROW(equilibrium(f, x0, {w}, o, &st), iterop::backend_error);
}

TEST(Equilibrium, BackwardFailureTakesTheChosenFallbackAndSaysSo) {
  SmallContraction p;
  EquilibriumOptions o = tight();
  o.backward_max_iterations = 1;  // the adjoint cannot reach 1e-13 in one iteration
  EquilibriumStats st;
  auto grads = implicit_grads(p, o, &st);
  EXPECT_EQ(st.forward_status, iterop::Status::converged);
  EXPECT_TRUE(st.backward_ran);
  EXPECT_NE(st.backward_status, iterop::Status::converged);
  EXPECT_EQ(st.fallback, "skipped");
  EXPECT_EQ(grads[0].abs().max().item<double>(), 0.0);
  o.on_failure = "unrolled";
  o.unrolled_steps = 200;
  grads = implicit_grads(p, o, &st);
  EXPECT_EQ(st.fallback, "unrolled");
  const auto exact = implicit_grads(p, tight());
  EXPECT_LT(max_relative_difference(grads[0], exact[0]), 1e-6);  // 200 Neumann terms of a 0.5-contraction
  o.on_failure = "error";
  EXPECT_THROW(implicit_grads(p, o, &st), iterop::backend_error);
}

TEST(Equilibrium, HutchinsonPenaltyEstimatesTheFrobeniusNorm) {
  torch::manual_seed(5);
  auto w = torch::randn({8, 8}, torch::kFloat64).requires_grad_(true);
  const EquilibriumStep f = [&](const torch::Tensor& x) { return torch::mm(w, x); };
  const auto x = torch::randn({8, 3}, torch::kFloat64);
  // J = I_3 (x) W acting on the 8 x 3 state: ||J||_F^2 = 3 ||W||_F^2, divided by numel = 24.
  const double exact = 3 * w.detach().pow(2).sum().item<double>() / 24;
  const auto estimate = jacobian_frobenius_penalty(f, x, 4000);
  EXPECT_NEAR(estimate.item<double>(), exact, 0.05 * exact);
  const auto g = torch::autograd::grad({estimate}, {w})[0];  // differentiable in the parameters
  EXPECT_GT(g.abs().max().item<double>(), 0.0);
  EXPECT_THROW(jacobian_frobenius_penalty(f, x, 0), iterop::invalid_option);
}

TEST(Equilibrium, BadOptionsAreRefusedBeforeAnyWork) {
  const EquilibriumStep f = [](const torch::Tensor& x) { return 0.5 * x; };
  const auto x0 = torch::zeros({3});
  auto bad = [&](auto edit) {
    EquilibriumOptions o;
    edit(o);
    EXPECT_THROW(equilibrium(f, x0, {}, o), iterop::invalid_option);
  };
  bad([](EquilibriumOptions& o) { o.training = "implicitly"; });
  bad([](EquilibriumOptions& o) { o.unrolled_steps = 0; });
  bad([](EquilibriumOptions& o) { o.method = "newton"; });
  bad([](EquilibriumOptions& o) { o.memory = 0; });
  bad([](EquilibriumOptions& o) { o.forward_tol = 0; });
  bad([](EquilibriumOptions& o) { o.forward_tol = std::nan(""); });
  bad([](EquilibriumOptions& o) { o.backward_tol = -1; });
  bad([](EquilibriumOptions& o) { o.forward_max_iterations = 0; });
  bad([](EquilibriumOptions& o) { o.backward_max_iterations = 0; });
  bad([](EquilibriumOptions& o) { o.on_failure = "ignore"; });
  EXPECT_THROW(equilibrium(f, torch::zeros({3}, torch::kInt64), {}, EquilibriumOptions{}), iterop::invalid_option);
  EXPECT_THROW(equilibrium(EquilibriumStep{}, x0, {}, EquilibriumOptions{}), iterop::invalid_option);
}
