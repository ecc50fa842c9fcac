// CaLMFlow [CF]: flow matching as a Volterra equation, learned by a causal transformer over
// interleaved trajectory tokens. Plain-data facade (pimpl); LibTorch stays in src/calmflow*.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "iterop/distributions/sample_set.hpp"

namespace iterop::operators {

/// Options of a CaLMFlow model and of its training. The model reads trajectories
/// z(t_0), ..., z(t_{N-1}) on t_i = i / (N - 1) and predicts z(t_{i+1}) from z(t_0..t_i):
///   tokens:   each state z(t_i) in R^D -> Linear(D, w) -> GELU -> Linear(w, K w) -> K tokens of width w;
///             M trajectories share one sequence, time-major, then trajectory, then spatial token
///             (N M K flow tokens), after an optional prompt window of max_prompt_tokens word tokens;
///   body:     `layers` pre-LayerNorm blocks x += Attn(LN(x)), x += FF(LN(x)) with causal multi-head
///             self-attention (rotary or learned positions) and FF = Linear(w, feedforward) -> GELU -> Linear;
///             a final LayerNorm;
///   head:     variational: mu = f_mu(h), sigma^2 = exp(f_s(h)) + 1e-4 (two-layer MLPs, latent width w),
///             z = mu + tau sigma eps; deterministic (variational = false): z = f_mu(h);
///             the K latents of one (time, trajectory) are concatenated and a two-layer MLP decodes them to R^D.
/// Training (teacher forcing on straight paths x_t = (1 - t) x_0 + t x_1, tau = 1):
///   loss = mean over (sequence, i < N-1, trajectory) of sum_d (prediction_d - x_{t_{i+1}, d})^2
///        + beta * mean over the flow tokens of times i < N-1 of sum_latent KL(N(mu, sigma^2) || N(0, 1));
///   the last time step's tokens and the prompt tokens take part in neither term. Adam(lr).
struct CalmFlowOptions {
  int dim = 2;                      ///< D, dimension of a state (>= 1)
  int time_points = 16;             ///< N, time points t_0 = 0 < ... < t_{N-1} = 1 (>= 2)
  int spatial_tokens = 1;           ///< K, tokens per state (>= 1)
  int trajectories = 8;             ///< M, trajectories interleaved in one sequence (>= 1)
  int width = 64;                   ///< d_model = latent width (>= 2; even with rotary positions; multiple of heads)
  int layers = 2;                   ///< transformer blocks (>= 1)
  int heads = 2;                    ///< attention heads (>= 1; width % heads == 0; head width even with rotary)
  int feedforward = 256;            ///< hidden width of the blocks' feed-forward MLP (>= 1)
  std::string position = "rotary";  ///< "rotary" (RoPE on queries and keys, base 10000) or "learned" (absolute table)
  bool variational = true;          ///< variational head (true) or the deterministic ablation (false)
  double beta = 0.1;                ///< weight of the KL term (>= 0, finite; ignored when !variational)
  double lr = 1e-3;                 ///< Adam learning rate (> 0, finite)
  int batch = 256;                  ///< trajectories per training step (>= trajectories, multiple of trajectories)
  int steps = 1000;                 ///< training steps (>= 0); train() runs until step == steps
  std::uint64_t seed = 0;           ///< initialisation (torch::manual_seed) and the minibatch / noise RNG
  std::string device = "cpu";       ///< torch::Device string: "cpu", "cuda", "cuda:1", ...
  int max_prompt_tokens = 16;       ///< words of a prompt window (>= 1); used only by models built with prompts

  /// Throws iterop::invalid_option naming the field, the value and the rule (device is checked by the constructor).
  void validate() const;
};

/// Training data: pools of source points x_0 and target points x_1 (each row one point of dimension
/// D). Every step draws, with the model's seeded RNG, B / M sequences; a sequence takes M source rows
/// and M target rows uniformly with replacement, paired independently (row m with row m). With
/// prompts, a sequence first draws one target row r, takes prompts[r] as its prompt, and draws its M
/// target rows among the rows with that same prompt.
struct CalmFlowData {
  distributions::SampleSet source{}; ///< x_0 pool, rows >= 1, dim == D, finite
  distributions::SampleSet target{}; ///< x_1 pool, rows >= 1, dim == D, finite
  std::vector<std::string> prompts{};///< empty (unconditional) or one prompt per target row
};

/// Progress of training, passed to the callback.
struct CalmFlowProgress {
  int step = 0;                  ///< steps completed (1-based after the first step)
  int steps = 0;                 ///< CalmFlowOptions::steps
  double loss = 0;               ///< loss of the last step (mse + beta kl)
  double mse = 0;                ///< its squared-error term
  double kl = 0;                 ///< its KL term (before beta; 0 when !variational)
  double steps_per_second = 0;   ///< over the steps run by this call to train()
  double seconds_left = 0;       ///< (steps - step) / steps_per_second
};

/// How training ended.
enum class CalmFlowTrainStatus {
  completed,        ///< step == steps
  stopped,          ///< the progress callback asked to stop
  /// A loss was NaN or Inf: training stopped and the model holds the weights of the last step whose
  /// loss was finite (Adam state and RNG are not rolled back: resume from the last checkpoint to go on).
  non_finite_loss,
};

/// "completed", "stopped", "non_finite_loss".
const char* to_string(CalmFlowTrainStatus s);

/// Options of one call to train(): checkpoints, resume and progress.
struct CalmFlowTrainOptions {
  /// Checkpoint file (empty: none). Written atomically (temporary file in the same folder, then
  /// rename) every checkpoint_every steps and when training ends with a finite loss; it holds the
  /// options, vocabulary, weights, Adam state, step and RNG state. Never written after a non-finite loss.
  std::string checkpoint_path{};
  int checkpoint_every = 0;       ///< >= 0; 0: only at the end
  /// Checkpoint to resume from (empty: continue from the model's current state). Resuming restores
  /// weights, Adam state, step and RNG, so the run continues exactly as the uninterrupted one would
  /// (on CPU). Its options must equal the model's, except `steps`, and its vocabulary must too.
  std::string resume_from{};
  int progress_every = 1;         ///< call `progress` every this many steps and after the last (>= 1)
  /// Called with the progress; return false to stop training (status stopped). May be empty.
  std::function<bool(const CalmFlowProgress&)> progress{};
};

/// What train() reports. Numerical outcomes are statuses, never exceptions.
struct CalmFlowTrainReport {
  CalmFlowTrainStatus status = CalmFlowTrainStatus::completed;
  std::string message;            ///< one sentence: why training ended
  int first_step = 0;             ///< step the model was at when train() began (after any resume)
  int last_step = 0;              ///< steps completed when train() returned
  std::vector<double> loss;       ///< loss of each step run in this call (index 0 is step first_step + 1)
  std::vector<double> mse;        ///< its squared-error term
  std::vector<double> kl;         ///< its KL term (before beta)
  double seconds = 0;             ///< wall-clock time of this call
  double steps_per_second = 0;    ///< steps run in this call / seconds
  std::string last_checkpoint;    ///< the last checkpoint written (empty if none)
  int last_checkpoint_step = 0;   ///< its step
};

/// Options of generation.
struct CalmFlowSampleOptions {
  double temperature = 0.5;   ///< tau: z = mu + tau sigma eps (>= 0, finite); 0 gives the mean path
  std::uint64_t seed = 0;     ///< all noise eps of the sample is drawn up front from this seed
  std::string prompt{};       ///< conditioning text (only for models built with prompts; empty allowed there)
  bool use_cache = true;      ///< sequential generation with the key/value cache (true) or re-encoding each prefix
};

/// One fixed-point method run on the parallel-in-time problem x = T(x).
struct CalmFlowParallelSolve {
  std::string method;                  ///< e.g. "Picard", "Anderson(m=5, beta=1)"
  std::string status;                  ///< iterop::Status of the solve, as text
  bool converged = false;              ///< ||T(x) - x||_max <= tol
  int iterations = 0;                  ///< iterations of the solver
  long evaluations = 0;                ///< forward passes of the whole trajectory (sweeps), all evaluations
  int sweeps_to_tol = -1;              ///< first k with ||x_k - x_sequential||_max <= tol (-1: never)
  std::vector<double> error_history;   ///< ||x_k - x_sequential||_max for k = 0, 1, ...
  std::vector<double> residual_history;///< ||T(x_k) - x_k||_max for k = 0, 1, ...
  double error = 0;                    ///< ||x - x_sequential||_max at the returned iterate
  distributions::SampleSet sample;     ///< its final states x(t_{N-1})
};

/// Options of the parallel-in-time solve.
struct CalmFlowParallelOptions {
  /// Tolerance on ||T(x) - x||_max and on ||x_k - x_sequential||_max (>= 0). The states are float32
  /// and the sequential sample is computed with other tensor shapes, so x_sequential itself is known
  /// only to about 1e-5 for states of size ~5; tol = 0 asks for an exact fixed point of T.
  double tol = 1e-4;
  int max_sweeps = 0;       ///< iteration cap of each solver (>= 0; 0: 2 (N - 1))
  int anderson_memory = 5;  ///< Anderson depth (>= 1)
};

/// Parallel-in-time generation against sequential generation with the same noise.
struct CalmFlowParallelReport {
  int sequential_passes = 0;              ///< N - 1 forward passes of sequential generation
  distributions::SampleSet sequential;    ///< the sequential sample (cache-free), final states
  CalmFlowParallelSolve picard;           ///< Picard from the initial guess x(t_i) = x_0 for all i
  CalmFlowParallelSolve anderson;         ///< Anderson(memory) from the same guess
};

/// Role of one token position of the model's sequence.
struct CalmFlowToken {
  bool prompt = false;  ///< a prompt-window position (no time, trajectory, spatial index)
  int time = -1;        ///< i for flow tokens
  int trajectory = -1;  ///< m for flow tokens
  int spatial = -1;     ///< k for flow tokens
  bool in_loss = false; ///< the token's output enters the loss (flow tokens of times i < N - 1)
};

/// A training loss evaluated on one minibatch, broken down by token position.
struct CalmFlowLossBreakdown {
  double loss = 0;                    ///< mse + beta kl, exactly as a training step computes it
  double mse = 0;
  double kl = 0;
  /// Per token position (size == layout().size()): the share of `loss` carried by that position,
  /// summed over the minibatch; a (time, trajectory) group's squared error is split evenly over its
  /// K tokens. Sums to `loss`; zero exactly where the loss mask excludes the position.
  std::vector<double> per_position;
};

/// Trajectories as N time slices: slice i holds x(t_i) for every trajectory (rows = trajectories).
/// Trajectory r sits in sequence r / M as trajectory r % M.
using CalmFlowTrajectory = std::vector<distributions::SampleSet>;

/// A CaLMFlow model: build, train (with checkpoints and resume), save/load, generate (with or
/// without a key/value cache), generate in parallel in time as a fixed point, and evaluate its
/// one-step operator. Deterministic for a seed on CPU. LibTorch failures come back as
/// iterop::backend_error("LibTorch", ...); bad input throws iterop::invalid_option before any work.
class CalmFlow {
 public:
  /// Builds and seeds the model. `prompts` (may be empty) builds the word vocabulary for
  /// conditioning: lower-cased words, split at white space, with , . : ; ! ? ( ) " ' removed; sorted.
  /// A model built with an empty list is unconditional. Throws invalid_option for bad options, or a
  /// prompt with more than max_prompt_tokens words.
  explicit CalmFlow(const CalmFlowOptions& o, const std::vector<std::string>& prompts = {});
  ~CalmFlow();
  CalmFlow(CalmFlow&&) noexcept;
  CalmFlow& operator=(CalmFlow&&) noexcept;

  /// Trains from the current step (or from t.resume_from) until options().steps. Throws
  /// invalid_option for bad data (dimension, empty pools, non-finite values, prompt count, unknown
  /// words) or training options, before any step.
  CalmFlowTrainReport train(const CalmFlowData& data, const CalmFlowTrainOptions& t = {});

  /// Steps trained so far.
  int step() const;

  /// Sets options().steps (the training budget) for a later train(); >= 0.
  void set_steps(int steps);

  /// Writes options, vocabulary, weights and step to `path` atomically (temporary file + rename).
  void save(const std::string& path) const;

  /// Reads a model written by save() (or a training checkpoint) on `device` (empty: the saved one).
  /// A loaded model samples exactly as the saved one did. Throws invalid_option for an unreadable
  /// file, naming it.
  static CalmFlow load(const std::string& path, const std::string& device = "");

  /// Generates from source points x0 (rows >= 1, dim == D; the rows are grouped M to a sequence and
  /// the last group is padded by repeating rows from the start). Returns x(t_{N-1}) for each row.
  /// An unknown prompt word throws invalid_option naming the word.
  distributions::SampleSet sample(const distributions::SampleSet& x0, const CalmFlowSampleOptions& s = {}) const;

  /// As sample(), returning all N time slices (slice 0 is x0).
  CalmFlowTrajectory sample_trajectory(const distributions::SampleSet& x0, const CalmFlowSampleOptions& s = {}) const;

  /// The one-step operator T with the noise of (s.seed, trajectory rows) drawn up front:
  /// T(x)(t_0) = x(t_0), T(x)(t_{i+1}) = decode(head(model(x(t_0..t_i)))), from one forward pass over the
  /// whole trajectory. Strictly causal: T(x)(t_{i+1}) depends on x(t_0..t_i) only. Its fixed point is
  /// the sequential sample with the same seed: T(sample_trajectory(x0, s)) == sample_trajectory(x0, s).
  CalmFlowTrajectory apply_operator(const CalmFlowTrajectory& x, const CalmFlowSampleOptions& s = {}) const;

  /// Solves x = T(x) with the core's Picard and Anderson on tensors (float32) from the guess
  /// x(t_i) = x0 for all i, and compares each iterate with sequential (cache-free) generation.
  /// Picard is exact after at most N - 1 sweeps (T is strictly causal).
  CalmFlowParallelReport sample_parallel(const distributions::SampleSet& x0, const CalmFlowSampleOptions& s = {},
                                         const CalmFlowParallelOptions& p = {}) const;

  /// The training loss on one minibatch of `sequences` sequences drawn from `data` with `seed`
  /// (model unchanged), with its breakdown by token position.
  CalmFlowLossBreakdown loss_breakdown(const CalmFlowData& data, int sequences = 1, std::uint64_t seed = 0) const;

  /// Role of every token position, prompt window first (only with prompts), then N M K flow tokens.
  std::vector<CalmFlowToken> layout() const;

  /// The vocabulary (sorted words; empty for an unconditional model).
  const std::vector<std::string>& vocabulary() const;

  /// Whether the model conditions on prompts.
  bool conditional() const;

  /// Number of trainable scalars.
  long num_parameters() const;

  /// The options the model was built with (steps as last set).
  const CalmFlowOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  CalmFlow();
};

}  // namespace iterop::operators
