// CaLMFlow on LibTorch: tokenisation of interleaved trajectories, noisy training paths, four
// generative heads (flow matching, Gaussian transition, the paper's variational head and its
// deterministic ablation), teacher-forced training with checkpoints and exact resume, generation with and without a key/value cache, the
// one-step operator and parallel-in-time generation by Picard and Anderson.
#include "iterop/operators/calmflow.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include <c10/util/Exception.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/functional/normalization.h>
#include <torch/linalg.h>
#include <torch/nn/modules/embedding.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include "detail/causal_transformer.hpp"
#include "detail/data_parallel.hpp"
#include "detail/checkpoint_file.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/operators/torch_vector_ops.hpp"

namespace iterop::operators {
namespace {

using distributions::SampleSet;

// ---------------------------------------------------------------------------------------------
// Random numbers: xoshiro256** seeded by splitmix64, normals by Box-Muller. Four words of state,
// so a checkpoint stores it exactly and resume continues the same stream.

struct Rng {
  std::array<std::uint64_t, 4> s{};

  explicit Rng(std::uint64_t seed = 0) {
    std::uint64_t z = seed;
    for (auto& w : s) {
      z += 0x9e3779b97f4a7c15ULL;
      std::uint64_t x = z;
      x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
      x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
      w = x ^ (x >> 31);
    }
  }
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  /// Uniform in [0, n) (modulo; bias below n 2^-64).
  std::size_t below(std::size_t n) {
    return static_cast<std::size_t>(next() % n);
  }
  /// Uniform in (0, 1).
  double open01() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }
  /// n uniforms in (0, 1).
  std::vector<float> uniforms(std::size_t n) {
    std::vector<float> out(n);
    for (auto& u : out) u = float(open01());
    return out;
  }
  /// n standard normals (Box-Muller, both values of each pair used).
  std::vector<float> normals(std::size_t n) {
    std::vector<float> out(n);
    constexpr double two_pi = 6.283185307179586476925286766559;
    for (std::size_t i = 0; i < n; i += 2) {
      const double r = std::sqrt(-2.0 * std::log(open01()));
      const double a = two_pi * open01();
      out[i] = float(r * std::cos(a));
      if (i + 1 < n) out[i + 1] = float(r * std::sin(a));
    }
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// Words of a prompt.

std::vector<std::string> words_of(const std::string& prompt) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(cur);
    cur.clear();
  };
  for (char c : prompt) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u)) {
      flush();
    } else if (std::string_view(",.:;!?()\"'").find(c) != std::string_view::npos) {
      continue;
    } else {
      cur.push_back(static_cast<char>(std::tolower(u)));
    }
  }
  flush();
  return out;
}

torch::Device parse_device(const std::string& s) {
  try {
    return torch::Device(s);
  } catch (const c10::Error& e) {
    throw invalid_option("CalmFlowOptions::device = " + s +
                         ". Violated constraint: a torch::Device string such as cpu, cuda, cuda:0 (" +
                         e.what_without_backtrace() + ").");
  }
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

/// Anderson on the not-yet-exact suffix of a strictly causal operator T on trajectories [S, N, M, D]
/// whose first state is fixed: at sweep k the states 0..k+1 of g = T(x_k) are exact and kept; the
/// later states are g - dG gamma with gamma = argmin ||f - dF gamma|| over the last `memory`
/// differences of f = T(x) - x and of g, restricted to those later states (float64 least squares).
/// Stops when ||T(x) - x||_max <= tol or after max_sweeps evaluations; fills `out` (histories
/// against `reference`, the sequential trajectory) and returns the last iterate.
torch::Tensor anderson_on_suffix(const std::function<torch::Tensor(const torch::Tensor&)>& T, const torch::Tensor& guess,
                                 const torch::Tensor& reference, double tol, int max_sweeps, int memory,
                                 CalmFlowParallelSolve& out) {
  const int64_t n = guess.size(1);
  out.method = "Anderson on the suffix (m=" + std::to_string(memory) + ")";
  torch::Tensor x = guess;
  std::vector<torch::Tensor> fs, gs;  // the last memory + 1 residuals and images
  out.converged = false;
  for (int k = 0; k < max_sweeps; ++k) {
    const torch::Tensor g = T(x);
    const torch::Tensor f = g - x;
    out.evaluations += 1;
    out.error_history.push_back(max_abs(x - reference));
    out.residual_history.push_back(max_abs(f));
    if (out.residual_history.back() <= tol) {
      out.converged = true;
      break;
    }
    out.iterations += 1;
    fs.push_back(f);
    gs.push_back(g);
    if (int(fs.size()) > memory + 1) {
      fs.erase(fs.begin());
      gs.erase(gs.begin());
    }
    const int64_t exact = std::min<int64_t>(k + 2, n);  // states 0..k+1 of g
    if (exact == n || fs.size() < 2) {
      x = g;
      continue;
    }
    auto suffix = [&](const torch::Tensor& t) { return t.narrow(1, exact, n - exact).reshape({-1}).to(torch::kFloat64); };
    std::vector<torch::Tensor> df, dg;
    for (std::size_t j = 0; j + 1 < fs.size(); ++j) {
      df.push_back(suffix(fs[j + 1]) - suffix(fs[j]));
      dg.push_back(suffix(gs[j + 1]) - suffix(gs[j]));
    }
    const auto dF = torch::stack(df, 1), dG = torch::stack(dg, 1);
    const auto gamma = std::get<0>(torch::linalg::lstsq(dF, suffix(f).unsqueeze(1), c10::nullopt, c10::nullopt));
    const auto mixed = (suffix(g).unsqueeze(1) - torch::matmul(dG, gamma)).squeeze(1).to(g.scalar_type());
    auto next = g.clone();
    next.narrow(1, exact, n - exact).copy_(mixed.reshape(g.narrow(1, exact, n - exact).sizes()));
    x = next;
  }
  out.status = out.converged ? "converged" : "max_iterations";
  out.error = max_abs(x - reference);
  for (std::size_t k = 0; k < out.error_history.size(); ++k)
    if (out.error_history[k] <= tol) {
      out.sweeps_to_tol = int(k);
      break;
    }
  return x;
}

template <class F>
auto translate_torch_errors(F&& f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw backend_error("LibTorch", e.what_without_backtrace());
  }
}

// ---------------------------------------------------------------------------------------------
// Options as text (checkpoint metadata).

std::string options_text(const CalmFlowOptions& o) {
  std::ostringstream s;
  s << "dim=" << o.dim << "\ntime_points=" << o.time_points << "\nspatial_tokens=" << o.spatial_tokens
    << "\ntrajectories=" << o.trajectories << "\nwidth=" << o.width << "\nlayers=" << o.layers
    << "\nheads=" << o.heads << "\nfeedforward=" << o.feedforward << "\nposition=" << o.position
    << "\nhead=" << o.head << "\nincrement=" << (o.increment ? 1 : 0) << "\nhead_width=" << o.head_width
    << "\nhead_steps=" << o.head_steps << "\nhead_reads_state=" << (o.head_reads_state ? 1 : 0) << "\ntime_input=" << (o.time_input ? 1 : 0) << "\nmlp=" << o.mlp << "\ndropout=" << format_value(o.dropout)
    << "\nrotary_fraction=" << format_value(o.rotary_fraction)
    << "\nparallel_residual=" << (o.parallel_residual ? 1 : 0) << "\npaths=" << o.paths
    << "\npath_sigma=" << format_value(o.path_sigma) << "\nsigma_min=" << format_value(o.sigma_min)
    << "\nsigma_max=" << format_value(o.sigma_max) << "\nnormalise_loss=" << (o.normalise_loss ? 1 : 0)
    << "\nbeta=" << format_value(o.beta) << "\nlr=" << format_value(o.lr)
    << "\nweight_decay=" << format_value(o.weight_decay) << "\nlr_schedule=" << o.lr_schedule << "\nbatch=" << o.batch << "\nsteps=" << o.steps
    << "\nseed=" << o.seed << "\ndevice=" << o.device << "\nmax_prompt_tokens=" << o.max_prompt_tokens << "\n";
  return s.str();
}

/// Everything that must agree for a resume (all options except steps and device).
std::string compatibility_text(CalmFlowOptions o) {
  o.steps = 0;
  o.device = "cpu";
  return options_text(o);
}

template <class V>
V parse_number(const std::map<std::string, std::string>& kv, const std::string& key, const std::string& path) {
  auto it = kv.find(key);
  V v{};
  if (it == kv.end() ||
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), v).ec != std::errc{})
    throw invalid_option("CalmFlow file " + path + ": metadata key " + key +
                         ". Violated constraint: present and numeric in a file written by CalmFlow::save.");
  return v;
}

// ---------------------------------------------------------------------------------------------
// The network.

/// An MLP in -> hidden (-> hidden) -> out of the chosen form: "gelu" (GELU between layers) or
/// "paper" (LayerNorm without affine -> ReLU -> dropout between layers).
struct MlpImpl : torch::nn::Module {
  std::vector<torch::nn::Linear> layers;
  bool paper;
  double dropout;

  MlpImpl(int64_t in, int64_t hidden, int64_t out, int hidden_layers, const CalmFlowOptions& o)
      : paper(o.mlp == "paper"), dropout(o.dropout) {
    for (int l = 0; l <= hidden_layers; ++l) {
      const int64_t a = l == 0 ? in : hidden, b = l == hidden_layers ? out : hidden;
      layers.push_back(register_module("l" + std::to_string(l), torch::nn::Linear(a, b)));
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    for (std::size_t l = 0; l < layers.size(); ++l) {
      x = layers[l]->forward(x);
      if (l + 1 == layers.size()) break;
      if (!paper) {
        x = torch::gelu(x);
        continue;
      }
      namespace F = torch::nn::functional;
      x = torch::relu(F::layer_norm(x, F::LayerNormFuncOptions({x.size(-1)})));
      if (dropout > 0) x = F::dropout(x, F::DropoutFuncOptions().p(dropout).training(is_training()));
    }
    return x;
  }
};
TORCH_MODULE(Mlp);

/// Hidden width of the head MLPs: head_width, or max(K w, D).
int64_t head_hidden(const CalmFlowOptions& o) {
  return o.head_width > 0 ? o.head_width : std::max<int64_t>(int64_t(o.spatial_tokens) * o.width, o.dim);
}

struct CalmFlowNetImpl : torch::nn::Module {
  int64_t dim, width, tokens_per_state;
  std::string kind;  // the head
  bool increment;
  bool time_input;
  int64_t time_points;
  int head_steps;
  Mlp enc{nullptr}, mu{nullptr}, s{nullptr}, dec{nullptr}, gauss{nullptr}, velocity{nullptr};
  torch::nn::Embedding words{nullptr};
  detail::CausalTransformer body{nullptr};

  CalmFlowNetImpl(const CalmFlowOptions& o, int64_t vocabulary_size, int64_t max_positions)
      : dim(o.dim), width(o.width), tokens_per_state(o.spatial_tokens), kind(o.head), increment(o.increment),
        time_input(o.time_input), time_points(o.time_points), head_steps(o.head_steps) {
    const int64_t w = o.width, k = o.spatial_tokens, hw = head_hidden(o);
    const int64_t state = o.head_reads_state ? 2 * dim : 0;  // (z(t_i), z(t_0)) beside the K w summaries
    const int decoder_layers = o.mlp == "paper" ? 2 : 1;
    enc = register_module("enc", Mlp(dim + (time_input ? 1 : 0), k * w, k * w, 1, o));
    if (vocabulary_size > 0) words = register_module("words", torch::nn::Embedding(vocabulary_size, w));
    detail::CausalTransformerOptions t{.width = w, .layers = o.layers, .heads = o.heads, .feedforward = o.feedforward,
                                       .rotary = o.position == "rotary", .max_positions = max_positions,
                                       .rotary_fraction = o.rotary_fraction, .parallel_residual = o.parallel_residual};
    body = register_module("body", detail::CausalTransformer(t));
    if (kind == "variational" || kind == "deterministic") {
      mu = register_module("mu", Mlp(w, w, w, 1, o));
      if (kind == "variational") s = register_module("s", Mlp(w, w, w, 1, o));
      dec = register_module("dec", Mlp(k * w, hw, dim, decoder_layers, o));
    } else if (kind == "gaussian") {
      gauss = register_module("gauss", Mlp(k * w + state, hw, 2 * dim, decoder_layers, o));
    } else {
      velocity = register_module("velocity", Mlp(dim + 1 + k * w + state, hw, dim, 2, o));
    }
  }

  /// States [S, T, M, D] at time indices first, first + 1, ... -> flow tokens [S, T M K, width]
  /// (with time_input the encoder reads (z, t_i)).
  torch::Tensor tokens(const torch::Tensor& x, int64_t first = 0) {
    auto in = x;
    if (time_input) {
      auto t = (torch::arange(first, first + x.size(1), x.options()) / double(time_points - 1)).reshape({1, -1, 1, 1});
      in = torch::cat({x, t.expand({x.size(0), x.size(1), x.size(2), 1})}, -1);
    }
    return enc->forward(in).reshape({x.size(0), x.size(1) * x.size(2) * tokens_per_state, width});
  }
  /// Hidden states [S, n, width] -> latent mean and variance sigma^2 = exp(f_s) + 1e-4 (variance
  /// undefined for the deterministic head).
  std::pair<torch::Tensor, torch::Tensor> latent_head(const torch::Tensor& h) {
    auto m = mu->forward(h);
    if (kind != "variational") return {m, torch::Tensor()};
    return {m, torch::exp(s->forward(h)) + 1e-4};
  }
  /// Latents [S, T M K, width] -> [S, T, M, D].
  torch::Tensor decode(const torch::Tensor& z, int64_t t, int64_t m) {
    return dec->forward(z.reshape({z.size(0), t, m, tokens_per_state * width}));
  }
  /// Gaussian head on grouped hidden states [S, T, M, K w] -> mean and variance exp(s) + 1e-4 of y.
  std::pair<torch::Tensor, torch::Tensor> gaussian(const torch::Tensor& g) {
    auto out = gauss->forward(g);
    return {out.narrow(-1, 0, dim), torch::exp(out.narrow(-1, dim, dim)) + 1e-4};
  }
  /// Flow head velocity at y [S, T, M, D], r [S, T, M, 1], grouped hidden states g [S, T, M, K w].
  torch::Tensor flow_velocity(const torch::Tensor& y, const torch::Tensor& r, const torch::Tensor& g) {
    return velocity->forward(torch::cat({y, r, g}, -1));
  }
};
TORCH_MODULE(CalmFlowNet);

}  // namespace

// ---------------------------------------------------------------------------------------------

void CalmFlowOptions::validate() const {
  require(dim >= 1, "CalmFlowOptions::dim", dim, "dim >= 1");
  require(time_points >= 2, "CalmFlowOptions::time_points", time_points, "time_points >= 2");
  require(spatial_tokens >= 1, "CalmFlowOptions::spatial_tokens", spatial_tokens, "spatial_tokens >= 1");
  require(trajectories >= 1, "CalmFlowOptions::trajectories", trajectories, "trajectories >= 1");
  require(width >= 2, "CalmFlowOptions::width", width, "width >= 2");
  require(layers >= 1, "CalmFlowOptions::layers", layers, "layers >= 1");
  require(heads >= 1, "CalmFlowOptions::heads", heads, "heads >= 1");
  require(width % heads == 0, "CalmFlowOptions::width", width, "width is a multiple of heads (" + std::to_string(heads) + ")");
  require(position == "rotary" || position == "learned", "CalmFlowOptions::position", position,
          "position is \"rotary\" or \"learned\"");
  if (position == "rotary")
    require((width / heads) % 2 == 0, "CalmFlowOptions::width", width,
            "width / heads is even with rotary positions (heads = " + std::to_string(heads) + ")");
  require(feedforward >= 1, "CalmFlowOptions::feedforward", feedforward, "feedforward >= 1");
  require(head == "flow" || head == "gaussian" || head == "variational" || head == "deterministic",
          "CalmFlowOptions::head", head, "head is \"flow\", \"gaussian\", \"variational\" or \"deterministic\"");
  require(head_width >= 0, "CalmFlowOptions::head_width", head_width, "head_width >= 0 (0: max(K w, D))");
  require(head_steps >= 1, "CalmFlowOptions::head_steps", head_steps, "head_steps >= 1");
  require(!head_reads_state || head == "gaussian" || head == "flow", "CalmFlowOptions::head_reads_state",
          std::string("true with head ") + head, "head_reads_state only with the \"gaussian\" or \"flow\" head");
  require(mlp == "gelu" || mlp == "paper", "CalmFlowOptions::mlp", mlp, "mlp is \"gelu\" or \"paper\"");
  require(dropout >= 0 && dropout < 1, "CalmFlowOptions::dropout", dropout, "0 <= dropout < 1");
  require(rotary_fraction > 0 && rotary_fraction <= 1, "CalmFlowOptions::rotary_fraction", rotary_fraction,
          "0 < rotary_fraction <= 1");
  require(paths == "straight" || paths == "noisy" || paths == "bridge" || paths == "variance-exploding",
          "CalmFlowOptions::paths", paths, "paths is \"straight\", \"noisy\", \"bridge\" or \"variance-exploding\"");
  require(path_sigma >= 0 && std::isfinite(path_sigma), "CalmFlowOptions::path_sigma", path_sigma,
          "path_sigma >= 0 and finite");
  require(sigma_min > 0 && std::isfinite(sigma_min), "CalmFlowOptions::sigma_min", sigma_min, "sigma_min > 0 and finite");
  require(sigma_max >= sigma_min && std::isfinite(sigma_max), "CalmFlowOptions::sigma_max", sigma_max,
          "sigma_max >= sigma_min (" + format_value(sigma_min) + ") and finite");
  require(lr_schedule == "constant" || lr_schedule == "cosine", "CalmFlowOptions::lr_schedule", lr_schedule,
          "lr_schedule is \"constant\" or \"cosine\"");
  require(weight_decay >= 0 && std::isfinite(weight_decay), "CalmFlowOptions::weight_decay", weight_decay,
          "weight_decay >= 0 and finite");
  require(beta >= 0 && std::isfinite(beta), "CalmFlowOptions::beta", beta, "beta >= 0 and finite");
  require(lr > 0 && std::isfinite(lr), "CalmFlowOptions::lr", lr, "lr > 0 and finite");
  require(batch >= trajectories && batch % trajectories == 0, "CalmFlowOptions::batch", batch,
          "batch >= trajectories and a multiple of trajectories (" + std::to_string(trajectories) + ")");
  require(steps >= 0, "CalmFlowOptions::steps", steps, "steps >= 0");
  require(max_prompt_tokens >= 1, "CalmFlowOptions::max_prompt_tokens", max_prompt_tokens, "max_prompt_tokens >= 1");
  require(!device.empty(), "CalmFlowOptions::device", device, "a torch::Device string such as cpu, cuda, cuda:0");
  const long positions = long(max_prompt_tokens) + long(time_points) * trajectories * spatial_tokens;
  require(positions <= (1L << 20), "CalmFlowOptions::time_points * trajectories * spatial_tokens",
          long(time_points) * trajectories * spatial_tokens, "at most 2^20 token positions per sequence");
}

CalmFlowOptions calmflow_preset(const std::string& name) {
  CalmFlowOptions o;
  if (name == "default") return o;
  require(name == "paper-2d", "CaLMFlow preset", name, "one of: default, paper-2d");
  o.head = "variational";
  o.increment = false;
  o.time_input = false;
  o.head_width = o.width;
  o.mlp = "paper";
  o.dropout = 0.1;
  o.rotary_fraction = 0.25;
  o.parallel_residual = true;
  o.paths = "variance-exploding";
  o.sigma_min = 1e-4;
  o.sigma_max = 10.0;
  o.normalise_loss = false;
  o.beta = 0.1;
  o.lr = 1e-3;
  o.lr_schedule = "constant";
  o.batch = 256;
  o.steps = 10000;
  return o;
}

std::vector<std::string> calmflow_preset_names() { return {"default", "paper-2d"}; }

const char* to_string(CalmFlowTrainStatus s) {
  switch (s) {
    case CalmFlowTrainStatus::completed: return "completed";
    case CalmFlowTrainStatus::stopped: return "stopped";
    case CalmFlowTrainStatus::non_finite_loss: return "non_finite_loss";
  }
  return "?";
}

namespace {

std::map<std::string, std::string> parse_meta(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

struct FileContents {
  CalmFlowOptions o;
  bool conditional = false;
  std::vector<std::string> vocabulary;
  int step = 0;
  bool has_training_state = false;
  std::array<std::uint64_t, 4> rng{};
  std::string bytes;  // the checked payload; the archive is read from it
  torch::serialize::InputArchive archive;
};

void read_file(const std::string& path, FileContents& f) {
  const std::string rule = "a file written by CalmFlow::save or a CalmFlow training checkpoint";
  // Header, size and CRC-32 first: a truncated, damaged or foreign file never reaches LibTorch's reader.
  f.bytes = detail::read_checked_file(path, detail::checked_format::calmflow, "CalmFlow file", rule);
  c10::IValue meta;
  try {
    f.archive.load_from(f.bytes.data(), f.bytes.size(), torch::Device(torch::kCPU));
    f.archive.read("meta", meta);
  } catch (const c10::Error& e) {
    throw invalid_option("CalmFlow file = " + path + ". Violated constraint: " + rule + " (" +
                         e.what_without_backtrace() + ").");
  }
  require(meta.isString(), "CalmFlow file", path, rule);
  const auto kv = parse_meta(meta.toStringRef());
  require(kv.count("format") && kv.at("format") == "iterop-calmflow-2", "CalmFlow file", path,
          rule + " (format iterop-calmflow-2; files of format 1, before the heads of 2026-12, cannot be read)");
  auto text = [&](const std::string& key) { return kv.count(key) ? kv.at(key) : std::string(); };
  auto& o = f.o;
  o.dim = parse_number<int>(kv, "dim", path);
  o.time_points = parse_number<int>(kv, "time_points", path);
  o.spatial_tokens = parse_number<int>(kv, "spatial_tokens", path);
  o.trajectories = parse_number<int>(kv, "trajectories", path);
  o.width = parse_number<int>(kv, "width", path);
  o.layers = parse_number<int>(kv, "layers", path);
  o.heads = parse_number<int>(kv, "heads", path);
  o.feedforward = parse_number<int>(kv, "feedforward", path);
  o.position = text("position");
  o.head = text("head");
  o.increment = parse_number<int>(kv, "increment", path) != 0;
  o.head_width = parse_number<int>(kv, "head_width", path);
  o.head_steps = parse_number<int>(kv, "head_steps", path);
  // Absent from files written before the option existed (2026-12-03): those heads read h only.
  o.head_reads_state = kv.count("head_reads_state") > 0 && parse_number<int>(kv, "head_reads_state", path) != 0;
  o.time_input = parse_number<int>(kv, "time_input", path) != 0;
  o.mlp = text("mlp");
  o.dropout = parse_number<double>(kv, "dropout", path);
  o.rotary_fraction = parse_number<double>(kv, "rotary_fraction", path);
  o.parallel_residual = parse_number<int>(kv, "parallel_residual", path) != 0;
  o.paths = text("paths");
  o.path_sigma = parse_number<double>(kv, "path_sigma", path);
  o.sigma_min = parse_number<double>(kv, "sigma_min", path);
  o.sigma_max = parse_number<double>(kv, "sigma_max", path);
  o.normalise_loss = parse_number<int>(kv, "normalise_loss", path) != 0;
  o.beta = parse_number<double>(kv, "beta", path);
  o.lr = parse_number<double>(kv, "lr", path);
  o.weight_decay = parse_number<double>(kv, "weight_decay", path);
  o.lr_schedule = text("lr_schedule");
  o.batch = parse_number<int>(kv, "batch", path);
  o.steps = parse_number<int>(kv, "steps", path);
  o.seed = parse_number<std::uint64_t>(kv, "seed", path);
  o.device = kv.count("device") ? kv.at("device") : "cpu";
  o.max_prompt_tokens = parse_number<int>(kv, "max_prompt_tokens", path);
  o.validate();
  f.conditional = parse_number<int>(kv, "conditional", path) != 0;
  const auto v = parse_number<std::size_t>(kv, "vocabulary_size", path);
  for (std::size_t i = 0; i < v; ++i) {
    const auto key = "word" + std::to_string(i);
    require(kv.count(key) > 0, "CalmFlow file " + path + " metadata key", key, "present (" + rule + ")");
    f.vocabulary.push_back(kv.at(key));
  }
  f.step = parse_number<int>(kv, "step", path);
  f.has_training_state = kv.count("rng0") > 0;
  if (f.has_training_state)
    for (int i = 0; i < 4; ++i) f.rng[std::size_t(i)] = parse_number<std::uint64_t>(kv, "rng" + std::to_string(i), path);
}

}  // namespace

struct CalmFlow::Impl {
  CalmFlowOptions o;
  torch::Device device{torch::kCPU};
  bool conditional = false;
  std::vector<std::string> vocabulary;
  std::map<std::string, int64_t> word_id;  // 1-based; 0 is the padding token
  mutable CalmFlowNet net{nullptr};  // evaluation in const members runs the modules
  std::unique_ptr<torch::optim::Optimizer> opt;
  Rng rng;
  int step = 0;

  int64_t N() const { return o.time_points; }
  int64_t M() const { return o.trajectories; }
  int64_t K() const { return o.spatial_tokens; }
  int64_t W() const { return o.width; }
  int64_t D() const { return o.dim; }
  int64_t P() const { return conditional ? o.max_prompt_tokens : 0; }
  int64_t tokens_per_time() const { return M() * K(); }
  /// Noise numbers per (time, trajectory) of generation: K w latents (variational), D (gaussian,
  /// flow), none (deterministic).
  int64_t noise_width() const {
    if (o.head == "variational") return K() * W();
    return o.stochastic() ? D() : 0;
  }
  /// The temperature a sample runs at (a negative request means the head's default).
  double temperature(double requested) const {
    if (requested >= 0) return requested;
    return o.head == "variational" ? 0.5 : 1.0;
  }
  /// Noise scale of the training paths at time t.
  double path_noise(double t) const {
    if (o.paths == "noisy") return t > 0 && t < 1 ? o.path_sigma : 0.0;
    if (o.paths == "bridge") return o.path_sigma * std::sqrt(std::max(0.0, t * (1.0 - t)));
    if (o.paths == "variance-exploding") return o.sigma_min * std::pow(o.sigma_max / o.sigma_min, 1.0 - t);
    return 0.0;
  }
  void make_optimizer() {
    if (o.weight_decay > 0)
      opt = std::make_unique<torch::optim::AdamW>(net->parameters(),
                                                  torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
    else
      opt = std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(o.lr));
  }

  void build(const CalmFlowOptions& opts, std::vector<std::string> vocab, bool cond) {
    o = opts;
    device = parse_device(o.device);
    conditional = cond;
    vocabulary = std::move(vocab);
    word_id.clear();
    for (std::size_t i = 0; i < vocabulary.size(); ++i) word_id[vocabulary[i]] = int64_t(i) + 1;
    torch::manual_seed(o.seed);
    const int64_t max_positions = P() + N() * M() * K();
    net = CalmFlowNet(o, conditional ? int64_t(vocabulary.size()) + 1 : 0, max_positions);
    net->to(device);
    net->eval();
    make_optimizer();
    rng = Rng(o.seed ^ 0x5851f42d4c957f2dULL);
    step = 0;
  }

  /// Word ids of a prompt, left-padded with 0 to P; `field` names the input in errors.
  std::vector<int64_t> prompt_ids(const std::string& prompt, const std::string& field) const {
    const auto ws = words_of(prompt);
    require(int64_t(ws.size()) <= P(), field + " word count", ws.size(),
            "at most max_prompt_tokens = " + std::to_string(o.max_prompt_tokens) + " words (prompt \"" + prompt + "\")");
    std::vector<int64_t> ids(std::size_t(P()), 0);
    const std::size_t pad = std::size_t(P()) - ws.size();
    for (std::size_t i = 0; i < ws.size(); ++i) {
      auto it = word_id.find(ws[i]);
      require(it != word_id.end(), field + " word", ws[i],
              "a word of the model's vocabulary, built from its training prompts (prompt \"" + prompt + "\")");
      ids[pad + i] = it->second;
    }
    return ids;
  }

  torch::Tensor float_tensor(std::vector<float> v, std::vector<int64_t> shape) const {
    return torch::from_blob(v.data(), shape, torch::kFloat32).clone().to(device);
  }

  /// Hidden states of prompt (ids [S, P] or undefined) + tokens [S, n, W].
  torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& tokens) const {
    if (P() == 0) return tokens;
    return torch::cat({net->words->forward(ids), tokens}, 1);
  }

  // --- the head -------------------------------------------------------------------------------

  /// What the gaussian and flow heads read for predecessors prev [S, T, M, D] with source states x0
  /// [S, 1, M, D]: the grouped hidden states [S, T, M, K W], with head_reads_state followed by prev and x0.
  torch::Tensor head_input(const torch::Tensor& hf, const torch::Tensor& prev, const torch::Tensor& x0) const {
    auto g = hf.reshape({prev.size(0), prev.size(1), prev.size(2), K() * W()});
    if (!o.head_reads_state) return g;
    return torch::cat({g, prev, x0.expand(prev.sizes())}, -1);
  }

  /// The next states [S, T, M, D] from the hidden states of their predecessors' tokens hf
  /// [S, T M K, W], the predecessors prev [S, T, M, D], the source states x0 [S, 1, M, D] and the noise
  /// eps [S, T, M, noise_width()] (undefined: noise-free) at temperature tau.
  torch::Tensor next_state(const torch::Tensor& hf, const torch::Tensor& prev, const torch::Tensor& x0,
                           const torch::Tensor& eps, double tau) const {
    const int64_t s = prev.size(0), t = prev.size(1), m = prev.size(2);
    const bool noisy = eps.defined() && tau > 0;
    torch::Tensor y;
    if (o.head == "variational" || o.head == "deterministic") {
      auto [mu, var] = net->latent_head(hf);
      auto z = noisy ? mu + tau * torch::sqrt(var) * eps.reshape(mu.sizes()) : mu;
      y = net->decode(z, t, m);
    } else {
      auto g = head_input(hf, prev, x0);
      if (o.head == "gaussian") {
        auto [mean, var] = net->gaussian(g);
        y = noisy ? mean + tau * torch::sqrt(var) * eps : mean;
      } else {
        y = noisy ? tau * eps : torch::zeros_like(prev);
        auto r = torch::zeros({s, t, m, 1}, prev.options());
        const double dr = 1.0 / double(o.head_steps);
        for (int k = 0; k < o.head_steps; ++k) {
          r.fill_(double(k) * dr);
          y = y + dr * net->flow_velocity(y, r, g);
        }
      }
    }
    return o.increment ? prev + y : y;
  }

  // --- training -----------------------------------------------------------------------------

  struct Batch {
    torch::Tensor x;    // [S, N, M, D] (noisy paths)
    torch::Tensor ids;  // [S, P] (undefined without prompts)
    torch::Tensor eps;  // variational: [S, (N-1) M K, W] latent noise; flow: [S, N-1, M, D] source noise e
    torch::Tensor r;    // flow: [S, N-1, M, 1] times of the head's flow
  };

  Batch draw(const CalmFlowData& data, const std::vector<std::vector<std::int64_t>>& prompt_ids_of_row,
             const std::map<std::vector<std::int64_t>, std::vector<std::size_t>>& rows_of_prompt, int64_t sequences,
             Rng& r) const {
    const int64_t n = N(), m = M(), d = D();
    std::vector<float> x(std::size_t(sequences * n * m * d));
    std::vector<int64_t> ids;
    std::vector<double> sigma(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) sigma[std::size_t(i)] = path_noise(double(i) / double(n - 1));
    const bool noisy_paths = std::any_of(sigma.begin(), sigma.end(), [](double v) { return v > 0; });
    for (int64_t s = 0; s < sequences; ++s) {
      const std::vector<std::size_t>* group = nullptr;
      if (P() > 0) {
        const std::size_t r0 = r.below(data.target.rows);
        const auto& pid = prompt_ids_of_row[r0];
        ids.insert(ids.end(), pid.begin(), pid.end());
        group = &rows_of_prompt.at(pid);
      }
      for (int64_t j = 0; j < m; ++j) {
        const std::size_t a = r.below(data.source.rows);
        const std::size_t b = group ? (*group)[r.below(group->size())] : r.below(data.target.rows);
        const auto noise = noisy_paths ? r.normals(std::size_t(n * d)) : std::vector<float>();
        for (int64_t i = 0; i < n; ++i) {
          const double t = double(i) / double(n - 1);
          for (int64_t c = 0; c < d; ++c) {
            double v = (1.0 - t) * data.source(a, std::size_t(c)) + t * data.target(b, std::size_t(c));
            if (noisy_paths) v += sigma[std::size_t(i)] * noise[std::size_t(i * d + c)];
            x[std::size_t(((s * n + i) * m + j) * d + c)] = float(v);
          }
        }
      }
    }
    Batch bt;
    bt.x = float_tensor(std::move(x), {sequences, n, m, d});
    if (P() > 0) bt.ids = torch::tensor(ids, torch::kLong).reshape({sequences, P()}).to(device);
    if (o.head == "variational")
      bt.eps = float_tensor(r.normals(std::size_t(sequences * (n - 1) * m * K() * W())),
                            {sequences, (n - 1) * m * K(), W()});
    if (o.head == "flow") {
      bt.eps = float_tensor(r.normals(std::size_t(sequences * (n - 1) * m * d)), {sequences, n - 1, m, d});
      bt.r = float_tensor(r.uniforms(std::size_t(sequences * (n - 1) * m)), {sequences, n - 1, m, 1});
    }
    return bt;
  }

  struct Loss {
    torch::Tensor total, mse, kl, per_position;
  };

  /// The training loss; per_position[p] is position p's share, summed over the batch, so that
  /// total == per_position.sum(). Prompt tokens and the last time step's tokens are masked out.
  Loss loss(const Batch& b) const {
    const int64_t s = b.x.size(0), n = N(), m = M(), k = K(), p = P();
    const int64_t flow = n * m * k, len = p + flow, trained = (n - 1) * m * k;
    const double per_dim = o.normalise_loss ? double(D()) : 1.0;
    auto h = net->body->forward(embed(b.ids, net->tokens(b.x)));
    auto hf = h.narrow(1, p, trained);
    auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    auto prev = b.x.narrow(1, 0, n - 1), next = b.x.narrow(1, 1, n - 1);  // [S, N-1, M, D]
    auto target = o.increment ? next - prev : next;
    Loss out;
    out.kl = torch::zeros({}, opts);
    auto per_position = torch::zeros({len}, opts);
    torch::Tensor data;  // [S, N-1, M]
    if (o.head == "variational" || o.head == "deterministic") {
      auto [mu, var] = net->latent_head(hf);
      auto z = mu;
      if (o.head == "variational") {
        auto kl_tok = 0.5 * (mu.pow(2) + var - 1.0 - torch::log(var)).sum(-1);  // [S, (N-1) M K]
        auto kl_pos = kl_tok.sum(0) / (double(s * trained) * per_dim);
        out.kl = kl_pos.sum();
        per_position = per_position + o.beta * torch::cat({torch::zeros({p}, opts), kl_pos, torch::zeros({m * k}, opts)});
        z = mu + torch::sqrt(var) * b.eps;
      }
      data = (net->decode(z, n - 1, m) - target).pow(2).sum(-1) / per_dim;
    } else if (o.head == "gaussian") {
      auto [mean, var] = net->gaussian(head_input(hf, prev, b.x.narrow(1, 0, 1)));
      data = (0.5 * ((target - mean).pow(2) / var + torch::log(var))).mean(-1);
    } else {
      auto yr = (1.0 - b.r) * b.eps + b.r * target;
      auto v = net->flow_velocity(yr, b.r, head_input(hf, prev, b.x.narrow(1, 0, 1)));
      data = (v - (target - b.eps)).pow(2).mean(-1);
    }
    auto group = data.sum(0) / double(s * (n - 1) * m);  // [N-1, M]
    out.mse = group.sum();
    auto share = (group.unsqueeze(-1) / double(k)).expand({n - 1, m, k}).reshape({trained});
    per_position = per_position + torch::cat({torch::zeros({p}, opts), share, torch::zeros({m * k}, opts)});
    out.per_position = per_position;
    out.total = per_position.sum();
    return out;
  }

  // --- generation ---------------------------------------------------------------------------

  struct Prepared {
    int64_t rows = 0, sequences = 0;
    double tau = 0;     // the temperature
    torch::Tensor x0;   // [S, M, D]
    torch::Tensor ids;  // [S, P] or undefined
    torch::Tensor eps;  // [S, N-1, M, noise_width()] or undefined
  };

  Prepared prepare(const SampleSet& x0, const CalmFlowSampleOptions& so, const std::string& where) const {
    require(x0.rows >= 1, where + " x0.rows", x0.rows, "rows >= 1");
    require(x0.dim == std::size_t(D()), where + " x0.dim", x0.dim, "dim == CalmFlowOptions::dim = " + std::to_string(D()));
    require(x0.values.size() == x0.rows * x0.dim, where + " x0.values.size()", x0.values.size(),
            "rows * dim = " + std::to_string(x0.rows * x0.dim));
    require(x0.all_finite(), where + " x0", std::string("non-finite values"), "every value finite");
    require(std::isfinite(so.temperature), "CalmFlowSampleOptions::temperature", so.temperature,
            "finite (>= 0, or negative for the head's default)");
    require(conditional || so.prompt.empty(), "CalmFlowSampleOptions::prompt", so.prompt,
            "empty for a model built without prompts");
    Prepared pr;
    pr.rows = int64_t(x0.rows);
    pr.sequences = (pr.rows + M() - 1) / M();
    pr.tau = temperature(so.temperature);
    std::vector<int64_t> ids;
    if (P() > 0) ids = prompt_ids(so.prompt, "CalmFlowSampleOptions::prompt");
    std::vector<float> x(std::size_t(pr.sequences * M() * D()));
    for (int64_t r = 0; r < pr.sequences * M(); ++r)
      for (int64_t c = 0; c < D(); ++c) x[std::size_t(r * D() + c)] = float(x0(std::size_t(r % pr.rows), std::size_t(c)));
    pr.x0 = float_tensor(std::move(x), {pr.sequences, M(), D()});
    if (P() > 0) pr.ids = torch::tensor(ids, torch::kLong).reshape({1, P()}).expand({pr.sequences, P()}).contiguous().to(device);
    if (noise_width() > 0 && pr.tau > 0) {
      Rng r(so.seed);
      pr.eps = float_tensor(r.normals(std::size_t(pr.sequences * (N() - 1) * M() * noise_width())),
                            {pr.sequences, N() - 1, M(), noise_width()});
    }
    return pr;
  }

  torch::Tensor noise_at(const Prepared& pr, int64_t i) const {
    return pr.eps.defined() ? pr.eps.narrow(1, i, 1) : torch::Tensor();
  }

  /// Sequential generation: [S, N, M, D].
  torch::Tensor generate(const Prepared& pr, bool use_cache) const {
    std::vector<torch::Tensor> states{pr.x0.unsqueeze(1)};  // each [S, 1, M, D]
    const int64_t mk = tokens_per_time();
    detail::KvCache cache;
    for (int64_t i = 0; i + 1 < N(); ++i) {
      torch::Tensor h;
      if (use_cache) {
        auto tok = net->tokens(states.back(), i);
        if (i == 0) {
          h = net->body->forward(embed(pr.ids, tok), 0, &cache);
        } else {
          h = net->body->forward(tok, cache.length, &cache);
        }
      } else {
        h = net->body->forward(embed(pr.ids, net->tokens(torch::cat(states, 1))));
      }
      auto last = h.narrow(1, h.size(1) - mk, mk);
      states.push_back(next_state(last, states.back(), states.front(), noise_at(pr, i), pr.tau));
    }
    return torch::cat(states, 1);
  }

  /// The one-step operator on trajectories [S, N, M, D].
  torch::Tensor apply(const Prepared& pr, const torch::Tensor& x) const {
    const int64_t trained = (N() - 1) * tokens_per_time();
    auto h = net->body->forward(embed(pr.ids, net->tokens(x)));
    auto hf = h.narrow(1, P(), trained);
    return torch::cat({x.narrow(1, 0, 1), next_state(hf, x.narrow(1, 0, N() - 1), x.narrow(1, 0, 1), pr.eps, pr.tau)}, 1);
  }

  SampleSet final_states(const torch::Tensor& traj, int64_t rows) const {
    return slice(traj, N() - 1, rows);
  }
  SampleSet slice(const torch::Tensor& traj, int64_t i, int64_t rows) const {
    auto t = traj.select(1, i).reshape({-1, D()}).narrow(0, 0, rows).to(torch::kCPU).to(torch::kFloat64).contiguous();
    SampleSet out{std::size_t(rows), std::size_t(D())};
    std::copy(t.data_ptr<double>(), t.data_ptr<double>() + t.numel(), out.values.begin());
    return out;
  }

  // --- files ----------------------------------------------------------------------------------

  std::string meta_text(bool training_state) const {
    std::ostringstream s;
    s << "format=iterop-calmflow-2\n" << options_text(o) << "conditional=" << (conditional ? 1 : 0)
      << "\nvocabulary_size=" << vocabulary.size() << "\nstep=" << step << "\n";
    for (std::size_t i = 0; i < vocabulary.size(); ++i) s << "word" << i << "=" << vocabulary[i] << "\n";
    if (training_state)
      for (int i = 0; i < 4; ++i) s << "rng" << i << "=" << rng.s[std::size_t(i)] << "\n";
    return s.str();
  }

  void write(const std::string& path, bool training_state) const {
    torch::serialize::OutputArchive ar;
    ar.write("meta", c10::IValue(meta_text(training_state)));
    torch::serialize::OutputArchive model;
    net->save(model);
    ar.write("model", model);
    if (training_state) {
      torch::serialize::OutputArchive optimizer;
      opt->save(optimizer);
      ar.write("optimizer", optimizer);
    }
    std::ostringstream bytes;
    ar.save_to(bytes);
    detail::write_checked_file(path, detail::checked_format::calmflow, bytes.str(), "CalmFlow file");  // atomic, with CRC-32
  }

/// Loads weights (and, when present and wanted, Adam state and RNG) from a read file into m.
void load_state(FileContents& f, bool training_state, const std::string& path) {
    auto& m = *this;
  try {
    torch::serialize::InputArchive model;
    f.archive.read("model", model);
    m.net->load(model);
    m.net->to(m.device);
    m.make_optimizer();
    if (training_state && f.has_training_state) {
      torch::serialize::InputArchive optimizer;
      f.archive.read("optimizer", optimizer);
      m.opt->load(optimizer);
      m.rng.s = f.rng;
    }
  } catch (const c10::Error& e) {
    throw invalid_option("CalmFlow file = " + path +
                         ". Violated constraint: weights matching the options stored in it (" +
                         e.what_without_backtrace() + ").");
  }
  m.step = f.step;
}


/// Validates training data against a model; fills the prompt ids of every target row and the
/// rows of each distinct prompt.
void check_data(const CalmFlowData& data, std::vector<std::vector<std::int64_t>>& ids_of_row,
                std::map<std::vector<std::int64_t>, std::vector<std::size_t>>& rows_of) const {
  const auto& m = *this;
  const auto d = std::size_t(m.D());
  for (auto [name, set] : {std::pair<const char*, const SampleSet*>{"source", &data.source}, {"target", &data.target}}) {
    const std::string f = std::string("CalmFlowData::") + name;
    require(set->rows >= 1, f + ".rows", set->rows, "rows >= 1");
    require(set->dim == d, f + ".dim", set->dim, "dim == CalmFlowOptions::dim = " + std::to_string(d));
    require(set->values.size() == set->rows * set->dim, f + ".values.size()", set->values.size(),
            "rows * dim = " + std::to_string(set->rows * set->dim));
    require(set->all_finite(), f, std::string("non-finite values"), "every value finite");
  }
  if (!m.conditional) {
    require(data.prompts.empty(), "CalmFlowData::prompts.size()", data.prompts.size(),
            "0 for a model built without prompts (build it with the training prompts to condition on them)");
    return;
  }
  require(data.prompts.size() == data.target.rows, "CalmFlowData::prompts.size()", data.prompts.size(),
          "one prompt per target row (" + std::to_string(data.target.rows) + ") for a model built with prompts");
  std::map<std::string, std::vector<std::int64_t>> cache;
  ids_of_row.resize(data.prompts.size());
  for (std::size_t r = 0; r < data.prompts.size(); ++r) {
    auto it = cache.find(data.prompts[r]);
    if (it == cache.end())
      it = cache.emplace(data.prompts[r], m.prompt_ids(data.prompts[r], "CalmFlowData::prompts[" + std::to_string(r) + "]")).first;
    ids_of_row[r] = it->second;
    rows_of[it->second].push_back(r);
  }
}

bool all_parameters_finite() const {
  for (const auto& p : net->parameters())
    if (!torch::isfinite(p).all().item<bool>()) return false;
  return true;
}

};


// ---------------------------------------------------------------------------------------------

CalmFlow::CalmFlow() : impl_(std::make_unique<Impl>()) {}

CalmFlow::CalmFlow(const CalmFlowOptions& o, const std::vector<std::string>& prompts) : impl_(std::make_unique<Impl>()) {
  o.validate();
  std::vector<std::string> vocab;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const auto ws = words_of(prompts[i]);
    require(int(ws.size()) <= o.max_prompt_tokens, "CalmFlow prompts[" + std::to_string(i) + "] word count", ws.size(),
            "at most max_prompt_tokens = " + std::to_string(o.max_prompt_tokens) + " words (prompt \"" + prompts[i] + "\")");
    vocab.insert(vocab.end(), ws.begin(), ws.end());
  }
  std::sort(vocab.begin(), vocab.end());
  vocab.erase(std::unique(vocab.begin(), vocab.end()), vocab.end());
  const bool cond = !prompts.empty();
  (void)parse_device(o.device);
  translate_torch_errors([&] {
    impl_->build(o, std::move(vocab), cond);
    return 0;
  });
}

CalmFlow::~CalmFlow() = default;
CalmFlow::CalmFlow(CalmFlow&&) noexcept = default;
CalmFlow& CalmFlow::operator=(CalmFlow&&) noexcept = default;

const CalmFlowOptions& CalmFlow::options() const { return impl_->o; }
const std::vector<std::string>& CalmFlow::vocabulary() const { return impl_->vocabulary; }
bool CalmFlow::conditional() const { return impl_->conditional; }
int CalmFlow::step() const { return impl_->step; }

void CalmFlow::set_steps(int steps) {
  require(steps >= 0, "CalmFlow::set_steps steps", steps, "steps >= 0");
  impl_->o.steps = steps;
}

long CalmFlow::num_parameters() const {
  long n = 0;
  for (const auto& p : impl_->net->parameters()) n += long(p.numel());
  return n;
}

std::vector<CalmFlowToken> CalmFlow::layout() const {
  const auto& m = *impl_;
  std::vector<CalmFlowToken> out;
  for (int64_t p = 0; p < m.P(); ++p) out.push_back(CalmFlowToken{.prompt = true});
  for (int64_t i = 0; i < m.N(); ++i)
    for (int64_t j = 0; j < m.M(); ++j)
      for (int64_t k = 0; k < m.K(); ++k)
        out.push_back(CalmFlowToken{.prompt = false, .time = int(i), .trajectory = int(j), .spatial = int(k),
                                    .in_loss = i + 1 < m.N()});
  return out;
}


CalmFlowTrainReport CalmFlow::train(const CalmFlowData& data, const CalmFlowTrainOptions& t) {
  auto& m = *impl_;
  require(t.checkpoint_every >= 0, "CalmFlowTrainOptions::checkpoint_every", t.checkpoint_every, "checkpoint_every >= 0");
  require(t.progress_every >= 1, "CalmFlowTrainOptions::progress_every", t.progress_every, "progress_every >= 1");
  require(t.checkpoint_every == 0 || !t.checkpoint_path.empty(), "CalmFlowTrainOptions::checkpoint_path",
          t.checkpoint_path, "non-empty when checkpoint_every > 0");
  if (!t.checkpoint_path.empty()) {
    const auto parent = std::filesystem::path(t.checkpoint_path).parent_path();
    require(parent.empty() || std::filesystem::is_directory(parent), "CalmFlowTrainOptions::checkpoint_path",
            t.checkpoint_path, "in an existing folder");
  }
  std::vector<std::vector<std::int64_t>> ids_of_row;
  std::map<std::vector<std::int64_t>, std::vector<std::size_t>> rows_of;
  m.check_data(data, ids_of_row, rows_of);
  if (!t.resume_from.empty()) {
    FileContents f;
    read_file(t.resume_from, f);
    require(compatibility_text(f.o) == compatibility_text(m.o), "CalmFlowTrainOptions::resume_from", t.resume_from,
            "a checkpoint of a model with the same options (all but steps and device)");
    require(f.vocabulary == m.vocabulary && f.conditional == m.conditional, "CalmFlowTrainOptions::resume_from",
            t.resume_from, "a checkpoint of a model with the same vocabulary");
    require(f.has_training_state, "CalmFlowTrainOptions::resume_from", t.resume_from,
            "a training checkpoint (with Adam and RNG state), not a file written by save()");
    translate_torch_errors([&] {
      m.load_state(f, true, t.resume_from);
      return 0;
    });
  }
  return translate_torch_errors([&] {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    CalmFlowTrainReport rep;
    rep.first_step = m.step;
    const int64_t sequences = m.o.batch / m.o.trajectories;
    m.net->train();
    std::vector<torch::Tensor> good;  // weights of the last step whose loss was finite
    auto checkpoint = [&] {
      if (t.checkpoint_path.empty()) return;
      if (detail::data_parallel_rank() == 0) m.write(t.checkpoint_path, true);  // data parallel: rank 0 writes
      rep.last_checkpoint = t.checkpoint_path;
      rep.last_checkpoint_step = m.step;
    };
    auto restore_good = [&] {
      if (good.empty()) return;
      torch::NoGradGuard no_grad;
      auto params = m.net->parameters();
      for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(good[i]);
    };
    auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
    auto progress = [&](const CalmFlowProgress& p) { return !t.progress || t.progress(p); };
    rep.status = CalmFlowTrainStatus::completed;
    rep.message = "trained to step " + std::to_string(m.o.steps) + ".";
    bool checkpointed_now = false;
    while (m.step < m.o.steps) {
      auto batch = m.draw(data, ids_of_row, rows_of, sequences, m.rng);
      const auto sh = detail::batch_share(sequences);  // data parallel: this rank's sequences of the same batch
      for (auto* b : {&batch.x, &batch.ids, &batch.eps, &batch.r})
        if (b->defined()) *b = b->slice(0, sh.lo, sh.hi);
      auto l = m.loss(batch);
      l.total = l.total * sh.weight;
      l.mse = l.mse * sh.weight;
      l.kl = l.kl * sh.weight;
      m.opt->zero_grad();
      l.total.backward();
      const double loss = detail::reduce_gradients(m.net->parameters(), l.total, {&l.mse, &l.kl});  // summed over ranks
      if (!std::isfinite(loss)) {
        restore_good();
        rep.status = CalmFlowTrainStatus::non_finite_loss;
        rep.message = "the loss of step " + std::to_string(m.step + 1) + " is " + format_value(loss) +
                      "; training stopped, the model holds the weights of step " +
                      std::to_string(good.empty() ? m.step : m.step - 1) + " (the last with a finite loss)" +
                      (rep.last_checkpoint.empty() ? "" : "; the last checkpoint is at step " +
                                                             std::to_string(rep.last_checkpoint_step)) + ".";
        if (!good.empty()) m.step -= 1;
        break;
      }
      good.clear();
      for (const auto& p : m.net->parameters()) good.push_back(p.detach().clone());
      if (m.o.lr_schedule == "cosine") {
        const double lr = 0.5 * m.o.lr * (1.0 + std::cos(M_PI * double(m.step) / double(m.o.steps)));
        for (auto& group : m.opt->param_groups()) group.options().set_lr(lr);
      }
      m.opt->step();
      m.step += 1;
      rep.loss.push_back(loss);
      rep.mse.push_back(l.mse.item<double>());
      rep.kl.push_back(l.kl.item<double>());
      checkpointed_now = false;
      if (t.checkpoint_every > 0 && m.step % t.checkpoint_every == 0 && m.all_parameters_finite()) {
        checkpoint();
        checkpointed_now = true;
      }
      const bool last = m.step == m.o.steps;
      if (t.progress && (m.step % t.progress_every == 0 || last)) {
        CalmFlowProgress p;
        p.step = m.step;
        p.steps = m.o.steps;
        p.loss = loss;
        p.mse = rep.mse.back();
        p.kl = rep.kl.back();
        const double secs = elapsed();
        p.steps_per_second = secs > 0 ? double(rep.loss.size()) / secs : 0.0;
        p.seconds_left = p.steps_per_second > 0 ? double(m.o.steps - m.step) / p.steps_per_second : 0.0;
        if (!progress(p) && !last) {
          rep.status = CalmFlowTrainStatus::stopped;
          rep.message = "stopped by the progress callback at step " + std::to_string(m.step) + ".";
          break;
        }
      }
    }
    if (rep.status != CalmFlowTrainStatus::non_finite_loss && !checkpointed_now && !t.checkpoint_path.empty() &&
        m.all_parameters_finite())
      checkpoint();
    m.net->eval();
    rep.last_step = m.step;
    rep.seconds = elapsed();
    rep.steps_per_second = rep.seconds > 0 ? double(rep.loss.size()) / rep.seconds : 0.0;
    return rep;
  });
}

void CalmFlow::save(const std::string& path) const {
  const auto parent = std::filesystem::path(path).parent_path();
  require(!path.empty() && (parent.empty() || std::filesystem::is_directory(parent)), "CalmFlow::save path", path,
          "a file in an existing folder");
  translate_torch_errors([&] {
    impl_->write(path, false);
    return 0;
  });
}

CalmFlow CalmFlow::load(const std::string& path, const std::string& device) {
  FileContents f;
  read_file(path, f);
  if (!device.empty()) f.o.device = device;
  (void)parse_device(f.o.device);
  CalmFlow model;
  translate_torch_errors([&] {
    model.impl_->build(f.o, f.vocabulary, f.conditional);
    model.impl_->load_state(f, true, path);
    model.impl_->net->eval();
    return 0;
  });
  return model;
}

distributions::SampleSet CalmFlow::sample(const SampleSet& x0, const CalmFlowSampleOptions& s) const {
  const auto& m = *impl_;
  auto pr = m.prepare(x0, s, "CalmFlow::sample");
  return translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    m.net->eval();
    return m.final_states(m.generate(pr, s.use_cache), pr.rows);
  });
}

CalmFlowTrajectory CalmFlow::sample_trajectory(const SampleSet& x0, const CalmFlowSampleOptions& s) const {
  const auto& m = *impl_;
  auto pr = m.prepare(x0, s, "CalmFlow::sample_trajectory");
  return translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    m.net->eval();
    auto traj = m.generate(pr, s.use_cache);
    CalmFlowTrajectory out{x0};  // x(t_0) is given (exactly, not through float32)
    for (int64_t i = 1; i < m.N(); ++i) out.push_back(m.slice(traj, i, pr.rows));
    return out;
  });
}

CalmFlowTrajectory CalmFlow::apply_operator(const CalmFlowTrajectory& x, const CalmFlowSampleOptions& s) const {
  const auto& m = *impl_;
  require(int64_t(x.size()) == m.N(), "CalmFlow::apply_operator x.size()", x.size(),
          "time_points = " + std::to_string(m.N()) + " slices");
  for (std::size_t i = 0; i < x.size(); ++i) {
    require(x[i].rows == x[0].rows, "CalmFlow::apply_operator x[" + std::to_string(i) + "].rows", x[i].rows,
            "equal to x[0].rows = " + std::to_string(x[0].rows));
    require(x[i].dim == std::size_t(m.D()) && x[i].values.size() == x[i].rows * x[i].dim,
            "CalmFlow::apply_operator x[" + std::to_string(i) + "].dim", x[i].dim,
            "dim == CalmFlowOptions::dim = " + std::to_string(m.D()) + " with rows * dim values");
  }
  auto pr = m.prepare(x.at(0), s, "CalmFlow::apply_operator");
  return translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    m.net->eval();
    std::vector<torch::Tensor> slices;
    for (const auto& xi : x) {
      std::vector<float> v(std::size_t(pr.sequences * m.M() * m.D()));
      for (int64_t r = 0; r < pr.sequences * m.M(); ++r)
        for (int64_t c = 0; c < m.D(); ++c) v[std::size_t(r * m.D() + c)] = float(xi(std::size_t(r % pr.rows), std::size_t(c)));
      slices.push_back(m.float_tensor(std::move(v), {pr.sequences, 1, m.M(), m.D()}));
    }
    auto y = m.apply(pr, torch::cat(slices, 1));
    CalmFlowTrajectory out{x[0]};  // T(x)(t_0) = x(t_0), exactly
    for (int64_t i = 1; i < m.N(); ++i) out.push_back(m.slice(y, i, pr.rows));
    return out;
  });
}

CalmFlowParallelReport CalmFlow::sample_parallel(const SampleSet& x0, const CalmFlowSampleOptions& s,
                                                 const CalmFlowParallelOptions& p) const {
  require(p.tol >= 0 && std::isfinite(p.tol), "CalmFlowParallelOptions::tol", p.tol, "tol >= 0 and finite");
  require(p.max_sweeps >= 0, "CalmFlowParallelOptions::max_sweeps", p.max_sweeps, "max_sweeps >= 0");
  require(p.anderson_memory >= 1, "CalmFlowParallelOptions::anderson_memory", p.anderson_memory, "anderson_memory >= 1");
  const auto& m = *impl_;
  auto pr = m.prepare(x0, s, "CalmFlow::sample_parallel");
  return translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    m.net->eval();
    CalmFlowParallelReport rep;
    rep.sequential_passes = int(m.N() - 1);
    const auto seq = m.generate(pr, false);
    rep.sequential = m.final_states(seq, pr.rows);
    const auto guess = pr.x0.unsqueeze(1).expand({pr.sequences, m.N(), m.M(), m.D()}).contiguous();
    auto op = [&](const torch::Tensor& x) { return m.apply(pr, x); };
    iterop::Stop stop;
    stop.abs_tol = p.tol;
    stop.rel_tol = 0.0;
    stop.norm = iterop::Norm::max;
    stop.max_iterations = p.max_sweeps > 0 ? p.max_sweeps : int(2 * (m.N() - 1));
    stop.stagnation_window = 0;
    stop.divergence_factor = std::numeric_limits<double>::infinity();
    auto run = [&](auto method, CalmFlowParallelSolve& out) {
      auto observer = [&](const iterop::IterationView<torch::Tensor>& v) {
        out.error_history.push_back(max_abs(v.x - seq));
        out.residual_history.push_back(v.record.residual);
        return iterop::Action::proceed;
      };
      auto r = iterop::solve(op, guess, method, stop, observer);
      out.method = r.method;
      out.status = std::string(iterop::to_string(r.status));
      out.converged = r.converged();
      out.iterations = r.iterations;
      out.evaluations = r.evaluations;
      out.error = max_abs(r.solution - seq);
      for (std::size_t k = 0; k < out.error_history.size(); ++k)
        if (out.error_history[k] <= p.tol) {
          out.sweeps_to_tol = int(k);
          break;
        }
      out.sample = m.final_states(r.solution, pr.rows);
    };
    run(iterop::Picard{}, rep.picard);
    run(iterop::Anderson{.memory = p.anderson_memory}, rep.anderson);
    const auto x = anderson_on_suffix(op, guess, seq, p.tol, stop.max_iterations, p.anderson_memory, rep.anderson_suffix);
    rep.anderson_suffix.sample = m.final_states(x, pr.rows);
    return rep;
  });
}

double CalmFlow::noise_spread(const SampleSet& x0, const CalmFlowSampleOptions& s) const {
  auto other = s;
  other.seed = s.seed + 1;
  const auto a = sample(x0, s), b = sample(x0, other);
  double sum = 0;
  for (std::size_t i = 0; i < a.values.size(); ++i) sum += (a.values[i] - b.values[i]) * (a.values[i] - b.values[i]);
  return std::sqrt(sum / (2.0 * double(a.rows)));
}

CalmFlowLossBreakdown CalmFlow::loss_breakdown(const CalmFlowData& data, int sequences, std::uint64_t seed) const {
  require(sequences >= 1, "CalmFlow::loss_breakdown sequences", sequences, "sequences >= 1");
  const auto& m = *impl_;
  std::vector<std::vector<std::int64_t>> ids_of_row;
  std::map<std::vector<std::int64_t>, std::vector<std::size_t>> rows_of;
  m.check_data(data, ids_of_row, rows_of);
  return translate_torch_errors([&] {
    torch::NoGradGuard no_grad;
    Rng r(seed);
    auto batch = m.draw(data, ids_of_row, rows_of, sequences, r);
    auto l = m.loss(batch);
    CalmFlowLossBreakdown out;
    out.loss = l.total.item<double>();
    out.mse = l.mse.item<double>();
    out.kl = l.kl.item<double>();
    auto pp = l.per_position.to(torch::kCPU).to(torch::kFloat64).contiguous();
    out.per_position.assign(pp.data_ptr<double>(), pp.data_ptr<double>() + pp.numel());
    return out;
  });
}

}  // namespace iterop::operators
