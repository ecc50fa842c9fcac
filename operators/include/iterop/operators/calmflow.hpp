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
/// z(t_0), ..., z(t_{N-1}) on t_i = i / (N - 1) and predicts the distribution of z(t_{i+1}) from z(t_0..t_i):
///   tokens:   each state z(t_i) in R^D (with t_i when time_input) -> MLP(-> K w -> K w) -> K tokens of width w; M trajectories share
///             one sequence, time-major, then trajectory, then spatial token (N M K flow tokens), after an
///             optional prompt window of max_prompt_tokens word tokens;
///   body:     `layers` causal transformer blocks (pre-LayerNorm; sequential x += Attn(LN(x)), x += FF(LN(x))
///             or GPT-NeoX parallel x += Attn(LN1(x)) + FF(LN2(x))), rotary positions on a fraction of
///             each head's dimensions or a learned table; a final LayerNorm;
///   head:     from the K tokens h of (time i, trajectory m), see `head`:
///     "variational"   the paper's: per token mu = f_mu(h), sigma^2 = exp(f_s(h)) + 1e-4 (latent width w),
///                     z = mu + tau sigma eps, the K latents concatenated and decoded by an MLP to R^D;
///     "deterministic" the same with z = mu (the paper's ablation);
///     "gaussian"      heteroscedastic Gaussian transition: an MLP of h gives mean m and log-variance s in
///                     R^D, z(t_{i+1}) ~ N(m, diag exp(s)), sampled as m + tau exp(s / 2) eps;
///     "flow"          a flow-matching head: a velocity MLP v(y, r, h) on y in R^D, r in [0, 1], trained on
///                     y_r = (1 - r) e + r y_1 with target y_1 - e (e ~ N(0, I), r ~ U(0, 1)) and sampled by
///                     head_steps Euler steps from y_0 = tau e;
///             with `head_reads_state` the gaussian and flow MLPs read (h, z(t_i), z(t_0)) instead of h;
///             with `increment` the head models y = z(t_{i+1}) - z(t_i) (so the output is not confined to
///             a fixed affine subspace); otherwise y = z(t_{i+1}).
/// MLP forms (`mlp`): "gelu" Linear -> GELU -> Linear; "paper" Linear -> LayerNorm (no affine) -> ReLU ->
/// dropout -> Linear (the decoder with one more such hidden layer), as in the authors' code.
/// Training is teacher-forced on paths x_i = (1 - t_i) x_0 + t_i x_1 + sigma(t_i) eps_i (see `paths`; fresh
/// eps_i at every time point, sampling starts from a clean source point). Per (sequence, i < N-1,
/// trajectory) the data term is: the squared error of the prediction summed over D (divided by D when
/// normalise_loss) for variational/deterministic; the Gaussian negative log-likelihood
/// 0.5 ((y - m)^2 exp(-s) + s) averaged over D for gaussian; the velocity squared error averaged over D for
/// flow. loss = mean data term + beta * (KL of the variational latents, summed over latent dimensions,
/// averaged over the flow tokens of times i < N-1; divided by D when normalise_loss). The last time step's
/// tokens and the prompt tokens take part in no term. Adam(lr), or AdamW when weight_decay > 0; cosine or
/// constant learning rate.
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
  std::string head = "gaussian";    ///< "gaussian", "flow", "variational" (the paper's) or "deterministic"
  bool increment = true;            ///< the head models z(t_{i+1}) - z(t_i) (true) or z(t_{i+1}) (false)
  int head_width = 0;               ///< hidden width of the head / decoder MLPs (>= 0; 0: max(K w, D))
  int head_steps = 32;              ///< Euler steps of the flow head's sampler (>= 1)
  /// The gaussian and flow heads also read the current state z(t_i) and the source state z(t_0), beside the
  /// K w numbers of the transformer: a skip past the token bottleneck, so that in high dimension the next
  /// state can depend on every coordinate of the prefix (not only through K w summaries). Not for the
  /// variational and deterministic heads (the paper's decoder reads its latents only).
  bool head_reads_state = false;
  /// The encoder reads (z(t_i), t_i) instead of z(t_i): time given explicitly, not only through positions
  /// (the authors' code: positions only).
  bool time_input = true;
  std::string mlp = "gelu";         ///< MLP form of encoder, heads and decoder: "gelu" or "paper"
  double dropout = 0.0;             ///< dropout of the "paper" MLPs in training (0 <= dropout < 1)
  double rotary_fraction = 1.0;     ///< share of each head's dimensions rotated (0 < f <= 1; GPT-NeoX: 0.25)
  bool parallel_residual = false;   ///< GPT-NeoX block form x += Attn(LN1(x)) + FF(LN2(x))
  std::string paths = "bridge";     ///< training paths: "straight", "noisy", "bridge", "variance-exploding"
  /// Noise of the paths: "noisy" sigma(t) = path_sigma at interior points (0 < t < 1), 0 at the ends;
  /// "bridge" sigma(t) = path_sigma sqrt(t (1 - t)); "variance-exploding"
  /// sigma(t) = sigma_min (sigma_max / sigma_min)^(1 - t) at every point (the authors' paths).
  double path_sigma = 1.0;          ///< >= 0, finite
  double sigma_min = 1e-4;          ///< > 0, finite (variance-exploding)
  double sigma_max = 10.0;          ///< >= sigma_min, finite (variance-exploding)
  bool normalise_loss = true;       ///< divide the squared error and the KL by D (beta means the same at every D)
  double beta = 0.1;                ///< weight of the KL term (>= 0, finite; used by the variational head only)
  double lr = 1e-3;                 ///< Adam learning rate (> 0, finite)
  double weight_decay = 0.0;        ///< decoupled weight decay (AdamW) when > 0 (>= 0, finite)
  /// "cosine": the learning rate of step k (0-based) is lr (1 + cos(pi k / steps)) / 2 (so it depends on the
  /// budget `steps`); "constant": lr throughout (the authors').
  std::string lr_schedule = "cosine";
  int batch = 256;                  ///< trajectories per training step (>= trajectories, multiple of trajectories)
  int steps = 1000;                 ///< training steps (>= 0); train() runs until step == steps
  std::uint64_t seed = 0;           ///< initialisation (torch::manual_seed) and the minibatch / noise RNG
  std::string device = "cpu";       ///< torch::Device string: "cpu", "cuda", "cuda:1", ...
  int max_prompt_tokens = 16;       ///< words of a prompt window (>= 1); used only by models built with prompts

  /// Throws iterop::invalid_option naming the field, the value and the rule (device is checked by the constructor).
  void validate() const;

  /// Whether the head draws noise when sampling (all heads but "deterministic").
  bool stochastic() const { return head != "deterministic"; }
};

/// Named settings: "default" (CalmFlowOptions{}) or "paper-2d", the authors' public 2-D training script
/// (variational head on variance-exploding paths sigma_min 1e-4, sigma_max 10; no increment, time by
/// position only; "paper" MLPs
/// of width w with dropout 0.1; rotary on 25 % of each head's dimensions, parallel residual blocks;
/// width 64, 2 layers, 2 heads, feed-forward 256, N = 16, M = 8, K = 1; beta 0.1 with the KL and squared
/// error summed over dimensions; Adam lr 1e-3, batch 256, 10,000 steps; sample at temperature 0.5).
/// Throws invalid_option for another name.
CalmFlowOptions calmflow_preset(const std::string& name);

/// The names calmflow_preset() accepts.
std::vector<std::string> calmflow_preset_names();

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
  double mse = 0;                ///< its data term (squared error, Gaussian NLL or velocity error: see CalmFlowOptions)
  double kl = 0;                 ///< its KL term (before beta; 0 but for the variational head)
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
  /// Exception: with dropout > 0 (the paper-2d preset) the dropout masks come from LibTorch's global
  /// generator, which the checkpoint does not hold, so a resumed run differs from the uninterrupted one.
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
  /// tau, the scale of the head's noise (>= 0, finite; 0 gives the noise-free path); negative: the head's
  /// default, 0.5 for the variational head (the authors'), 1 for the gaussian and flow heads (the model).
  double temperature = -1;
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
  CalmFlowParallelSolve anderson;         ///< Anderson(memory) from the same guess, mixing whole trajectories
  /// Anderson on the not-yet-exact suffix: at sweep k the states t_0..t_{k+1} of T(x_k) are exact (T is
  /// strictly causal) and taken as they are; Anderson (Type II, the same memory, least squares in float64)
  /// mixes only the later states. Exact after at most N - 1 sweeps, like Picard.
  CalmFlowParallelSolve anderson_suffix;
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

  /// How much the final state depends on the head's noise: sample twice from the same x0 with the
  /// noise of seeds s.seed and s.seed + 1 and return sqrt(mean over rows of ||x_a - x_b||^2 / 2), the
  /// root-mean-square spread of x(t_{N-1}) given x0 (0 for a head that ignores its noise). For a model
  /// trained on independently paired x_0, x_1 it should approach sqrt(trace Cov(target)).
  double noise_spread(const distributions::SampleSet& x0, const CalmFlowSampleOptions& s = {}) const;

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
