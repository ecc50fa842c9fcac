// The DDPM noise-prediction network eps_theta(x_t, t) (MLP with a sinusoidal time embedding), DDPM and
// DDIM sampling, and the sampling chain as a causal operator solved parallel-in-time (ParaDiGMS).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "iterop/core/status.hpp"
#include "iterop/distributions/sample_set.hpp"
#include "iterop/fixed_point/observer.hpp"

namespace iterop::operators {

/// The noise schedule beta_t, t = 0..T-1.
enum class BetaSchedule {
  linear,  ///< beta_t linear from 1e-4 * 1000 / T to 0.02 * 1000 / T (Ho et al.'s range, scaled to T steps)
  cosine,  ///< Nichol & Dhariwal: alpha_bar(t) = cos^2(((t / T) + s) / (1 + s) pi / 2), s = 0.008, beta <= 0.999
};

/// "linear" or "cosine".
std::string_view to_string(BetaSchedule s);
/// The schedule called `name` ("linear", "cosine"); throws iterop::invalid_option otherwise.
BetaSchedule parse_beta_schedule(std::string_view name);

/// beta_t for t = 0..T-1 (T >= 2).
std::vector<double> beta_schedule(BetaSchedule s, int diffusion_steps);

/// The S strided timesteps of a sampler, increasing: tau_i = floor(i T / S) - 1 for i = 1..S, so
/// tau_S = T - 1 (1 <= S <= T). The chain visits them from tau_S down to tau_1, then to the data.
std::vector<int> sampling_timesteps(int diffusion_steps, int sampling_steps);

/// Options of the denoiser. The network is eps_theta(x, t) = MLP([x, e(t)]): `depth` hidden layers of
/// `width` with SiLU, e(t) = (sin(t f_i), cos(t f_i)), f_i = 10000^(-i / (E / 2)), i < E / 2.
/// Training: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps on data standardised per
/// coordinate (mean and standard deviation of the training set, kept with the model), t uniform in
/// {0..T-1}, loss mean ||eps_theta(x_t, t) - eps||^2, Adam.
struct DenoiserOptions {
  int dim = 2;                     ///< data dimension (>= 1)
  int width = 128;                 ///< hidden width (>= 1)
  int depth = 3;                   ///< hidden layers (>= 1)
  int time_embedding = 32;         ///< E, size of the sinusoidal time embedding (even, >= 2)
  int diffusion_steps = 100;       ///< T (2..100000)
  BetaSchedule schedule = BetaSchedule::linear;  ///< beta_t
  double lr = 1e-3;                ///< Adam learning rate (> 0)
  int batch = 256;                 ///< minibatch size (>= 1)
  int training_steps = 3000;       ///< Adam steps (>= 0)
  int progress_every = 100;        ///< steps per progress report and per loss record (>= 1)
  std::uint64_t seed = 0;          ///< initialisation (seed) and training draws (seed + 1)
  std::string device = "cpu";      ///< torch::Device string: "cpu", "cuda", "cuda:1", ...

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// What the training callback sees every DenoiserOptions::progress_every steps (and at the end).
struct DenoiserProgress {
  int step = 0;         ///< steps done
  int total = 0;        ///< steps planned
  double loss = 0;      ///< mean loss over the steps since the previous report
  double seconds = 0;   ///< since training started
};

/// Training progress callback: Action::stop ends training after the current step.
using DenoiserCallback = std::function<Action(const DenoiserProgress&)>;

/// How training ended: outcomes are data, never exceptions.
enum class DenoiserTrainStatus {
  completed,            ///< all training_steps ran
  stopped_by_callback,  ///< the callback returned Action::stop
  non_finite_loss,      ///< the loss became NaN or infinite (training stopped at that step)
};

/// "completed", "stopped_by_callback", "non_finite_loss".
std::string_view to_string(DenoiserTrainStatus s);

/// What train() reports.
struct DenoiserTrainReport {
  DenoiserTrainStatus status = DenoiserTrainStatus::completed;
  std::string message;              ///< one sentence
  int steps = 0;                    ///< Adam steps taken
  std::vector<int> loss_steps;      ///< step at the end of each reporting interval
  std::vector<double> losses;       ///< mean loss over each reporting interval
  double initial_loss = 0;          ///< losses.front() (0 when no step ran)
  double final_loss = 0;            ///< losses.back()
  double seconds = 0;               ///< wall-clock training time
};

/// The sampler of the reverse chain.
enum class Sampler {
  ddpm,  ///< ancestral sampling with the posterior variance beta~ (identical to DDIM with eta = 1)
  ddim,  ///< DDIM with SamplingOptions::eta (0: deterministic)
};

/// "ddpm" or "ddim".
std::string_view to_string(Sampler s);

/// One sampling run. With alpha_bar at the current timestep t and alpha_bar' at the next (1 after
/// the last), every step is linear in x and eps:
///   x' = sqrt(alpha_bar') x0_hat + sqrt(1 - alpha_bar' - sigma^2) eps_theta(x, t) + sigma z,
///   x0_hat = (x - sqrt(1 - alpha_bar) eps_theta) / sqrt(alpha_bar),
///   sigma = eta sqrt((1 - alpha_bar') / (1 - alpha_bar)) sqrt(1 - alpha_bar / alpha_bar').
/// The initial noise x_0 ~ N(0, I) and every z_k are drawn up front from `seed` (a CPU generator):
/// x_0 depends on the seed and the number of samples only, not on S or the sampler.
struct SamplingOptions {
  Sampler sampler = Sampler::ddim;
  int steps = 50;                ///< S, denoising steps (1 <= S <= T), at sampling_timesteps(T, S)
  double eta = 0.0;              ///< DDIM's eta in [0, 1] (DDPM is eta = 1 whatever this says)
  std::size_t samples = 1000;    ///< number of samples (>= 1)
  std::uint64_t seed = 0;        ///< seed of the initial noise and of every z_k

  /// Throws iterop::invalid_option naming the field, the value and the rule (T: diffusion steps).
  void validate(int diffusion_steps) const;
};

/// The fixed-point method that solves the chain.
enum class ChainMethod { picard, anderson };
/// "picard" or "anderson".
std::string_view to_string(ChainMethod m);

/// Which causal operator on trajectories (x_1..x_S, with x_0 the fixed initial noise) is iterated.
/// Both have the sequential chain as their only fixed point.
enum class ChainForm {
  cumulative,  ///< T(x)_k = x_0 + sum_{i<k} (F_i(x_i) - x_i) (ParaDiGMS: the integral form)
  step,        ///< T(x)_k = F_{k-1}(x_{k-1}) (one step applied to the previous state)
};
/// "cumulative" or "step".
std::string_view to_string(ChainForm f);

/// Parallel-in-time sampling: the chain x_{k+1} = F_k(x_k) = a_k x_k + b_k eps_theta(x_k, t_k) + c_k z_k
/// (noise fixed up front) is solved as x = T(x) in sliding windows of `window` steps. Each sweep
/// evaluates the network once on the whole window (one batched call of window x samples rows). The
/// steps are measured in scaled units y_k = x_k / s_k, s_k = sqrt(1 - alpha_bar) at the input of the
/// step that produces x_k; step k has converged when max |T(x)_k - x_k| <= tolerance s_k. The core's
/// Picard or Anderson runs on the window (torch tensors, Stop with Norm::max); after a sweep in which
/// the leading p steps have converged, the p steps and the one after them (computed from converged
/// inputs) are taken, once at least `min_slide` of them are, and the window slides by that many.
/// Picard reaches the sequential chain in at most S sweeps.
struct ParallelSamplingOptions {
  ChainMethod method = ChainMethod::picard;
  ChainForm form = ChainForm::cumulative;
  int window = 0;              ///< steps per window (>= 0); 0 or more than S: the whole chain
  double tolerance = 1e-3;     ///< per-step tolerance relative to the noise scale s_k (> 0, finite)
  int anderson_memory = 5;     ///< Anderson's depth m (>= 1)
  /// Steps that must be ready before the window slides (>= 0; clamped to the window). 0 chooses:
  /// 1 for Picard (slide after every sweep, as ParaDiGMS), the whole window for Anderson (whose
  /// history a slide would discard).
  int min_slide = 0;
  int max_sweeps = 0;          ///< sweep budget (>= 0); 0: 4 S

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// A sample of the chain and the work it took.
struct SamplingResult {
  distributions::SampleSet samples;  ///< x_S in data coordinates (rows = samples, dim)
  Status status = Status::converged; ///< parallel sampling: converged, or why it stopped
  std::string message;               ///< one sentence
  int steps = 0;                     ///< S
  int sweeps = 0;                    ///< sequential network calls: S when sequential, sweeps when parallel
  long network_evaluations = 0;      ///< network evaluations counted per step of the chain (sequential: S)
  int windows = 0;                   ///< window positions solved (0 when sequential)
  double seconds = 0;                ///< wall-clock time
};

/// Options of DiffusionDenoiser::step_contraction(): contraction diagnostics of the learned sampling
/// step F_k(x) = a_k x + b_k eps_theta(x, t_k) of deterministic DDIM (eta = 0), in standardised
/// coordinates, at the points x_k of sequential trajectories.
struct StepContractionOptions {
  int steps = 20;                 ///< S of the DDIM chain (1 <= S <= T)
  std::size_t trajectories = 2;   ///< sequential trajectories whose points are probed (>= 1)
  std::uint64_t seed = 0;         ///< initial noise (as SamplingOptions::seed) and power-iteration starts
  int max_iterations = 300;       ///< power-iteration steps at most per estimate (>= 2)
  double power_tol = 1e-9;        ///< power-iteration relative tolerance (> 0)
  double picard_tolerance = 1e-3; ///< tolerance of the observed Picard convergence, relative to the noise scale (> 0)

  /// Throws iterop::invalid_option naming the field, the value and the rule (T: diffusion steps).
  void validate(int diffusion_steps) const;
};

/// One step k (x_k -> x_{k+1}) of the chain, over the probed trajectories.
struct StepContractionRow {
  int k = 0;                  ///< step index, 0..S-1
  int t = 0;                  ///< its timestep t_k
  double a = 0;               ///< the linear coefficient a_k = sqrt(alpha_bar' / alpha_bar) of x in F_k
  double radius_mean = 0;     ///< mean over trajectories of rho(F_k'(x_k)) (power iteration on J v)
  double radius_max = 0;      ///< largest rho(F_k'(x_k))
  double norm_mean = 0;       ///< mean over trajectories of ||F_k'(x_k)||_2 (power iteration on J^T J)
  double norm_max = 0;        ///< largest ||F_k'(x_k)||_2
  /// Mean and largest ||F_k'(x_k) - I||_2: the block of the cumulative (ParaDiGMS) form's Jacobian,
  /// whose Picard error propagates through sums of (J_i - I), not through products of J_i.
  double shifted_norm_mean = 0;
  double shifted_norm_max = 0;
  int radius_converged = 0;   ///< trajectories whose radius estimate met power_tol (others: Gelfand mean)
  /// Observed Picard on the step form T(x)_k = F_{k-1}(x_{k-1}), whole chain, all trajectories batched,
  /// started from x_0 everywhere: the sweep from which on max |x_{k+1} - x_seq,{k+1}| <= picard_tolerance
  /// x s_k (s_k = sqrt(1 - alpha_bar(t_k))). Causality makes it at most k + 1.
  int picard_sweeps = 0;
  /// Error of x_{k+1} after sweep k / 2 + 1 (half-way to the causal bound), relative to s_k: how far
  /// contraction, rather than causality, has brought the step.
  double picard_error_half = 0;
};

/// What step_contraction() reports.
struct StepContractionReport {
  std::vector<StepContractionRow> steps;  ///< S rows, k = 0..S-1
  /// Max over steps and trajectories of |x^(n)_k - x_seq,k| / s_(k-1) after sweep n = 1..S (step-form
  /// Picard); the S-th entry is 0 up to rounding (finite termination).
  std::vector<double> picard_error;
  long jacobian_products = 0;             ///< J v and J^T w products computed
  double seconds = 0;                     ///< wall-clock time
};

/// A DDPM denoiser: train on samples, then sample sequentially or parallel-in-time. Deterministic for a
/// seed on CPU. LibTorch failures come back as iterop::backend_error("LibTorch", ...).
class DiffusionDenoiser {
 public:
  /// Builds the network, initialised from o.seed; throws iterop::invalid_option for bad options.
  explicit DiffusionDenoiser(const DenoiserOptions& o);
  ~DiffusionDenoiser();
  DiffusionDenoiser(DiffusionDenoiser&&) noexcept;
  DiffusionDenoiser& operator=(DiffusionDenoiser&&) noexcept;

  /// Trains on `data` (rows >= 1, dim == options().dim, finite; invalid_option otherwise) for
  /// options().training_steps Adam steps, calling `progress` every progress_every steps. Sets the
  /// standardisation (mean, standard deviation per coordinate) from `data`.
  DenoiserTrainReport train(const distributions::SampleSet& data, const DenoiserCallback& progress = {});

  /// Sequential sampling: S network evaluations.
  SamplingResult sample(const SamplingOptions& s) const;

  /// The same chain solved parallel-in-time (see ParallelSamplingOptions).
  SamplingResult sample_parallel(const SamplingOptions& s, const ParallelSamplingOptions& p) const;

  /// Contraction diagnostics of the learned DDIM step along sequential trajectories (see
  /// StepContractionOptions): spectral radius and norm of the step Jacobian by power iteration on
  /// autograd Jacobian-vector products (learned_contraction), beside observed step-form Picard.
  StepContractionReport step_contraction(const StepContractionOptions& o) const;

  /// eps_theta(x, t) for standardised inputs x (rows x dim) at timestep t in [0, T); float64.
  distributions::SampleSet predict_noise(const distributions::SampleSet& x, int t) const;

  /// alpha_bar_t = prod_{i<=t} (1 - beta_i), t = 0..T-1.
  std::vector<double> alpha_bars() const;

  /// Per-coordinate mean and standard deviation of the training data (0 and 1 before training).
  std::vector<double> data_mean() const;
  std::vector<double> data_scale() const;

  /// Writes the options, the standardisation and the weights (LibTorch archive).
  void save(const std::filesystem::path& file) const;
  /// Reads a file written by save(); `device` (if not empty) replaces the saved device.
  static DiffusionDenoiser load(const std::filesystem::path& file, const std::string& device = "");

  /// Number of trainable scalars.
  long num_parameters() const;
  /// The options the model was built with.
  const DenoiserOptions& options() const;

 private:
  DiffusionDenoiser();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace iterop::operators
