// Conditional flow matching on LibTorch: the MLP velocity field, I-CFM / OT-CFM training with seeded
// minibatches and times, batched evaluation on plain data, exact text save/load.
#include "iterop/operators/conditional_flow_matching.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include "detail/checkpoint_file.hpp"
#include "detail/conditional_flow_matching_format.hpp"
#include "detail/data_parallel.hpp"
#include "detail/graph_tensors.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/distributions/optimal_assignment.hpp"
#include "iterop/distributions/sample_distances.hpp"

namespace iterop::operators {

using distributions::SampleSet;

namespace {

torch::Tensor activate(const std::string& a, const torch::Tensor& x) {
  if (a == "relu") return torch::relu(x);
  if (a == "selu") return torch::selu(x);
  if (a == "silu") return torch::silu(x);
  if (a == "gelu") return torch::gelu(x);
  if (a == "tanh") return torch::tanh(x);
  return torch::elu(x);
}

struct CfmNet : torch::nn::Module {
  std::vector<torch::nn::Linear> layers;  // depth hidden layers, then the output layer
  std::string activation;
  CfmNet(int dim, int width, int depth, std::string act) : activation(std::move(act)) {
    int in = dim + 1;
    for (int k = 0; k < depth; ++k) {
      layers.push_back(register_module("hidden" + std::to_string(k), torch::nn::Linear(in, width)));
      in = width;
    }
    layers.push_back(register_module("out", torch::nn::Linear(in, dim)));
  }
  /// x: rows x dim, t: rows x 1.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    auto h = torch::cat({x, t}, 1);
    for (std::size_t k = 0; k + 1 < layers.size(); ++k) h = activate(activation, layers[k]->forward(h));
    return layers.back()->forward(h);
  }
};

std::string format_double(double v) { return format_value(v); }

void check_shape(const SampleSet& s, std::size_t rows, std::size_t dim, const std::string& what) {
  require(s.rows == rows && s.dim == dim && s.values.size() == rows * dim, what + " shape",
          std::to_string(s.rows) + " x " + std::to_string(s.dim) + " (values " + std::to_string(s.values.size()) + ")",
          "equal to " + std::to_string(rows) + " x " + std::to_string(dim));
}

/// Stream of per-step seeds: the same (seed, step, stream) always gives the same generator.
std::mt19937_64 step_rng(std::uint64_t seed, long step, std::uint64_t stream) {
  std::seed_seq seq{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(std::uint64_t(step)),
                    std::uint32_t(std::uint64_t(step) >> 32), std::uint32_t(stream)};
  return std::mt19937_64(seq);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Options, names, samplers, pairings

// (to_string(CfmCoupling), parse_cfm_coupling and CfmOptions::validate: conditional_flow_matching_format.cpp)

std::string to_string(CfmTrainStatus s) {
  switch (s) {
    case CfmTrainStatus::completed: return "completed";
    case CfmTrainStatus::stopped_by_callback: return "stopped_by_callback";
    case CfmTrainStatus::non_finite_loss: return "non_finite_loss";
  }
  return "unknown";
}

double CfmTrainReport::final_loss(std::size_t window) const {
  if (losses.empty() || window == 0) return 0.0;
  const std::size_t n = std::min(window, losses.size());
  double s = 0;
  for (std::size_t i = losses.size() - n; i < losses.size(); ++i) s += losses[i];
  return s / double(n);
}

CfmBatchSampler dataset_sampler(const std::string& name, std::size_t dim, std::uint64_t seed) {
  (void)distributions::sample_dataset(name, 1, dim, seed);  // checks name and dim now
  return [name, dim, seed](std::size_t n, long step) {
    return distributions::sample_dataset(name, n, dim, seed + 1000003ULL * (std::uint64_t(step) + 1));
  };
}

CfmBatchSampler pool_sampler(SampleSet pool, std::uint64_t seed) {
  require(pool.rows >= 1, "pool_sampler pool.rows", pool.rows, "rows >= 1");
  check_shape(pool, pool.rows, pool.dim, "pool_sampler pool");
  auto shared = std::make_shared<const SampleSet>(std::move(pool));
  return [shared, seed](std::size_t n, long step) {
    auto rng = step_rng(seed, step, 17);
    std::uniform_int_distribution<std::size_t> pick(0, shared->rows - 1);
    SampleSet out(n, shared->dim);
    for (std::size_t i = 0; i < n; ++i) {
      const auto r = shared->row(pick(rng));
      std::copy(r.begin(), r.end(), out.row(i).begin());
    }
    return out;
  };
}

double mean_pair_sq_distance(const SampleSet& x0, const SampleSet& x1, std::span<const std::size_t> pairing) {
  check_shape(x1, x0.rows, x0.dim, "mean_pair_sq_distance x1");
  require(pairing.size() == x0.rows, "mean_pair_sq_distance pairing.size()", pairing.size(),
          "equal to x0.rows = " + std::to_string(x0.rows));
  if (x0.rows == 0) return 0.0;
  double s = 0;
  for (std::size_t i = 0; i < x0.rows; ++i) {
    require(pairing[i] < x1.rows, "mean_pair_sq_distance pairing[i]", pairing[i], "pairing[i] < x1.rows");
    for (std::size_t j = 0; j < x0.dim; ++j) {
      const double d = x1(pairing[i], j) - x0(i, j);
      s += d * d;
    }
  }
  return s / double(x0.rows);
}

std::vector<std::size_t> cfm_pairing(const SampleSet& x0, const SampleSet& x1, CfmCoupling coupling) {
  require(x0.rows >= 1, "cfm_pairing x0.rows", x0.rows, "rows >= 1");
  check_shape(x0, x0.rows, x0.dim, "cfm_pairing x0");
  check_shape(x1, x0.rows, x0.dim, "cfm_pairing x1");
  const std::size_t n = x0.rows;
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  if (coupling == CfmCoupling::independent) return p;
  // Exact OT pairing on squared Euclidean costs. optimal_assignment solves on integer-rounded costs,
  // so the tied costs of repeated points cannot make the network simplex cycle.
  const auto cost = distributions::pairwise_squared_distances(x0, x1);
  return distributions::optimal_assignment(cost, n).column_of_row;
}

// ---------------------------------------------------------------------------------------------------------------
// The model

struct ConditionalFlowMatching::Impl {
  CfmOptions o;
  torch::Device device{torch::kCPU};
  torch::Dtype dtype = torch::kFloat32;
  std::shared_ptr<CfmNet> net;
  std::unique_ptr<torch::optim::Adam> opt;
  long steps_trained = 0;

  torch::Tensor to_tensor(const double* x, std::size_t rows, std::size_t cols) const {
    return torch::from_blob(const_cast<double*>(x), {int64_t(rows), int64_t(cols)}, torch::kFloat64)
        .to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
  }
  torch::Tensor to_tensor(const SampleSet& s) const { return to_tensor(s.values.data(), s.rows, s.dim); }

  /// Loss of pairs (x0[i], x1p[i]) at times t (rows x 1).
  torch::Tensor loss(const torch::Tensor& x0, const torch::Tensor& x1p, const torch::Tensor& t) const {
    auto xt = (1 - t) * x0 + t * x1p;
    auto u = x1p - x0;
    auto v = net->forward(xt, t);
    return (v - u).pow(2).mean();
  }

  SampleSet permuted(const SampleSet& x1, const std::vector<std::size_t>& p) const {
    SampleSet out(x1.rows, x1.dim);
    for (std::size_t i = 0; i < x1.rows; ++i) std::copy(x1.row(p[i]).begin(), x1.row(p[i]).end(), out.row(i).begin());
    return out;
  }
};

ConditionalFlowMatching::ConditionalFlowMatching(const CfmOptions& o) : impl_(std::make_unique<Impl>()) {
  o.validate();
  impl_->o = o;
  impl_->device = detail::parse_device(o.device);
  impl_->dtype = o.float64 ? torch::kFloat64 : torch::kFloat32;
  detail::translate_torch_errors([&] {
    torch::manual_seed(o.seed);
    impl_->net = std::make_shared<CfmNet>(o.dim, o.width, o.depth, o.activation);
    impl_->net->to(impl_->device, impl_->dtype);
    impl_->net->eval();
    impl_->opt = std::make_unique<torch::optim::Adam>(impl_->net->parameters(), torch::optim::AdamOptions(o.lr));
    return 0;
  });
}
ConditionalFlowMatching::~ConditionalFlowMatching() = default;
ConditionalFlowMatching::ConditionalFlowMatching(ConditionalFlowMatching&&) noexcept = default;
ConditionalFlowMatching& ConditionalFlowMatching::operator=(ConditionalFlowMatching&&) noexcept = default;

const CfmOptions& ConditionalFlowMatching::options() const { return impl_->o; }
long ConditionalFlowMatching::steps_trained() const { return impl_->steps_trained; }

long ConditionalFlowMatching::num_parameters() const {
  long n = 0;
  for (const auto& p : impl_->net->parameters()) n += long(p.numel());
  return n;
}

CfmTrainReport ConditionalFlowMatching::train(const CfmBatchSampler& source, const CfmBatchSampler& target,
                                              const CfmProgressFn& progress) {
  require(bool(source), "ConditionalFlowMatching::train source", "empty", "a callable sampler");
  require(bool(target), "ConditionalFlowMatching::train target", "empty", "a callable sampler");
  auto& m = *impl_;
  const std::size_t n = std::size_t(m.o.batch), d = std::size_t(m.o.dim);
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  CfmTrainReport rep;
  double pair_sum = 0;
  auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };
  detail::translate_torch_errors([&] {
    m.net->train();
    for (int k = 1; k <= m.o.steps; ++k) {
      const long step = m.steps_trained;  // global step index (continues over train() calls)
      const SampleSet x0 = source(n, step);
      const SampleSet x1 = target(n, step);
      check_shape(x0, n, d, "source sample (step " + std::to_string(step) + ")");
      check_shape(x1, n, d, "target sample (step " + std::to_string(step) + ")");
      if (!x0.all_finite() || !x1.all_finite()) {  // would make the loss (and OT's costs) non-finite
        rep.losses.push_back(std::numeric_limits<double>::quiet_NaN());
        rep.status = CfmTrainStatus::non_finite_loss;
        rep.message = std::string("The ") + (x0.all_finite() ? "target" : "source") + " minibatch at step " +
                      std::to_string(k) + " holds NaN or Inf, so the loss is not finite; training stopped before that step.";
        break;
      }
      const auto ta = clock::now();
      const auto pairing = cfm_pairing(x0, x1, m.o.coupling);
      if (m.o.coupling == CfmCoupling::optimal_transport)
        rep.assignment_seconds += std::chrono::duration<double>(clock::now() - ta).count();
      pair_sum += mean_pair_sq_distance(x0, x1, pairing);
      const SampleSet x1p = m.permuted(x1, pairing);
      auto rng = step_rng(m.o.seed, step, 1);
      std::uniform_real_distribution<double> unif(0.0, 1.0);
      std::vector<double> t(n);
      for (auto& ti : t) ti = unif(rng);
      auto tt = m.to_tensor(t.data(), n, 1);
      m.opt->zero_grad();
      const auto sh = detail::batch_share(int64_t(n));  // data parallel: this rank's rows of the same pairs
      auto loss = m.loss(m.to_tensor(x0).slice(0, sh.lo, sh.hi), m.to_tensor(x1p).slice(0, sh.lo, sh.hi),
                         tt.slice(0, sh.lo, sh.hi)) * sh.weight;
      loss.backward();
      const double lv = detail::reduce_gradients(m.net->parameters(), loss);  // summed over ranks
      rep.losses.push_back(lv);
      if (!std::isfinite(lv)) {
        rep.status = CfmTrainStatus::non_finite_loss;
        rep.message = "The minibatch loss at step " + std::to_string(k) + " is " + format_double(lv) +
                      "; training stopped before applying that step.";
        break;
      }
      m.opt->step();
      ++m.steps_trained;
      ++rep.steps_done;
      if (progress) {
        const double s = elapsed();
        const CfmProgress p{k, m.o.steps, lv, s > 0 ? k / s : 0.0};
        if (progress(p) == Action::stop) {
          rep.status = CfmTrainStatus::stopped_by_callback;
          rep.message = "The progress callback stopped training after step " + std::to_string(k) + " of " +
                        std::to_string(m.o.steps) + ".";
          break;
        }
      }
    }
    m.net->eval();
    return 0;
  });
  rep.seconds = elapsed();
  rep.steps_per_second = rep.seconds > 0 ? rep.steps_done / rep.seconds : 0.0;
  rep.mean_pair_sq_distance = rep.losses.empty() ? 0.0 : pair_sum / double(rep.losses.size());
  if (rep.status == CfmTrainStatus::completed)
    rep.message = "Trained " + std::to_string(rep.steps_done) + " steps (" + to_string(m.o.coupling) +
                  "), mean loss of the last 100 steps " + format_double(rep.final_loss()) + ".";
  return rep;
}

double ConditionalFlowMatching::loss(const SampleSet& x0, const SampleSet& x1, std::span<const double> t) const {
  const auto& m = *impl_;
  const std::size_t d = std::size_t(m.o.dim);
  require(x0.rows >= 1, "ConditionalFlowMatching::loss x0.rows", x0.rows, "rows >= 1");
  check_shape(x0, x0.rows, d, "ConditionalFlowMatching::loss x0");
  check_shape(x1, x0.rows, d, "ConditionalFlowMatching::loss x1");
  require(t.size() == x0.rows, "ConditionalFlowMatching::loss t.size()", t.size(),
          "equal to x0.rows = " + std::to_string(x0.rows));
  for (double ti : t) require(ti >= 0 && ti <= 1, "ConditionalFlowMatching::loss t[i]", ti, "0 <= t[i] <= 1");
  const auto pairing = cfm_pairing(x0, x1, m.o.coupling);
  return detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    return m.loss(m.to_tensor(x0), m.to_tensor(m.permuted(x1, pairing)), m.to_tensor(t.data(), t.size(), 1))
        .item<double>();
  });
}

void ConditionalFlowMatching::velocity(const double* x, std::size_t rows, const double* t, double* out) const {
  if (rows == 0) return;
  const auto& m = *impl_;
  const std::size_t d = std::size_t(m.o.dim);
  detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    auto v = m.net->forward(m.to_tensor(x, rows, d), m.to_tensor(t, rows, 1))
                 .to(torch::kCPU, torch::kFloat64)
                 .contiguous();
    std::copy(v.data_ptr<double>(), v.data_ptr<double>() + rows * d, out);
    return 0;
  });
}

void ConditionalFlowMatching::velocity(const double* x, std::size_t rows, double t, double* out) const {
  if (rows == 0) return;
  const auto& m = *impl_;
  const std::size_t d = std::size_t(m.o.dim);
  detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    auto xt = m.to_tensor(x, rows, d);
    auto tt = torch::full({int64_t(rows), 1}, t, xt.options());
    auto v = m.net->forward(xt, tt).to(torch::kCPU, torch::kFloat64).contiguous();
    std::copy(v.data_ptr<double>(), v.data_ptr<double>() + rows * d, out);
    return 0;
  });
}

SampleSet ConditionalFlowMatching::velocity(const SampleSet& x, double t) const {
  check_shape(x, x.rows, std::size_t(impl_->o.dim), "ConditionalFlowMatching::velocity x");
  SampleSet out(x.rows, x.dim);
  velocity(x.values.data(), x.rows, t, out.values.data());
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Save / load: the text format of conditional_flow_matching_format.cpp (no LibTorch there), behind the checked
// header (size and CRC-32).

void ConditionalFlowMatching::save(const std::string& path) const {
  const auto& m = *impl_;
  detail::CfmFile file{m.o, m.steps_trained, {}};
  detail::translate_torch_errors([&] {
    for (const auto& item : m.net->named_parameters(true)) {
      const auto v = item.value().detach().to(torch::kCPU, torch::kFloat64).contiguous();
      const double* p = v.data_ptr<double>();
      file.parameters.push_back({item.key(), std::vector<double>(p, p + v.numel())});
    }
    return 0;
  });
  detail::write_checked_file(path, detail::checked_format::cfm, detail::cfm_file_text(file),
                             "ConditionalFlowMatching::save path");
}

ConditionalFlowMatching ConditionalFlowMatching::load(const std::string& path, const std::string& device) {
  // Header, size and CRC-32 first (a truncated or damaged file is refused whole), then the whole text is parsed
  // and checked against the layout its options imply before the network is built.
  const detail::CfmFile file = detail::parse_cfm_file(
      detail::read_checked_file(path, detail::checked_format::cfm, "ConditionalFlowMatching::load path",
                                "a readable file written by ConditionalFlowMatching::save"),
      path, device);
  ConditionalFlowMatching model(file.options);
  model.impl_->steps_trained = file.steps_trained;
  detail::translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    auto named = model.impl_->net->named_parameters(true);
    if (named.size() != file.parameters.size())
      throw backend_error("LibTorch", "the CFM network has " + std::to_string(named.size()) +
                                          " parameter tensors, its file layout " + std::to_string(file.parameters.size()));
    for (std::size_t i = 0; i < named.size(); ++i) {
      auto& value = named[i].value();
      const auto& p = file.parameters[i];
      if (named[i].key() != p.name || value.numel() != std::int64_t(p.values.size()))
        throw backend_error("LibTorch", "the CFM network's parameter " + named[i].key() + " does not match the file layout's " + p.name);
      // float32 values were parsed as floats: the float64 tensor converts back to them exactly.
      const auto t = torch::from_blob(const_cast<double*>(p.values.data()), value.sizes(), torch::kFloat64);
      value.copy_(t.to(value.device(), value.scalar_type()));
    }
    return 0;
  });
  return model;
}

}  // namespace iterop::operators
