// Conditional flow matching (CFM, sigma = 0): an MLP velocity field v(x, t) regressed onto x_1 - x_0 at
// x_t = (1 - t) x_0 + t x_1, with independent (I-CFM) or minibatch optimal-transport (OT-CFM) pairing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "iterop/distributions/sample_set.hpp"
#include "iterop/fixed_point/observer.hpp"

namespace iterop::operators {

/// How the two minibatches of one training step are paired.
enum class CfmCoupling {
  independent,        ///< I-CFM: x_0[i] with x_1[i], both drawn independently (the product coupling)
  optimal_transport,  ///< OT-CFM: x_0[i] with x_1[pi(i)], pi the exact minimiser of sum_i ||x_0[i] - x_1[pi(i)]||^2
                      ///< over permutations (iterop::distributions::optimal_assignment), per minibatch
};
/// "icfm" or "otcfm".
std::string to_string(CfmCoupling c);
/// Parses "icfm" / "independent" / "otcfm" / "ot" / "optimal_transport"; throws iterop::invalid_option otherwise.
CfmCoupling parse_cfm_coupling(const std::string& name);

/// Options of the CFM velocity field and of its training. The network is an MLP on (x, t) in R^{dim+1}:
///   h_1 = act(W_1 [x, t] + b_1), h_{k+1} = act(W_{k+1} h_k + b_{k+1}) (k < depth), v = W_out h_depth + b_out,
/// i.e. `depth` hidden layers of `width` units (TorchCFM's MLP is depth 3, width 64, SELU). Trained with
/// Adam(lr) on the loss mean_i ||v(x_t[i], t[i]) - (x_1[i] - x_0[i])||^2 / dim over minibatches of `batch`
/// pairs, t[i] ~ U(0, 1) independently, for `steps` steps.
struct CfmOptions {
  int dim = 2;                    ///< dimension of x (>= 1)
  int width = 256;                ///< units per hidden layer (>= 1)
  int depth = 3;                  ///< hidden layers (>= 1)
  std::string activation = "selu";///< "relu", "selu", "silu", "gelu", "tanh", "elu"
  CfmCoupling coupling = CfmCoupling::independent;  ///< I-CFM or OT-CFM
  double lr = 1e-3;               ///< Adam learning rate (> 0, finite)
  int batch = 256;                ///< pairs per minibatch (>= 1); OT-CFM solves a batch x batch assignment per step
  int steps = 2000;               ///< training steps (>= 1)
  std::uint64_t seed = 0;         ///< torch::manual_seed before initialisation; t and the minibatches derive from it
  std::string device = "cpu";     ///< torch::Device string: "cpu", "cuda", "cuda:1", ...
  bool float64 = false;           ///< train and evaluate in float64 (default float32)

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// Draws a minibatch of n samples (rows n, the model's dim) for training step `step` (0-based).
/// Must be deterministic in (n, step) for training to be reproducible.
using CfmBatchSampler = std::function<distributions::SampleSet(std::size_t n, long step)>;

/// A sampler that draws fresh points from a named dataset of iterop::distributions::sample_dataset
/// every step: sample_dataset(name, n, dim, seed + 1000003 * (step + 1)). The name is checked now.
CfmBatchSampler dataset_sampler(const std::string& name, std::size_t dim, std::uint64_t seed);

/// A sampler that draws n rows of a fixed pool uniformly with replacement (std::mt19937_64 seeded by
/// seed and step), e.g. for training on a finite data set. The pool must have rows >= 1.
CfmBatchSampler pool_sampler(distributions::SampleSet pool, std::uint64_t seed);

/// What the progress callback sees after each training step.
struct CfmProgress {
  int step = 0;                 ///< 1-based step just taken
  int steps = 0;                ///< CfmOptions::steps
  double loss = 0;              ///< the minibatch loss of that step (before the update)
  double steps_per_second = 0;  ///< steps / wall seconds since training started
};
/// Called after every step; return Action::stop to end training early (the model keeps the weights so far).
using CfmProgressFn = std::function<Action(const CfmProgress&)>;

/// How training ended. Outcomes are data, never exceptions.
enum class CfmTrainStatus {
  completed,            ///< all steps were taken
  stopped_by_callback,  ///< the progress callback returned Action::stop
  non_finite_loss,      ///< a minibatch loss was NaN or Inf; training stopped before applying that step
};
/// "completed", "stopped_by_callback", "non_finite_loss".
std::string to_string(CfmTrainStatus s);

/// What train() reports.
struct CfmTrainReport {
  CfmTrainStatus status = CfmTrainStatus::completed;
  std::string message;              ///< one sentence saying how training ended
  int steps_done = 0;               ///< optimiser updates applied
  std::vector<double> losses;       ///< minibatch loss per step taken (the non-finite one included, last)
  double mean_pair_sq_distance = 0; ///< mean over steps of mean_i ||x_1[pi(i)] - x_0[i]||^2 of the training pairs
  double seconds = 0;               ///< wall time of training
  double assignment_seconds = 0;    ///< of which spent pairing (OT-CFM's assignment problems)
  double steps_per_second = 0;      ///< steps_done / seconds

  /// Mean loss of the last `window` steps taken (all of them when fewer); 0 when none.
  double final_loss(std::size_t window = 100) const;
  /// Whether every step was taken with a finite loss.
  bool usable() const { return status == CfmTrainStatus::completed; }
};

/// Mean squared distance mean_i ||x1[pairing[i]] - x0[i]||^2 of a pairing of two equal-size sample sets.
double mean_pair_sq_distance(const distributions::SampleSet& x0, const distributions::SampleSet& x1,
                             std::span<const std::size_t> pairing);

/// The pairing CFM trains on: identity for I-CFM, the exact OT assignment (squared Euclidean costs)
/// for OT-CFM; pairing[i] is the row of x1 paired with row i of x0. Equal sizes and dims required.
/// The costs are rounded to integer multiples of (max cost) / 2^40 (fewer bits above n = 2^11) before
/// iterop::distributions::optimal_assignment, whose network simplex can cycle on fractional costs; the
/// pairing is optimal for the rounded costs, so within n 2^-41 max cost of the true optimum.
std::vector<std::size_t> cfm_pairing(const distributions::SampleSet& x0, const distributions::SampleSet& x1,
                                     CfmCoupling coupling);

/// A CFM velocity field: build (seeded), train, evaluate v(x, t) on batches of plain data, save/load.
/// Deterministic for a seed on CPU. LibTorch failures come back as iterop::backend_error("LibTorch", ...).
/// Evaluation is const but not thread-safe (one model, one caller at a time).
class ConditionalFlowMatching {
 public:
  /// Builds and seeds the MLP; throws iterop::invalid_option for bad options.
  explicit ConditionalFlowMatching(const CfmOptions& o);
  ~ConditionalFlowMatching();
  ConditionalFlowMatching(ConditionalFlowMatching&&) noexcept;
  ConditionalFlowMatching& operator=(ConditionalFlowMatching&&) noexcept;

  /// Trains for options().steps steps (continuing from the current weights and optimiser state when
  /// called again), pairing source(batch, step) with target(batch, step) per options().coupling.
  /// A sampler returning the wrong shape throws iterop::invalid_option (naming both shapes) at that
  /// step; a non-finite loss and the callback's stop are statuses.
  CfmTrainReport train(const CfmBatchSampler& source, const CfmBatchSampler& target,
                       const CfmProgressFn& progress = {});

  /// The minibatch loss of the current weights on given pairs (x0[i], x1[pairing per coupling]) at
  /// given times t[i] in [0, 1] (no update); rows of x0, x1 and t.size() must agree.
  double loss(const distributions::SampleSet& x0, const distributions::SampleSet& x1,
              std::span<const double> t) const;

  /// v(x_r, t) for rows r < rows of x (row-major rows x dim) at one time t; writes rows x dim into out.
  void velocity(const double* x, std::size_t rows, double t, double* out) const;
  /// v(x_r, t_r) with a time per row (t has `rows` entries).
  void velocity(const double* x, std::size_t rows, const double* t, double* out) const;
  /// v(x, t) for a whole sample set at one time.
  distributions::SampleSet velocity(const distributions::SampleSet& x, double t) const;

  /// Number of trainable scalars.
  long num_parameters() const;
  /// Optimiser updates applied so far (over every train() call).
  long steps_trained() const;
  /// The options the model was built with.
  const CfmOptions& options() const;

  /// Writes options and weights to `path` (text, exact: every weight with enough digits to read
  /// back to the same value), atomically (temporary file + rename). The optimiser state is not saved.
  void save(const std::string& path) const;
  /// Reads a file written by save(); `device` overrides the saved device when non-empty. Throws
  /// iterop::invalid_option naming the file and the line for a malformed file.
  static ConditionalFlowMatching load(const std::string& path, const std::string& device = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace iterop::operators
