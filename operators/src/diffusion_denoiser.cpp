// DDPM denoiser on LibTorch: MLP eps_theta(x, t) with a sinusoidal time embedding, seeded training on
// standardised samples, DDPM/DDIM sampling, the chain solved parallel-in-time with the core's solvers.
#include "iterop/operators/diffusion_denoiser.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>
#include <torch/optim/adam.h>
#include <torch/serialize.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include "detail/checkpoint_file.hpp"
#include "detail/data_parallel.hpp"
#include "detail/graph_tensors.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/operators/learned_contraction.hpp"
#include "iterop/operators/torch_vector_ops.hpp"

namespace iterop::operators {

namespace {

constexpr const char* kFormat = "iterop.diffusion_denoiser/1";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The MLP's parameters: layer i maps in_i -> out_i (W: out x in, b: out), i = 0..depth.
struct DenoiserNet : torch::nn::Module {
  std::vector<torch::Tensor> w, b;
  DenoiserNet(const DenoiserOptions& o, at::Generator& gen) {
    int64_t in = o.dim + o.time_embedding;
    for (int i = 0; i <= o.depth; ++i) {
      const int64_t out = i < o.depth ? o.width : o.dim;
      const double r = 1.0 / std::sqrt(double(in));  // torch::nn::Linear's default range
      const std::string index = std::to_string(i);  // (GCC 12 warns falsely on "w" + std::to_string(i))
      w.push_back(register_parameter(std::string("w").append(index), torch::rand({out, in}, gen, torch::kFloat32) * (2 * r) - r));
      b.push_back(register_parameter(std::string("b").append(index), torch::rand({out}, gen, torch::kFloat32) * (2 * r) - r));
      in = out;
    }
  }
};

/// e(t) = (sin(t f_i), cos(t f_i)), f_i = 10000^(-i / half), for a float tensor t of shape [N].
torch::Tensor time_embedding(const torch::Tensor& t, int size) {
  const int64_t half = size / 2;
  auto i = torch::arange(half, t.options());
  auto f = torch::exp(i * (-std::log(10000.0) / double(half)));
  auto arg = t.unsqueeze(1) * f.unsqueeze(0);
  return torch::cat({torch::sin(arg), torch::cos(arg)}, 1);
}

/// eps_theta(x, t) with the given parameter lists (float32 for training, float64 copies for sampling).
torch::Tensor mlp(const std::vector<torch::Tensor>& w, const std::vector<torch::Tensor>& b, const torch::Tensor& x,
                  const torch::Tensor& t, int embedding) {
  auto h = torch::cat({x, time_embedding(t, embedding)}, 1);
  const std::size_t last = w.size() - 1;
  for (std::size_t i = 0; i < last; ++i) h = torch::silu(torch::addmm(b[i], h, w[i].t()));
  return torch::addmm(b[last], h, w[last].t());
}

/// Per-step coefficients of the chain x_{k+1} = a_k x_k + b_k eps(x_k, t_k) + c_k z_k, k = 0..S-1,
/// with t_k and s_{k+1} = sqrt(1 - alpha_bar(t_k)) (the noise scale at the input of step k).
struct Chain {
  std::vector<int> t;
  std::vector<double> a, b, c, scale;
};

Chain make_chain(const std::vector<double>& alpha_bar, const SamplingOptions& s) {
  const int T = int(alpha_bar.size());
  const auto tau = sampling_timesteps(T, s.steps);
  const double eta = s.sampler == Sampler::ddpm ? 1.0 : s.eta;
  Chain ch;
  const int S = s.steps;
  for (int k = 0; k < S; ++k) {
    const int t = tau[std::size_t(S - 1 - k)];
    const double ab = alpha_bar[std::size_t(t)];
    const double abp = k + 1 < S ? alpha_bar[std::size_t(tau[std::size_t(S - 2 - k)])] : 1.0;
    const double sigma = eta * std::sqrt((1 - abp) / (1 - ab)) * std::sqrt(std::max(0.0, 1 - ab / abp));
    ch.t.push_back(t);
    ch.a.push_back(std::sqrt(abp / ab));
    ch.b.push_back(std::sqrt(std::max(0.0, 1 - abp - sigma * sigma)) - std::sqrt(abp) * std::sqrt(1 - ab) / std::sqrt(ab));
    ch.c.push_back(sigma);
    ch.scale.push_back(std::sqrt(1 - ab));
  }
  return ch;
}

/// A column tensor [count, 1, 1] of v[first .. first + count) (float64, on `device`).
torch::Tensor column(const std::vector<double>& v, int first, int count, torch::Device device) {
  std::vector<double> part(v.begin() + first, v.begin() + first + count);
  return torch::tensor(part, torch::kFloat64).view({count, 1, 1}).to(device);
}

distributions::SampleSet to_sample_set(const torch::Tensor& x) {
  auto c = x.detach().to(torch::kCPU).to(torch::kFloat64).contiguous();
  const auto rows = std::size_t(c.size(0)), dim = std::size_t(c.size(1));
  return distributions::SampleSet(rows, dim, std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel()));
}

torch::Tensor from_sample_set(const distributions::SampleSet& s) {
  return torch::tensor(s.values, torch::kFloat64).view({int64_t(s.rows), int64_t(s.dim)});
}

}  // namespace

std::string_view to_string(BetaSchedule s) { return s == BetaSchedule::linear ? "linear" : "cosine"; }
std::string_view to_string(DenoiserTrainStatus s) {
  switch (s) {
    case DenoiserTrainStatus::completed: return "completed";
    case DenoiserTrainStatus::stopped_by_callback: return "stopped_by_callback";
    case DenoiserTrainStatus::non_finite_loss: return "non_finite_loss";
  }
  return "unknown";
}
std::string_view to_string(Sampler s) { return s == Sampler::ddpm ? "ddpm" : "ddim"; }
std::string_view to_string(ChainMethod m) { return m == ChainMethod::picard ? "picard" : "anderson"; }
std::string_view to_string(ChainForm f) { return f == ChainForm::cumulative ? "cumulative" : "step"; }

BetaSchedule parse_beta_schedule(std::string_view name) {
  if (name == "linear") return BetaSchedule::linear;
  if (name == "cosine") return BetaSchedule::cosine;
  require(false, "beta schedule", std::string(name), "linear or cosine");
  return BetaSchedule::linear;
}

std::vector<double> beta_schedule(BetaSchedule s, int T) {
  require(T >= 2, "beta_schedule diffusion_steps", T, "diffusion_steps >= 2");
  std::vector<double> beta(static_cast<std::size_t>(T));
  if (s == BetaSchedule::linear) {
    const double lo = 1e-4 * 1000.0 / T, hi = std::min(0.02 * 1000.0 / T, 0.999);
    for (int t = 0; t < T; ++t) beta[std::size_t(t)] = std::min(lo, hi) + (hi - std::min(lo, hi)) * t / double(T - 1);
  } else {
    const double off = 0.008;
    auto f = [&](double u) {
      const double c = std::cos((u + off) / (1 + off) * std::numbers::pi / 2);
      return c * c;
    };
    for (int t = 0; t < T; ++t)
      beta[std::size_t(t)] = std::min(1 - f(double(t + 1) / T) / f(double(t) / T), 0.999);
  }
  return beta;
}

std::vector<int> sampling_timesteps(int T, int S) {
  require(T >= 2, "sampling_timesteps diffusion_steps", T, "diffusion_steps >= 2");
  require(S >= 1 && S <= T, "sampling_timesteps steps", S, "1 <= steps <= diffusion_steps (" + std::to_string(T) + ")");
  std::vector<int> tau(static_cast<std::size_t>(S));
  for (int i = 1; i <= S; ++i) tau[std::size_t(i - 1)] = int((long long)i * T / S) - 1;
  return tau;
}

void DenoiserOptions::validate() const {
  require(dim >= 1, "DenoiserOptions::dim", dim, "dim >= 1");
  require(width >= 1, "DenoiserOptions::width", width, "width >= 1");
  require(depth >= 1, "DenoiserOptions::depth", depth, "depth >= 1");
  require(time_embedding >= 2 && time_embedding % 2 == 0, "DenoiserOptions::time_embedding", time_embedding,
          "time_embedding even and >= 2");
  require(diffusion_steps >= 2 && diffusion_steps <= 100000, "DenoiserOptions::diffusion_steps", diffusion_steps,
          "2 <= diffusion_steps <= 100000");
  require(lr > 0 && std::isfinite(lr), "DenoiserOptions::lr", lr, "lr > 0 and finite");
  require(batch >= 1, "DenoiserOptions::batch", batch, "batch >= 1");
  require(training_steps >= 0, "DenoiserOptions::training_steps", training_steps, "training_steps >= 0");
  require(progress_every >= 1, "DenoiserOptions::progress_every", progress_every, "progress_every >= 1");
  (void)detail::parse_device(device);
}

void SamplingOptions::validate(int T) const {
  require(steps >= 1 && steps <= T, "SamplingOptions::steps", steps,
          "1 <= steps <= diffusion_steps (" + std::to_string(T) + ")");
  require(eta >= 0 && eta <= 1, "SamplingOptions::eta", eta, "0 <= eta <= 1");
  require(samples >= 1, "SamplingOptions::samples", samples, "samples >= 1");
}

void StepContractionOptions::validate(int T) const {
  require(steps >= 1 && steps <= T, "StepContractionOptions::steps", steps,
          "1 <= steps <= diffusion_steps (" + std::to_string(T) + ")");
  require(trajectories >= 1, "StepContractionOptions::trajectories", trajectories, "trajectories >= 1");
  require(max_iterations >= 2, "StepContractionOptions::max_iterations", max_iterations, "max_iterations >= 2");
  require(power_tol > 0 && std::isfinite(power_tol), "StepContractionOptions::power_tol", power_tol,
          "power_tol > 0 and finite");
  require(picard_tolerance > 0 && std::isfinite(picard_tolerance), "StepContractionOptions::picard_tolerance",
          picard_tolerance, "picard_tolerance > 0 and finite");
}

void ParallelSamplingOptions::validate() const {
  require(window >= 0, "ParallelSamplingOptions::window", window, "window >= 0 (0: the whole chain)");
  require(tolerance > 0 && std::isfinite(tolerance), "ParallelSamplingOptions::tolerance", tolerance,
          "tolerance > 0 and finite");
  require(anderson_memory >= 1, "ParallelSamplingOptions::anderson_memory", anderson_memory, "anderson_memory >= 1");
  require(min_slide >= 0, "ParallelSamplingOptions::min_slide", min_slide, "min_slide >= 0");
  require(max_sweeps >= 0, "ParallelSamplingOptions::max_sweeps", max_sweeps, "max_sweeps >= 0 (0: 4 S)");
}

struct DiffusionDenoiser::Impl {
  DenoiserOptions o;
  torch::Device device{torch::kCPU};
  std::shared_ptr<DenoiserNet> net;
  torch::Tensor mean, scale;                    // [dim] float64 on device
  std::vector<double> alpha_bar;
  mutable std::vector<torch::Tensor> w64, b64;  // float64 copies for sampling (empty: stale)

  void build(const DenoiserOptions& opts) {
    opts.validate();
    o = opts;
    device = detail::parse_device(o.device);
    auto gen = at::detail::createCPUGenerator(o.seed);
    net = std::make_shared<DenoiserNet>(o, gen);
    net->to(device);
    mean = torch::zeros({o.dim}, torch::kFloat64).to(device);
    scale = torch::ones({o.dim}, torch::kFloat64).to(device);
    const auto beta = beta_schedule(o.schedule, o.diffusion_steps);
    alpha_bar.clear();
    double ab = 1;
    for (double b : beta) alpha_bar.push_back(ab *= 1 - b);
    w64.clear();
    b64.clear();
  }

  /// eps_theta in float64 for standardised x [N, dim] and timesteps t [N] (float64).
  torch::Tensor eps64(const torch::Tensor& x, const torch::Tensor& t) const {
    if (w64.empty()) {
      torch::NoGradGuard no_grad;
      for (const auto& p : net->w) w64.push_back(p.detach().to(torch::kFloat64));
      for (const auto& p : net->b) b64.push_back(p.detach().to(torch::kFloat64));
    }
    return mlp(w64, b64, x, t, o.time_embedding);
  }

  /// Initial noise [n, dim] and z [S, n, dim], float64 on the device, drawn on a CPU generator.
  std::pair<torch::Tensor, torch::Tensor> noise(const SamplingOptions& s) const {
    auto gen = at::detail::createCPUGenerator(s.seed);
    const auto n = int64_t(s.samples);
    auto all = torch::randn({int64_t(s.steps) + 1, n, int64_t(o.dim)}, gen, torch::kFloat64).to(device);
    return {all[0], all.narrow(0, 1, s.steps)};
  }

  distributions::SampleSet unstandardise(const torch::Tensor& x) const { return to_sample_set(x * scale + mean); }
};

DiffusionDenoiser::DiffusionDenoiser() : impl_(std::make_unique<Impl>()) {}

DiffusionDenoiser::DiffusionDenoiser(const DenoiserOptions& o) : impl_(std::make_unique<Impl>()) {
  o.validate();
  detail::translate_torch_errors([&] {
    impl_->build(o);
    return 0;
  });
}
DiffusionDenoiser::~DiffusionDenoiser() = default;
DiffusionDenoiser::DiffusionDenoiser(DiffusionDenoiser&&) noexcept = default;
DiffusionDenoiser& DiffusionDenoiser::operator=(DiffusionDenoiser&&) noexcept = default;
const DenoiserOptions& DiffusionDenoiser::options() const { return impl_->o; }

long DiffusionDenoiser::num_parameters() const {
  long n = 0;
  for (const auto& p : impl_->net->parameters()) n += long(p.numel());
  return n;
}

std::vector<double> DiffusionDenoiser::alpha_bars() const { return impl_->alpha_bar; }

std::vector<double> DiffusionDenoiser::data_mean() const {
  auto c = impl_->mean.to(torch::kCPU).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}
std::vector<double> DiffusionDenoiser::data_scale() const {
  auto c = impl_->scale.to(torch::kCPU).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

DenoiserTrainReport DiffusionDenoiser::train(const distributions::SampleSet& data, const DenoiserCallback& progress) {
  auto& m = *impl_;
  require(data.rows >= 1, "DiffusionDenoiser::train data.rows", data.rows, "rows >= 1");
  require(data.dim == std::size_t(m.o.dim), "DiffusionDenoiser::train data.dim", data.dim,
          "equal to DenoiserOptions::dim (" + std::to_string(m.o.dim) + ")");
  require(data.values.size() == data.rows * data.dim, "DiffusionDenoiser::train data.values.size()",
          data.values.size(), "rows * dim (" + std::to_string(data.rows * data.dim) + ")");
  require(data.all_finite(), "DiffusionDenoiser::train data", std::string("non-finite values"), "every value finite");
  return detail::translate_torch_errors([&] {
    const auto t0 = std::chrono::steady_clock::now();
    DenoiserTrainReport rep;
    // Standardise per coordinate; a constant coordinate keeps scale 1.
    auto x = from_sample_set(data);
    auto mu = x.mean(0);
    auto sd = torch::sqrt((x - mu).pow(2).mean(0));
    sd = torch::where(sd > 0, sd, torch::ones_like(sd));
    m.mean = mu.to(m.device);
    m.scale = sd.to(m.device);
    auto xs = ((x - mu) / sd).to(torch::kFloat32).to(m.device);
    auto ab = torch::tensor(m.alpha_bar, torch::kFloat64).to(torch::kFloat32).to(m.device);
    m.w64.clear();
    m.b64.clear();

    auto gen = at::detail::createCPUGenerator(m.o.seed + 1);
    torch::optim::Adam opt(m.net->parameters(), torch::optim::AdamOptions(m.o.lr));
    m.net->train();
    const int64_t n = int64_t(data.rows), bs = m.o.batch, dim = m.o.dim;
    double interval_sum = 0;
    int interval_count = 0;
    auto record = [&](int step) {
      if (interval_count == 0) return Action::proceed;
      const double mean_loss = interval_sum / interval_count;
      rep.loss_steps.push_back(step);
      rep.losses.push_back(mean_loss);
      interval_sum = 0;
      interval_count = 0;
      if (progress) return progress(DenoiserProgress{step, m.o.training_steps, mean_loss, seconds_since(t0)});
      return Action::proceed;
    };
    rep.status = DenoiserTrainStatus::completed;
    for (int step = 1; step <= m.o.training_steps; ++step) {
      auto idx = torch::randint(n, {bs}, gen, torch::kLong).to(m.device);
      auto t = torch::randint(m.o.diffusion_steps, {bs}, gen, torch::kLong).to(m.device);
      auto eps = torch::randn({bs, dim}, gen, torch::kFloat32).to(m.device);
      auto abt = ab.index_select(0, t).unsqueeze(1);
      auto xt = torch::sqrt(abt) * xs.index_select(0, idx) + torch::sqrt(1 - abt) * eps;
      const auto share = detail::batch_share(bs);  // data parallel: this rank's rows of the same batch
      auto loss = (mlp(m.net->w, m.net->b, xt.slice(0, share.lo, share.hi), t.slice(0, share.lo, share.hi).to(torch::kFloat32),
                       m.o.time_embedding) - eps.slice(0, share.lo, share.hi)).pow(2).mean() * share.weight;
      opt.zero_grad();
      loss.backward();
      const double lv = detail::reduce_gradients(m.net->parameters(), loss);  // summed over ranks; loss.item() alone
      if (!std::isfinite(lv)) {
        rep.status = DenoiserTrainStatus::non_finite_loss;
        rep.message = "The training loss became non-finite (" + format_value(lv) + ") at step " + std::to_string(step) +
                      "; training stopped before that step's update.";
        rep.steps = step - 1;
        break;
      }
      opt.step();
      rep.steps = step;
      interval_sum += lv;
      ++interval_count;
      if (step % m.o.progress_every == 0 || step == m.o.training_steps) {
        if (record(step) == Action::stop && step < m.o.training_steps) {
          rep.status = DenoiserTrainStatus::stopped_by_callback;
          rep.message = "The progress callback stopped training after step " + std::to_string(step) + " of " +
                        std::to_string(m.o.training_steps) + ".";
          break;
        }
      }
    }
    if (rep.status == DenoiserTrainStatus::non_finite_loss) record(rep.steps);
    if (rep.status == DenoiserTrainStatus::completed)
      rep.message = "Trained for " + std::to_string(rep.steps) + " steps.";
    m.net->eval();
    m.w64.clear();
    m.b64.clear();
    if (!rep.losses.empty()) {
      rep.initial_loss = rep.losses.front();
      rep.final_loss = rep.losses.back();
    }
    rep.seconds = seconds_since(t0);
    return rep;
  });
}

distributions::SampleSet DiffusionDenoiser::predict_noise(const distributions::SampleSet& x, int t) const {
  const auto& m = *impl_;
  require(x.dim == std::size_t(m.o.dim), "DiffusionDenoiser::predict_noise x.dim", x.dim,
          "equal to DenoiserOptions::dim (" + std::to_string(m.o.dim) + ")");
  require(x.values.size() == x.rows * x.dim, "DiffusionDenoiser::predict_noise x.values.size()", x.values.size(),
          "rows * dim");
  require(t >= 0 && t < m.o.diffusion_steps, "DiffusionDenoiser::predict_noise t", t,
          "0 <= t < diffusion_steps (" + std::to_string(m.o.diffusion_steps) + ")");
  return detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    auto xt = from_sample_set(x).to(m.device);
    auto tt = torch::full({int64_t(x.rows)}, double(t), torch::TensorOptions().dtype(torch::kFloat64).device(m.device));
    return to_sample_set(m.eps64(xt, tt));
  });
}

SamplingResult DiffusionDenoiser::sample(const SamplingOptions& s) const {
  const auto& m = *impl_;
  s.validate(m.o.diffusion_steps);
  return detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    const auto t0 = std::chrono::steady_clock::now();
    const Chain ch = make_chain(m.alpha_bar, s);
    auto [x, z] = m.noise(s);
    const auto n = int64_t(s.samples);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(m.device);
    for (int k = 0; k < s.steps; ++k) {
      auto eps = m.eps64(x, torch::full({n}, double(ch.t[std::size_t(k)]), opts));
      x = x * ch.a[std::size_t(k)] + eps * ch.b[std::size_t(k)] + z[k] * ch.c[std::size_t(k)];
    }
    SamplingResult r;
    r.samples = m.unstandardise(x);
    const bool finite = r.samples.all_finite();
    r.status = finite ? Status::converged : Status::non_finite;
    r.message = finite ? "Sequential chain of " + std::to_string(s.steps) + " steps."
                       : "The chain produced non-finite samples.";
    r.steps = s.steps;
    r.sweeps = s.steps;
    r.network_evaluations = s.steps;
    r.seconds = seconds_since(t0);
    return r;
  });
}

SamplingResult DiffusionDenoiser::sample_parallel(const SamplingOptions& s, const ParallelSamplingOptions& p) const {
  const auto& m = *impl_;
  s.validate(m.o.diffusion_steps);
  p.validate();
  return detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    const auto t0 = std::chrono::steady_clock::now();
    const Chain ch = make_chain(m.alpha_bar, s);
    const int S = s.steps;
    const int w_max = p.window == 0 || p.window > S ? S : p.window;
    const int min_slide = p.min_slide > 0 ? std::min(p.min_slide, w_max) : (p.method == ChainMethod::picard ? 1 : w_max);
    const int budget = p.max_sweeps > 0 ? p.max_sweeps : 4 * S;
    auto [x0, z] = m.noise(s);
    const auto n = int64_t(s.samples), d = int64_t(m.o.dim);
    // traj[k] = current estimate of x_k, k = 0..S; traj[0] = x_0 is fixed. Initial guess: x_0 everywhere.
    torch::Tensor traj = x0.unsqueeze(0).expand({S + 1, n, d}).clone();
    std::vector<double> t_as_double(ch.t.begin(), ch.t.end());

    SamplingResult r;
    r.steps = S;
    r.status = Status::converged;
    int done = 0;           // x_0..x_done are final
    int guessed_until = 0;  // traj[k] for k <= guessed_until holds a computed value
    while (done < S) {
      const int w = std::min(w_max, S - done);
      const int left = budget - r.sweeps;
      if (left <= 0) {
        r.status = Status::max_iterations;
        r.message = "Reached the sweep budget (" + std::to_string(budget) + ") with " + std::to_string(done) + " of " +
                    std::to_string(S) + " steps final.";
        break;
      }
      // New steps beyond the computed ones start from the last computed state.
      for (int k = guessed_until + 1; k <= done + w; ++k) traj[k].copy_(traj[guessed_until]);
      guessed_until = std::max(guessed_until, done + w);
      const auto a = column(ch.a, done, w, m.device), b = column(ch.b, done, w, m.device),
                 c = column(ch.c, done, w, m.device), sc = column(ch.scale, done, w, m.device);
      const auto zw = z.narrow(0, done, w);
      const auto xb = traj[done].unsqueeze(0);
      const auto tw = torch::tensor(std::vector<double>(t_as_double.begin() + done, t_as_double.begin() + done + w),
                                    torch::kFloat64)
                          .to(m.device)
                          .repeat_interleave(n);
      int sweeps_here = 0;
      auto op = [&](const torch::Tensor& y) -> torch::Tensor {
        auto xw = y * sc;  // x_{done+1} .. x_{done+w}
        auto xin = w > 1 ? torch::cat({xb, xw.narrow(0, 0, w - 1)}, 0) : xb;
        auto eps = m.eps64(xin.reshape({int64_t(w) * n, d}), tw).reshape({w, n, d});
        auto f = a * xin + b * eps + c * zw;
        ++sweeps_here;
        r.network_evaluations += w;
        auto out = p.form == ChainForm::cumulative ? xb + torch::cumsum(f - xin, 0) : f;
        return out / sc;
      };
      torch::Tensor value;  // T(y) of the last evaluated iterate
      int ready = 0;        // leading converged steps at that iterate
      auto observer = [&](const IterationView<torch::Tensor>& v) -> Action {
        value = v.value;
        auto per_step = v.residual.abs().amax({1, 2}).to(torch::kCPU).contiguous();
        const double* e = per_step.data_ptr<double>();
        ready = 0;
        while (ready < w && e[ready] <= p.tolerance) ++ready;
        if (ready < w && ready + 1 >= min_slide) return Action::stop;
        return Action::proceed;
      };
      const Stop stop{.abs_tol = p.tolerance,
                      .rel_tol = 0.0,
                      .norm = Norm::max,
                      .max_iterations = std::numeric_limits<int>::max() / 2,
                      .max_evaluations = left,
                      .stagnation_window = 0,
                      .returned = Returned::last,
                      // The audit's extra T(x) would recompute `value` at the same (returned, last) iterate:
                      // the network is deterministic here, so it would be one more sequential sweep that can
                      // only repeat the residual already tested. The window keeps T(y) of the tested iterate.
                      .verify = false};
      const torch::Tensor y0 = traj.narrow(0, done + 1, w) / sc;
      const auto res = p.method == ChainMethod::picard
                           ? iterop::solve(op, y0, Picard{}, stop, observer)
                           : iterop::solve(op, y0, Anderson{.memory = p.anderson_memory}, stop, observer);
      r.sweeps += sweeps_here;
      ++r.windows;
      if (res.status == Status::converged || res.status == Status::stopped_by_observer) {
        const int take = res.status == Status::converged ? w : std::min(ready + 1, w);
        traj.narrow(0, done + 1, w).copy_(value * sc);
        done += take;
        continue;
      }
      // Any other outcome ends sampling with that status; keep the best estimate of the window.
      traj.narrow(0, done + 1, w).copy_(res.solution * sc);
      r.status = res.status;
      r.message = "Window at step " + std::to_string(done) + ": " + std::string(to_string(res.status)) + " (" +
                  res.message + ")";
      break;
    }
    r.samples = m.unstandardise(traj[S]);
    if (r.status == Status::converged) {
      if (!r.samples.all_finite()) {
        r.status = Status::non_finite;
        r.message = "The chain produced non-finite samples.";
      } else {
        r.message = "All " + std::to_string(S) + " steps within tolerance after " + std::to_string(r.sweeps) +
                    " sweeps in " + std::to_string(r.windows) + " window positions.";
      }
    }
    r.seconds = seconds_since(t0);
    return r;
  });
}

StepContractionReport DiffusionDenoiser::step_contraction(const StepContractionOptions& o) const {
  const auto& m = *impl_;
  o.validate(m.o.diffusion_steps);
  return detail::translate_torch_errors([&] {
    const auto t0 = std::chrono::steady_clock::now();
    SamplingOptions so;
    so.sampler = Sampler::ddim;
    so.eta = 0.0;
    so.steps = o.steps;
    so.samples = o.trajectories;
    so.seed = o.seed;
    const Chain ch = make_chain(m.alpha_bar, so);
    const int S = o.steps;
    const auto n = int64_t(o.trajectories), d = int64_t(m.o.dim);
    const auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(m.device);
    auto x0 = m.noise(so).first;
    // The sequential trajectories: seq[k] = x_k, k = 0..S.
    std::vector<torch::Tensor> seq{x0};
    {
      torch::NoGradGuard no_grad;
      for (int k = 0; k < S; ++k) {
        auto eps = m.eps64(seq.back(), torch::full({n}, double(ch.t[std::size_t(k)]), opts));
        seq.push_back(seq.back() * ch.a[std::size_t(k)] + eps * ch.b[std::size_t(k)]);
      }
    }
    StepContractionReport rep;
    PowerIterationOptions po;
    po.max_iterations = o.max_iterations;
    po.tol = o.power_tol;
    for (int k = 0; k < S; ++k) {
      const double a = ch.a[std::size_t(k)], b = ch.b[std::size_t(k)];
      const double t = double(ch.t[std::size_t(k)]);
      // F_k on one point [1, dim]: differentiable in x (the float64 weights are constants).
      const TensorStep step = [&](const torch::Tensor& x) {
        return x * a + m.eps64(x, torch::full({x.size(0)}, t, x.options())) * b;
      };
      const TensorStep shifted = [&](const torch::Tensor& x) { return step(x) - x; };
      StepContractionRow row;
      row.k = k;
      row.t = ch.t[std::size_t(k)];
      row.a = a;
      for (int64_t i = 0; i < n; ++i) {
        po.seed = o.seed + std::uint64_t(k) * 1000 + std::uint64_t(i);
        const auto xi = seq[std::size_t(k)].narrow(0, i, 1).detach();
        const auto r = jacobian_spectral_radius(step, xi, po);
        const auto nr = jacobian_spectral_norm(step, xi, po);
        const auto sn = jacobian_spectral_norm(shifted, xi, po);
        rep.jacobian_products += r.iterations + 2L * nr.iterations + 2L * sn.iterations;
        row.shifted_norm_mean += sn.value / double(n);
        row.shifted_norm_max = std::max(row.shifted_norm_max, sn.value);
        row.radius_mean += r.value / double(n);
        row.norm_mean += nr.value / double(n);
        row.radius_max = std::max(row.radius_max, r.value);
        row.norm_max = std::max(row.norm_max, nr.value);
        row.radius_converged += r.converged ? 1 : 0;
      }
      row.picard_sweeps = 1;
      rep.steps.push_back(row);
    }
    // Observed step-form Picard on the whole chain: traj^(0) = x_0 everywhere, traj^(n+1)_{k+1} = F_k(traj^(n)_k).
    {
      torch::NoGradGuard no_grad;
      auto traj = x0.unsqueeze(0).expand({S + 1, n, d}).clone();
      const auto seq_all = torch::stack(seq, 0);
      const auto a = column(ch.a, 0, S, m.device), b = column(ch.b, 0, S, m.device),
                 sc = column(ch.scale, 0, S, m.device);
      std::vector<double> tv(ch.t.begin(), ch.t.end());
      const auto tt = torch::tensor(tv, torch::kFloat64).to(m.device).repeat_interleave(n);
      for (int sweep = 1; sweep <= S; ++sweep) {
        auto xin = traj.narrow(0, 0, S);
        auto eps = m.eps64(xin.reshape({int64_t(S) * n, d}), tt).reshape({S, n, d});
        auto next = a * xin + b * eps;
        traj.narrow(0, 1, S).copy_(next);
        auto err = ((traj.narrow(0, 1, S) - seq_all.narrow(0, 1, S)).abs() / sc).amax({1, 2}).to(torch::kCPU).contiguous();
        const double* e = err.data_ptr<double>();
        double worst = 0;
        for (int k = 0; k < S; ++k) {
          auto& row = rep.steps[std::size_t(k)];
          worst = std::max(worst, e[k]);
          if (!(e[k] <= o.picard_tolerance)) row.picard_sweeps = sweep + 1;
          if (sweep == k / 2 + 1) row.picard_error_half = e[k];
        }
        rep.picard_error.push_back(worst);
      }
    }
    rep.seconds = seconds_since(t0);
    return rep;
  });
}

void DiffusionDenoiser::save(const std::filesystem::path& file) const {
  const auto& m = *impl_;
  detail::translate_torch_errors([&] {
    torch::serialize::OutputArchive ar;
    ar.write("format", c10::IValue(std::string(kFormat)));
    ar.write("dim", c10::IValue(int64_t(m.o.dim)));
    ar.write("width", c10::IValue(int64_t(m.o.width)));
    ar.write("depth", c10::IValue(int64_t(m.o.depth)));
    ar.write("time_embedding", c10::IValue(int64_t(m.o.time_embedding)));
    ar.write("diffusion_steps", c10::IValue(int64_t(m.o.diffusion_steps)));
    ar.write("schedule", c10::IValue(std::string(to_string(m.o.schedule))));
    ar.write("lr", c10::IValue(m.o.lr));
    ar.write("batch", c10::IValue(int64_t(m.o.batch)));
    ar.write("training_steps", c10::IValue(int64_t(m.o.training_steps)));
    ar.write("progress_every", c10::IValue(int64_t(m.o.progress_every)));
    ar.write("seed", c10::IValue(int64_t(m.o.seed)));
    ar.write("device", c10::IValue(m.o.device));
    ar.write("data_mean", m.mean.to(torch::kCPU));
    ar.write("data_scale", m.scale.to(torch::kCPU));
    for (std::size_t i = 0; i < m.net->w.size(); ++i) {
      ar.write("w" + std::to_string(i), m.net->w[i].detach().to(torch::kCPU));
      ar.write("b" + std::to_string(i), m.net->b[i].detach().to(torch::kCPU));
    }
    std::ostringstream bytes;
    ar.save_to(bytes);
    detail::write_checked_file(file, detail::checked_format::denoiser, bytes.str(), "DiffusionDenoiser::save file");
    return 0;
  });
}

DiffusionDenoiser DiffusionDenoiser::load(const std::filesystem::path& file, const std::string& device) {
  // Header, size and CRC-32 first: a truncated, damaged or foreign file never reaches LibTorch's reader.
  const std::string bytes = detail::read_checked_file(file, detail::checked_format::denoiser, "DiffusionDenoiser::load file",
                                                      "an existing file written by DiffusionDenoiser::save");
  return detail::translate_torch_errors([&] {
    torch::serialize::InputArchive ar;
    ar.load_from(bytes.data(), bytes.size());
    c10::IValue v;
    auto read_int = [&](const char* key) {
      ar.read(key, v);
      return v.toInt();
    };
    ar.read("format", v);
    require(v.isString() && v.toStringRef() == kFormat, "DiffusionDenoiser::load format",
            v.isString() ? v.toStringRef() : std::string("(not a string)"), std::string("\"") + kFormat + "\"");
    DenoiserOptions o;
    o.dim = int(read_int("dim"));
    o.width = int(read_int("width"));
    o.depth = int(read_int("depth"));
    o.time_embedding = int(read_int("time_embedding"));
    o.diffusion_steps = int(read_int("diffusion_steps"));
    ar.read("schedule", v);
    o.schedule = parse_beta_schedule(v.toStringRef());
    ar.read("lr", v);
    o.lr = v.toDouble();
    o.batch = int(read_int("batch"));
    o.training_steps = int(read_int("training_steps"));
    o.progress_every = int(read_int("progress_every"));
    o.seed = std::uint64_t(read_int("seed"));
    ar.read("device", v);
    o.device = device.empty() ? v.toStringRef() : device;
    DiffusionDenoiser d;
    d.impl_->build(o);
    auto& m = *d.impl_;
    auto read_tensor = [&](const std::string& key) {
      torch::Tensor t;  // a fresh handle each time: read() into a defined tensor resizes it in place
      ar.read(key, t);
      return t;
    };
    m.mean = read_tensor("data_mean").to(torch::kFloat64).to(m.device);
    m.scale = read_tensor("data_scale").to(torch::kFloat64).to(m.device);
    require(m.mean.numel() == o.dim && m.scale.numel() == o.dim, "DiffusionDenoiser::load data_mean/data_scale size",
            m.mean.numel(), "equal to dim (" + std::to_string(o.dim) + ")");
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < m.net->w.size(); ++i) {
      auto t = read_tensor("w" + std::to_string(i));
      require(t.sizes() == m.net->w[i].sizes(), "DiffusionDenoiser::load w" + std::to_string(i), std::string("shape"),
              "the shape the saved options give");
      m.net->w[i].copy_(t);
      t = read_tensor("b" + std::to_string(i));
      require(t.sizes() == m.net->b[i].sizes(), "DiffusionDenoiser::load b" + std::to_string(i), std::string("shape"),
              "the shape the saved options give");
      m.net->b[i].copy_(t);
    }
    m.net->eval();
    return d;
  });
}

}  // namespace iterop::operators
