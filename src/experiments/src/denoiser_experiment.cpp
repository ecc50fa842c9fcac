// Diffusion denoiser on 2-D data: one cached cell per data set (training, quality against the number
// of denoising steps for DDPM and DDIM, parallel-in-time sweeps for Picard and Anderson, scatter data).
#include "iterop/experiments/denoiser_experiment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

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

namespace iterop::experiments {

namespace {

namespace op = operators;
namespace dist = distributions;
using nlohmann::json;

json model_json(const op::DenoiserOptions& o) {
  return {{"dim", o.dim},
          {"width", o.width},
          {"depth", o.depth},
          {"time_embedding", o.time_embedding},
          {"diffusion_steps", o.diffusion_steps},
          {"schedule", std::string(op::to_string(o.schedule))},
          {"lr", o.lr},
          {"batch", o.batch},
          {"training_steps", o.training_steps},
          {"device", o.device}};
}

json quality_json(const dist::SampleQuality& q) {
  return {{"n", q.n}, {"w2", json_number(q.w2)}, {"mmd2", json_number(q.mmd2)}, {"energy", json_number(q.energy)},
          {"gamma", q.gamma}};
}

double num(const json& j) { return j.is_number() ? j.get<double>() : std::nan(""); }

/// The first `rows` points of s as [[x, y], ...].
json points_json(const dist::SampleSet& s, std::size_t rows) {
  json a = json::array();
  for (std::size_t i = 0; i < std::min(rows, s.rows); ++i) a.push_back({s(i, 0), s(i, 1)});
  return a;
}

double max_abs_diff(const dist::SampleSet& a, const dist::SampleSet& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.values.size() && i < b.values.size(); ++i)
    m = std::max(m, std::abs(a.values[i] - b.values[i]));
  return m;
}

/// One data set: train, quality rows, parallel rows, scatter points.
json compute_cell(const ExperimentContext& context, const DenoiserStudy& study, const std::string& dataset,
                  int dim, double gamma, const std::string& prefix) {
  const std::uint64_t seed = context.seed;
  const auto d = std::size_t(dim);
  const auto train = dist::sample_dataset(dataset, study.train_samples, d, seed);
  const auto target = dist::sample_dataset(dataset, study.eval_samples, d, seed + 1000);
  const auto reference = dist::sample_dataset(dataset, study.eval_samples, d, seed + 2000);
  op::DenoiserOptions mo = study.model;
  mo.dim = dim;
  mo.seed = seed;
  op::DiffusionDenoiser model(mo);
  const auto rep = model.train(train, [&](const op::DenoiserProgress& p) {
    if (p.step % std::max(1, p.total / 4) == 0)
      context.report(fmt::format("{}training step {}/{}: loss {:.4f} ({:.1f} s)", prefix, p.step, p.total, p.loss,
                                 p.seconds));
    return Action::proceed;
  });
  json cell;
  cell["train"] = {{"status", std::string(op::to_string(rep.status))},
                   {"message", rep.message},
                   {"steps", rep.steps},
                   {"loss_steps", rep.loss_steps},
                   {"losses", rep.losses},
                   {"initial_loss", json_number(rep.initial_loss)},
                   {"final_loss", json_number(rep.final_loss)},
                   {"seconds", rep.seconds},
                   {"parameters", model.num_parameters()}};
  cell["reference"] = quality_json(dist::sample_quality(reference, target, gamma));
  if (rep.status == op::DenoiserTrainStatus::non_finite_loss) context.report(prefix + rep.message);

  const int T = mo.diffusion_steps;
  json quality = json::array();
  json scatter = {{"target", points_json(target, target.rows)}};
  for (op::Sampler sampler : {op::Sampler::ddpm, op::Sampler::ddim}) {
    dist::SampleSet last;
    for (int S : study.quality_steps) {
      if (S > T) continue;
      op::SamplingOptions so;
      so.sampler = sampler;
      so.steps = S;
      so.samples = study.eval_samples;
      so.seed = seed + 7;
      const auto r = model.sample(so);
      json row = {{"sampler", std::string(op::to_string(sampler))}, {"steps", S}, {"seconds", r.seconds},
                  {"status", std::string(to_string(r.status))}};
      if (r.samples.all_finite()) {
        const auto q = dist::sample_quality(r.samples, target, gamma);
        row["quality"] = quality_json(q);
        context.report(fmt::format("{}{} S = {:>4}: W2 {:.4f}, MMD^2 {:.2e}, energy {:.2e}", prefix,
                                   op::to_string(sampler), S, q.w2, q.mmd2, q.energy));
      } else {
        row["quality"] = nullptr;
      }
      quality.push_back(row);
      last = r.samples;
    }
    scatter[std::string(op::to_string(sampler))] = points_json(last, last.rows);
  }
  cell["quality"] = quality;
  cell["scatter"] = scatter;

  json parallel = json::array();
  for (op::Sampler sampler : {op::Sampler::ddpm, op::Sampler::ddim}) {
    for (int S : study.parallel_steps) {
      if (S > T) continue;
      op::SamplingOptions so;
      so.sampler = sampler;
      so.steps = S;
      so.samples = study.parallel_samples;
      so.seed = seed + 13;
      const auto seq = model.sample(so);
      struct Variant {
        op::ChainMethod method;
        op::ChainForm form;
        const char* label;
      };
      std::vector<Variant> variants{{op::ChainMethod::picard, op::ChainForm::cumulative, "picard"},
                                    {op::ChainMethod::anderson, op::ChainForm::cumulative, "anderson"}};
      if (S <= study.step_form_max_steps)
        variants.push_back({op::ChainMethod::picard, op::ChainForm::step, "picard-step"});
      for (const auto& [method, form, label] : variants) {
        op::ParallelSamplingOptions po;
        po.method = method;
        po.form = form;
        po.window = study.window;
        po.tolerance = study.parallel_tolerance;
        po.anderson_memory = study.anderson_memory;
        const auto par = model.sample_parallel(so, po);
        const double diff = max_abs_diff(par.samples, seq.samples);
        parallel.push_back({{"sampler", std::string(op::to_string(sampler))},
                            {"steps", S},
                            {"method", label},
                            {"form", std::string(op::to_string(form))},
                            {"status", std::string(to_string(par.status))},
                            {"message", par.message},
                            {"sweeps", par.sweeps},
                            {"network_evaluations", par.network_evaluations},
                            {"windows", par.windows},
                            {"max_abs_diff", json_number(diff)},
                            {"seconds", par.seconds},
                            {"sequential_seconds", seq.seconds}});
        context.report(fmt::format("{}{} S = {:>4} {:<11}: {} sweeps (sequential {}), {} evaluations, max |x - x_seq| "
                                   "{:.1e}, {}",
                                   prefix, op::to_string(sampler), S, label, par.sweeps, S,
                                   par.network_evaluations, diff, to_string(par.status)));
      }
    }
  }
  cell["parallel"] = parallel;

  if (study.contraction_steps > 0 && study.contraction_steps <= T) {
    op::StepContractionOptions co;
    co.steps = study.contraction_steps;
    co.trajectories = study.contraction_trajectories;
    co.seed = seed + 17;
    co.picard_tolerance = study.parallel_tolerance;
    const auto cr = model.step_contraction(co);
    json rows = json::array();
    for (const auto& r : cr.steps)
      rows.push_back({{"k", r.k}, {"t", r.t}, {"a", r.a}, {"radius_mean", json_number(r.radius_mean)},
                      {"radius_max", json_number(r.radius_max)}, {"norm_mean", json_number(r.norm_mean)},
                      {"norm_max", json_number(r.norm_max)},
                      {"shifted_norm_mean", json_number(r.shifted_norm_mean)},
                      {"shifted_norm_max", json_number(r.shifted_norm_max)}, {"radius_converged", r.radius_converged},
                      {"picard_sweeps", r.picard_sweeps}, {"picard_error_half", json_number(r.picard_error_half)}});
    json errs = json::array();
    for (double e : cr.picard_error) errs.push_back(json_number(e));
    cell["contraction"] = {{"steps", study.contraction_steps},
                           {"trajectories", study.contraction_trajectories},
                           {"rows", rows},
                           {"picard_error", errs},
                           {"jacobian_products", cr.jacobian_products},
                           {"seconds", cr.seconds}};
    double rmax = 0, nmax = 0;
    int above = 0;
    for (const auto& r : cr.steps) {
      rmax = std::max(rmax, r.radius_max);
      nmax = std::max(nmax, r.norm_max);
      above += r.radius_max > 1 ? 1 : 0;
    }
    context.report(fmt::format("{}DDIM step Jacobian, S = {}: max rho {:.3f}, max ||J|| {:.3f}, {} of {} steps with "
                               "rho > 1 ({:.1f} s)",
                               prefix, study.contraction_steps, rmax, nmax, above, cr.steps.size(), cr.seconds));
  }
  return cell;
}

const char* colour(std::size_t i) {
  static const char* c[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
  return c[i % 6];
}

Series scatter_series(const json& pts, const std::string& label, const std::string& color) {
  Series s;
  s.label = label;
  s.color = color;
  s.points_only = true;
  for (const auto& p : pts) {
    s.x.push_back(num(p[0]));
    s.y.push_back(num(p[1]));
  }
  return s;
}

}  // namespace

void DenoiserStudy::validate() const {
  require(!name.empty(), "DenoiserStudy::name", std::string("\"\""), "a non-empty name");
  require(!datasets.empty(), "DenoiserStudy::datasets", std::string("[]"), "at least one data set");
  const auto names = dist::dataset_names();
  for (const auto& d : datasets)
    require(std::find(names.begin(), names.end(), d) != names.end(), "DenoiserStudy::datasets", d,
            "a data set of distributions::dataset_names()");
  require(train_samples >= 1, "DenoiserStudy::train_samples", train_samples, "train_samples >= 1");
  require(eval_samples >= 2, "DenoiserStudy::eval_samples", eval_samples, "eval_samples >= 2");
  require(parallel_samples >= 1, "DenoiserStudy::parallel_samples", parallel_samples, "parallel_samples >= 1");
  require(!dims.empty(), "DenoiserStudy::dims", std::string("[]"), "at least one dimension");
  for (int d : dims) {
    require(d >= 2 && d <= 100000, "DenoiserStudy::dims", d, "2 <= D <= 100000");
    for (const auto& ds : datasets)
      require(d == 2 || ds == "normal" || ds == "4blobs" || ds == "2gaussians", "DenoiserStudy::dims", d,
              "D == 2 for the 2-D data set " + ds);
  }
  model.validate();
  require(!quality_steps.empty(), "DenoiserStudy::quality_steps", std::string("[]"), "at least one S");
  for (int s : quality_steps)
    require(s >= 1 && s <= model.diffusion_steps, "DenoiserStudy::quality_steps", s, "1 <= S <= diffusion_steps");
  for (int s : parallel_steps)
    require(s >= 1 && s <= model.diffusion_steps, "DenoiserStudy::parallel_steps", s, "1 <= S <= diffusion_steps");
  op::ParallelSamplingOptions p;
  p.tolerance = parallel_tolerance;
  p.window = window;
  p.anderson_memory = anderson_memory;
  p.validate();
  require(step_form_max_steps >= 0, "DenoiserStudy::step_form_max_steps", step_form_max_steps,
          "step_form_max_steps >= 0");
  require(gamma > 0 && std::isfinite(gamma), "DenoiserStudy::gamma", gamma, "gamma > 0 and finite");
  require(contraction_steps >= 0 && contraction_steps <= model.diffusion_steps, "DenoiserStudy::contraction_steps",
          contraction_steps, "0 <= contraction_steps <= diffusion_steps");
  require(contraction_trajectories >= 1, "DenoiserStudy::contraction_trajectories", contraction_trajectories,
          "contraction_trajectories >= 1");
}

DenoiserStudy default_denoiser_study() {
  DenoiserStudy s;
  s.name = "denoiser-2d";
  s.model.dim = 2;
  s.model.width = 128;
  s.model.depth = 3;
  s.model.time_embedding = 32;
  s.model.diffusion_steps = 100;
  s.model.training_steps = 3000;
  s.model.batch = 256;
  s.model.lr = 1e-3;
  s.contraction_steps = 20;
  s.contraction_trajectories = 4;
  return s;
}

DenoiserStudy highdim_denoiser_study() {
  DenoiserStudy s;
  s.name = "denoiser-highdim";
  s.datasets = {"4blobs"};
  s.dims = {10, 100};
  s.gamma = 1.0;
  s.gamma_per_dim = true;
  s.train_samples = 10000;
  s.eval_samples = 500;
  s.model.width = 256;
  s.model.depth = 3;
  s.model.time_embedding = 32;
  s.model.diffusion_steps = 100;
  s.model.training_steps = 3000;
  s.model.batch = 256;
  s.model.lr = 1e-3;
  s.quality_steps = {1, 2, 5, 10, 20, 50, 100};
  s.parallel_steps = {10, 25, 50, 100};
  s.parallel_samples = 100;
  s.step_form_max_steps = 25;
  s.contraction_steps = 20;
  s.contraction_trajectories = 2;
  return s;
}

DenoiserStudy highdim_full_denoiser_study() {
  DenoiserStudy s = highdim_denoiser_study();
  s.name = "denoiser-highdim-full";
  s.dims = {10, 100, 1000};
  return s;
}

DenoiserStudy quick_denoiser_study() {
  DenoiserStudy s;
  s.name = "denoiser-2d-quick";
  s.datasets = {"moons"};
  s.train_samples = 5000;
  s.eval_samples = 300;
  s.model.dim = 2;
  s.model.width = 64;
  s.model.depth = 3;
  s.model.diffusion_steps = 100;
  s.model.training_steps = 1500;
  s.quality_steps = {1, 5, 20, 100};
  s.parallel_steps = {20, 100};
  s.parallel_samples = 50;
  s.step_form_max_steps = 20;
  s.contraction_steps = 10;
  s.contraction_trajectories = 1;
  return s;
}

DenoiserStudy full_denoiser_study() {
  DenoiserStudy s = default_denoiser_study();
  s.name = "denoiser-2d-full";
  s.datasets = {"moons", "8gaussians", "checkerboard", "spirals"};
  s.train_samples = 50000;
  s.eval_samples = 2000;
  s.model.diffusion_steps = 1000;
  s.model.training_steps = 20000;
  s.quality_steps = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
  s.parallel_steps = {10, 25, 50, 100, 250, 1000};
  s.parallel_samples = 500;
  s.window = 200;  // S = 1000 over the whole chain would hold 1000 x 500 rows of activations per layer
  s.step_form_max_steps = 100;
  return s;
}

ExperimentOutcome run_denoiser_study(const ExperimentContext& context, const DenoiserStudy& study) {
  study.validate();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  const CellCache cache(folder.path() / "cells", !context.fresh);
  CellBudget budget(context.stop_after_cells);

  const json model_cfg = model_json(study.model);
  json cells = json::object();
  std::size_t reused = 0;
  struct CellSpec {
    std::string label, dataset;
    int dim;
    double gamma;
  };
  std::vector<CellSpec> specs;
  const bool only_2d = study.dims.size() == 1 && study.dims.front() == 2;
  for (const auto& ds : study.datasets)
    for (int d : study.dims)
      specs.push_back({only_2d ? ds : fmt::format("{} D={}", ds, d), ds, d,
                       study.gamma_per_dim ? study.gamma / double(d) : study.gamma});
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::string& ds = specs[i].label;
    json key = {{"experiment", study.name},
                {"dataset", specs[i].dataset},
                {"model", model_cfg},
                {"train_samples", study.train_samples},
                {"eval_samples", study.eval_samples},
                {"quality_steps", study.quality_steps},
                {"parallel_steps", study.parallel_steps},
                {"parallel_samples", study.parallel_samples},
                {"parallel_tolerance", study.parallel_tolerance},
                {"window", study.window},
                {"anderson_memory", study.anderson_memory},
                {"step_form_max_steps", study.step_form_max_steps},
                {"gamma", specs[i].gamma},
                {"seed", context.seed}};
    if (specs[i].dim != 2) key["dim"] = specs[i].dim;
    if (study.contraction_steps > 0)
      key["contraction"] = {{"steps", study.contraction_steps},
                            {"trajectories", study.contraction_trajectories},
                            {"shifted", true}};
    const std::string prefix = fmt::format("[{}/{}] {}: ", i + 1, specs.size(), ds);
    if (auto stored = cache.load(key); stored && stored->contains("quality") && stored->contains("parallel") &&
                                       (study.contraction_steps == 0 || stored->contains("contraction"))) {
      context.report(prefix + "cached");
      cells[ds] = *stored;
      ++reused;
      continue;
    }
    json cell = compute_cell(context, study, specs[i].dataset, specs[i].dim, specs[i].gamma, prefix);
    cache.store(key, cell);
    cells[ds] = std::move(cell);
    budget.computed(specs.size() - i - 1);
  }
  const double seconds = seconds_since(t0);

  // Tables.
  Table quality;
  quality.columns = {"data", "sampler", "S", "n", "W2", "MMD^2", "gamma", "energy distance", "seconds"};
  quality.align = {Align::left,  Align::left,  Align::right, Align::right, Align::right,
                   Align::right, Align::right, Align::right, Align::right};
  Table quality_csv;
  quality_csv.columns = {"dataset", "sampler", "steps", "n", "w2", "mmd2", "energy", "gamma", "seconds"};
  Table parallel;
  parallel.columns = {"data", "sampler", "S", "method", "sweeps", "sweeps / S", "network evals", "evals / S",
                      "max |x - x_seq|", "status", "time / sequential"};
  parallel.align = {Align::left, Align::left, Align::right, Align::left, Align::right, Align::right,
                    Align::right, Align::right, Align::right, Align::left, Align::right};
  Table parallel_csv;
  parallel_csv.columns = {"dataset", "sampler", "steps", "method", "sweeps", "network_evaluations", "windows",
                          "max_abs_diff", "status", "seconds", "sequential_seconds"};
  Table training;
  training.columns = {"data", "parameters", "Adam steps", "initial loss", "final loss", "status", "seconds",
                      "reference W2 (fresh data sample)", "reference MMD^2", "reference energy"};
  training.align.assign(training.columns.size(), Align::right);
  training.align[0] = Align::left;

  Figure samples_fig, quality_fig, sweeps_fig;
  samples_fig.columns = 3;
  samples_fig.width = 1500;
  samples_fig.height = 480 * static_cast<int>(specs.size());
  Table contraction;
  contraction.columns = {"data", "step k", "t_k", "a_k", "rho(J) mean", "rho(J) max", "||J||_2 mean", "||J||_2 max",
                         "||J - I||_2 max", "rho converged", "Picard sweeps to tol (bound k + 1)", "Picard error after k/2 + 1 sweeps"};
  contraction.align.assign(contraction.columns.size(), Align::right);
  contraction.align[0] = Align::left;
  std::string contraction_lines;
  std::string summary_line;
  for (std::size_t di = 0; di < specs.size(); ++di) {
    const std::string& ds = specs[di].label;
    const double cell_gamma = specs[di].gamma;
    const json& c = cells[ds];
    const json& tr = c["train"];
    const json& ref = c["reference"];
    training.add_row({ds, std::to_string(tr["parameters"].get<long>()), std::to_string(tr["steps"].get<int>()),
                      fmt::format("{:.4f}", num(tr["initial_loss"])), fmt::format("{:.4f}", num(tr["final_loss"])),
                      tr["status"].get<std::string>(), format_seconds(num(tr["seconds"])),
                      fmt::format("{:.4f}", num(ref["w2"])), format_scientific(num(ref["mmd2"])),
                      format_scientific(num(ref["energy"]))});
    Panel qp;
    qp.title = ds + ": W2 to the target against denoising steps S";
    qp.x_label = "denoising steps S";
    qp.y_label = "exact W2 (" + std::to_string(study.eval_samples) + " samples)";
    qp.log_x = true;
    qp.log_y = true;
    for (std::size_t si = 0; si < 2; ++si) {
      const std::string sampler = si == 0 ? "ddpm" : "ddim";
      Series s;
      s.label = sampler == "ddpm" ? "DDPM" : "DDIM (eta 0)";
      s.color = colour(si);
      double best = std::nan("");
      int best_s = 0;
      for (const auto& row : c["quality"]) {
        if (row["sampler"] != sampler) continue;
        const int S = row["steps"].get<int>();
        const json& q = row["quality"];
        const double w2 = q.is_null() ? std::nan("") : num(q["w2"]);
        quality.add_row({ds, sampler, std::to_string(S), std::to_string(study.eval_samples), fmt::format("{:.4f}", w2),
                         q.is_null() ? "n/a" : format_scientific(num(q["mmd2"])), format_exact(cell_gamma),
                         q.is_null() ? "n/a" : format_scientific(num(q["energy"])), format_seconds(num(row["seconds"]))});
        quality_csv.add_row({ds, sampler, std::to_string(S), std::to_string(study.eval_samples), format_exact(w2),
                             q.is_null() ? "" : format_exact(num(q["mmd2"])),
                             q.is_null() ? "" : format_exact(num(q["energy"])), format_exact(cell_gamma),
                             format_exact(num(row["seconds"]))});
        s.x.push_back(S);
        s.y.push_back(w2);
        if (std::isfinite(w2) && !(w2 >= best)) {
          best = w2;
          best_s = S;
        }
      }
      qp.series.push_back(std::move(s));
      summary_line += fmt::format("{}{} {} best W2 {:.3f} at S = {}", summary_line.empty() ? "" : "; ", ds, sampler,
                                  best, best_s);
    }
    Series refs;
    refs.label = "fresh data sample";
    refs.color = "#7f7f7f";
    refs.dash_type = 2;
    refs.x = {static_cast<double>(study.quality_steps.front()), static_cast<double>(study.quality_steps.back())};
    refs.y = {num(ref["w2"]), num(ref["w2"])};
    qp.series.push_back(std::move(refs));
    quality_fig.panels.push_back(std::move(qp));

    Panel sp;
    sp.title = ds + ": sweeps against S (tolerance " + format_exact(study.parallel_tolerance) + " x noise scale)";
    sp.x_label = "denoising steps S";
    sp.y_label = "sweeps (sequential network calls)";
    sp.log_x = true;
    sp.log_y = true;
    std::size_t ci = 0;
    for (const char* sampler : {"ddpm", "ddim"}) {
      for (const char* method : {"picard", "anderson"}) {
        Series s;
        s.label = fmt::format("{} {}", sampler, method);
        s.color = colour(ci++);
        s.dash_type = std::string(sampler) == "ddpm" ? 1 : 2;
        for (const auto& row : c["parallel"]) {
          if (row["sampler"] != sampler || row["method"] != method) continue;
          s.x.push_back(row["steps"].get<int>());
          s.y.push_back(row["sweeps"].get<int>());
        }
        sp.series.push_back(std::move(s));
      }
    }
    Series seq;
    seq.label = "sequential (S calls)";
    seq.color = "#7f7f7f";
    seq.dash_type = 3;
    for (const auto& row : c["parallel"]) {
      if (row["method"] != "picard" || row["sampler"] != "ddim") continue;
      seq.x.push_back(row["steps"].get<int>());
      seq.y.push_back(row["steps"].get<int>());
    }
    sp.series.push_back(std::move(seq));
    sweeps_fig.panels.push_back(std::move(sp));

    for (const auto& row : c["parallel"]) {
      const double seq_s = num(row["sequential_seconds"]), par_s = num(row["seconds"]);
      const int S = row["steps"].get<int>();
      parallel.add_row({ds, row["sampler"].get<std::string>(), std::to_string(S), row["method"].get<std::string>(),
                        std::to_string(row["sweeps"].get<int>()),
                        fmt::format("{:.2f}", double(row["sweeps"].get<int>()) / S),
                        std::to_string(row["network_evaluations"].get<long>()),
                        fmt::format("{:.2f}", double(row["network_evaluations"].get<long>()) / S),
                        format_scientific(num(row["max_abs_diff"]), 2), row["status"].get<std::string>(),
                        fmt::format("{:.2f}", seq_s > 0 ? par_s / seq_s : std::nan(""))});
      parallel_csv.add_row({ds, row["sampler"].get<std::string>(), std::to_string(S), row["method"].get<std::string>(),
                            std::to_string(row["sweeps"].get<int>()),
                            std::to_string(row["network_evaluations"].get<long>()),
                            std::to_string(row["windows"].get<int>()), format_exact(num(row["max_abs_diff"])),
                            row["status"].get<std::string>(), format_exact(par_s), format_exact(seq_s)});
    }

    const int s_max = [&] {
      int m = 0;
      for (int S : study.quality_steps) m = std::max(m, S);
      return m;
    }();
    // One range for the three panels of a data set: the target's, widened by a quarter on each side.
    double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
    for (const auto& pt : c["scatter"]["target"]) {
      x_lo = std::min(x_lo, num(pt[0]));
      x_hi = std::max(x_hi, num(pt[0]));
      y_lo = std::min(y_lo, num(pt[1]));
      y_hi = std::max(y_hi, num(pt[1]));
    }
    const double wx = 0.25 * (x_hi - x_lo), wy = 0.25 * (y_hi - y_lo);
    for (const auto& [key, label, color] :
         {std::tuple<const char*, std::string, const char*>{"target", "target (fresh data)", "#7f7f7f"},
          std::tuple<const char*, std::string, const char*>{"ddpm", "DDPM, S = " + std::to_string(s_max), "#1f77b4"},
          std::tuple<const char*, std::string, const char*>{"ddim", "DDIM, S = " + std::to_string(s_max), "#d62728"}}) {
      Panel p;
      p.title = ds + ": " + label;
      p.x_label = specs[di].dim == 2 ? "x" : "x_1";
      p.y_label = specs[di].dim == 2 ? "y" : "x_2";
      p.log_y = false;
      p.x_min = x_lo - wx;
      p.x_max = x_hi + wx;
      p.y_min = y_lo - wy;
      p.y_max = y_hi + wy;
      p.series.push_back(scatter_series(c["scatter"][key], label, color));
      samples_fig.panels.push_back(std::move(p));
    }
  }
  for (const auto& spec : specs) {
    const json& c = cells[spec.label];
    if (!c.contains("contraction")) continue;
    const json& cc = c["contraction"];
    const int n_traj = cc["trajectories"].get<int>();
    int above = 0;
    for (const auto& r : cc["rows"]) {
      above += num(r["radius_max"]) > 1 ? 1 : 0;
      contraction.add_row({spec.label, std::to_string(r["k"].get<int>()), std::to_string(r["t"].get<int>()),
                           fmt::format("{:.4f}", num(r["a"])), fmt::format("{:.4f}", num(r["radius_mean"])),
                           fmt::format("{:.4f}", num(r["radius_max"])), fmt::format("{:.4f}", num(r["norm_mean"])),
                           fmt::format("{:.4f}", num(r["norm_max"])),
                           fmt::format("{:.4f}", r.contains("shifted_norm_max") ? num(r["shifted_norm_max"]) : std::nan("")),
                           fmt::format("{}/{}", r["radius_converged"].get<int>(), n_traj),
                           std::to_string(r["picard_sweeps"].get<int>()),
                           format_scientific(num(r["picard_error_half"]), 2)});
    }
    std::string errs;
    for (const auto& e : cc["picard_error"]) errs += (errs.empty() ? "" : ", ") + format_scientific(num(e), 2);
    contraction_lines += fmt::format("- {}: {} of {} steps have rho(J) > 1 at some probed point; step-form Picard "
                                     "error (max over steps, relative to the noise scale) after sweeps 1..{}: {}.\n",
                                     spec.label, above, cc["rows"].size(), cc["picard_error"].size(), errs);
  }
  quality_fig.width = sweeps_fig.width = 700 * static_cast<int>(specs.size());
  quality_fig.height = sweeps_fig.height = 600;

  context.report("writing the report to " + folder.path().string());
  const json study_json = {{"datasets", study.datasets},
                           {"dims", study.dims},
                           {"gamma_per_dim", study.gamma_per_dim},
                           {"contraction_steps", study.contraction_steps},
                           {"contraction_trajectories", study.contraction_trajectories},
                           {"train_samples", study.train_samples},
                           {"eval_samples", study.eval_samples},
                           {"model", model_cfg},
                           {"quality_steps", study.quality_steps},
                           {"parallel_steps", study.parallel_steps},
                           {"parallel_samples", study.parallel_samples},
                           {"parallel_tolerance", study.parallel_tolerance},
                           {"window", study.window},
                           {"anderson_memory", study.anderson_memory},
                           {"step_form_max_steps", study.step_form_max_steps},
                           {"gamma", study.gamma}};
  json results_cells = json::object();
  for (const auto& spec : specs) {
    const std::string& ds = spec.label;
    json c = cells[ds];
    c.erase("scatter");  // the points are in samples.dat
    results_cells[ds] = c;
  }
  folder.write_json("results.json", {{"experiment", study.name}, {"cells", results_cells}, {"seconds", seconds}});
  folder.write_csv("results.csv", quality_csv);
  folder.write_csv("parallel.csv", parallel_csv);
  folder.write_json("config.json",
                    {{"experiment", study.name},
                     {"started_utc", started},
                     {"seed", context.seed},
                     {"seed_rule", "training data: seed; target sample: seed + 1000; reference sample: seed + 2000; "
                                   "model initialisation seed, training draws seed + 1; quality sampling noise "
                                   "seed + 7; parallel-in-time sampling noise seed + 13; contraction diagnostics: trajectories' noise "
                                   "seed + 17, power-iteration starts seed + 17 + 1000 k + trajectory"},
                     {"study", study_json},
                     {"metrics", "exact W2 (optimal assignment on equal-size samples), biased RBF MMD^2 with "
                                 "exp(-gamma ||x - y||^2), energy distance (V-statistic), from iterop::distributions"},
                     {"versions", build_info_json()}});

  ExperimentOutcome outcome;
  std::string plots_md;
  for (const auto& [stem, fig, caption] :
       {std::tuple<const char*, const Figure*, const char*>{"samples", &samples_fig, "Samples next to the target"},
        std::tuple<const char*, const Figure*, const char*>{"quality_vs_steps", &quality_fig, "W2 against S"},
        std::tuple<const char*, const Figure*, const char*>{"sweeps_vs_steps", &sweeps_fig,
                                                            "Parallel-in-time sweeps against S"}}) {
    const PlotOutcome po = plot_png(folder, stem, *fig, PlotOptions{context.gnuplot});
    if (po.written) {
      plots_md += fmt::format("![{}]({}.png)\n\n", caption, stem);
    } else {
      outcome.notes.push_back(std::string("plot ") + stem + " skipped: " + po.message);
      plots_md += fmt::format("Plot `{}` skipped: {}.\n\n", stem, po.message);
    }
  }

  const auto& m = study.model;
  std::string md = "# Experiment " + study.name + ": a DDPM denoiser, sample quality against denoising steps, and "
                   "the sampling chain solved parallel-in-time\n\n";
  md += fmt::format(
      "Model: eps_theta(x, t), an MLP of depth {} and width {} (SiLU) on [x, sinusoidal embedding of t ({})], T = {} "
      "diffusion steps, {} beta schedule; Adam lr {}, batch {}, {} steps, on {} samples per data set (standardised "
      "per coordinate). Seed {}.\n\n",
      m.depth, m.width, m.time_embedding, m.diffusion_steps, op::to_string(m.schedule), m.lr, m.batch,
      m.training_steps, study.train_samples, context.seed);
  md += "## Training\n\nThe reference columns compare a fresh data sample with the target: the floor the metrics reach "
        "with perfect samples at this sample size.\n\n" +
        training.to_markdown() + "\n";
  md += fmt::format(
      "## More iterations help: quality against the number of denoising steps S\n\n{} generated samples against {} "
      "target samples (n; seeds in config.json); exact W2 by optimal assignment, biased RBF MMD^2 with kernel "
      "exp(-gamma ||x - y||^2) ({}), energy distance. DDPM is ancestral "
      "sampling with the posterior variance (DDIM with eta = 1); DDIM here is deterministic (eta = 0). Both use "
      "the strided timesteps floor(i T / S) - 1.\n\n",
      study.eval_samples, study.eval_samples,
      study.gamma_per_dim ? "gamma = " + format_exact(study.gamma) + " / D" : "gamma = " + format_exact(study.gamma));
  md += quality.to_markdown() + "\n";
  md += fmt::format(
      "## The chain as an operator: parallel-in-time sampling\n\nWith the initial noise and every z_k drawn up front, "
      "the chain x_(k+1) = a_k x_k + b_k eps(x_k, t_k) + c_k z_k is a causal operator on whole trajectories; it is "
      "solved as x = T(x) (cumulative form, ParaDiGMS) with the core's Picard and Anderson (memory {}) on tensors, "
      "in a sliding window of {} steps; a step is final when max |T(x)_k - x_k| <= {} x its noise scale "
      "sqrt(1 - alpha_bar). Sweeps are sequential batched network calls (the sequential sampler makes S); network "
      "evaluations count one per step of the chain per sweep. {} samples; max |x - x_seq| is the largest "
      "coordinate difference from the sequential sample with the same noise (data units). Time / sequential is "
      "wall-clock on this machine's CPU, where a window's batched call costs about its size: parallel-in-time pays "
      "off only where the batched call is nearly free (a GPU with spare capacity). Rows picard-step (S <= {}) "
      "iterate the plain chain T(x)_k = F_(k-1)(x_(k-1)) instead of the cumulative form.\n\n",
      study.anderson_memory, study.window == 0 ? std::string("S (the whole chain)") : std::to_string(study.window),
      format_exact(study.parallel_tolerance), study.parallel_samples, study.step_form_max_steps);
  md += parallel.to_markdown() + "\n";
  if (!contraction.rows.empty()) {
    md += fmt::format(
        "## Contraction diagnostics of the learned sampling step\n\nFor one DDIM step F_k(x) = a_k x + b_k "
        "eps_theta(x, t_k) (eta = 0, S = {}, standardised coordinates) at the points x_k of {} sequential "
        "trajectories: the spectral radius rho(J) of its Jacobian by power iteration on autograd Jacobian-vector "
        "products, and the spectral norm ||J||_2 (local Lipschitz constant) by power iteration on J^T J "
        "(iterop::operators::learned_contraction). 'rho converged' counts the estimates that met the power "
        "tolerance (the others are Gelfand means, error about 1/k). Beside them, the observed Picard convergence on "
        "the step form T(x)_k = F_(k-1)(x_(k-1)) of the same trajectories, whole chain, started from x_0 everywhere: "
        "the sweep from which on x_(k+1) is within {} x its noise scale of the sequential chain (causality bounds "
        "it by k + 1), and its error half-way to that bound.\n\nHow to read it: a_k = sqrt(alpha_bar' / "
        "alpha_bar) > 1, so the step map need not be a contraction, and rho(J) > 1 at a point does not stop Picard: "
        "the chain is causal (x_(k+1) depends on x_k only), so after n sweeps the first n steps are exact and "
        "Picard terminates after at most S sweeps whatever rho is. Contraction only decides whether Picard gets "
        "there early. Errors compose along the chain as products J_(k-1) ... J_(k-n) of step Jacobians, which "
        "rho and ||J|| of single steps bound only in the norm case. The cumulative form that the parallel-in-time "
        "rows use propagates the error through sums of (J_i - I) instead, so ||J - I|| (small where a step "
        "changes x little), not rho(J), is the quantity that says why it needs far fewer than S sweeps.\n\n",
        study.contraction_steps, study.contraction_trajectories, format_exact(study.parallel_tolerance));
    md += contraction.to_markdown() + "\n" + contraction_lines + "\n";
  }
  md += "## Plots\n\n" + plots_md;
  md += "iterop " + iterop_version() + ", " + compiler_description() + "; total " + format_seconds(seconds) +
        (reused ? fmt::format(" ({} of {} cells read back from cells/)", reused, specs.size()) : "") +
        ".\n\n";
  md += "Files: `results.json` (training curves, every quality and parallel row), `results.csv` (quality rows), "
        "`parallel.csv`, "
        "`config.json` (seeds, study, versions), `samples.dat` (scatter points), `cells/` (one cached cell per data "
        "set).\n";
  folder.write_text("report.md", md);

  outcome.files = folder.written();
  outcome.summary = summary_line + ", in " + format_seconds(seconds);
  return outcome;
}

Experiment denoiser_2d_experiment() {
  return {.name = "denoiser-2d",
          .description =
              "DDPM denoiser on moons and 8gaussians (T = 100): W2/MMD/energy against denoising steps S for DDPM and "
              "DDIM, parallel-in-time Picard and Anderson sweeps against S, spectral radius and norm of the DDIM step "
              "Jacobian beside observed Picard, sample scatter plots (about a minute).",
          .run = [](const ExperimentContext& context) { return run_denoiser_study(context, default_denoiser_study()); },
          .in_suite = false};
}

Experiment denoiser_2d_quick_experiment() {
  return {.name = "denoiser-2d-quick",
          .description =
              "denoiser-2d at suite size: moons only, width 64, 1500 Adam steps, S in {1, 5, 20, 100}, "
              "parallel-in-time at S = 20 and 100 (a few seconds).",
          .run = [](const ExperimentContext& context) { return run_denoiser_study(context, quick_denoiser_study()); },
          .in_suite = true};  // the denoiser's member of the default suite
}

Experiment denoiser_2d_full_experiment() {
  return {.name = "denoiser-2d-full",
          .description =
              "denoiser-2d at full size: moons, 8gaussians, checkerboard, spirals, T = 1000, 20000 Adam steps, 2000 "
              "samples, S up to 1000 (about 8 CPU minutes per data set; resumable: one cached cell per data set).",
          .run = [](const ExperimentContext& context) { return run_denoiser_study(context, full_denoiser_study()); },
          .in_suite = false};
}

Experiment denoiser_highdim_experiment() {
  return {.name = "denoiser-highdim",
          .description =
              "DDPM denoiser on 4blobs in D = 10 and 100 (T = 100, width 256): W2/MMD (gamma 1/D)/energy against S for "
              "DDPM and DDIM, parallel-in-time sweeps against S, step-Jacobian contraction diagnostics (one cached "
              "cell per D; about 3 minutes on 2 cores).",
          .run = [](const ExperimentContext& context) { return run_denoiser_study(context, highdim_denoiser_study()); },
          .in_suite = false};
}

Experiment denoiser_highdim_full_experiment() {
  return {
      .name = "denoiser-highdim-full",
      .description =
          "denoiser-highdim in D = 10, 100 and 1000 (one cached cell per D; about 17 minutes on 2 cores, 13 of them "
          "for D = 1000, where the default model does not learn).",
      .run =
          [](const ExperimentContext& context) { return run_denoiser_study(context, highdim_full_denoiser_study()); },
      .in_suite = false};
}

}  // namespace iterop::experiments
