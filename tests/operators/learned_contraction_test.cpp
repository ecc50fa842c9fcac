// Tests of the contraction diagnostics for learned operators: power iteration on autograd JVPs gives
// the exact spectral radius of a linear layer (eigenvalues built in and recomputed by LAPACK), on J^T J
// the exact spectral norm (SVD), on W^T W the exact ||W||_2; a ReLU layer's Jacobian; bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <iostream>

#include <torch/torch.h>

#include "iterop/core/errors.hpp"
#include "iterop/operators/learned_contraction.hpp"

using namespace iterop::operators;

namespace {

/// A = S D S^-1 with S = I + 0.3 G / sqrt(n) (G standard normal, seeded): non-symmetric, non-normal,
/// eigenvalues exactly those of the block-diagonal D.
torch::Tensor similar_to(const torch::Tensor& d, std::uint64_t seed) {
  const int64_t n = d.size(0);
  torch::manual_seed(seed);
  auto s = torch::eye(n, torch::kFloat64) + 0.3 * torch::randn({n, n}, torch::kFloat64) / std::sqrt(double(n));
  return torch::mm(torch::mm(s, d), torch::inverse(s));
}

double exact_radius(const torch::Tensor& a) {
  return torch::linalg::eigvals(a).abs().max().item<double>();
}
double exact_norm(const torch::Tensor& a) { return torch::linalg::svdvals(a, c10::nullopt).max().item<double>(); }

TEST(LearnedContraction, MatrixSpectralNormEqualsSvd) {
  torch::manual_seed(3);
  const auto w = torch::randn({32, 24}, torch::kFloat64);
  const SpectralEstimate e = matrix_spectral_norm(w);
  EXPECT_TRUE(e.converged);
  EXPECT_NEAR(e.value, exact_norm(w), 1e-8 * exact_norm(w)) << e.iterations << " iterations";
  EXPECT_NEAR(matrix_spectral_norm(w.to(torch::kFloat32)).value, exact_norm(w), 1e-5 * exact_norm(w));
  EXPECT_EQ(matrix_spectral_norm(torch::zeros({4, 4})).value, 0.0);
}

TEST(LearnedContraction, JacobianSpectralRadiusOfALinearLayerIsExact) {
  // Dominant eigenvalue -0.9 (simple, real, negative), then 0.6, 0.5, ...: rho = 0.9 < ||A||_2.
  const int64_t n = 12;
  std::vector<double> eig{-0.9, 0.6, 0.5, -0.45, 0.4, 0.3, 0.2, -0.1, 0.05, 0.0, -0.3, 0.1};
  const auto a = similar_to(torch::diag(torch::tensor(eig, torch::kFloat64)), 1);
  const auto b = torch::randn({n}, torch::kFloat64);
  const TensorStep step = [&](const torch::Tensor& x) { return torch::mv(a, x) + b; };
  const auto x = torch::randn({n}, torch::kFloat64);
  ASSERT_NEAR(exact_radius(a), 0.9, 1e-12);  // LAPACK confirms the construction
  const SpectralEstimate r = jacobian_spectral_radius(step, x);
  EXPECT_TRUE(r.converged);
  EXPECT_NEAR(r.value, 0.9, 1e-8) << r.iterations << " iterations";
  const SpectralEstimate s = jacobian_spectral_norm(step, x);
  EXPECT_TRUE(s.converged);
  EXPECT_NEAR(s.value, exact_norm(a), 1e-8);
  EXPECT_GT(s.value, r.value + 0.05);  // non-normal: the norm is strictly above the radius
}

TEST(LearnedContraction, LinearLayerOnMatrixStates) {
  // X -> X W + b on N x h states: the Jacobian is W^T (x) I, with W's eigenvalues and singular values.
  torch::manual_seed(5);
  auto w = 0.25 * torch::randn({6, 6}, torch::kFloat64);
  const auto bias = torch::randn({6}, torch::kFloat64);
  const TensorStep step = [&](const torch::Tensor& x) { return torch::mm(x, w) + bias; };
  const auto x = torch::randn({10, 6}, torch::kFloat64);
  const double rho = exact_radius(w), sigma = exact_norm(w);
  const SpectralEstimate r = jacobian_spectral_radius(step, x, {.max_iterations = 4000});
  const SpectralEstimate s = jacobian_spectral_norm(step, x);
  std::cout << "X W + b: rho exact " << rho << " estimated " << r.value << " (" << r.iterations << " its, converged "
            << r.converged << "); ||W||_2 exact " << sigma << " estimated " << s.value << "\n";
  // A random real matrix may have a complex dominant pair: then only the 1/k geometric-mean rate holds.
  EXPECT_NEAR(r.value, rho, r.converged ? 1e-7 : 5e-3 * rho);
  EXPECT_NEAR(s.value, sigma, 1e-8);
}

TEST(LearnedContraction, ComplexDominantPairByGeometricMean) {
  // D has the pair 0.8 e^{+-i 1.1} as a real 2x2 block: ||J v_k|| oscillates, the second-half
  // geometric mean tends to 0.8 like 1/k.
  const double rho = 0.8, th = 1.1;
  auto d = torch::zeros({6, 6}, torch::kFloat64);
  d[0][0] = rho * std::cos(th);
  d[0][1] = -rho * std::sin(th);
  d[1][0] = rho * std::sin(th);
  d[1][1] = rho * std::cos(th);
  d[2][2] = 0.5;
  d[3][3] = -0.4;
  d[4][4] = 0.2;
  d[5][5] = 0.1;
  const auto a = similar_to(d, 2);
  ASSERT_NEAR(exact_radius(a), rho, 1e-12);
  const TensorStep step = [&](const torch::Tensor& x) { return torch::mv(a, x); };
  const SpectralEstimate r = jacobian_spectral_radius(step, torch::zeros({6}, torch::kFloat64), {.max_iterations = 2000});
  std::cout << "complex pair: rho 0.8, estimated " << r.value << " after " << r.iterations << " its\n";
  EXPECT_FALSE(r.converged);
  EXPECT_NEAR(r.value, rho, 1e-4);  // measured 6e-6 off after 2000 steps
}

TEST(LearnedContraction, ReluLayerJacobianIsMaskedWeights) {
  // T(x) = ReLU(A x + b): at x the Jacobian is diag(A x + b > 0) A, whose eigenvalues LAPACK gives.
  torch::manual_seed(7);
  const int64_t n = 16;
  const auto a = 0.3 * torch::randn({n, n}, torch::kFloat64);
  const auto b = torch::randn({n}, torch::kFloat64);
  const auto x = torch::randn({n}, torch::kFloat64);
  const TensorStep step = [&](const torch::Tensor& z) { return torch::relu(torch::mv(a, z) + b); };
  const auto mask = (torch::mv(a, x) + b > 0).to(torch::kFloat64);
  const auto j = torch::mm(torch::diag(mask), a);
  const SpectralEstimate r = jacobian_spectral_radius(step, x, {.max_iterations = 4000});
  EXPECT_NEAR(r.value, exact_radius(j), r.converged ? 1e-7 : 5e-3 * exact_radius(j));
  EXPECT_NEAR(jacobian_spectral_norm(step, x).value, exact_norm(j), 1e-8);
  const StepJacobian jac(step, x);
  const auto v = torch::randn({n}, torch::kFloat64);
  EXPECT_LT((jac.jvp(v) - torch::mv(j, v)).abs().max().item<double>(), 1e-12);
  EXPECT_LT((jac.vjp(v) - torch::mv(j.t(), v)).abs().max().item<double>(), 1e-12);
}

TEST(LearnedContraction, ConstantStepHasZeroJacobian) {
  const auto c = torch::ones({3}, torch::kFloat64);
  const TensorStep step = [&](const torch::Tensor&) { return c; };
  EXPECT_EQ(jacobian_spectral_radius(step, torch::zeros({3})).value, 0.0);
}

TEST(LearnedContraction, BadInputIsRejected) {
  EXPECT_THROW((void)matrix_spectral_norm(torch::ones({3})), iterop::invalid_option);
  EXPECT_THROW((void)matrix_spectral_norm(torch::ones({3, 3}, torch::kLong)), iterop::invalid_option);
  EXPECT_THROW((void)matrix_spectral_norm(torch::ones({3, 3}), {.max_iterations = 1}), iterop::invalid_option);
  EXPECT_THROW((void)matrix_spectral_norm(torch::ones({3, 3}), {.tol = 0}), iterop::invalid_option);
  const TensorStep shrink = [](const torch::Tensor& x) { return x.sum(); };
  EXPECT_THROW((void)jacobian_spectral_radius(shrink, torch::ones({3})), iterop::invalid_option);
  EXPECT_THROW((void)jacobian_spectral_radius(TensorStep{}, torch::ones({3})), iterop::invalid_option);
}

}  // namespace
