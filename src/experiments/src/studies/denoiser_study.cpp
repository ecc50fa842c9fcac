// The diffusion-denoiser studies: one cell per (data set, D), one trained DDPM denoiser, one record with
// its training, quality rows against the number of denoising steps S (DDPM, DDIM), parallel-in-time rows
// (Picard, Anderson on the sampling chain), contraction diagnostics of the learned DDIM step and scatter
// points; the report tabulates and plots them.
#include "iterop/experiments/studies/denoiser.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/distributions/sample_distances.hpp"
#include "iterop/experiments/problems/sample_quality_record.hpp"

namespace iterop::experiments {

namespace {

namespace op = operators;
namespace dist = distributions;

/// One cell: a data set in dimension `dim`, its MMD kernel's gamma and its label.
struct Spec {
  std::string label, dataset;
  int dim;
  double gamma;
};

constexpr const char* grey = "#7f7f7f";

std::string f4(double v) { return fmt::format("{:.4f}", v); }
std::string sci(double v) { return format_scientific(v); }
std::string sci2(double v) { return format_scientific(v, 2); }

/// The first two coordinates of every point of s, as [[x, y], ...].
Record points(const dist::SampleSet& s) {
  Record a = Record::array();
  for (std::size_t i = 0; i < s.rows; ++i) a.push_back(Record::array({s(i, 0), s(i, 1)}));
  return a;
}

double max_abs_diff(const dist::SampleSet& a, const dist::SampleSet& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.values.size() && i < b.values.size(); ++i) m = std::max(m, std::abs(a.values[i] - b.values[i]));
  return m;
}

/// Trains the cell's model and measures it (the same draws, in the same order, as the code before the runner).
Record compute_cell(const DenoiserStudy& s, const Spec& c, const ExperimentContext& context) {
  const std::uint64_t seed = context.seed;
  const std::string prefix = c.label + ": ";
  const auto d = std::size_t(c.dim);
  const auto train = dist::sample_dataset(c.dataset, s.train_samples, d, seed);
  const auto target = dist::sample_dataset(c.dataset, s.eval_samples, d, seed + 1000);
  const auto reference = dist::sample_dataset(c.dataset, s.eval_samples, d, seed + 2000);
  op::DenoiserOptions mo = s.model;
  mo.dim = c.dim;
  mo.seed = seed;
  op::DiffusionDenoiser model(mo);
  const auto tr = model.train(train, [&](const op::DenoiserProgress& p) {
    if (p.step % std::max(1, p.total / 4) == 0)
      context.report(fmt::format("{}training step {}/{}: loss {:.4f} ({:.1f} s)", prefix, p.step, p.total, p.loss, p.seconds));
    return Action::proceed;
  });
  Record r = {{"label", c.label}, {"dataset", c.dataset}, {"dim", c.dim}, {"gamma", c.gamma},
              {"parameters", model.num_parameters()}, {"train_status", std::string(op::to_string(tr.status))},
              {"train_message", tr.message}, {"train_steps", tr.steps}, {"initial_loss", record_number(tr.initial_loss)},
              {"final_loss", record_number(tr.final_loss)}, {"train_seconds", tr.seconds}, {"loss_steps", tr.loss_steps},
              {"losses", tr.losses}};
  put_quality(r, dist::sample_quality(reference, target, c.gamma), "reference_");
  if (tr.status == op::DenoiserTrainStatus::non_finite_loss) context.report(prefix + tr.message);

  const int T = mo.diffusion_steps;
  Record quality = Record::array();
  r["scatter_target"] = points(target);
  for (op::Sampler sampler : {op::Sampler::ddpm, op::Sampler::ddim}) {
    dist::SampleSet last;
    for (int S : s.quality_steps) {
      if (S > T) continue;
      const auto out = model.sample({.sampler = sampler, .steps = S, .samples = s.eval_samples, .seed = seed + 7});
      Record row = {{"sampler", std::string(op::to_string(sampler))}, {"steps", S}, {"seconds", out.seconds},
                    {"status", std::string(to_string(out.status))}};
      if (out.samples.all_finite()) {
        put_quality(row, dist::sample_quality(out.samples, target, c.gamma));
      } else {
        row.update({{"n", s.eval_samples}, {"w2", nullptr}, {"mmd2", nullptr}, {"energy", nullptr}, {"gamma", c.gamma}});
      }
      quality.push_back(std::move(row));
      last = out.samples;
    }
    r["scatter_" + std::string(op::to_string(sampler))] = points(last);
  }
  r["quality"] = std::move(quality);

  Record parallel = Record::array();
  for (op::Sampler sampler : {op::Sampler::ddpm, op::Sampler::ddim}) {
    for (int S : s.parallel_steps) {
      if (S > T) continue;
      const op::SamplingOptions so{.sampler = sampler, .steps = S, .samples = s.parallel_samples, .seed = seed + 13};
      const auto seq = model.sample(so);
      std::vector<std::tuple<op::ChainMethod, op::ChainForm, const char*>> variants{
          {op::ChainMethod::picard, op::ChainForm::cumulative, "picard"},
          {op::ChainMethod::anderson, op::ChainForm::cumulative, "anderson"}};
      if (S <= s.step_form_max_steps) variants.emplace_back(op::ChainMethod::picard, op::ChainForm::step, "picard-step");
      for (const auto& [method, form, label] : variants) {
        const op::ParallelSamplingOptions po{.method = method, .form = form, .window = s.window,
                                             .tolerance = s.parallel_tolerance, .anderson_memory = s.anderson_memory};
        const auto par = model.sample_parallel(so, po);
        const double diff = max_abs_diff(par.samples, seq.samples);
        parallel.push_back({{"sampler", std::string(op::to_string(sampler))}, {"steps", S}, {"method", label},
                            {"form", std::string(op::to_string(form))}, {"status", std::string(to_string(par.status))},
                            {"message", par.message}, {"sweeps", par.sweeps}, {"network_evaluations", par.network_evaluations},
                            {"windows", par.windows}, {"max_abs_diff", record_number(diff)}, {"seconds", par.seconds},
                            {"sequential_seconds", seq.seconds}});
      }
    }
  }
  r["parallel"] = std::move(parallel);

  if (s.contraction_steps > 0 && s.contraction_steps <= T) {
    const auto cr = model.step_contraction({.steps = s.contraction_steps, .trajectories = s.contraction_trajectories,
                                            .seed = seed + 17, .picard_tolerance = s.parallel_tolerance});
    Record rows = Record::array();
    for (const auto& k : cr.steps)
      rows.push_back({{"k", k.k}, {"t", k.t}, {"a", k.a}, {"radius_mean", record_number(k.radius_mean)},
                      {"radius_max", record_number(k.radius_max)}, {"norm_mean", record_number(k.norm_mean)},
                      {"norm_max", record_number(k.norm_max)}, {"shifted_norm_mean", record_number(k.shifted_norm_mean)},
                      {"shifted_norm_max", record_number(k.shifted_norm_max)}, {"radius_converged", k.radius_converged},
                      {"picard_sweeps", k.picard_sweeps}, {"picard_error_half", record_number(k.picard_error_half)}});
    Record errors = Record::array();
    for (double e : cr.picard_error) errors.push_back(record_number(e));
    r.update({{"contraction_steps", s.contraction_steps}, {"contraction_trajectories", s.contraction_trajectories},
              {"contraction", std::move(rows)}, {"picard_error", std::move(errors)},
              {"jacobian_products", cr.jacobian_products}, {"contraction_seconds", cr.seconds}});
  }
  return r;
}

/// The rows of every cell's array `field`, each headed by the cell's label ("data") and its fields `also`.
Records rows_of(const Records& cells, const std::string& field, const std::vector<std::string>& also = {}) {
  Records out;
  for (const auto& c : cells)
    for (const auto& row : c.value(field, Record::array())) {
      Record r = {{"data", c["label"]}};
      for (const auto& f : also) r[f] = c[f];
      r.update(row);
      out.push_back(std::move(r));
    }
  return out;
}

/// A column a / b of two numeric fields, two decimals.
Column ratio(std::string header, std::string a, std::string b) {
  return {std::move(header), [a, b](const Record& r) { return fmt::format("{:.2f}", number_of(r, a) / number_of(r, b)); }};
}

/// One log-log panel per cell: `y` against S of the cell's `rows` (those whose "data" is its label), one
/// line per group of `by` (colour by group, DDIM dashed), and the grey guide `guide(cell, its rows)`.
Figure lines_per_cell(const Records& cells, const Records& rows, const std::vector<std::string>& by,
                      const std::string& y, const std::string& title, const std::string& y_label,
                      const std::function<Series(const Record&, const Records&)>& guide) {
  Figure fig;
  for (const auto& c : cells) {
    Panel p{.title = text_of(c, "label") + ": " + title, .x_label = "denoising steps S", .y_label = y_label,
            .log_x = true};
    const Records rs = rows.where("data", text_of(c, "label"));
    for (const auto& [name, group] : rs.group_by(by)) {
      Series l{.label = name, .color = palette_colour(p.series.size()),
               .dash_type = text_of(group[0], "sampler") == "ddim" ? 2 : 1};
      for (const auto& r : group) l.add(number_of(r, "steps"), number_of(r, y));
      p.series.push_back(std::move(l));
    }
    p.series.push_back(guide(c, rs));
    p.series.back().color = grey;
    fig.panels.push_back(std::move(p));
  }
  fig.grid(static_cast<int>(cells.size()), 700, 600);
  return fig;
}

/// Per cell: the target, DDPM and DDIM samples at the largest S, on the target's range widened by a quarter.
Figure samples_figure(const Records& cells, const DenoiserStudy& s) {
  Figure fig;
  const int s_max = *std::max_element(s.quality_steps.begin(), s.quality_steps.end());
  for (const auto& c : cells) {
    const bool plane = number_of(c, "dim") == 2;
    const std::vector<std::tuple<std::string, std::string, std::string>> panels = {
        {"target", "target (fresh data)", grey},
        {"ddpm", "DDPM, S = " + std::to_string(s_max), palette_colour(0)},
        {"ddim", "DDIM, S = " + std::to_string(s_max), palette_colour(1)}};
    Box box{.x_min = 0, .x_max = 0, .y_min = 0, .y_max = 0};  // the origin always in view; then the target's points
    for (const auto& [key, label, color] : panels) {
      Series pts{.label = label, .color = color, .points_only = true};
      for (const auto& pt : c["scatter_" + key]) pts.add(numbers_of(pt)[0], numbers_of(pt)[1]);
      if (key == "target") box.add(pts);
      fig.panels.push_back({.title = text_of(c, "label") + ": " + label, .x_label = plane ? "x" : "x_1",
                            .y_label = plane ? "y" : "x_2", .log_y = false, .series = {std::move(pts)}});
      box.fit(fig.panels.back(), 0.25);
    }
  }
  fig.grid(3, 500, 480);
  return fig;
}

/// Per cell and sampler: the lowest finite W2 of its quality rows and its S (ties: the smaller S).
Records best_w2(const Records& quality) {
  Records out;
  for (const auto& [group, rows] : quality.group_by({"data", "sampler"})) {
    double best = std::nan("");
    int best_s = 0;
    for (const auto& r : rows)
      if (const double w2 = number_of(r, "w2"); std::isfinite(w2) && !(w2 >= best)) {
        best = w2;
        best_s = r["steps"].get<int>();
      }
    out.push_back({{"label", rows[0]["data"]}, {"sampler", rows[0]["sampler"]}, {"best_w2", record_number(best)},
                   {"best_steps", best_s}});
  }
  return out;
}

ReportText denoiser_report(const Records& cells, StudyReport& report, const DenoiserStudy& s) {
  std::string md = "## Training\n\nThe reference columns compare a fresh data sample with the target: the floor of the "
                   "metrics at this sample size.\n\n";
  md += cells
            .table({Column::text("data", "label"), Column::text("parameters", "parameters", Align::right),
                    Column::text("Adam steps", "train_steps", Align::right), Column::number("initial loss", "initial_loss", f4),
                    Column::number("final loss", "final_loss", f4), Column::text("status", "train_status"),
                    Column::number("seconds", "train_seconds", format_seconds),
                    Column::number("reference W2 (fresh data sample)", "reference_w2", f4),
                    Column::number("reference MMD^2", "reference_mmd2", sci),
                    Column::number("reference energy", "reference_energy", sci)})
            .to_markdown() +
        "\n";
  md += fmt::format("## Quality against the number of denoising steps S\n\n{} generated against {} target samples; MMD "
                    "kernel exp(-gamma ||x - y||^2) with {}.\n\n",
                    s.eval_samples, s.eval_samples,
                    s.gamma_per_dim ? "gamma = " + format_exact(s.gamma) + " / D" : "gamma = " + format_exact(s.gamma));
  const Records quality = rows_of(cells, "quality");
  md += quality
            .table({Column::text("data", "data"), Column::text("sampler", "sampler"), Column::text("S", "steps", Align::right),
                    Column::text("n", "n", Align::right), Column::number("W2", "w2", f4), Column::number("MMD^2", "mmd2", sci),
                    Column::number("gamma", "gamma", format_exact), Column::number("energy distance", "energy", sci),
                    Column::number("seconds", "seconds", format_seconds)})
            .to_markdown() +
        "\n";
  md += fmt::format("## Parallel-in-time sampling\n\n{} samples; Anderson memory {}; window {}; a step is final within "
                    "{} x its noise scale; picard-step rows (S <= {}) iterate the plain chain.\n\n",
                    s.parallel_samples, s.anderson_memory, s.window == 0 ? std::string("S (the whole chain)") : std::to_string(s.window),
                    format_exact(s.parallel_tolerance), s.step_form_max_steps);
  const Records parallel = rows_of(cells, "parallel");
  md += parallel
            .table({Column::text("data", "data"), Column::text("sampler", "sampler"), Column::text("S", "steps", Align::right),
                    Column::text("method", "method"), Column::text("sweeps", "sweeps", Align::right),
                    ratio("sweeps / S", "sweeps", "steps"), Column::text("network evals", "network_evaluations", Align::right),
                    ratio("evals / S", "network_evaluations", "steps"),
                    Column::number("max |x - x_seq|", "max_abs_diff", sci2),
                    Column::text("status", "status"), ratio("time / sequential", "seconds", "sequential_seconds")})
            .to_markdown() +
        "\n";
  const Records contraction = rows_of(cells, "contraction", {"contraction_trajectories"});
  if (!contraction.empty()) {
    md += fmt::format("## Contraction diagnostics of the learned DDIM step (S = {}, trajectories: {})\n\n",
                      s.contraction_steps, s.contraction_trajectories);
    md += contraction
              .table({Column::text("data", "data"), Column::text("step k", "k", Align::right), Column::text("t_k", "t", Align::right),
                      Column::number("a_k", "a", f4), Column::number("rho(J) mean", "radius_mean", f4),
                      Column::number("rho(J) max", "radius_max", f4), Column::number("||J||_2 mean", "norm_mean", f4),
                      Column::number("||J||_2 max", "norm_max", f4), Column::number("||J - I||_2 max", "shifted_norm_max", f4),
                      {"rho converged",
                       [](const Record& r) {
                         return text_of(r, "radius_converged") + "/" + text_of(r, "contraction_trajectories");
                       }},
                      Column::text("Picard sweeps to tol (bound k + 1)", "picard_sweeps", Align::right),
                      Column::number("Picard error after k/2 + 1 sweeps", "picard_error_half", sci2)})
              .to_markdown() +
          "\n";
    for (const auto& c : cells.where([](const Record& r) { return r.contains("contraction"); })) {
      const auto above = contraction.where("data", text_of(c, "label")).where([](const Record& r) {
        return number_of(r, "radius_max") > 1;
      });
      std::vector<std::string> errors;
      for (double e : numbers_of(c["picard_error"])) errors.push_back(sci2(e));
      md += fmt::format("- {}: {} of {} steps have rho(J) > 1 at some probed point; step-form Picard error after sweeps "
                        "1..{}: {}.\n",
                        text_of(c, "label"), above.size(), c["contraction"].size(), errors.size(), fmt::join(errors, ", "));
    }
    md += "\n";
  }
  report.folder().write_text("quality.csv", quality.to_csv());
  report.folder().write_text("parallel.csv", parallel.to_csv());
  const Records sweeps = parallel.where([](const Record& r) { return text_of(r, "method") != "picard-step"; });
  const auto floor = [&s](const Record& c, const Records&) {
    return Series{.label = "fresh data sample",
                  .x = {double(s.quality_steps.front()), double(s.quality_steps.back())},
                  .y = {number_of(c, "reference_w2"), number_of(c, "reference_w2")},
                  .dash_type = 2};
  };
  const auto sequential = [](const Record&, const Records& rows) {
    Series g{.label = "sequential (S calls)", .dash_type = 3};
    for (const auto& r : rows.where("sampler", "ddim").where("method", "picard"))
      g.add(number_of(r, "steps"), number_of(r, "steps"));
    return g;
  };
  md += "## Plots\n\n" + report.plot("samples", samples_figure(cells, s), "Samples next to the target") +
        report.plot("quality_vs_steps",
                    lines_per_cell(cells, quality, {"sampler"}, "w2", "W2 to the target against denoising steps S",
                                   "exact W2 (" + std::to_string(s.eval_samples) + " samples)", floor),
                    "W2 against S") +
        report.plot("sweeps_vs_steps",
                    lines_per_cell(cells, sweeps, {"sampler", "method"}, "sweeps",
                                   "sweeps against S (tolerance " + format_exact(s.parallel_tolerance) + " x noise scale)",
                                   "sweeps (sequential network calls)", sequential),
                    "Parallel-in-time sweeps against S");
  md += "Also: `quality.csv` and `parallel.csv` (one row per quality and parallel-in-time row).\n";
  Records best = best_w2(quality);
  std::vector<std::string> summary;
  for (const auto& b : best)
    summary.push_back(fmt::format("{} {} best W2 {:.3f} at S = {}", text_of(b, "label"), text_of(b, "sampler"),
                                  number_of(b, "best_w2"), text_of(b, "best_steps")));
  return {md, fmt::format("{}", fmt::join(summary, "; ")), std::move(best)};
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
  require(step_form_max_steps >= 0, "DenoiserStudy::step_form_max_steps", step_form_max_steps, "step_form_max_steps >= 0");
  require(gamma > 0 && std::isfinite(gamma), "DenoiserStudy::gamma", gamma, "gamma > 0 and finite");
  require(contraction_steps >= 0 && contraction_steps <= model.diffusion_steps, "DenoiserStudy::contraction_steps",
          contraction_steps, "0 <= contraction_steps <= diffusion_steps");
  require(contraction_trajectories >= 1, "DenoiserStudy::contraction_trajectories", contraction_trajectories,
          "contraction_trajectories >= 1");
}

DenoiserStudy default_denoiser_study() {
  DenoiserStudy s{.name = "denoiser-2d", .contraction_steps = 20, .contraction_trajectories = 4};
  s.model = {.dim = 2, .width = 128, .depth = 3, .time_embedding = 32, .diffusion_steps = 100, .lr = 1e-3, .batch = 256,
             .training_steps = 3000};
  return s;
}

DenoiserStudy quick_denoiser_study() {
  DenoiserStudy s{.name = "denoiser-2d-quick", .datasets = {"moons"}, .train_samples = 5000, .eval_samples = 300,
                  .quality_steps = {1, 5, 20, 100}, .parallel_steps = {20, 100}, .parallel_samples = 50,
                  .step_form_max_steps = 20, .contraction_steps = 10, .contraction_trajectories = 1};
  s.model = {.dim = 2, .width = 64, .depth = 3, .diffusion_steps = 100, .training_steps = 1500};
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

DenoiserStudy highdim_denoiser_study() {
  DenoiserStudy s{.name = "denoiser-highdim", .datasets = {"4blobs"}, .gamma = 1.0, .dims = {10, 100},
                  .gamma_per_dim = true, .contraction_steps = 20, .contraction_trajectories = 2};
  s.model = {.width = 256, .depth = 3, .time_embedding = 32, .diffusion_steps = 100, .lr = 1e-3, .batch = 256,
             .training_steps = 3000};
  return s;
}

DenoiserStudy highdim_full_denoiser_study() {
  DenoiserStudy s = highdim_denoiser_study();
  s.name = "denoiser-highdim-full";
  s.dims = {10, 100, 1000};
  return s;
}

Study denoiser_study(const DenoiserStudy& settings, const ExperimentContext& context) {
  settings.validate();
  const DenoiserStudy& s = settings;
  const auto& m = s.model;
  const nlohmann::json model = {{"dim", m.dim}, {"width", m.width}, {"depth", m.depth}, {"time_embedding", m.time_embedding},
                                {"diffusion_steps", m.diffusion_steps}, {"schedule", std::string(op::to_string(m.schedule))},
                                {"lr", m.lr}, {"batch", m.batch}, {"training_steps", m.training_steps}, {"device", m.device}};
  Study study;
  study.name = s.name;
  study.title = "Experiment " + s.name + ": a DDPM denoiser, sample quality against denoising steps, and the sampling "
                "chain solved parallel-in-time";
  study.description = fmt::format(
      "Model: eps_theta(x, t), an MLP of depth {} and width {} (SiLU) on [x, sinusoidal embedding of t ({})], T = {} "
      "diffusion steps, {} beta schedule; Adam lr {}, batch {}, {} steps, on {} samples per data set (standardised per "
      "coordinate). Quality: exact W2, biased RBF MMD^2, energy distance; DDPM is ancestral sampling, DDIM has eta = 0, "
      "both on the strided timesteps floor(i T / S) - 1.",
      m.depth, m.width, m.time_embedding, m.diffusion_steps, op::to_string(m.schedule), m.lr, m.batch, m.training_steps,
      s.train_samples);
  study.config = {{"datasets", s.datasets}, {"dims", s.dims}, {"gamma_per_dim", s.gamma_per_dim},
                  {"contraction_steps", s.contraction_steps}, {"contraction_trajectories", s.contraction_trajectories},
                  {"train_samples", s.train_samples}, {"eval_samples", s.eval_samples}, {"model", model},
                  {"quality_steps", s.quality_steps}, {"parallel_steps", s.parallel_steps},
                  {"parallel_samples", s.parallel_samples}, {"parallel_tolerance", s.parallel_tolerance},
                  {"window", s.window}, {"anderson_memory", s.anderson_memory},
                  {"step_form_max_steps", s.step_form_max_steps}, {"gamma", s.gamma},
                  {"seed_rule", "training data: seed; target sample: seed + 1000; reference sample: seed + 2000; model "
                                "initialisation seed, training draws seed + 1; quality sampling noise seed + 7; "
                                "parallel-in-time sampling noise seed + 13; contraction diagnostics: trajectories' noise "
                                "seed + 17, power-iteration starts seed + 17 + 1000 k + trajectory"},
                  {"metrics", "exact W2 (optimal assignment on equal-size samples), biased RBF MMD^2 with "
                              "exp(-gamma ||x - y||^2), energy distance (V-statistic), from iterop::distributions"}};
  std::vector<Spec> specs;
  const bool only_2d = s.dims == std::vector<int>{2};
  for (const auto& ds : s.datasets)
    for (int d : s.dims)
      specs.push_back({only_2d ? ds : fmt::format("{} D={}", ds, d), ds, d, s.gamma_per_dim ? s.gamma / double(d) : s.gamma});
  nlohmann::json settings_key = study.config;
  settings_key.erase("datasets");
  settings_key.erase("dims");
  for (const auto& c : specs) {
    nlohmann::json key = settings_key;
    key.update({{"dataset", c.dataset}, {"dim", c.dim}, {"cell_gamma", c.gamma}});
    study.cells.push_back({std::move(key), c.label});
  }
  study.compute = [s, specs, context](std::size_t i) { return compute_cell(s, specs[i], context); };
  study.progress = [](const Record& r) {
    return fmt::format(": training {}, final loss {:.4f}, {} quality and {} parallel-in-time rows", text_of(r, "train_status"),
                       number_of(r, "final_loss"), r["quality"].size(), r["parallel"].size());
  };
  study.report = [s](const Records& records, StudyReport& r) { return denoiser_report(records, r, s); };
  return study;
}

std::vector<Experiment> denoiser_experiments() {
  const std::vector<std::tuple<DenoiserStudy (*)(), bool, std::string>> presets = {
      {default_denoiser_study, false,
       "DDPM denoiser on moons and 8gaussians (T = 100): W2/MMD/energy against denoising steps S for DDPM and DDIM, "
       "parallel-in-time Picard and Anderson sweeps against S, spectral radius and norm of the DDIM step Jacobian beside "
       "observed Picard, sample scatter plots (about a minute)."},
      {full_denoiser_study, false,
       "denoiser-2d at full size: moons, 8gaussians, checkerboard, spirals, T = 1000, 20000 Adam steps, 2000 samples, S "
       "up to 1000 (about 8 CPU minutes per data set; resumable: one cached cell per data set)."},
      {quick_denoiser_study, true,
       "denoiser-2d at suite size: moons only, width 64, 1500 Adam steps, S in {1, 5, 20, 100}, parallel-in-time at S = "
       "20 and 100 (a few seconds)."},
      {highdim_denoiser_study, false,
       "DDPM denoiser on 4blobs in D = 10 and 100 (T = 100, width 256): W2/MMD (gamma 1/D)/energy against S for DDPM "
       "and DDIM, parallel-in-time sweeps against S, step-Jacobian contraction diagnostics (one cached cell per D; about "
       "3 minutes on 2 cores)."},
      {highdim_full_denoiser_study, false,
       "denoiser-highdim in D = 10, 100 and 1000 (one cached cell per D; about 17 minutes on 2 cores, 13 of them for D "
       "= 1000, where the default model does not learn)."}};
  std::vector<Experiment> out;
  for (const auto& [make, in_suite, description] : presets)
    out.push_back(study_experiment(make().name, description, in_suite,
                                   [make](const ExperimentContext& c) { return denoiser_study(make(), c); }));
  return out;
}

}  // namespace iterop::experiments
