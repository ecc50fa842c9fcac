// PIGN, the Picard-iterative graph network of [OL]: encoder, one shared graph convolution iterated
// K times with relaxation, decoder. Plain-data facade (pimpl); LibTorch stays in src/pign.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "iterop/operators/equilibrium_options.hpp"
#include "iterop/operators/planetoid.hpp"
#include "iterop/operators/training_report.hpp"

namespace iterop::operators {

/// Options of PIGN. The network is
///   x_0 = drop_enc(ReLU(drop_in(X) W_enc + b_enc)),
///   x_{k+1} = alpha_k x_k + (1 - alpha_k) drop_loop(ReLU(A_hat x_k W + b)),  k < iterations,
///   logits = x_K W_dec + b_dec,
/// with A_hat = D^-1/2 (A + I) D^-1/2 (sparse) and W shared over the iterations.
///
/// Equilibrium mode (mode = "equilibrium") reads the encoder output e = x_0 inside every step (input
/// injection) and trains at the step's fixed point:
///   x* = alpha x* + (1 - alpha) drop_loop(ReLU(A_hat x* W + e + b)),   logits = x* W_dec + b_dec,
/// solved by the core (EquilibriumOptions: Anderson or Picard, tolerance, budget) and differentiated
/// by the adjoint fixed point (implicit gradients; see equilibrium.hpp). Without the injection the
/// fixed point of a contraction would not depend on the features at all. Dropout masks are drawn
/// once per epoch, so the step is one fixed map during each solve.
struct PignOptions {
  int hidden = 32;                     ///< hidden width (>= 1)
  int iterations = 9;                  ///< K_train, iterations of the shared layer in training (>= 1)
  double alpha = 0.55;                 ///< constant relaxation alpha_k, in [0, 1)
  std::vector<double> alpha_schedule{};///< if non-empty: alpha_k for k < iterations (size == iterations)
  bool learn_alpha = false;            ///< alpha_k = sigmoid(theta_k), theta initialised from the alphas
  double input_dropout = 0.0;          ///< dropout on the input features, in [0, 1)
  double dropout = 0.5;                ///< dropout after the encoder, in [0, 1)
  bool dropout_in_loop = true;         ///< also dropout (same p) on ReLU(G(x)) inside every iteration
  double lr = 0.01;                    ///< Adam learning rate (> 0)
  double weight_decay = 5e-4;          ///< Adam weight decay on every weight (>= 0)
  int epochs = 200;                    ///< training epochs (>= 1)
  bool row_normalise = true;           ///< divide each feature row by its sum
  /// Then "none", or "standardise": each column to mean 0 and variance 1 over all nodes (see scale_features()).
  std::string feature_scaling = "none";
  /// Spectral normalisation of the shared layer (0: off). With c > 0 the step uses
  /// W_c = W / max(1, sigma(W) / c), so ||W_c||_2 <= c and the relaxed step is a contraction with
  /// factor alpha + (1 - alpha) c when c < 1. Training estimates sigma(W) = u^T W v by one power-iteration
  /// step per epoch on persistent vectors (as torch's spectral_norm; gradients flow through sigma);
  /// evaluation, contraction() and solve_fixed_point() use the exact sigma (SVD, float64).
  double spectral_norm_bound = 0.0;
  /// How spectral_norm_bound = c > 0 is kept: "spectral": W / max(1, sigma(W) / c) as above;
  /// "frobenius": W = V / max(1, ||V||_F / c) with V the trained matrix, so ||W||_2 <= ||W||_F <= c
  /// holds exactly at every training step (no power-iteration estimate). Either way the step is the
  /// convex combination alpha x + (1 - alpha) g(x) of the identity and a c-Lipschitz g, with the
  /// stated bound alpha + (1 - alpha) c.
  std::string weight_bound = "spectral";
  /// gamma >= 0: adds gamma ||J(x)||_F^2 / numel(x) (Hutchinson, jacobian_penalty_samples vectors) at
  /// the training state (the fixed point in equilibrium mode, x_K otherwise) to the loss.
  double jacobian_penalty = 0.0;
  int jacobian_penalty_samples = 1;    ///< Rademacher vectors per epoch for the penalty (>= 1)
  std::string mode = "unrolled";       ///< "unrolled" (K = iterations steps) or "equilibrium" (see above)
  bool input_injection = false;        ///< unrolled mode: also add e inside the ReLU (always on in equilibrium mode)
  /// The map inside the relaxation: "gcn" (above: ReLU(A_hat x W + b [+ e])), or "propagate": APPNP's
  /// personalised-PageRank step with teleport to the encoder output (Klicpera et al., ICLR 2019),
  ///   x_{k+1} = alpha x_k + (1 - alpha) drop_loop((1 - teleport) A_hat x_k + teleport e),
  /// with no weight and no ReLU inside the loop (W and b are unused): a contraction with factor
  /// alpha + (1 - alpha) (1 - teleport) in any mode, since ||A_hat||_2 = 1, whose fixed point
  /// teleport (I - (1 - teleport) A_hat)^-1 e averages e over many hops.
  std::string step = "gcn";
  double teleport = 0.1;               ///< step "propagate": the weight of e in each step, in (0, 1]
  /// Equilibrium mode: the forward and adjoint solves and the fallback when one does not converge.
  /// Its `training` field may also be "unrolled" (K = equilibrium.unrolled_steps steps of the injected step).
  EquilibriumOptions equilibrium{};
  /// Equilibrium mode: start each training solve from the previous epoch's fixed point (the parameters
  /// moved by one optimizer step, so it is close); false: from the encoder output e every time.
  bool warm_start = true;
  std::uint64_t seed = 0;              ///< torch::manual_seed before initialisation and training
  std::string device = "cpu";          ///< torch::Device string: "cpu", "cuda", "cuda:1", ...

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// Accuracy and over-smoothing after one iteration of an inference schedule (evaluation mode).
struct PignIterationRecord {
  int iteration = 0;      ///< k: 0 is the encoder output, k >= 1 after k iterations
  double alpha = 0;       ///< alpha used to reach x_k (0 for k = 0)
  double train_acc = 0;   ///< decoder(x_k) accuracy on the training nodes
  double val_acc = 0;     ///< on the validation nodes
  double test_acc = 0;    ///< on the test nodes
  double mad = 0;         ///< mean average cosine distance of the rows of x_k (see mad())
  double step = 0;        ///< ||x_k - x_{k-1}||_F (0 for k = 0)
};

/// The contraction bound of one relaxed step against the rate observed when iterating it.
struct PignContraction {
  double alpha = 0;        ///< the constant relaxation used
  double weight_norm = 0;  ///< ||W||_2 of the shared layer, by power iteration (step "propagate": 1 - teleport)
  double bound = 0;        ///< alpha + (1 - alpha) weight_norm (Lipschitz bound, since ||A_hat||_2 = 1)
  double max_ratio = 0;    ///< max_k ||x_{k+1} - x_k|| / ||x_k - x_{k-1}|| over the iterations run
  double mean_ratio = 0;   ///< geometric mean of those ratios over the second half of the iterations
  int iterations = 0;      ///< iterations run (stops early when the step falls below 1e-13 ||x||)
  /// Local diagnostics at the last iterate x_K (the fixed point once the iteration has converged):
  /// rho(T'(x_K)) by power iteration on autograd Jacobian-vector products (the asymptotic rate of the
  /// iteration at a fixed point), and ||T'(x_K)||_2 (the local Lipschitz constant), both float64.
  double jacobian_spectral_radius = 0;
  bool jacobian_radius_converged = false;  ///< whether the JVP power iteration settled (see jacobian_spectral_radius())
  double jacobian_norm = 0;                ///< ||T'(x_K)||_2 by power iteration on J^T J
  double final_residual = 0;               ///< ||T(x_K) - x_K||_F / ||x_K||_F (how close x_K is to a fixed point)
};

/// Anderson against plain relaxed iteration for the fixed point of the trained step (deep-equilibrium style).
struct PignFixedPoint {
  double alpha = 0;            ///< relaxation of the step operator
  int picard_iterations = 0;   ///< iterations of x <- step(x) to the tolerance (or the cap)
  bool picard_converged = false;
  int anderson_iterations = 0; ///< iterations of Anderson(memory) to the tolerance (or the cap)
  bool anderson_converged = false;
  double test_acc = 0;         ///< decoder accuracy at Anderson's fixed point, test nodes
  double val_acc = 0;          ///< the same, validation nodes
};

/// A PIGN model bound to one graph: train, then evaluate along any schedule and measure contraction.
/// Deterministic for a seed on CPU. LibTorch failures come back as iterop::backend_error("LibTorch", ...).
class Pign {
 public:
  /// Builds and seeds the model; throws iterop::invalid_option for bad options or data.
  Pign(const GraphData& g, const PignOptions& o);
  ~Pign();
  Pign(Pign&&) noexcept;
  Pign& operator=(Pign&&) noexcept;

  /// Trains for o.epochs with K_train = o.iterations, then restores the parameters of the epoch
  /// selected on validation (accuracy, then loss).
  TrainReport train();

  /// Evaluation mode along an inference schedule: x_{k} from x_{k-1} with alphas[k-1]; one record
  /// per k = 0..alphas.size(). Each alpha must lie in [0, 1].
  std::vector<PignIterationRecord> evaluate(const std::vector<double>& alphas) const;

  /// The training relaxations alpha_0..alpha_{K-1} (learned ones when o.learn_alpha).
  std::vector<double> training_alphas() const;

  /// ||W||_2 of the shared layer as the step uses it (W_c under spectral normalisation) by power
  /// iteration on W^T W (float64, to 1e-12 relative or 2000 steps).
  double weight_spectral_norm() const;

  /// Iterates the relaxed step with constant alpha from the encoder output (evaluation mode,
  /// float64) and reports the bound alpha + (1 - alpha) ||W||_2 against the observed step ratios,
  /// and the Jacobian's spectral radius and norm at the last iterate (see PignContraction).
  PignContraction contraction(double alpha, int iterations = 60) const;

  /// Solves x = step(x), the trained step at constant alpha (x = alpha x + (1 - alpha) g(x), g as `step` says),
  /// with the core's Picard and Anderson(memory) on tensors (float64), |residual|_2 <= tol * ||x_0||, at most
  /// max_iterations.
  PignFixedPoint solve_fixed_point(double alpha, int memory = 5, double tol = 1e-6, int max_iterations = 500) const;

  /// Number of trainable scalars.
  long num_parameters() const;

  /// The options the model was built with.
  const PignOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A schedule of `count` alphas rising linearly from `first` to `last` (both included).
std::vector<double> linear_schedule(int count, double first, double last);

}  // namespace iterop::operators
