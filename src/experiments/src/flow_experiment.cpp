// The flow experiments: one cell per trained model (CaLMFlow, I-CFM or OT-CFM on one pair and seed),
// stored in cells/ so an interrupted run resumes; tables of exact W2, RBF MMD and energy distance
// against a fresh target sample, the floor of two independent target samples, scatter plots, the
// parallel-in-time sweeps, the ablations and the held-out prompt combinations.
#include "iterop/experiments/flow_experiment.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <set>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/distributions/sample_distances.hpp"
#include "iterop/experiments/build_info.hpp"
#include "iterop/experiments/cell_cache.hpp"
#include "iterop/experiments/plot.hpp"
#include "iterop/experiments/report_writer.hpp"
#include "iterop/experiments/table.hpp"
#include "iterop/experiments/run_time.hpp"
#include "iterop/experiments/seed_statistics.hpp"

namespace iterop::experiments {

namespace {

namespace op = operators;
namespace dist = distributions;
using json = nlohmann::json;


std::string num(double v, int digits = 3) { return std::isfinite(v) ? fmt::format("{:.{}g}", v, digits) : "n/a"; }
std::string pm(const std::pair<double, double>& ms, std::size_t count, int digits = 3) {
  return count > 1 ? num(ms.first, digits) + " ± " + num(ms.second, 2) : num(ms.first, digits);
}

const char* colour(std::size_t i) {
  static const char* c[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"};
  return c[i % 8];
}

std::string slug(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  std::string out;
  for (char c : s)
    if (c != '-' || (!out.empty() && out.back() != '-')) out += c;
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

op::CalmFlowSampleOptions sample_options(double temperature, std::uint64_t seed, const std::string& prompt = "") {
  op::CalmFlowSampleOptions s;
  s.temperature = temperature;
  s.seed = seed;
  s.prompt = prompt;
  return s;
}

std::uint64_t derived_seed(std::uint64_t seed, std::uint64_t stream) { return 1000003ULL * seed + stream; }

json quality_json(const dist::SampleQuality& q) {
  return {{"n", q.n}, {"dim", q.dim}, {"w2", json_number(q.w2)}, {"mmd2", json_number(q.mmd2)},
          {"energy", json_number(q.energy)}, {"gamma", q.gamma}};
}

double jnum(const json& j, const char* key) {
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? std::nan("") : it->get<double>();
}

/// The first two coordinates of up to `limit` rows, flattened (for scatter plots).
json plot_points(const dist::SampleSet& s, std::size_t limit = 1000) {
  json a = json::array();
  const std::size_t rows = std::min(s.rows, limit);
  for (std::size_t i = 0; i < rows; ++i) {
    a.push_back(s(i, 0));
    a.push_back(s.dim > 1 ? s(i, 1) : 0.0);
  }
  return a;
}

Series scatter_series(const json& points, const std::string& label, const std::string& color) {
  Series s;
  s.label = label;
  s.color = color;
  s.points_only = true;
  for (std::size_t i = 0; i + 1 < points.size(); i += 2) {
    s.x.push_back(points[i].get<double>());
    s.y.push_back(points[i + 1].get<double>());
  }
  return s;
}

json calmflow_options_json(const op::CalmFlowOptions& o) {
  return {{"dim", o.dim},         {"time_points", o.time_points}, {"spatial_tokens", o.spatial_tokens},
          {"trajectories", o.trajectories}, {"width", o.width}, {"layers", o.layers},
          {"heads", o.heads},     {"feedforward", o.feedforward}, {"position", o.position},
          {"variational", o.variational}, {"beta", o.beta}, {"lr", o.lr},
          {"batch", o.batch},     {"steps", o.steps},           {"seed", o.seed},
          {"device", o.device},   {"max_prompt_tokens", o.max_prompt_tokens}};
}

json cfm_options_json(const op::CfmOptions& o) {
  return {{"dim", o.dim},     {"width", o.width},     {"depth", o.depth},   {"activation", o.activation},
          {"coupling", op::to_string(o.coupling)},    {"lr", o.lr},         {"batch", o.batch},
          {"steps", o.steps}, {"seed", o.seed},       {"device", o.device}, {"float64", o.float64}};
}


json eval_json(const FlowEvaluation& e) {
  return {{"samples", e.samples}, {"pool", e.pool}, {"seeds", e.seeds}, {"gamma", e.gamma},
          {"temperature", e.temperature}, {"cfm_sampler", e.ode.describe()}};
}

/// Source pool, target pool, generation start points and two independent target samples of one pair and seed.
struct PairData {
  dist::SampleSet source_pool, target_pool, x0, reference, reference2;
};

PairData make_pair_data(const FlowPair& p, const FlowEvaluation& e, std::uint64_t seed) {
  const auto d = static_cast<std::size_t>(p.dim);
  PairData out;
  out.source_pool = dist::sample_dataset(p.source, e.pool, d, derived_seed(seed, 11));
  out.target_pool = dist::sample_dataset(p.target, e.pool, d, derived_seed(seed, 12));
  out.x0 = dist::sample_dataset(p.source, e.samples, d, derived_seed(seed, 13));
  out.reference = dist::sample_dataset(p.target, e.samples, d, derived_seed(seed, 14));
  out.reference2 = dist::sample_dataset(p.target, e.samples, d, derived_seed(seed, 15));
  return out;
}

std::string seed_rule_text() {
  return "cell seed s: model initialisation and minibatches s; source pool 1000003 s + 11, target pool 1000003 s + 12, "
         "generation start points 1000003 s + 13, target sample compared with 1000003 s + 14, second target sample "
         "(the floor) 1000003 s + 15; CaLMFlow sampling noise seed s";
}

/// Training progress lines: about every tenth of the steps.
template <class P>
void report_training(const ExperimentContext& context, const std::string& what, const P& p, double loss) {
  context.report(fmt::format("    {}: step {}/{}, loss {}, {:.2f} steps/s, {} left", what, p.step, p.steps, num(loss, 4),
                             p.steps_per_second,
                             p.steps_per_second > 0 ? format_seconds((p.steps - p.step) / p.steps_per_second) : "?"));
}

/// Trains CaLMFlow on pools (optionally with prompts); returns the model and a JSON of the training.
std::pair<op::CalmFlow, json> train_calmflow(const ExperimentContext& context, const std::string& what,
                                              const op::CalmFlowOptions& o, const op::CalmFlowData& data,
                                              const std::vector<std::string>& prompts = {}) {
  op::CalmFlow model(o, prompts);
  op::CalmFlowTrainOptions t;
  t.progress_every = std::max(1, o.steps / 5);
  t.progress = [&](const op::CalmFlowProgress& p) {
    report_training(context, what, p, p.loss);
    return true;
  };
  const op::CalmFlowTrainReport r = model.train(data, t);
  double final_loss = std::nan("");
  if (!r.loss.empty()) {
    const std::size_t w = std::min<std::size_t>(r.loss.size(), 50);
    final_loss = 0;
    for (std::size_t i = r.loss.size() - w; i < r.loss.size(); ++i) final_loss += r.loss[i];
    final_loss /= static_cast<double>(w);
  }
  json j = {{"status", op::to_string(r.status)},     {"message", r.message},
            {"steps", r.last_step},                  {"seconds", r.seconds},
            {"steps_per_second", r.steps_per_second}, {"final_loss", json_number(final_loss)}};
  return {std::move(model), std::move(j)};
}

json calmflow_parallel_json(const op::CalmFlowParallelReport& r, std::size_t rows) {
  auto solve = [](const op::CalmFlowParallelSolve& s) {
    json err = json::array();
    for (double e : s.error_history) err.push_back(json_number(e));
    return json{{"method", s.method},           {"status", s.status},         {"converged", s.converged},
                {"iterations", s.iterations},   {"evaluations", s.evaluations}, {"sweeps_to_tol", s.sweeps_to_tol},
                {"error", json_number(s.error)}, {"error_history", err}};
  };
  return {{"rows", rows}, {"sequential_passes", r.sequential_passes}, {"picard", solve(r.picard)},
          {"anderson", solve(r.anderson)}};
}

/// One model cell of a FlowStudy: train, sample, measure.
json compute_model_cell(const ExperimentContext& context, const FlowStudy& study, const FlowPair& pair,
                        FlowModelKind kind, std::uint64_t seed, const op::CalmFlowOptions& calm,
                        const op::CfmOptions& cfm, const std::vector<double>& temperatures, bool parallel) {
  const PairData data = make_pair_data(pair, study.eval, seed);
  const std::string what = fmt::format("{} on {}, seed {}", to_string(kind), pair.label(), seed);
  json cell = {{"model", to_string(kind)}};
  json metrics = json::array();
  if (kind == FlowModelKind::calmflow) {
    op::CalmFlowOptions o = calm;
    o.dim = pair.dim;
    o.seed = seed;
    auto [model, train] = train_calmflow(context, what, o, {data.source_pool, data.target_pool, {}});
    cell["parameters"] = model.num_parameters();
    cell["train"] = train;
    cell["options"] = calmflow_options_json(o);
    bool first = true;
    for (double tau : temperatures) {
      const auto t0 = std::chrono::steady_clock::now();
      const dist::SampleSet gen = model.sample(data.x0, sample_options(tau, seed));
      const double secs = seconds_since(t0);
      json m = quality_json(dist::sample_quality(gen, data.reference, study.eval.gamma));
      m["temperature"] = tau;
      m["sample_seconds"] = secs;
      m["forward_passes"] = o.time_points - 1;
      metrics.push_back(m);
      if (first) cell["samples"] = plot_points(gen);
      first = false;
    }
    if (parallel) {
      const std::size_t rows = std::min(study.parallel_rows, data.x0.rows);
      dist::SampleSet x0(rows, data.x0.dim,
                         std::vector<double>(data.x0.values.begin(),
                                             data.x0.values.begin() + static_cast<std::ptrdiff_t>(rows * data.x0.dim)));
      op::CalmFlowParallelOptions p;
      p.tol = study.parallel_tol;
      const auto pr = model.sample_parallel(x0, sample_options(temperatures.front(), seed), p);
      cell["parallel"] = calmflow_parallel_json(pr, rows);
      context.report(fmt::format("    parallel in time ({} rows): N - 1 = {} sequential passes; Picard {} sweeps, "
                                 "Anderson {} sweeps to {}",
                                 rows, pr.sequential_passes, pr.picard.sweeps_to_tol, pr.anderson.sweeps_to_tol,
                                 num(p.tol)));
    }
  } else {
    op::CfmOptions o = cfm;
    o.dim = pair.dim;
    o.seed = seed;
    o.coupling = kind == FlowModelKind::otcfm ? op::CfmCoupling::optimal_transport : op::CfmCoupling::independent;
    op::ConditionalFlowMatching model(o);
    const auto r = model.train(distinct_pool_sampler(data.source_pool, derived_seed(seed, 21)),
                               distinct_pool_sampler(data.target_pool, derived_seed(seed, 22)),
                               [&](const op::CfmProgress& p) {
                                 if (p.step % std::max(1, p.steps / 5) == 0 || p.step == p.steps)
                                   report_training(context, what, p, p.loss);
                                 return Action::proceed;
                               });
    cell["parameters"] = model.num_parameters();
    cell["train"] = {{"status", op::to_string(r.status)},      {"message", r.message},
                     {"steps", r.steps_done},                  {"seconds", r.seconds},
                     {"steps_per_second", r.steps_per_second}, {"final_loss", json_number(r.final_loss(50))},
                     {"assignment_seconds", r.assignment_seconds}};
    cell["options"] = cfm_options_json(o);
    const VelocityFn v = [&model](const double* x, std::size_t n, double t, double* out) { model.velocity(x, n, t, out); };
    const FlowSampleReport s = sample_flow_ode(v, data.x0, study.eval.ode);
    json m = quality_json(dist::sample_quality(s.samples, data.reference, study.eval.gamma));
    m["sample_seconds"] = s.seconds;
    m["sampler"] = s.method;
    m["sampler_status"] = std::string(to_string(s.status));
    m["batch_evaluations"] = s.batch_evaluations;
    m["sample_evaluations"] = s.sample_evaluations;
    metrics.push_back(m);
    cell["samples"] = plot_points(s.samples);
  }
  cell["metrics"] = metrics;
  return cell;
}

std::string cell_line(const json& c) {
  const json& m = c.at("metrics").at(0);
  return fmt::format("{} params, trained in {} ({}), W2 {}, MMD² {}, energy {}", c.at("parameters").get<long>(),
                     format_seconds(c.at("train").at("seconds").get<double>()),
                     c.at("train").at("status").get<std::string>(), num(jnum(m, "w2")), num(jnum(m, "mmd2")),
                     num(jnum(m, "energy")));
}

/// Runs cells through the cache with progress; `compute` makes the result of cell i.
struct FlowCells {
  const ExperimentContext& context;
  CellCache cache;
  CellBudget budget;
  std::size_t total = 0, index = 0, reused = 0;

  FlowCells(const ExperimentContext& c, const std::filesystem::path& folder, std::size_t n)
      : context(c), cache(folder / "cells", !c.fresh), budget(c.stop_after_cells), total(n) {}

  template <class Compute>
  json run(const json& key, const std::string& label, Compute&& compute) {
    const std::size_t i = index++;
    if (auto stored = cache.load(key)) {
      ++reused;
      context.report(fmt::format("[{}/{}] cached: {}: {}", i + 1, total, label, cell_line(*stored)));
      return *stored;
    }
    context.report(fmt::format("[{}/{}] {} ...", i + 1, total, label));
    json result = compute();
    cache.store(key, result);
    context.report(fmt::format("[{}/{}] {}: {}", i + 1, total, label, cell_line(result)));
    budget.computed(total - i - 1);
    return result;
  }
};

std::string plot_markdown(ExperimentOutcome& outcome, ReportFolder& folder, const ExperimentContext& context,
                          const std::string& stem, const Figure& fig, const std::string& caption) {
  const PlotOutcome po = plot_png(folder, stem, fig, PlotOptions{context.gnuplot});
  if (po.written) return fmt::format("![{}]({}.png)\n\n", caption, stem);
  outcome.notes.push_back("plot " + stem + " skipped: " + po.message);
  return fmt::format("Plot `{}` skipped: {} (data `{}.dat`, script `{}.gp`).\n\n", stem, po.message, stem, stem);
}

void require_pair(const FlowPair& p, std::string_view field) {
  const auto names = dist::dataset_names();
  require(std::find(names.begin(), names.end(), p.source) != names.end(), std::string(field) + ".source", p.source,
          "a data set of iterop::distributions");
  require(std::find(names.begin(), names.end(), p.target) != names.end(), std::string(field) + ".target", p.target,
          "a data set of iterop::distributions");
  require(p.dim >= 1, std::string(field) + ".dim", p.dim, "dim >= 1");
  // The data sets check their own dimension rules; a one-point draw finds a mismatch before any work.
  (void)dist::sample_dataset(p.source, 1, static_cast<std::size_t>(p.dim), 0);
  (void)dist::sample_dataset(p.target, 1, static_cast<std::size_t>(p.dim), 0);
}

std::string versions_line(double seconds) {
  return "iterop " + iterop_version() + ", " + compiler_description() + "; total " + format_seconds(seconds) + ".\n\n";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// names, options

std::string to_string(FlowModelKind k) {
  switch (k) {
    case FlowModelKind::calmflow: return "calmflow";
    case FlowModelKind::icfm: return "icfm";
    case FlowModelKind::otcfm: return "otcfm";
  }
  return "?";
}

FlowModelKind parse_flow_model_kind(const std::string& name) {
  if (name == "calmflow") return FlowModelKind::calmflow;
  if (name == "icfm") return FlowModelKind::icfm;
  if (name == "otcfm") return FlowModelKind::otcfm;
  require(false, "model", name, "one of calmflow, icfm, otcfm");
  return FlowModelKind::calmflow;
}

std::string FlowPair::label() const {
  return source + " -> " + target + (dim == 2 ? std::string() : fmt::format(" (D = {})", dim));
}

FlowSize flow_size_from_environment() {
  const char* v = std::getenv("ITEROP_FLOW_SIZE");
  const std::string s = v == nullptr ? "" : v;
  if (s.empty() || s == "small") return FlowSize::small;
  if (s == "full") return FlowSize::full;
  require(false, "ITEROP_FLOW_SIZE", s, "small (the default) or full");
  return FlowSize::small;
}

void FlowEvaluation::validate() const {
  require(samples >= 2, "FlowEvaluation::samples", samples, "samples >= 2");
  require(pool >= 1, "FlowEvaluation::pool", pool, "pool >= 1");
  require(seeds >= 1, "FlowEvaluation::seeds", seeds, "seeds >= 1");
  require(std::isfinite(gamma) && gamma > 0, "FlowEvaluation::gamma", gamma, "0 < gamma < infinity");
  require(std::isfinite(temperature) && temperature >= 0, "FlowEvaluation::temperature", temperature,
          "0 <= temperature < infinity");
  ode.validate();
}

void FlowStudy::validate() const {
  require(!name.empty(), "FlowStudy::name", std::string("\"\""), "a non-empty name");
  require(!pairs.empty(), "FlowStudy::pairs", std::string("[]"), "at least one pair");
  require(!models.empty(), "FlowStudy::models", std::string("[]"), "at least one model");
  for (const auto& p : pairs) require_pair(p, "FlowStudy::pairs");
  require(parallel_rows >= 1, "FlowStudy::parallel_rows", parallel_rows, "parallel_rows >= 1");
  require(std::isfinite(parallel_tol) && parallel_tol > 0, "FlowStudy::parallel_tol", parallel_tol, "parallel_tol > 0");
  eval.validate();
  op::CalmFlowOptions c = calmflow;
  for (const auto& p : pairs) {
    c.dim = p.dim;
    c.validate();
  }
  op::CfmOptions f = cfm;
  f.dim = pairs.front().dim;
  f.validate();
}

void FlowAblationStudy::validate() const {
  require(!name.empty(), "FlowAblationStudy::name", std::string("\"\""), "a non-empty name");
  require_pair(pair, "FlowAblationStudy::pair");
  eval.validate();
  require(!temperatures.empty(), "FlowAblationStudy::temperatures", std::string("[]"), "at least one temperature");
  for (double t : temperatures)
    require(std::isfinite(t) && t >= 0, "FlowAblationStudy::temperatures", t, "0 <= temperature < infinity");
  op::CalmFlowOptions c = base;
  c.dim = pair.dim;
  c.validate();
  for (int n : time_points) {
    op::CalmFlowOptions v = c;
    v.time_points = n;
    v.validate();
  }
  for (int m : trajectories) {
    op::CalmFlowOptions v = c;
    v.trajectories = m;
    v.validate();
  }
  for (int k : spatial_tokens) {
    op::CalmFlowOptions v = c;
    v.spatial_tokens = k;
    v.validate();
  }
}

void FlowConditionalStudy::validate() const {
  require(!name.empty(), "FlowConditionalStudy::name", std::string("\"\""), "a non-empty name");
  task.validate();
  require_pair(FlowPair{source, "moons", 2}, "FlowConditionalStudy::source");
  require(per_prompt >= 1, "FlowConditionalStudy::per_prompt", per_prompt, "per_prompt >= 1");
  eval.validate();
  op::CalmFlowOptions c = calmflow;
  c.dim = 2;
  c.validate();
}

operators::CfmBatchSampler distinct_pool_sampler(dist::SampleSet pool, std::uint64_t seed) {
  require(pool.rows >= 1, "distinct_pool_sampler pool rows", pool.rows, "rows >= 1");
  auto shared = std::make_shared<const dist::SampleSet>(std::move(pool));
  return [shared, seed](std::size_t n, long step) {
    const dist::SampleSet& p = *shared;
    require(n <= p.rows, "distinct_pool_sampler batch", n, "batch <= pool rows (" + std::to_string(p.rows) + ")");
    std::mt19937_64 rng(derived_seed(seed, 7919ULL * static_cast<std::uint64_t>(step) + 1));
    std::vector<std::size_t> index(p.rows);
    std::iota(index.begin(), index.end(), std::size_t{0});
    dist::SampleSet out(n, p.dim);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = i + std::uniform_int_distribution<std::size_t>(0, p.rows - 1 - i)(rng);
      std::swap(index[i], index[j]);
      std::copy_n(p.values.begin() + static_cast<std::ptrdiff_t>(index[i] * p.dim), p.dim,
                  out.values.begin() + static_cast<std::ptrdiff_t>(i * p.dim));
    }
    return out;
  };
}

int cfm_width_for_parameters(long parameters, int dim, int depth) {
  auto count = [&](long w) {
    const long d = dim;
    return (d + 1) * w + w + static_cast<long>(depth - 1) * (w * w + w) + w * d + d;
  };
  long best = 1;
  for (long w = 1; w <= 4096; ++w)
    if (std::labs(count(w) - parameters) < std::labs(count(best) - parameters)) best = w;
  return static_cast<int>(best);
}

// ---------------------------------------------------------------------------------------------
// flow-2d, flow-highdim

ExperimentOutcome run_flow_study(const ExperimentContext& context, const FlowStudy& study) {
  study.validate();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  ExperimentOutcome outcome;

  // CFM widths: matched to CaLMFlow's parameter count per pair (CaLMFlow's count depends on D).
  std::vector<op::CfmOptions> cfm_of_pair;
  std::vector<long> calm_params;
  for (const auto& p : study.pairs) {
    op::CalmFlowOptions c = study.calmflow;
    c.dim = p.dim;
    const long n = op::CalmFlow(c).num_parameters();
    calm_params.push_back(n);
    op::CfmOptions f = study.cfm;
    f.dim = p.dim;
    f.steps = study.calmflow.steps;
    f.batch = study.calmflow.batch;
    if (study.match_parameters) f.width = cfm_width_for_parameters(n, p.dim, f.depth);
    cfm_of_pair.push_back(f);
  }

  const std::size_t seeds = static_cast<std::size_t>(study.eval.seeds);
  FlowCells cells(context, folder.path(), study.pairs.size() * study.models.size() * seeds);
  struct Row {
    std::size_t pair;
    FlowModelKind model;
    std::uint64_t seed;
    json cell;
  };
  std::vector<Row> rows;
  for (std::size_t pi = 0; pi < study.pairs.size(); ++pi) {
    const FlowPair& pair = study.pairs[pi];
    for (std::size_t s = 0; s < seeds; ++s) {
      const std::uint64_t seed = context.seed + s;
      for (FlowModelKind kind : study.models) {
        op::CalmFlowOptions c = study.calmflow;
        c.dim = pair.dim;
        c.seed = seed;
        op::CfmOptions f = cfm_of_pair[pi];
        f.seed = seed;
        const bool parallel = study.parallel_in_time && kind == FlowModelKind::calmflow;
        const json key = {{"experiment", "flow"},
                          {"pair", {{"source", pair.source}, {"target", pair.target}, {"dim", pair.dim}}},
                          {"model", to_string(kind)},
                          {"options", kind == FlowModelKind::calmflow ? calmflow_options_json(c) : cfm_options_json(f)},
                          {"eval", eval_json(study.eval)},
                          {"parallel", parallel ? json{{"rows", study.parallel_rows}, {"tol", study.parallel_tol}}
                                                : json(nullptr)},
                          {"seed", seed}};
        json cell = cells.run(key, fmt::format("{} on {}, seed {}", to_string(kind), pair.label(), seed), [&] {
          return compute_model_cell(context, study, pair, kind, seed, c, f, {study.eval.temperature}, parallel);
        });
        rows.push_back({pi, kind, seed, std::move(cell)});
      }
    }
  }

  // The floor: two independent target samples of the same size, per pair and seed.
  std::vector<std::vector<dist::SampleQuality>> floor(study.pairs.size());
  for (std::size_t pi = 0; pi < study.pairs.size(); ++pi)
    for (std::size_t s = 0; s < seeds; ++s) {
      const PairData d = make_pair_data(study.pairs[pi], study.eval, context.seed + s);
      floor[pi].push_back(dist::sample_quality(d.reference2, d.reference, study.eval.gamma));
    }
  const double seconds = seconds_since(t0);

  // Tables.
  const std::string gamma_text = format_exact(study.eval.gamma);
  Table table;
  table.columns = {"pair", "model", "parameters", "steps", "train time", "W2", "MMD² (γ = " + gamma_text + ")",
                   "energy distance", "sampler"};
  table.align = {Align::left, Align::left, Align::right, Align::right, Align::right, Align::right, Align::right,
                 Align::right, Align::left};
  Table csv;
  csv.columns = {"source", "target", "dim", "model", "seed", "parameters", "steps", "train_seconds", "final_loss",
                 "n", "w2", "mmd2", "gamma", "energy", "sample_seconds"};
  json summary = json::array(), cells_json = json::array(), floor_json = json::array(), parallel_json = json::array();
  Table ptable;
  ptable.columns = {"pair", "seed", "rows", "sequential passes (N - 1)", "Picard sweeps to tol", "Anderson sweeps to tol",
                    "Picard evaluations", "Anderson evaluations"};
  ptable.align.assign(ptable.columns.size(), Align::right);
  ptable.align[0] = Align::left;
  Figure pfig;
  Panel ppanel;
  ppanel.title = "Parallel-in-time CaLMFlow: max |x_k - x_sequential| after k sweeps (first seed)";
  ppanel.x_label = "sweep k (one forward pass over the whole trajectory)";
  ppanel.y_label = "max error against sequential generation";
  std::string summary_line;
  for (std::size_t pi = 0; pi < study.pairs.size(); ++pi) {
    const FlowPair& pair = study.pairs[pi];
    std::vector<double> fw, fm, fe;
    for (const auto& q : floor[pi]) {
      fw.push_back(q.w2);
      fm.push_back(q.mmd2);
      fe.push_back(q.energy);
    }
    for (FlowModelKind kind : study.models) {
      std::vector<double> w, m, e, ts;
      long params = 0;
      int steps = 0;
      std::string sampler;
      for (const auto& r : rows) {
        if (r.pair != pi || r.model != kind) continue;
        const json& q = r.cell.at("metrics").at(0);
        w.push_back(jnum(q, "w2"));
        m.push_back(jnum(q, "mmd2"));
        e.push_back(jnum(q, "energy"));
        ts.push_back(r.cell.at("train").at("seconds").get<double>());
        params = r.cell.at("parameters").get<long>();
        steps = r.cell.at("train").at("steps").get<int>();
        sampler = kind == FlowModelKind::calmflow
                      ? fmt::format("sequential, KV cache, τ = {}, {} passes", format_exact(study.eval.temperature),
                                    q.value("forward_passes", 0))
                      : fmt::format("{}, {} evaluations", q.value("sampler", std::string()),
                                    q.value("batch_evaluations", 0L));
      }
      const auto W = mean_std(w), M = mean_std(m), E = mean_std(e), T = mean_std(ts);
      table.add_row({pair.label(), to_string(kind), std::to_string(params), std::to_string(steps),
                     format_seconds(T.first), pm(W, w.size()), pm(M, m.size()), pm(E, e.size()), sampler});
      summary.push_back({{"pair", pair.label()},     {"source", pair.source},       {"target", pair.target},
                         {"dim", pair.dim},           {"model", to_string(kind)},    {"parameters", params},
                         {"steps", steps},            {"seeds", w.size()},           {"n", study.eval.samples},
                         {"gamma", study.eval.gamma}, {"w2_mean", json_number(W.first)},
                         {"w2_std", json_number(W.second)}, {"mmd2_mean", json_number(M.first)},
                         {"mmd2_std", json_number(M.second)}, {"energy_mean", json_number(E.first)},
                         {"energy_std", json_number(E.second)}, {"train_seconds_mean", json_number(T.first)}});
      summary_line += fmt::format("{}{} {}: W2 {}", summary_line.empty() ? "" : "; ", pair.label(), to_string(kind),
                                  num(W.first));
    }
    const auto W = mean_std(fw), M = mean_std(fm), E = mean_std(fe);
    table.add_row({pair.label(), "floor: two target samples", "", "", "", pm(W, fw.size()), pm(M, fm.size()),
                   pm(E, fe.size()), ""});
    floor_json.push_back({{"pair", pair.label()}, {"n", study.eval.samples}, {"w2_mean", json_number(W.first)},
                          {"mmd2_mean", json_number(M.first)}, {"energy_mean", json_number(E.first)}});
  }
  for (const auto& r : rows) {
    const FlowPair& pair = study.pairs[r.pair];
    const json& q = r.cell.at("metrics").at(0);
    csv.add_row({pair.source, pair.target, std::to_string(pair.dim), to_string(r.model), std::to_string(r.seed),
                 std::to_string(r.cell.at("parameters").get<long>()),
                 std::to_string(r.cell.at("train").at("steps").get<int>()),
                 format_exact(r.cell.at("train").at("seconds").get<double>()),
                 format_exact(jnum(r.cell.at("train"), "final_loss")), std::to_string(study.eval.samples),
                 format_exact(jnum(q, "w2")), format_exact(jnum(q, "mmd2")), format_exact(study.eval.gamma),
                 format_exact(jnum(q, "energy")), format_exact(jnum(q, "sample_seconds"))});
    json c = r.cell;
    c.erase("samples");
    c["pair"] = pair.label();
    c["seed"] = r.seed;
    cells_json.push_back(c);
    if (r.cell.contains("parallel")) {
      const json& p = r.cell.at("parallel");
      ptable.add_row({pair.label(), std::to_string(r.seed), std::to_string(p.at("rows").get<std::size_t>()),
                      std::to_string(p.at("sequential_passes").get<int>()),
                      std::to_string(p.at("picard").at("sweeps_to_tol").get<int>()),
                      std::to_string(p.at("anderson").at("sweeps_to_tol").get<int>()),
                      std::to_string(p.at("picard").at("evaluations").get<long>()),
                      std::to_string(p.at("anderson").at("evaluations").get<long>())});
      parallel_json.push_back({{"pair", pair.label()},
                               {"seed", r.seed},
                               {"rows", p.at("rows")},
                               {"sequential_passes", p.at("sequential_passes")},
                               {"picard_sweeps_to_tol", p.at("picard").at("sweeps_to_tol")},
                               {"anderson_sweeps_to_tol", p.at("anderson").at("sweeps_to_tol")},
                               {"picard", p.at("picard")},
                               {"anderson", p.at("anderson")}});
      if (r.seed == context.seed) {
        for (const char* which : {"picard", "anderson"}) {
          Series s;
          s.label = pair.label() + (std::string(which) == "picard" ? ", Picard" : ", Anderson");
          s.color = colour(r.pair);
          s.dash_type = std::string(which) == "picard" ? 1 : 2;
          const json& h = p.at(which).at("error_history");
          for (std::size_t k = 0; k < h.size(); ++k) {
            s.x.push_back(static_cast<double>(k));
            s.y.push_back(h[k].is_null() ? std::nan("") : h[k].get<double>());
          }
          ppanel.series.push_back(std::move(s));
        }
      }
    }
  }

  // Plots: scatter per pair (first seed), metrics against D when several dimensions, parallel sweeps.
  std::string plots_md;
  for (std::size_t pi = 0; pi < study.pairs.size(); ++pi) {
    const FlowPair& pair = study.pairs[pi];
    const PairData d = make_pair_data(pair, study.eval, context.seed);
    Figure fig;
    Panel target;
    target.title = "target: " + pair.target + (pair.dim > 2 ? " (coordinates 1, 2)" : "");
    target.log_y = false;
    target.x_label = "x1";
    target.y_label = "x2";
    target.series.push_back(scatter_series(plot_points(d.reference), "target sample", "#555555"));
    fig.panels.push_back(target);
    for (std::size_t mi = 0; mi < study.models.size(); ++mi)
      for (const auto& r : rows)
        if (r.pair == pi && r.model == study.models[mi] && r.seed == context.seed) {
          Panel p = target;
          p.series.clear();
          p.title = to_string(r.model) + fmt::format(": W2 {}", num(jnum(r.cell.at("metrics").at(0), "w2")));
          p.series.push_back(scatter_series(r.cell.at("samples"), to_string(r.model), colour(mi + 1)));
          fig.panels.push_back(std::move(p));
        }
    // Common axes for every panel.
    double lo_x = INFINITY, hi_x = -INFINITY, lo_y = INFINITY, hi_y = -INFINITY;
    for (const auto& p : fig.panels)
      for (const auto& s : p.series)
        for (std::size_t i = 0; i < s.x.size(); ++i)
          if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
            lo_x = std::min(lo_x, s.x[i]);
            hi_x = std::max(hi_x, s.x[i]);
            lo_y = std::min(lo_y, s.y[i]);
            hi_y = std::max(hi_y, s.y[i]);
          }
    if (std::isfinite(lo_x) && std::isfinite(lo_y)) {
      // Clip far outliers: keep the target's range widened by half its size.
      for (auto& p : fig.panels) {
        p.x_min = std::max(lo_x, -30.0);
        p.x_max = std::min(hi_x, 30.0);
        p.y_min = std::max(lo_y, -30.0);
        p.y_max = std::min(hi_y, 30.0);
      }
    }
    fig.width = 420 * static_cast<int>(fig.panels.size());
    fig.height = 420;
    const std::string stem = "samples_" + slug(pair.source + "-" + pair.target + (pair.dim == 2 ? "" : "-d" + std::to_string(pair.dim)));
    plots_md += plot_markdown(outcome, folder, context, stem, fig,
                              "Samples of " + pair.label() + " (seed " + std::to_string(context.seed) + ")");
  }
  std::set<int> dims;
  for (const auto& p : study.pairs) dims.insert(p.dim);
  if (dims.size() >= 2) {
    Figure fig;
    for (const char* metric : {"w2", "mmd2", "energy"}) {
      Panel p;
      p.title = std::string(metric == std::string("w2") ? "exact W2" : metric == std::string("mmd2") ? "MMD² (γ = " + gamma_text + ")" : "energy distance") + " against D (mean over seeds)";
      p.x_label = "dimension D";
      p.y_label = metric;
      p.log_x = true;
      std::size_t si = 0;
      std::set<std::string> pair_names;
      for (const auto& pr : study.pairs) pair_names.insert(pr.source + " -> " + pr.target);
      for (const auto& pname : pair_names)
        for (FlowModelKind kind : study.models) {
          Series s;
          s.label = pname + ", " + to_string(kind);
          s.color = colour(si++);
          for (const auto& row : summary)
            if (row.at("source").get<std::string>() + " -> " + row.at("target").get<std::string>() == pname &&
                row.at("model") == to_string(kind)) {
              s.x.push_back(row.at("dim").get<double>());
              s.y.push_back(jnum(row, (std::string(metric) + "_mean").c_str()));
            }
          p.series.push_back(std::move(s));
        }
      fig.panels.push_back(std::move(p));
    }
    plots_md += plot_markdown(outcome, folder, context, "metrics_vs_dim", fig, "Sample distances against D");
  }
  if (!ppanel.series.empty()) {
    pfig.panels.push_back(ppanel);
    pfig.width = 1100;
    plots_md += plot_markdown(outcome, folder, context, "parallel_in_time", pfig,
                              "Parallel-in-time sweeps: Picard (solid), Anderson (dashed)");
  }

  // Files.
  context.report("writing the report to " + folder.path().string());
  folder.write_json("results.json", {{"experiment", study.name},
                                     {"samples", study.eval.samples},
                                     {"seeds", seeds},
                                     {"first_seed", context.seed},
                                     {"gamma", study.eval.gamma},
                                     {"w2", "exact 2-Wasserstein of the empirical measures (optimal assignment), not Sinkhorn"},
                                     {"summary", summary},
                                     {"floor", floor_json},
                                     {"parallel", parallel_json},
                                     {"cells", cells_json},
                                     {"cells_reused", cells.reused},
                                     {"seconds", seconds}});
  folder.write_csv("results.csv", csv);
  json pairs_json = json::array();
  for (std::size_t pi = 0; pi < study.pairs.size(); ++pi)
    pairs_json.push_back({{"source", study.pairs[pi].source}, {"target", study.pairs[pi].target},
                          {"dim", study.pairs[pi].dim}, {"calmflow_parameters", calm_params[pi]},
                          {"cfm_width", cfm_of_pair[pi].width}});
  json models_json = json::array();
  for (auto k : study.models) models_json.push_back(to_string(k));
  folder.write_json("config.json", {{"experiment", study.name},
                                    {"started_utc", started},
                                    {"seed", context.seed},
                                    {"seed_rule", seed_rule_text()},
                                    {"size", std::getenv("ITEROP_FLOW_SIZE") ? std::getenv("ITEROP_FLOW_SIZE") : "small"},
                                    {"pairs", pairs_json},
                                    {"models", models_json},
                                    {"eval", eval_json(study.eval)},
                                    {"calmflow", calmflow_options_json(study.calmflow)},
                                    {"cfm", cfm_options_json(cfm_of_pair.front())},
                                    {"match_parameters", study.match_parameters},
                                    {"parallel_in_time", study.parallel_in_time},
                                    {"parallel_rows", study.parallel_rows},
                                    {"parallel_tol", study.parallel_tol},
                                    {"versions", build_info_json()}});

  const auto& c = study.calmflow;
  std::string model_names;
  for (std::size_t i = 0; i < study.models.size(); ++i)
    model_names += (i == 0 ? "" : i + 1 == study.models.size() ? " and " : ", ") + to_string(study.models[i]);
  std::string md = "# Experiment " + study.name + ": " + model_names + " on " + std::to_string(study.pairs.size()) +
                   (study.pairs.size() == 1 ? " pair" : " pairs") + "\n\n";
  md += fmt::format(
      "Each model is trained from the same pools ({} source and {} target points per seed) for the same number of "
      "steps ({}) and minibatch ({} trajectories / pairs), then generates n = {} points from fresh source points; "
      "the distances are to a fresh target sample of the same size. W2 is the exact 2-Wasserstein distance of the "
      "empirical measures (optimal assignment), MMD² the biased RBF estimate with γ = {}, the energy distance a "
      "V-statistic. Seeds: {} from {} (mean ± sample std when several). The floor row compares two independent "
      "target samples of size n: no model can be expected below it.\n\n",
      study.eval.pool, study.eval.pool, c.steps, c.batch, study.eval.samples, gamma_text, seeds, context.seed);
  md += fmt::format(
      "CaLMFlow: N = {} time points, M = {} trajectories per sequence, K = {} spatial tokens, width {}, {} layers, {} "
      "heads, feed-forward {}, {} positions, {} head (β = {}), Adam lr {}; sampled sequentially with the key/value "
      "cache at temperature τ = {}. CFM: MLP depth {}, width {} (chosen so that the parameter count is closest to "
      "CaLMFlow's{}), {}, Adam lr {}; sampled with {}.\n\n",
      c.time_points, c.trajectories, c.spatial_tokens, c.width, c.layers, c.heads, c.feedforward, c.position,
      c.variational ? "variational" : "deterministic", format_exact(c.beta), format_exact(c.lr),
      format_exact(study.eval.temperature), study.cfm.depth, cfm_of_pair.front().width,
      study.pairs.size() > 1 ? ", per pair; see config.json" : "", study.cfm.activation, format_exact(study.cfm.lr),
      study.eval.ode.describe());
  md += "## Sample quality\n\n" + table.to_markdown() + "\n";
  if (!ptable.rows.empty()) {
    md += fmt::format(
        "## Parallel-in-time generation\n\nWith all sampling noise drawn up front, one forward pass over a whole "
        "guessed trajectory is a strictly causal operator T; x = T(x) is solved by Picard and Anderson (depth 5) from "
        "x(t_i) = x_0, on the first {} source points. A sweep is one forward pass over the whole trajectory (all N "
        "time points at once); sequential generation needs N - 1 passes over growing prefixes. Tolerance: max |x_k - "
        "x_sequential| <= {}. -1: not reached.\n\n",
        study.parallel_rows, num(study.parallel_tol));
    md += ptable.to_markdown() + "\n";
  }
  md += "## Plots\n\n" + plots_md;
  md += versions_line(seconds);
  md += "Files: `results.json` (summary, floor, parallel sweeps, every cell), `results.csv` (one row per cell), "
        "`config.json`, `cells/` (finished cells; a rerun reuses them).\n";
  folder.write_text("report.md", md);

  outcome.files = folder.written();
  outcome.summary = summary_line + ", in " + format_seconds(seconds);
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// flow-ablation

ExperimentOutcome run_flow_ablation(const ExperimentContext& context, const FlowAblationStudy& study) {
  study.validate();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  ExperimentOutcome outcome;

  struct Variant {
    std::string factor;  // "base", "N", "M", "K", "head"
    std::string value;
    double x = 0;
    op::CalmFlowOptions options;
  };
  op::CalmFlowOptions base = study.base;
  base.dim = study.pair.dim;
  std::vector<Variant> variants{{"base", "base", 0, base}};
  for (int n : study.time_points)
    if (n != base.time_points) {
      Variant v{"N", std::to_string(n), static_cast<double>(n), base};
      v.options.time_points = n;
      variants.push_back(v);
    }
  for (int m : study.trajectories)
    if (m != base.trajectories) {
      Variant v{"M", std::to_string(m), static_cast<double>(m), base};
      v.options.trajectories = m;
      variants.push_back(v);
    }
  for (int k : study.spatial_tokens)
    if (k != base.spatial_tokens) {
      Variant v{"K", std::to_string(k), static_cast<double>(k), base};
      v.options.spatial_tokens = k;
      variants.push_back(v);
    }
  if (study.deterministic_head && base.variational) {
    Variant v{"head", "deterministic", 0, base};
    v.options.variational = false;
    variants.push_back(v);
  }

  FlowStudy carrier;  // evaluation settings for compute_model_cell
  carrier.eval = study.eval;
  carrier.parallel_in_time = false;
  const std::size_t seeds = static_cast<std::size_t>(study.eval.seeds);
  FlowCells cells(context, folder.path(), variants.size() * seeds);
  std::vector<std::vector<json>> results(variants.size());
  for (std::size_t s = 0; s < seeds; ++s) {
    const std::uint64_t seed = context.seed + s;
    for (std::size_t vi = 0; vi < variants.size(); ++vi) {
      op::CalmFlowOptions o = variants[vi].options;
      o.seed = seed;
      const std::vector<double> temps =
          variants[vi].factor == "base" ? study.temperatures : std::vector<double>{study.eval.temperature};
      const json key = {{"experiment", "flow-ablation"},
                        {"pair", {{"source", study.pair.source}, {"target", study.pair.target}, {"dim", study.pair.dim}}},
                        {"options", calmflow_options_json(o)},
                        {"temperatures", temps},
                        {"eval", eval_json(study.eval)},
                        {"seed", seed}};
      results[vi].push_back(cells.run(
          key, fmt::format("CaLMFlow {} = {} on {}, seed {}", variants[vi].factor, variants[vi].value,
                           study.pair.label(), seed),
          [&] {
            return compute_model_cell(context, carrier, study.pair, FlowModelKind::calmflow, seed, o, {}, temps, false);
          }));
    }
  }
  const double seconds = seconds_since(t0);

  const std::string gamma_text = format_exact(study.eval.gamma);
  Table table;
  table.columns = {"factor", "value", "τ", "parameters", "train time", "W2", "MMD² (γ = " + gamma_text + ")",
                   "energy distance"};
  table.align = {Align::left, Align::left, Align::right, Align::right, Align::right, Align::right, Align::right,
                 Align::right};
  Table csv;
  csv.columns = {"factor", "value", "temperature", "seed", "parameters", "train_seconds", "n", "w2", "mmd2", "gamma",
                 "energy"};
  json rows_json = json::array();
  std::map<std::string, Panel> panels;
  auto add_row = [&](const Variant& v, const std::vector<json>& cs, std::size_t ti) {
    std::vector<double> w, m, e, ts;
    double tau = 0;
    for (std::size_t s = 0; s < cs.size(); ++s) {
      const json& q = cs[s].at("metrics").at(ti);
      tau = q.at("temperature").get<double>();
      w.push_back(jnum(q, "w2"));
      m.push_back(jnum(q, "mmd2"));
      e.push_back(jnum(q, "energy"));
      ts.push_back(cs[s].at("train").at("seconds").get<double>());
      csv.add_row({v.factor, v.value, format_exact(tau), std::to_string(context.seed + s),
                   std::to_string(cs[s].at("parameters").get<long>()), format_exact(ts.back()),
                   std::to_string(study.eval.samples), format_exact(w.back()), format_exact(m.back()), gamma_text,
                   format_exact(e.back())});
    }
    const auto W = mean_std(w), M = mean_std(m), E = mean_std(e), T = mean_std(ts);
    const std::string factor = v.factor == "base" && study.temperatures.size() > 1 ? "τ (base model)" : v.factor;
    table.add_row({factor, v.value, format_exact(tau), std::to_string(cs.front().at("parameters").get<long>()),
                   format_seconds(T.first), pm(W, w.size()), pm(M, m.size()), pm(E, e.size())});
    rows_json.push_back({{"factor", v.factor},
                         {"value", v.value},
                         {"temperature", tau},
                         {"parameters", cs.front().at("parameters")},
                         {"seeds", w.size()},
                         {"n", study.eval.samples},
                         {"gamma", study.eval.gamma},
                         {"w2_mean", json_number(W.first)},
                         {"w2_std", json_number(W.second)},
                         {"mmd2_mean", json_number(M.first)},
                         {"energy_mean", json_number(E.first)},
                         {"train_seconds_mean", json_number(T.first)}});
    return std::array<double, 3>{W.first, M.first, E.first};
  };
  const Variant& b = variants.front();
  std::array<double, 3> base_metrics{};
  for (std::size_t ti = 0; ti < study.temperatures.size(); ++ti) {
    Variant v = b;
    v.value = "base, τ = " + format_exact(study.temperatures[ti]);
    const auto r = add_row(v, results[0], ti);
    panels["τ"].series.resize(1);
    panels["τ"].series[0].x.push_back(study.temperatures[ti]);
    panels["τ"].series[0].y.push_back(r[0]);
    if (study.temperatures[ti] == study.eval.temperature) base_metrics = r;
  }
  for (std::size_t vi = 1; vi < variants.size(); ++vi) {
    const auto r = add_row(variants[vi], results[vi], 0);
    if (variants[vi].factor == "head") continue;
    auto& p = panels[variants[vi].factor];
    p.series.resize(1);
    p.series[0].x.push_back(variants[vi].x);
    p.series[0].y.push_back(r[0]);
  }
  // Put the base value into each factor's curve.
  const std::map<std::string, double> base_x = {{"N", static_cast<double>(base.time_points)},
                                                {"M", static_cast<double>(base.trajectories)},
                                                {"K", static_cast<double>(base.spatial_tokens)}};
  Figure fig;
  for (auto& [factor, p] : panels) {
    if (base_x.count(factor) && std::isfinite(base_metrics[0])) {
      p.series[0].x.push_back(base_x.at(factor));
      p.series[0].y.push_back(base_metrics[0]);
    }
    std::vector<std::pair<double, double>> pts;
    for (std::size_t i = 0; i < p.series[0].x.size(); ++i) pts.emplace_back(p.series[0].x[i], p.series[0].y[i]);
    std::sort(pts.begin(), pts.end());
    p.series[0].x.clear();
    p.series[0].y.clear();
    for (auto [x, y] : pts) {
      p.series[0].x.push_back(x);
      p.series[0].y.push_back(y);
    }
    p.series[0].label = "W2";
    p.series[0].color = colour(0);
    p.title = "W2 against " + factor;
    p.x_label = factor;
    p.y_label = "exact W2";
    p.log_y = false;
    fig.panels.push_back(p);
  }
  fig.width = 420 * static_cast<int>(std::max<std::size_t>(1, fig.panels.size()));
  fig.height = 420;
  std::string plots_md = plot_markdown(outcome, folder, context, "ablation", fig, "W2 against each ablated factor");

  context.report("writing the report to " + folder.path().string());
  folder.write_json("results.json", {{"experiment", study.name},
                                     {"pair", study.pair.label()},
                                     {"samples", study.eval.samples},
                                     {"seeds", seeds},
                                     {"first_seed", context.seed},
                                     {"gamma", study.eval.gamma},
                                     {"rows", rows_json},
                                     {"cells_reused", cells.reused},
                                     {"seconds", seconds}});
  folder.write_csv("results.csv", csv);
  folder.write_json("config.json", {{"experiment", study.name},
                                    {"started_utc", started},
                                    {"seed", context.seed},
                                    {"seed_rule", seed_rule_text()},
                                    {"pair", study.pair.label()},
                                    {"eval", eval_json(study.eval)},
                                    {"base", calmflow_options_json(base)},
                                    {"temperatures", study.temperatures},
                                    {"time_points", study.time_points},
                                    {"trajectories", study.trajectories},
                                    {"spatial_tokens", study.spatial_tokens},
                                    {"deterministic_head", study.deterministic_head},
                                    {"versions", build_info_json()}});
  std::string md = "# Experiment " + study.name + ": CaLMFlow ablations on " + study.pair.label() + "\n\n";
  md += fmt::format(
      "One factor at a time around the base model (N = {}, M = {}, K = {}, width {}, {} layers, {} steps, batch {} "
      "trajectories, variational head β = {}); the temperature rows sample the base model (no retraining), the other "
      "rows train a model each and sample at τ = {}. The batch (trajectories per step) is the same for every M. n = {} "
      "samples against a fresh target sample; exact W2, MMD² with γ = {}, energy distance; seeds {} from {}.\n\n",
      base.time_points, base.trajectories, base.spatial_tokens, base.width, base.layers, base.steps, base.batch,
      format_exact(base.beta), format_exact(study.eval.temperature), study.eval.samples, gamma_text, seeds,
      context.seed);
  md += table.to_markdown() + "\n## Plots\n\n" + plots_md + versions_line(seconds);
  md += "Files: `results.json`, `results.csv`, `config.json`, `cells/`.\n";
  folder.write_text("report.md", md);
  outcome.files = folder.written();
  outcome.summary = fmt::format("{} CaLMFlow variants on {}, in {}", variants.size(), study.pair.label(),
                                format_seconds(seconds));
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// flow-conditional

ExperimentOutcome run_flow_conditional(const ExperimentContext& context, const FlowConditionalStudy& study) {
  study.validate();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  ExperimentOutcome outcome;
  const ConditionalFlowTask& task = study.task;
  std::vector<PromptCombination> all;
  for (const auto& c : task.components)
    for (const auto& d : task.directions) all.push_back({c, d});

  const std::size_t seeds = static_cast<std::size_t>(study.eval.seeds);
  FlowCells cells(context, folder.path(), seeds);
  std::vector<json> results;
  for (std::size_t s = 0; s < seeds; ++s) {
    const std::uint64_t seed = context.seed + s;
    op::CalmFlowOptions o = study.calmflow;
    o.dim = 2;
    o.seed = seed;
    json held = json::array();
    for (const auto& h : task.held_out_combinations()) held.push_back(conditional_prompt(h));
    const json key = {{"experiment", "flow-conditional"},
                      {"task", {{"components", task.components}, {"directions", task.directions}, {"shift", task.shift},
                                {"blob_std", task.blob_std}, {"held_out", held}}},
                      {"source", study.source},
                      {"per_prompt", study.per_prompt},
                      {"options", calmflow_options_json(o)},
                      {"eval", eval_json(study.eval)},
                      {"seed", seed}};
    results.push_back(cells.run(key, fmt::format("conditional CaLMFlow, seed {}", seed), [&] {
      const ConditionalTrainingSet train = make_conditional_training_set(task, study.per_prompt, derived_seed(seed, 31));
      const dist::SampleSet source_pool = dist::sample_dataset(study.source, study.eval.pool, 2, derived_seed(seed, 32));
      auto [model, tr] = train_calmflow(context, fmt::format("conditional CaLMFlow, seed {}", seed), o,
                                        {source_pool, train.target, train.prompts}, train.prompts);
      json cell = {{"model", "calmflow"}, {"parameters", model.num_parameters()}, {"train", tr},
                   {"vocabulary", model.vocabulary()}};
      json prompts = json::array();
      // Targets of every combination (fresh, per seed), for the distances and the nearest-other test.
      std::vector<dist::SampleSet> targets;
      for (std::size_t k = 0; k < all.size(); ++k)
        targets.push_back(sample_conditional_target(task, all[k], study.eval.samples, derived_seed(seed, 1000 + k)));
      double first_w2 = std::nan("");
      for (std::size_t k = 0; k < all.size(); ++k) {
        const std::string prompt = conditional_prompt(all[k]);
        const dist::SampleSet x0 = dist::sample_dataset(study.source, study.eval.samples, 2, derived_seed(seed, 2000 + k));
        const dist::SampleSet gen = model.sample(x0, sample_options(study.eval.temperature, seed, prompt));
        json m = quality_json(dist::sample_quality(gen, targets[k], study.eval.gamma));
        const dist::SampleSet again = sample_conditional_target(task, all[k], study.eval.samples, derived_seed(seed, 3000 + k));
        m["floor_w2"] = json_number(dist::wasserstein2(again, targets[k]));
        // The nearest other combination sharing a word: is the sample closer to its own target?
        double nearest = INFINITY;
        std::string nearest_prompt;
        for (std::size_t j = 0; j < all.size(); ++j) {
          if (j == k || (all[j].component != all[k].component && all[j].direction != all[k].direction)) continue;
          const double w = dist::wasserstein2(gen, targets[j]);
          if (w < nearest) {
            nearest = w;
            nearest_prompt = conditional_prompt(all[j]);
          }
        }
        m["nearest_other_w2"] = json_number(nearest);
        m["nearest_other_prompt"] = nearest_prompt;
        m["prompt"] = prompt;
        m["held_out"] = task.is_held_out(all[k]);
        m["samples"] = plot_points(gen);
        if (k == 0) first_w2 = m["w2"].is_null() ? std::nan("") : m["w2"].get<double>();
        prompts.push_back(m);
      }
      cell["prompts"] = prompts;
      // For the progress line (cell_line reads metrics[0]).
      cell["metrics"] = json::array({prompts[0]});
      (void)first_w2;
      return cell;
    }));
  }
  const double seconds = seconds_since(t0);

  const std::string gamma_text = format_exact(study.eval.gamma);
  Table per_prompt;
  per_prompt.columns = {"prompt", "split", "W2", "MMD² (γ = " + gamma_text + ")", "energy distance",
                        "floor W2 (two target samples)", "W2 to the nearest other combination sharing a word",
                        "closer to its own target"};
  per_prompt.align = {Align::left, Align::left, Align::right, Align::right, Align::right, Align::right, Align::right,
                      Align::right};
  Table csv;
  csv.columns = {"prompt", "held_out", "seed", "n", "w2", "mmd2", "gamma", "energy", "floor_w2", "nearest_other_w2",
                 "nearest_other_prompt"};
  json prompts_json = json::array();
  struct Acc {
    std::vector<double> w, m, e, f, o;
    int own = 0, total = 0;
  };
  Acc seen, held;
  for (std::size_t k = 0; k < all.size(); ++k) {
    std::vector<double> w, m, e, f, o;
    int own = 0;
    bool is_held = false;
    std::string prompt, nearest;
    for (std::size_t s = 0; s < results.size(); ++s) {
      const json& q = results[s].at("prompts").at(k);
      prompt = q.at("prompt").get<std::string>();
      is_held = q.at("held_out").get<bool>();
      nearest = q.at("nearest_other_prompt").get<std::string>();
      w.push_back(jnum(q, "w2"));
      m.push_back(jnum(q, "mmd2"));
      e.push_back(jnum(q, "energy"));
      f.push_back(jnum(q, "floor_w2"));
      o.push_back(jnum(q, "nearest_other_w2"));
      own += w.back() < o.back() ? 1 : 0;
      csv.add_row({prompt, is_held ? "true" : "false", std::to_string(context.seed + s),
                   std::to_string(study.eval.samples), format_exact(w.back()), format_exact(m.back()), gamma_text,
                   format_exact(e.back()), format_exact(f.back()), format_exact(o.back()), nearest});
      Acc& a = is_held ? held : seen;
      a.w.push_back(w.back());
      a.m.push_back(m.back());
      a.e.push_back(e.back());
      a.f.push_back(f.back());
      a.o.push_back(o.back());
      a.own += w.back() < o.back() ? 1 : 0;
      ++a.total;
    }
    const auto W = mean_std(w), M = mean_std(m), E = mean_std(e), F = mean_std(f), O = mean_std(o);
    per_prompt.add_row({prompt, is_held ? "held out" : "seen", pm(W, w.size()), pm(M, m.size()), pm(E, e.size()),
                        pm(F, f.size()), pm(O, o.size()) + " (" + nearest + ")",
                        fmt::format("{}/{}", own, w.size())});
    prompts_json.push_back({{"prompt", prompt},
                            {"held_out", is_held},
                            {"w2_mean", json_number(W.first)},
                            {"mmd2_mean", json_number(M.first)},
                            {"energy_mean", json_number(E.first)},
                            {"floor_w2_mean", json_number(F.first)},
                            {"nearest_other_w2_mean", json_number(O.first)},
                            {"closer_to_own_target", own},
                            {"seeds", w.size()}});
  }
  Table split;
  split.columns = {"split", "prompts x seeds", "W2 (mean)", "MMD² (mean)", "energy (mean)", "floor W2 (mean)",
                   "nearest other W2 (mean)", "closer to own target"};
  split.align = {Align::left, Align::right, Align::right, Align::right, Align::right, Align::right, Align::right,
                 Align::right};
  json split_json = json::object();
  for (const auto& [name, a] : {std::pair<const char*, const Acc&>{"seen", seen}, {"held_out", held}}) {
    const auto W = mean_std(a.w), M = mean_std(a.m), E = mean_std(a.e), F = mean_std(a.f), O = mean_std(a.o);
    split.add_row({name == std::string("seen") ? "seen combinations" : "held-out combinations", std::to_string(a.total),
                   num(W.first), num(M.first), num(E.first), num(F.first), num(O.first),
                   fmt::format("{}/{}", a.own, a.total)});
    split_json[name] = {{"count", a.total},
                        {"w2_mean", json_number(W.first)},
                        {"mmd2_mean", json_number(M.first)},
                        {"energy_mean", json_number(E.first)},
                        {"floor_w2_mean", json_number(F.first)},
                        {"nearest_other_w2_mean", json_number(O.first)},
                        {"closer_to_own_target", a.own}};
  }

  // Scatter: every held-out prompt (first seed), generated over target.
  Figure fig;
  for (std::size_t k = 0; k < all.size(); ++k) {
    if (!task.is_held_out(all[k])) continue;
    const json& q = results.front().at("prompts").at(k);
    Panel p;
    p.title = q.at("prompt").get<std::string>() + fmt::format(" (held out): W2 {}", num(jnum(q, "w2")));
    p.log_y = false;
    p.x_label = "x1";
    p.y_label = "x2";
    const auto target = sample_conditional_target(task, all[k], study.eval.samples, derived_seed(context.seed, 1000 + k));
    p.series.push_back(scatter_series(plot_points(target), "target", "#aaaaaa"));
    p.series.push_back(scatter_series(q.at("samples"), "CaLMFlow", colour(1)));
    const double r = 6 + task.shift;
    p.x_min = -r;
    p.x_max = r;
    p.y_min = -r;
    p.y_max = r;
    fig.panels.push_back(std::move(p));
  }
  fig.columns = 3;
  fig.width = 1500;
  fig.height = 480 * static_cast<int>((fig.panels.size() + 2) / 3);
  std::string plots_md =
      plot_markdown(outcome, folder, context, "held_out_samples", fig, "Held-out prompts: CaLMFlow samples over the target");

  json cells_json = json::array();
  for (std::size_t s = 0; s < results.size(); ++s) {
    json c = results[s];
    c.erase("metrics");
    for (auto& p : c["prompts"]) p.erase("samples");
    c["seed"] = context.seed + s;
    cells_json.push_back(c);
  }
  json held_json = json::array();
  for (const auto& h : task.held_out_combinations()) held_json.push_back(conditional_prompt(h));
  context.report("writing the report to " + folder.path().string());
  folder.write_json("results.json", {{"experiment", study.name},
                                     {"samples", study.eval.samples},
                                     {"seeds", seeds},
                                     {"first_seed", context.seed},
                                     {"gamma", study.eval.gamma},
                                     {"held_out", held_json},
                                     {"split", split_json},
                                     {"prompts", prompts_json},
                                     {"cells", cells_json},
                                     {"cells_reused", cells.reused},
                                     {"seconds", seconds}});
  folder.write_csv("results.csv", csv);
  folder.write_json("config.json", {{"experiment", study.name},
                                    {"started_utc", started},
                                    {"seed", context.seed},
                                    {"seed_rule", "cell seed s: model s; training targets 1000003 s + 31 (+ 7919 k per "
                                                  "prompt), source pool 1000003 s + 32, compared targets 1000003 s + "
                                                  "1000 + k, start points 1000003 s + 2000 + k, floor sample 1000003 s "
                                                  "+ 3000 + k (k: combination index, component-major)"},
                                    {"components", task.components},
                                    {"directions", task.directions},
                                    {"shift", task.shift},
                                    {"blob_std", task.blob_std},
                                    {"held_out", held_json},
                                    {"source", study.source},
                                    {"per_prompt", study.per_prompt},
                                    {"eval", eval_json(study.eval)},
                                    {"calmflow", calmflow_options_json(study.calmflow)},
                                    {"versions", build_info_json()}});
  const auto& c = study.calmflow;
  std::string md = "# Experiment " + study.name + ": CaLMFlow conditioned on prompts, held-out combinations\n\n";
  md += fmt::format(
      "Prompts \"generate {{component}} shifted {{direction}}\": the target is the 2-D data set of the component "
      "(\"blob\": N(0, {}² I)) translated by {} along the direction (left, right, up, down). {} of {} combinations are "
      "held out of training: {}. The model is trained on {} target points per seen prompt from a {} source, with the "
      "prompt's words prepended as tokens (vocabulary built from the training prompts). For every combination, n = {} "
      "points generated at τ = {} are compared with a fresh target sample of that combination (exact W2, MMD² with "
      "γ = {}, energy distance); the floor compares two target samples; \"nearest other\" is the smallest W2 of the "
      "generated points to the target of another combination that shares a word with the prompt (same component or "
      "same direction): a sample closer to its own target than to all of those has composed both words. Seeds {} "
      "from {}.\n\n",
      format_exact(task.blob_std), format_exact(task.shift), task.held_out_combinations().size(), all.size(),
      held_json.dump(), study.per_prompt, study.source, study.eval.samples, format_exact(study.eval.temperature),
      gamma_text, seeds, context.seed);
  md += fmt::format("CaLMFlow: N = {}, M = {}, K = {}, width {}, {} layers, {} heads, {} steps, batch {}.\n\n",
                    c.time_points, c.trajectories, c.spatial_tokens, c.width, c.layers, c.heads, c.steps, c.batch);
  md += "## Seen against held-out combinations\n\n" + split.to_markdown() + "\n";
  md += "## Per prompt\n\n" + per_prompt.to_markdown() + "\n## Plots\n\n" + plots_md + versions_line(seconds);
  md += "Files: `results.json`, `results.csv`, `config.json`, `cells/`.\n";
  folder.write_text("report.md", md);
  outcome.files = folder.written();
  outcome.summary = fmt::format("W2 seen {} / held out {} (floor {}), in {}", num(jnum(split_json["seen"], "w2_mean")),
                                num(jnum(split_json["held_out"], "w2_mean")),
                                num(jnum(split_json["held_out"], "floor_w2_mean")), format_seconds(seconds));
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// built-in studies

namespace {

op::CalmFlowOptions calmflow_2d(FlowSize size) {
  op::CalmFlowOptions o;  // the paper's 2-D model: 2 layers, 2 heads, d_model 64, feed-forward 256, N 16, M 8, K 1
  o.width = 64;
  o.layers = 2;
  o.heads = 2;
  o.feedforward = 256;
  o.time_points = 16;
  o.trajectories = 8;
  o.spatial_tokens = 1;
  o.batch = size == FlowSize::full ? 256 : 128;
  o.steps = size == FlowSize::full ? 2000 : 300;
  return o;
}

FlowEvaluation evaluation(FlowSize size) {
  FlowEvaluation e;
  e.samples = size == FlowSize::full ? 1000 : 500;
  e.seeds = size == FlowSize::full ? 3 : 1;
  e.pool = 10000;
  e.temperature = 0.5;
  return e;
}

}  // namespace

FlowStudy flow_2d_study(FlowSize size) {
  FlowStudy s;
  s.name = "flow-2d";
  s.pairs = {{"8gaussians", "moons", 2}, {"normal", "8gaussians", 2}, {"normal", "checkerboard", 2},
             {"normal", "spirals", 2}};
  if (size == FlowSize::full) s.pairs.push_back({"normal", "moons", 2});
  s.eval = evaluation(size);
  s.calmflow = calmflow_2d(size);
  s.cfm.depth = 3;
  s.cfm.activation = "selu";
  return s;
}

FlowStudy flow_highdim_study(FlowSize size) {
  FlowStudy s;
  s.name = "flow-highdim";
  s.pairs.clear();
  for (const char* source : {"2gaussians", "normal"}) {
    if (size == FlowSize::small && std::string(source) == "normal") continue;
    for (int d : {10, 100, 1000}) s.pairs.push_back({source, "4blobs", d});
  }
  s.eval = evaluation(size);
  s.calmflow = calmflow_2d(size);
  s.cfm.depth = 3;
  s.parallel_in_time = false;
  return s;
}

FlowAblationStudy flow_ablation_study(FlowSize size) {
  FlowAblationStudy s;
  s.pair = {"8gaussians", "moons", 2};
  s.eval = evaluation(size);
  s.base = calmflow_2d(size);
  if (size == FlowSize::small) {
    s.base.steps = 200;
    s.time_points = {4, 8, 16};
    s.trajectories = {1, 4, 8};
    s.spatial_tokens = {1, 2};
  }
  return s;
}

FlowConditionalStudy flow_conditional_study(FlowSize size) {
  FlowConditionalStudy s;
  s.eval = evaluation(size);
  s.calmflow = calmflow_2d(size);
  s.calmflow.steps = size == FlowSize::full ? 3000 : 400;
  s.per_prompt = size == FlowSize::full ? 2000 : 500;
  if (size == FlowSize::small) s.eval.samples = 300;
  return s;
}

FlowStudy flow_quick_study() {
  FlowStudy s;
  s.name = "flow-quick";
  s.pairs = {{"8gaussians", "moons", 2}};
  s.models = {FlowModelKind::calmflow, FlowModelKind::icfm};
  s.eval.samples = 200;
  s.eval.pool = 4000;
  s.calmflow.width = 32;
  s.calmflow.layers = 1;
  s.calmflow.heads = 2;
  s.calmflow.feedforward = 64;
  s.calmflow.time_points = 8;
  s.calmflow.trajectories = 4;
  s.calmflow.batch = 64;
  s.calmflow.steps = 120;
  s.parallel_rows = 16;
  return s;
}

namespace {

const char* size_note = " ITEROP_FLOW_SIZE=full runs the paper's scale (2000+ steps, 1000 samples, 3 seeds; hours).";

}  // namespace

Experiment flow_2d_experiment() {
  return {
      .name = "flow-2d",
      .description =
          std::string("CaLMFlow vs I-CFM vs OT-CFM (similar parameter counts, same steps) on 8gaussians -> moons and "
                      "normal -> 8gaussians/checkerboard/spirals (full size also normal -> moons): exact W2, "
                      "MMD² (γ = 2), energy distance, scatter plots, parallel-in-time Picard/Anderson sweeps (minutes).") +
          size_note,
      .run =
          [](const ExperimentContext& context) {
            return run_flow_study(context, flow_2d_study(flow_size_from_environment()));
          },
      .in_suite = false};
}

Experiment flow_highdim_experiment() {
  return {.name = "flow-highdim",
          .description =
              std::string("CaLMFlow vs I-CFM vs OT-CFM on Gaussian mixtures 2gaussians -> 4blobs in D = 10, 100, 1000 "
                          "(full size also normal -> 4blobs): does CaLMFlow beat CFM as D grows? (minutes).") +
              size_note,
          .run =
              [](const ExperimentContext& context) {
                return run_flow_study(context, flow_highdim_study(flow_size_from_environment()));
              },
          .in_suite = false};
}

Experiment flow_ablation_experiment() {
  return {.name = "flow-ablation",
          .description = std::string("CaLMFlow ablations on 8gaussians -> moons: temperature, time points N, "
                                     "trajectories per sequence M, spatial tokens K, deterministic head (minutes).") +
                         size_note,
          .run =
              [](const ExperimentContext& context) {
                return run_flow_ablation(context, flow_ablation_study(flow_size_from_environment()));
              },
          .in_suite = false};
}

Experiment flow_conditional_experiment() {
  return {
      .name = "flow-conditional",
      .description = std::string("CaLMFlow conditioned on prompts \"generate {component} shifted {direction}\" with 5 "
                                 "of 20 combinations held out: distances on seen vs held-out combinations (minutes).") +
                     size_note,
      .run =
          [](const ExperimentContext& context) {
            return run_flow_conditional(context, flow_conditional_study(flow_size_from_environment()));
          },
      .in_suite = false};
}

Experiment flow_quick_experiment() {
  return {.name = "flow-quick",
          .description =
              "A short flow-2d: a small CaLMFlow vs I-CFM on 8gaussians -> moons, 200 samples, with the "
              "parallel-in-time sweeps (seconds).",
          .run = [](const ExperimentContext& context) { return run_flow_study(context, flow_quick_study()); },
          .in_suite = true};  // about 8 s on 2 shared cores
}

}  // namespace iterop::experiments
