// PIGN on LibTorch: encoder, one shared GCN layer iterated with relaxation, decoder; training with
// model selection on validation, evaluation along schedules, MAD, contraction bound, fixed-point solves.
#include "iterop/operators/pign.hpp"

#include <chrono>
#include <cmath>

#include <torch/nn/module.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include "detail/data_parallel.hpp"
#include "detail/graph_tensors.hpp"
#include "iterop/operators/equilibrium.hpp"
#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/operators/learned_contraction.hpp"
#include "iterop/operators/torch_vector_ops.hpp"

namespace iterop::operators {
namespace {

torch::Tensor glorot(int64_t in, int64_t out) {
  const double r = std::sqrt(6.0 / double(in + out));
  return torch::rand({in, out}) * (2 * r) - r;
}

/// The map inside the relaxation, g(x): "gcn": ReLU(A_hat x W + b [+ e when injected]); "propagate":
/// (1 - teleport) A_hat x + teleport e (APPNP's personalised-PageRank step; no weight, no ReLU).
torch::Tensor inner_map(const torch::Tensor& adj, const torch::Tensor& x, const torch::Tensor& e, const torch::Tensor& w,
                        const torch::Tensor& b, const std::string& step, double teleport, bool injected) {
  if (step == "propagate") return (1 - teleport) * torch::mm(adj, x) + teleport * e;
  auto pre = torch::mm(adj, torch::mm(x, w)) + b;
  return torch::relu(injected ? pre + e : pre);
}

/// Mean average cosine distance of the rows of h: mean over ordered pairs i != j of
/// 1 - cos(h_i, h_j); a zero row has cosine 0 with every row (distance 1).
double mad_of(const torch::Tensor& h) {
  const int64_t n = h.size(0);
  if (n < 2) return 0.0;
  auto hd = h.to(torch::kFloat64);
  auto norms = hd.norm(2, 1, true);
  auto hn = hd / torch::where(norms > 0, norms, torch::ones_like(norms));
  auto s = torch::mm(hn, hn.t());
  const double total = (1.0 - s).sum().item<double>() - (1.0 - s.diagonal()).sum().item<double>();
  return total / (double(n) * double(n - 1));
}

struct PignNet : torch::nn::Module {
  torch::Tensor enc_w, enc_b, w, b, dec_w, dec_b, theta;
  PignNet(int64_t in, int64_t hidden, int64_t out, const std::vector<double>& alphas, bool learn) {
    enc_w = register_parameter("enc_w", glorot(in, hidden));
    enc_b = register_parameter("enc_b", torch::zeros({hidden}));
    w = register_parameter("w", glorot(hidden, hidden));
    b = register_parameter("b", torch::zeros({hidden}));
    dec_w = register_parameter("dec_w", glorot(hidden, out));
    dec_b = register_parameter("dec_b", torch::zeros({out}));
    auto a = torch::tensor(alphas, torch::kFloat64).clamp(1e-4, 1 - 1e-4);
    theta = register_parameter("theta", torch::log(a / (1 - a)).to(torch::kFloat32), learn);
  }
};

}  // namespace

void PignOptions::validate() const {
  require(hidden >= 1, "PignOptions::hidden", hidden, "hidden >= 1");
  require(iterations >= 1, "PignOptions::iterations", iterations, "iterations >= 1");
  require(alpha >= 0 && alpha < 1, "PignOptions::alpha", alpha, "0 <= alpha < 1");
  require(alpha_schedule.empty() || int(alpha_schedule.size()) == iterations, "PignOptions::alpha_schedule.size()",
          alpha_schedule.size(), "empty or equal to iterations");
  for (double a : alpha_schedule)
    require(a >= 0 && a < 1, "PignOptions::alpha_schedule[k]", a, "0 <= alpha_k < 1");
  require(input_dropout >= 0 && input_dropout < 1, "PignOptions::input_dropout", input_dropout, "0 <= input_dropout < 1");
  require(dropout >= 0 && dropout < 1, "PignOptions::dropout", dropout, "0 <= dropout < 1");
  require(lr > 0, "PignOptions::lr", lr, "lr > 0");
  require(weight_decay >= 0, "PignOptions::weight_decay", weight_decay, "weight_decay >= 0");
  require(epochs >= 1, "PignOptions::epochs", epochs, "epochs >= 1");
  require(feature_scaling == "none" || feature_scaling == "standardise", "PignOptions::feature_scaling",
          feature_scaling, "\"none\" or \"standardise\"");
  require(spectral_norm_bound >= 0 && std::isfinite(spectral_norm_bound), "PignOptions::spectral_norm_bound",
          spectral_norm_bound, "0 (off) or a finite bound c > 0");
  require(weight_bound == "spectral" || weight_bound == "frobenius", "PignOptions::weight_bound", weight_bound,
          "\"spectral\" or \"frobenius\"");
  require(jacobian_penalty >= 0 && std::isfinite(jacobian_penalty), "PignOptions::jacobian_penalty", jacobian_penalty,
          "a finite jacobian_penalty >= 0");
  require(jacobian_penalty_samples >= 1, "PignOptions::jacobian_penalty_samples", jacobian_penalty_samples,
          "jacobian_penalty_samples >= 1");
  require(mode == "unrolled" || mode == "equilibrium", "PignOptions::mode", mode, "\"unrolled\" or \"equilibrium\"");
  require(step == "gcn" || step == "propagate", "PignOptions::step", step, "\"gcn\" or \"propagate\"");
  require(teleport > 0 && teleport <= 1, "PignOptions::teleport", teleport, "0 < teleport <= 1");
  if (mode == "equilibrium") {
    require(alpha_schedule.empty(), "PignOptions::alpha_schedule.size()", alpha_schedule.size(),
            "empty in equilibrium mode (one step, one alpha)");
    equilibrium.validate();
  }
}

std::vector<double> linear_schedule(int count, double first, double last) {
  require(count >= 0, "linear_schedule count", count, "count >= 0");
  std::vector<double> a(static_cast<std::size_t>(count));
  for (int k = 0; k < count; ++k) a[std::size_t(k)] = count == 1 ? first : first + (last - first) * k / (count - 1);
  return a;
}

struct Pign::Impl {
  PignOptions o;
  torch::Device device{torch::kCPU};
  detail::GraphTensors data;
  std::shared_ptr<PignNet> net;
  mutable torch::Tensor warm;  ///< the last training fixed point (warm start of the next training solve)
  mutable torch::Tensor sn_u;  ///< persistent left vector of the training-time power iteration (spectral normalisation)

  /// The shared weight as the step uses it: W, or W / max(1, sigma / c) under spectral normalisation
  /// (training: sigma = u^T W v after one power-iteration step, differentiable in W; otherwise the
  /// exact largest singular value).
  torch::Tensor weight(bool training) const {
    const double c = o.spectral_norm_bound;
    if (c <= 0) return net->w;
    if (o.weight_bound == "frobenius") return net->w / torch::clamp_min(net->w.norm() / c, 1.0);
    torch::Tensor sigma;
    if (training) {
      torch::Tensor v;
      {
        torch::NoGradGuard no_grad;
        auto wd = net->w.detach();
        v = torch::mv(wd.t(), sn_u);
        v = v / (v.norm() + 1e-12);
        auto u = torch::mv(wd, v);
        sn_u = u / (u.norm() + 1e-12);
      }
      sigma = torch::dot(sn_u, torch::mv(net->w, v));
    } else {
      torch::NoGradGuard no_grad;
      sigma = at::linalg_svdvals(net->w.detach().to(torch::kFloat64)).max().to(net->w.scalar_type());
    }
    return net->w / torch::clamp_min(sigma / c, 1.0);
  }
  torch::Tensor encode(bool training) const {
    auto x = detail::feature_dropout(data.x, o.input_dropout, training);
    auto h = torch::relu(torch::mm(x, net->enc_w) + net->enc_b);
    return training ? torch::dropout(h, o.dropout, true) : h;
  }
  bool injected() const { return o.mode == "equilibrium" || o.input_injection; }
  /// The relaxed step with weight w, the encoder output e (read when injected()) and a loop-dropout
  /// mask (undefined: none).
  torch::Tensor step_with(const torch::Tensor& x, const torch::Tensor& e, const torch::Tensor& w,
                          const torch::Tensor& b, const torch::Tensor& alpha, const torch::Tensor& mask) const {
    auto g = inner_map(data.adj, x, e, w, b, o.step, o.teleport, injected());
    if (mask.defined()) g = g * mask;
    return alpha * x + (1 - alpha) * g;
  }
  /// The unrolled-mode step: dropout inside the loop draws a fresh mask at every iteration.
  torch::Tensor step(const torch::Tensor& x, const torch::Tensor& e, const torch::Tensor& alpha, bool training) const {
    auto g = inner_map(data.adj, x, e, weight(training), net->b, o.step, o.teleport, injected());
    if (training && o.dropout_in_loop) g = torch::dropout(g, o.dropout, true);
    return alpha * x + (1 - alpha) * g;
  }
  /// An inverted-dropout mask of x's shape (entries 0 or 1 / (1 - p)).
  torch::Tensor loop_mask(const torch::Tensor& x) const {
    return torch::bernoulli(torch::full_like(x, 1 - o.dropout)) / (1 - o.dropout);
  }
  torch::Tensor alphas() const { return torch::sigmoid(net->theta); }
  /// The evaluation step at constant alpha in float64 (no dropout, exact weight bound); *x0 receives
  /// the encoder output, the start of every iteration.
  TensorStep eval_step(double alpha, torch::Tensor* x0) const {
    auto adj = data.adj.to(torch::kFloat64);
    auto w = weight(false).detach().to(torch::kFloat64);
    auto b = net->b.detach().to(torch::kFloat64);
    auto e = encode(false).to(torch::kFloat64);
    if (x0) *x0 = e;
    return [adj, w, b, e, alpha, step = o.step, teleport = o.teleport, inject = injected()](const torch::Tensor& z) {
      return alpha * z + (1 - alpha) * inner_map(adj, z, e, w, b, step, teleport, inject);
    };
  }
  /// Training (or evaluation) logits; in equilibrium mode the state solves the fixed point, and the
  /// solve statistics go to `stats`. `state` receives the final state (for the Jacobian penalty).
  torch::Tensor forward(bool training, EquilibriumStats* stats = nullptr, torch::Tensor* state = nullptr,
                        EquilibriumStep* step_out = nullptr) const {
    auto e = encode(training);
    auto a = alphas();
    torch::Tensor x;
    if (o.mode == "equilibrium") {
      const auto w = weight(training);
      const auto mask = training && o.dropout_in_loop && o.dropout > 0 ? loop_mask(e) : torch::Tensor();
      const auto alpha = a[0];
      EquilibriumStep f = [this, e, w, mask, alpha](const torch::Tensor& z) {
        return step_with(z, e, w, net->b, alpha, mask);
      };
      const bool warm_start = training && o.warm_start && warm.defined() && warm.sizes() == e.sizes();
      x = equilibrium(f, warm_start ? warm : e, {e, w, net->b, alpha}, o.equilibrium, stats);
      if (training) warm = x.detach();
      if (step_out) *step_out = f;
    } else {
      x = e;
      for (int k = 0; k < o.iterations; ++k) x = step(x, e, a[k], training);
      if (step_out) {
        const auto w = weight(training);
        const auto alpha = a[o.iterations - 1];
        *step_out = [this, e, w, alpha](const torch::Tensor& z) { return step_with(z, e, w, net->b, alpha, {}); };
      }
    }
    if (state) *state = x;
    return torch::mm(x, net->dec_w) + net->dec_b;
  }
};

Pign::Pign(const GraphData& g, const PignOptions& o) : impl_(std::make_unique<Impl>()) {
  o.validate();
  impl_->o = o;
  impl_->device = detail::parse_device(o.device);
  detail::translate_torch_errors([&] {
    impl_->data = detail::to_tensors(g, o.row_normalise, o.feature_scaling, "PignOptions::feature_scaling", impl_->device);
    torch::manual_seed(o.seed);
    const auto alphas = o.alpha_schedule.empty() ? std::vector<double>(std::size_t(o.iterations), o.alpha)
                                                 : o.alpha_schedule;
    impl_->net = std::make_shared<PignNet>(g.num_features, o.hidden, g.num_classes, alphas, o.learn_alpha);
    impl_->net->to(impl_->device);
    impl_->sn_u = torch::ones({o.hidden}, torch::TensorOptions().device(impl_->device)) / std::sqrt(double(o.hidden));
    return 0;
  });
}
Pign::~Pign() = default;
Pign::Pign(Pign&&) noexcept = default;
Pign& Pign::operator=(Pign&&) noexcept = default;
const PignOptions& Pign::options() const { return impl_->o; }

long Pign::num_parameters() const {
  long n = 0;
  for (const auto& p : impl_->net->parameters()) n += long(p.numel());
  return n;
}

TrainReport Pign::train() {
  auto& m = *impl_;
  return detail::translate_torch_errors([&] {
    const auto t0 = std::chrono::steady_clock::now();
    torch::manual_seed(m.o.seed + 1);
    torch::optim::Adam opt(m.net->parameters(), torch::optim::AdamOptions(m.o.lr).weight_decay(m.o.weight_decay));
    TrainReport rep;
    std::vector<torch::Tensor> best, trained;
    for (const auto& p : m.net->parameters())
      if (p.requires_grad()) trained.push_back(p);  // alpha's theta is fixed unless learn_alpha
    for (int epoch = 1; epoch <= m.o.epochs; ++epoch) {
      m.net->train();
      opt.zero_grad();
      EquilibriumStats st;
      torch::Tensor state;
      EquilibriumStep f;
      const bool penalty = m.o.jacobian_penalty > 0;
      // Data parallel: every rank runs the same full-graph forward (same parameters, dropout masks and
      // Hutchinson vectors: same seed) and the loss of its share of the training nodes, weighted so that
      // the sum over the ranks is the one-process loss; the gradients are summed after backward.
      const auto share = detail::batch_share(m.data.train.size(0));
      const auto logits = m.forward(true, &st, penalty ? &state : nullptr, penalty ? &f : nullptr);
      auto loss = share.hi > share.lo
                      ? detail::cross_entropy(logits, m.data.labels, m.data.train.slice(0, share.lo, share.hi)) * share.weight
                      : logits.sum() * 0.0;  // no training node on this rank: a zero that keeps the graph
      auto total = penalty ? loss + m.o.jacobian_penalty * share.weight *
                                        jacobian_frobenius_penalty(f, state, m.o.jacobian_penalty_samples)
                           : loss;
      total.backward();
      // A step is taken only where every rank's adjoint solve gave a usable gradient.
      auto unusable = torch::full({}, st.gradient_usable() ? 0.0 : 1.0, torch::kFloat32);
      const double summed_loss = detail::reduce_gradients(trained, loss, {&unusable});
      const bool usable = unusable.item<double>() == 0.0;
      if (m.o.mode == "equilibrium") {
        rep.forward_failures += st.forward_status != iterop::Status::converged;
        rep.backward_failures += st.backward_ran && st.backward_status != iterop::Status::converged;
        rep.skipped_steps += !usable;
        rep.fallback_steps += st.fallback == "unrolled";
        rep.mean_forward_iterations += st.forward_iterations;
        rep.mean_backward_iterations += st.backward_iterations;
        rep.max_forward_residual = std::max(rep.max_forward_residual, st.forward_residual);
      }
      if (usable) opt.step();
      EpochRecord e;
      e.epoch = epoch;
      e.loss = summed_loss;
      {
        torch::NoGradGuard no_grad;
        m.net->eval();
        auto logits = m.forward(false);
        e.train_acc = detail::accuracy(logits, m.data.labels, m.data.train);
        e.val_acc = detail::accuracy(logits, m.data.labels, m.data.val);
        e.test_acc = detail::accuracy(logits, m.data.labels, m.data.test);
        e.val_loss = m.data.val.numel() ? detail::cross_entropy(logits, m.data.labels, m.data.val).item<double>() : 0.0;
      }
      rep.epochs.push_back(e);
      if (detail::better(e, rep)) {
        rep.best_epoch = epoch;
        rep.best_val_acc = e.val_acc;
        rep.test_acc = e.test_acc;
        best.clear();
        for (const auto& p : m.net->parameters(true)) best.push_back(p.detach().clone());
      }
    }
    {
      torch::NoGradGuard no_grad;
      auto params = m.net->parameters(true);
      for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(best[i]);
    }
    m.net->eval();
    rep.mean_forward_iterations /= m.o.epochs;
    rep.mean_backward_iterations /= m.o.epochs;
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
  });
}

std::vector<double> Pign::training_alphas() const {
  torch::NoGradGuard no_grad;
  auto a = impl_->alphas().to(torch::kCPU).to(torch::kFloat64).contiguous();
  return std::vector<double>(a.data_ptr<double>(), a.data_ptr<double>() + a.numel());
}

std::vector<PignIterationRecord> Pign::evaluate(const std::vector<double>& alphas) const {
  for (double a : alphas) require(a >= 0 && a <= 1, "Pign::evaluate alphas[k]", a, "0 <= alpha_k <= 1");
  const auto& m = *impl_;
  return detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    m.net->eval();
    std::vector<PignIterationRecord> out;
    const auto e = m.encode(false);
    auto x = e;
    auto record = [&](int k, double alpha, double step) {
      auto logits = torch::mm(x, m.net->dec_w) + m.net->dec_b;
      PignIterationRecord r;
      r.iteration = k;
      r.alpha = alpha;
      r.train_acc = detail::accuracy(logits, m.data.labels, m.data.train);
      r.val_acc = detail::accuracy(logits, m.data.labels, m.data.val);
      r.test_acc = detail::accuracy(logits, m.data.labels, m.data.test);
      r.mad = mad_of(x);
      r.step = step;
      out.push_back(r);
    };
    record(0, 0.0, 0.0);
    for (std::size_t k = 0; k < alphas.size(); ++k) {
      auto xn = m.step(x, e, torch::scalar_tensor(alphas[k], x.options()), false);
      const double step = (xn - x).norm().item<double>();
      x = xn;
      record(int(k + 1), alphas[k], step);
    }
    return out;
  });
}

double Pign::weight_spectral_norm() const {
  return detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    return matrix_spectral_norm(impl_->weight(false), {.max_iterations = 2000, .tol = 1e-12}).value;
  });
}

PignContraction Pign::contraction(double alpha, int iterations) const {
  require(alpha >= 0 && alpha <= 1, "Pign::contraction alpha", alpha, "0 <= alpha <= 1");
  require(iterations >= 2, "Pign::contraction iterations", iterations, "iterations >= 2");
  const auto& m = *impl_;
  return detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    PignContraction c;
    c.alpha = alpha;
    c.weight_norm = m.o.step == "propagate" ? 1 - m.o.teleport : weight_spectral_norm();
    c.bound = alpha + (1 - alpha) * c.weight_norm;
    torch::Tensor x;
    const TensorStep step = m.eval_step(alpha, &x);
    std::vector<double> steps;
    for (int k = 0; k < iterations; ++k) {
      auto xn = step(x);
      const double s = (xn - x).norm().item<double>();
      const double scale = xn.norm().item<double>();
      x = xn;
      steps.push_back(s);
      c.iterations = k + 1;
      if (s <= 1e-13 * scale) break;
    }
    std::vector<double> ratios;
    for (std::size_t k = 1; k < steps.size(); ++k)
      if (steps[k - 1] > 0) ratios.push_back(steps[k] / steps[k - 1]);
    double log_sum = 0;
    int count = 0;
    for (std::size_t k = 0; k < ratios.size(); ++k) {
      c.max_ratio = std::max(c.max_ratio, ratios[k]);
      if (k >= ratios.size() / 2 && ratios[k] > 0) {
        log_sum += std::log(ratios[k]);
        ++count;
      }
    }
    c.mean_ratio = count ? std::exp(log_sum / count) : 0.0;
    // Local diagnostics at the last iterate: the step's Jacobian by autograd (double-backward JVPs).
    c.final_residual = (step(x) - x).norm().item<double>() / std::max(x.norm().item<double>(), 1e-300);
    const SpectralEstimate rho = jacobian_spectral_radius(step, x, {.max_iterations = 1000, .tol = 1e-9, .seed = 0});
    c.jacobian_spectral_radius = rho.value;
    c.jacobian_radius_converged = rho.converged;
    c.jacobian_norm = jacobian_spectral_norm(step, x, {.max_iterations = 1000, .tol = 1e-9, .seed = 0}).value;
    return c;
  });
}

PignFixedPoint Pign::solve_fixed_point(double alpha, int memory, double tol, int max_iterations) const {
  require(alpha >= 0 && alpha < 1, "Pign::solve_fixed_point alpha", alpha, "0 <= alpha < 1");
  require(tol > 0, "Pign::solve_fixed_point tol", tol, "tol > 0");
  const auto& m = *impl_;
  return detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    m.net->eval();
    torch::Tensor x0;
    const TensorStep step = m.eval_step(alpha, &x0);
    const iterop::Stop stop{.abs_tol = tol * x0.norm().item<double>(), .rel_tol = 0.0, .max_iterations = max_iterations};
    PignFixedPoint r;
    r.alpha = alpha;
    const auto rp = iterop::solve(step, x0, iterop::Picard{}, stop);
    r.picard_iterations = rp.iterations;
    r.picard_converged = rp.status == iterop::Status::converged;
    const auto ra = iterop::solve(step, x0, iterop::Anderson{.memory = memory}, stop);
    r.anderson_iterations = ra.iterations;
    r.anderson_converged = ra.status == iterop::Status::converged;
    auto logits = torch::mm(ra.solution.to(torch::kFloat32), m.net->dec_w) + m.net->dec_b;
    r.test_acc = detail::accuracy(logits, m.data.labels, m.data.test);
    r.val_acc = detail::accuracy(logits, m.data.labels, m.data.val);
    return r;
  });
}

}  // namespace iterop::operators
