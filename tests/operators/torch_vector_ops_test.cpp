// Tests of iterop::vector_ops<torch::Tensor>: the core's Picard and Anderson on tensors reproduce
// the std::vector<double> results; value semantics (x0 untouched); float32 behaviour; bad dtypes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <vector>

#include "iterop/iterop.hpp"
#include "iterop/operators/torch_vector_ops.hpp"

namespace {

constexpr int n = 24;

// T(x) = M x + b + 0.2 sin(x) with a fixed M of 2-norm below 0.7 (a contraction).
std::vector<double> matrix() {
  std::vector<double> m(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) m[i * n + j] = 0.6 * std::cos(1.0 + i * 0.7 + j * 1.3) / n;
  return m;
}
std::vector<double> rhs() {
  std::vector<double> b(n);
  for (int i = 0; i < n; ++i) b[i] = std::sin(0.3 * i) + 0.5;
  return b;
}

struct VecOp {
  std::vector<double> m = matrix(), b = rhs();
  void operator()(const std::vector<double>& x, std::vector<double>& y) const {
    for (int i = 0; i < n; ++i) {
      double s = b[i] + 0.2 * std::sin(x[i]);
      for (int j = 0; j < n; ++j) s += m[i * n + j] * x[j];
      y[i] = s;
    }
  }
};

struct TensorOp {
  torch::Tensor m, b;
  explicit TensorOp(torch::Dtype dt) {
    auto mv = matrix();
    auto bv = rhs();
    m = torch::from_blob(mv.data(), {n, n}, torch::kFloat64).clone().to(dt);
    b = torch::from_blob(bv.data(), {n}, torch::kFloat64).clone().to(dt);
  }
  torch::Tensor operator()(const torch::Tensor& x) const { return torch::mv(m, x) + b + 0.2 * torch::sin(x); }
};

TEST(TorchVectorOps, AndersonOnTensorsMatchesStdVector) {
  const iterop::Stop stop{.abs_tol = 1e-12, .rel_tol = 0.0, .max_iterations = 200};
  const auto rv = iterop::solve(VecOp{}, std::vector<double>(n, 0.0), iterop::Anderson{.memory = 3}, stop);
  const torch::Tensor x0 = torch::zeros({n}, torch::kFloat64);
  const auto rt = iterop::solve(TensorOp(torch::kFloat64), x0, iterop::Anderson{.memory = 3}, stop);
  ASSERT_EQ(rv.status, iterop::Status::converged);
  ASSERT_EQ(rt.status, iterop::Status::converged);
  EXPECT_EQ(rt.iterations, rv.iterations);
  ASSERT_EQ(rt.solution.numel(), n);
  for (int i = 0; i < n; ++i) EXPECT_NEAR(rt.solution[i].item<double>(), rv.solution[std::size_t(i)], 1e-11);
  for (std::size_t k = 0; k < rv.history.size() && k < rt.history.size(); ++k)
    EXPECT_NEAR(rt.history[k].residual, rv.history[k].residual, 1e-9 * (1 + rv.history[k].residual)) << k;
  // The caller's x0 is never written (the adapter rebinds handles, never writes storage).
  EXPECT_EQ(x0.abs().sum().item<double>(), 0.0);
}

TEST(TorchVectorOps, PicardOnTensorsMatchesStdVector) {
  const iterop::Stop stop{.abs_tol = 1e-12, .rel_tol = 0.0, .max_iterations = 500};
  const auto rv = iterop::solve(VecOp{}, std::vector<double>(n, 1.0), iterop::Picard{}, stop);
  const auto rt = iterop::solve(TensorOp(torch::kFloat64), torch::ones({n}, torch::kFloat64), iterop::Picard{}, stop);
  ASSERT_EQ(rv.status, iterop::Status::converged);
  ASSERT_EQ(rt.status, iterop::Status::converged);
  EXPECT_EQ(rt.iterations, rv.iterations);
  for (int i = 0; i < n; ++i) EXPECT_NEAR(rt.solution[i].item<double>(), rv.solution[std::size_t(i)], 1e-11);
}

TEST(TorchVectorOps, MatrixShapedStatesWork) {
  // A tensor of any shape is a vector of its entries: the same problem as a 4 x 6 matrix.
  TensorOp op(torch::kFloat64);
  auto T = [&](const torch::Tensor& x) { return op(x.reshape({n})).reshape({4, 6}); };
  const auto r = iterop::solve(T, torch::zeros({4, 6}, torch::kFloat64), iterop::Anderson{.memory = 3},
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0.0});
  ASSERT_EQ(r.status, iterop::Status::converged);
  EXPECT_EQ(r.solution.sizes(), (std::vector<int64_t>{4, 6}));
}

TEST(TorchVectorOps, Float32ReachesFloatAccuracyAndNotBeyond) {
  // Documented behaviour: arithmetic in float32, reductions in float64, scalar = double.
  const auto rv = iterop::solve(VecOp{}, std::vector<double>(n, 0.0), iterop::Anderson{.memory = 3},
                                iterop::Stop{.abs_tol = 1e-13, .rel_tol = 0.0});
  const auto r5 = iterop::solve(TensorOp(torch::kFloat32), torch::zeros({n}, torch::kFloat32),
                                iterop::Anderson{.memory = 3}, iterop::Stop{.abs_tol = 1e-5, .rel_tol = 0.0});
  ASSERT_EQ(r5.status, iterop::Status::converged);
  EXPECT_EQ(r5.solution.scalar_type(), torch::kFloat32);
  for (int i = 0; i < n; ++i) EXPECT_NEAR(r5.solution[i].item<double>(), rv.solution[std::size_t(i)], 1e-5);
  // A tolerance far below float32 resolution: the residual is computed from float32 values, so the
  // solve may stop at an exact float32 fixed point (residual 0) or by a non-convergence status; either
  // way the solution stays float32 and its error to the float64 fixed point is float32 resolution.
  const auto r14 = iterop::solve(TensorOp(torch::kFloat32), torch::zeros({n}, torch::kFloat32),
                                 iterop::Anderson{.memory = 3},
                                 iterop::Stop{.abs_tol = 1e-14, .rel_tol = 0.0, .max_iterations = 100});
  EXPECT_FALSE(r14.message.empty());
  EXPECT_EQ(r14.solution.scalar_type(), torch::kFloat32);
  double err = 0;
  for (int i = 0; i < n; ++i) err = std::max(err, std::abs(r14.solution[i].item<double>() - rv.solution[std::size_t(i)]));
  EXPECT_LT(err, 1e-5);
  RecordProperty("float32_error_at_tol_1e-14", std::to_string(err));
  std::cout << "float32 solve at tol 1e-14: status " << iterop::to_string(r14.status) << ", max error to float64 "
            << err << "\n";
}

TEST(TorchVectorOps, IntegerTensorsAreRejected) {
  auto T = [](const torch::Tensor& x) { return x; };
  try {
    (void)iterop::solve(T, torch::zeros({3}, torch::kInt64), iterop::Picard{});
    FAIL() << "expected invalid_option";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("dtype"), std::string::npos) << e.what();
  }
}

TEST(TorchVectorOps, KernelsAgreeWithDefinitions) {
  using V = iterop::vector_ops<torch::Tensor>;
  auto x = torch::tensor({1.0, -2.0, 3.0}, torch::kFloat64);
  auto y = torch::tensor({0.5, 4.0, -1.0}, torch::kFloat64);
  EXPECT_DOUBLE_EQ(V::dot(x, y), 0.5 - 8.0 - 3.0);
  EXPECT_DOUBLE_EQ(V::norm_inf(x), 3.0);
  EXPECT_DOUBLE_EQ(V::distance2(x, y), std::sqrt(0.25 + 36.0 + 16.0));
  auto z = y;  // shares storage with y
  V::axpby(2.0, x, -1.0, z);
  EXPECT_DOUBLE_EQ(z[1].item<double>(), -4.0 - 4.0);
  EXPECT_DOUBLE_EQ(y[1].item<double>(), 4.0);  // y untouched: z was rebound
  auto nan = torch::tensor({std::nan(""), 1.0}, torch::kFloat64);
  auto w = nan.clone();
  V::axpby(1.0, torch::ones({2}, torch::kFloat64), 0.0, w);  // b = 0 overwrites
  EXPECT_TRUE(V::all_finite(w));
  EXPECT_FALSE(V::all_finite(nan));
}

}  // namespace
