// iterop::vector_ops<torch::Tensor>: lets the core's solve() (Picard, Krasnoselskii-Mann, Anderson)
// iterate on tensors of any shape, dtype (floating) and device. Torch-facing: link iterop::operators_torch.
#pragma once

#include <cstddef>
#include <span>

#include <ATen/ATen.h>
#include <torch/types.h>

#include "iterop/core/errors.hpp"
#include "iterop/core/vector_ops.hpp"

namespace iterop {

/// vector_ops for torch::Tensor: a tensor of any shape is a vector of its numel() entries.
///
/// Value semantics: the solvers copy states with X's copy constructor, which for a tensor copies
/// the handle, not the storage. So no member here writes into a tensor's storage: every write
/// (axpby, linear_sum, copy, ...) rebinds the output handle to a freshly computed tensor, and
/// shallow copies held by the solver (or by the caller, e.g. x0) are never modified. An operator
/// written as op(x, y) must follow the same rule (y = f(x), not y.copy_(...)); y = op(x) always does.
///
/// Scalar: double, for every dtype. Arithmetic runs in the tensor's own dtype and on its device;
/// reductions (dot, norms) are accumulated in float64 and returned as double. For float32 tensors
/// the iterates therefore carry float32 precision: the residual T(x) - x is itself a float32
/// tensor, so a very small tolerance ends either at an exact float32 fixed point (residual 0) or by
/// a non-convergence status, never by an exception; in both cases the error to the true fixed point
/// is float32 resolution (~1e-7 relative), whatever the tolerance. Integer and boolean tensors are rejected by zeros_like (called when a solve starts).
template <>
struct vector_ops<torch::Tensor> {
  using scalar = double;

  /// Number of entries (numel).
  static std::size_t size(const torch::Tensor& x) { return static_cast<std::size_t>(x.numel()); }

  /// A zero tensor of the same shape, dtype and device. Throws invalid_option for a non-floating dtype.
  static torch::Tensor zeros_like(const torch::Tensor& x) {
    require(x.defined(), "torch::Tensor state", "undefined", "the tensor is defined");
    require(x.is_floating_point(), "torch::Tensor state dtype", std::string(c10::toString(x.scalar_type())),
            "a floating-point dtype (float32, float64, ...)");
    return torch::zeros_like(x);
  }

  /// dst = src (a new tensor; src is not shared).
  static void copy(const torch::Tensor& src, torch::Tensor& dst) { dst = src.clone(); }

  /// y = a x + b y; b == 0 overwrites y (NaN in y does not leak). Rebinds y.
  static void axpby(double a, const torch::Tensor& x, double b, torch::Tensor& y) {
    if (b == 0.0) {
      y = x * a;
    } else {
      y = x * a + y * b;
    }
  }

  /// z = a x + b y (z may alias x or y). Rebinds z.
  static void linear_sum(double a, const torch::Tensor& x, double b, const torch::Tensor& y, torch::Tensor& z) {
    z = x * a + y * b;
  }

  /// Euclidean inner product over all entries, accumulated in float64.
  static double dot(const torch::Tensor& x, const torch::Tensor& y) {
    return (x.to(torch::kFloat64) * y.to(torch::kFloat64)).sum().item<double>();
  }

  /// ||x||_2, accumulated in float64.
  static double norm2(const torch::Tensor& x) { return x.to(torch::kFloat64).norm().item<double>(); }

  /// ||x||_inf (NaN propagates).
  static double norm_inf(const torch::Tensor& x) {
    if (x.numel() == 0) return 0.0;
    return x.to(torch::kFloat64).abs().max().item<double>();
  }

  /// ||x - y||_2.
  static double distance2(const torch::Tensor& x, const torch::Tensor& y) {
    return (x.to(torch::kFloat64) - y.to(torch::kFloat64)).norm().item<double>();
  }

  /// ||x - y||_inf.
  static double distance_inf(const torch::Tensor& x, const torch::Tensor& y) {
    if (x.numel() == 0) return 0.0;
    return (x.to(torch::kFloat64) - y.to(torch::kFloat64)).abs().max().item<double>();
  }

  /// SUNDIALS weighted RMS norm sqrt(mean((v_i / (rtol |x_i| + atol))^2)), in float64.
  static double wrms_norm(const torch::Tensor& v, const torch::Tensor& x, double rtol, double atol) {
    if (v.numel() == 0) return 0.0;
    const auto w = v.to(torch::kFloat64) / (x.to(torch::kFloat64).abs() * rtol + atol);
    return std::sqrt((w * w).mean().item<double>());
  }

  /// True when every entry is finite.
  static bool all_finite(const torch::Tensor& x) { return torch::isfinite(x).all().item<bool>(); }

  /// y = sum_j c[j] xs[j]. Rebinds y.
  static void linear_combination(std::span<const double> c, std::span<const torch::Tensor* const> xs,
                                 torch::Tensor& y) {
    if (xs.empty()) {
      y = torch::zeros_like(y);
      return;
    }
    torch::Tensor acc = *xs[0] * c[0];
    for (std::size_t j = 1; j < xs.size(); ++j) acc = acc + *xs[j] * c[j];
    y = acc;
  }

  /// out[j] = sum_l in[l] P[l, j] (P column-major, in.size() x out.size()); out may alias in.
  static void transform_columns(std::span<torch::Tensor* const> in, const double* P,
                                std::span<torch::Tensor* const> out) {
    const std::size_t k = in.size();
    if (k == 0 || out.empty()) return;
    std::vector<torch::Tensor> old;
    old.reserve(k);
    for (std::size_t l = 0; l < k; ++l) old.push_back(*in[l]);  // handles: storage is never written
    for (std::size_t j = 0; j < out.size(); ++j) {
      torch::Tensor acc = old[0] * P[j * k];
      for (std::size_t l = 1; l < k; ++l) acc = acc + old[l] * P[j * k + l];
      *out[j] = acc;
    }
  }
};

}  // namespace iterop
