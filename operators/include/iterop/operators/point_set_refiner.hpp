// A small refinement network for noisy 2-D point sets, trained to improve its own output (recycling):
// x_{k+1} = T(x_k, y), written in TorchScript, trained in C++, saved as a .pt file, then evaluated
// through TorchScriptOperator after 1, 2, 4, 8 iterations and at its fixed point x* = T(x*, y).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "iterop/operators/torchscript_function.hpp"

namespace iterop::operators {

/// Options of the point-set refinement demonstration. Data: sets of `points` points drawn uniformly
/// along a random curve (half closed ellipses, half rotated sine arcs, within about [-1, 1]^2), observed
/// with Gaussian noise of standard deviation `noise`: y = c + noise * eps. The step (TorchScript):
///   w_ij = softmax_j(-||x_i - x_j||^2 / (2 h^2)),  m_i = sum_j w_ij (x_j - x_i) / h,
///   C_i = sum_j w_ij (x_j - x_i)(x_j - x_i)^T / h^2,  f_i = [m_i, C_i, (x_i - y_i) / h],
///   T(x, y)_i = x_i + (h / 2) tanh(MLP(f_i))  (two tanh layers of `width`, last layer initialised to
/// zero, so the untrained step is the identity), so each step sees a neighbourhood of radius about h
/// and moves a point by at most h / 2 per coordinate: recycling spreads information and movement further.
/// Training (Adam, float32): x_0 = y, unrolled x_k = T(x_{k-1}, y) for k = 1..K (K = train_iterations),
/// loss sum_k k ||x_k - c||^2 / (2 N) / sum_k k + fixed_point_weight ||T(x_K, y) - x_K||^2 / (2 N)
/// (every iterate supervised, later ones more, and a final output that the step leaves in place).
struct RefinerOptions {
  int points = 32;                 ///< points per set N (>= 4)
  double noise = 0.08;             ///< noise standard deviation (> 0)
  double bandwidth = 0.15;         ///< h, the kernel radius (> 0)
  int width = 32;                  ///< hidden width of the MLP (>= 1)
  int train_iterations = 4;        ///< K, unrolled steps in training (>= 1)
  double fixed_point_weight = 1.0; ///< weight of ||T(x_K) - x_K||^2 in the loss (>= 0)
  int batch = 16;                  ///< sets per Adam step (>= 1)
  int training_steps = 200;        ///< Adam steps (>= 0)
  double lr = 3e-3;                ///< Adam learning rate (> 0)
  int test_sets = 32;              ///< held-out sets of the evaluation (>= 1)
  std::vector<int> eval_iterations{1, 2, 4, 8};  ///< iteration counts evaluated (each >= 1)
  double tol = 1e-8;               ///< fixed point: ||T(x) - x||_2 <= tol ||T(y) - y||_2 (> 0)
  int max_iterations = 300;        ///< fixed point: Anderson(5) iterations at most (>= 1)
  std::uint64_t seed = 0;          ///< initialisation, training data and test data

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// Errors of the refined points on the held-out sets after some iterations.
struct RefinerErrors {
  int iterations = 0;         ///< k (0: the noisy input y; -1: the fixed point)
  double rmse = 0;            ///< sqrt(mean ||x_i - c_i||^2 / 2) over all test points (per coordinate)
  double curve_distance = 0;  ///< mean over test points of the distance to the clean curve (dense polyline)
};

/// What run_point_set_refiner() measured.
struct RefinerReport {
  std::vector<RefinerErrors> errors;  ///< k = 0 (noisy), then each eval_iterations entry, then the fixed point (-1)
  double final_loss = 0;              ///< training loss of the last Adam step
  double train_seconds = 0;
  long parameters = 0;                ///< trainable scalars
  std::string fixed_point_status;     ///< iterop::Status of Anderson(5) on the whole test batch, float64
  std::string fixed_point_method;     ///< the solver's method description
  int fixed_point_iterations = 0;
  double fixed_point_residual = 0;    ///< ||T(x) - x||_2 at the returned x
  StepContraction contraction;        ///< 150 Picard steps from y on the test batch; rho(T'), ||T'||_2 at the last iterate (150 power steps)
  TensorData first_test_set;          ///< the noisy points y of the first held-out set, shape {N, 2}
};

/// Trains the refiner, saves it with torch::jit::Module::save to `model_file` (its folder must exist),
/// loads it back with TorchScriptOperator (float64) and evaluates it on `test_sets` held-out sets.
/// Deterministic for a seed on CPU.
RefinerReport run_point_set_refiner(const RefinerOptions& o, const std::filesystem::path& model_file);

}  // namespace iterop::operators
