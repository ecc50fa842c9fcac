// PIGN vs GCN under feature noise: one cell per (noise level, seed), mean and standard deviation of
// the test accuracy at the best validation epoch, accuracy and MAD along the inference schedule.
#include "iterop/experiments/pign_experiment.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/build_info.hpp"
#include "iterop/experiments/plot.hpp"
#include "iterop/experiments/report_writer.hpp"
#include "iterop/experiments/table.hpp"
#include "iterop/operators/planetoid.hpp"

namespace iterop::experiments {

namespace {

namespace op = operators;

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Mean and sample standard deviation (n - 1; 0 for a single value).
std::pair<double, double> mean_std(const std::vector<double>& v) {
  if (v.empty()) return {std::nan(""), std::nan("")};
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0};
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.1f}", 100 * v) : std::string("n/a"); }
std::string pm(const std::pair<double, double>& ms) { return pct(ms.first) + " ± " + pct(ms.second); }

/// One (noise level, seed) run of both models.
struct Cell {
  double noise = 0;
  std::uint64_t seed = 0;
  op::TrainReport gcn;
  op::TrainReport pign;
  std::vector<op::PignIterationRecord> schedule;
};

nlohmann::json report_json(const op::TrainReport& r) {
  return {{"best_epoch", r.best_epoch},
          {"best_val_acc", json_number(r.best_val_acc)},
          {"test_acc", json_number(r.test_acc)},
          {"epochs", r.epochs.size()},
          {"seconds", r.seconds}};
}

nlohmann::json pign_options_json(const op::PignOptions& o) {
  return {{"hidden", o.hidden},         {"iterations", o.iterations},   {"alpha", o.alpha},
          {"alpha_schedule", o.alpha_schedule}, {"learn_alpha", o.learn_alpha}, {"input_dropout", o.input_dropout},
          {"dropout", o.dropout},       {"dropout_in_loop", o.dropout_in_loop}, {"lr", o.lr},
          {"weight_decay", o.weight_decay}, {"epochs", o.epochs}, {"row_normalise", o.row_normalise},
          {"device", o.device}};
}

nlohmann::json gcn_options_json(const op::GcnOptions& o) {
  return {{"hidden", o.hidden}, {"dropout", o.dropout}, {"lr", o.lr}, {"weight_decay", o.weight_decay},
          {"decay_first_layer_only", o.decay_first_layer_only}, {"epochs", o.epochs},
          {"row_normalise", o.row_normalise}, {"device", o.device}};
}

const char* colour(std::size_t i) {
  static const char* c[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
  return c[i % 6];
}

}  // namespace

void PignStudy::validate() const {
  require(!name.empty(), "PignStudy::name", std::string("\"\""), "a non-empty name");
  require(seeds >= 1, "PignStudy::seeds", seeds, "seeds >= 1");
  require(!noise_levels.empty(), "PignStudy::noise_levels", std::string("[]"), "at least one noise level");
  for (double p : noise_levels) require(p >= 0 && p <= 1, "PignStudy::noise_levels", p, "0 <= p <= 1");
  require(inference_iterations >= 1, "PignStudy::inference_iterations", inference_iterations,
          "inference_iterations >= 1");
  pign.validate();
  gcn.validate();
  if (data_folder.empty()) sbm.validate();
}

op::PignOptions tuned_pign_options() {
  op::PignOptions o;
  o.hidden = 32;
  o.iterations = 9;
  o.alpha = 0.55;
  o.input_dropout = 0.5;
  o.dropout_in_loop = false;
  o.row_normalise = false;
  return o;
}

std::filesystem::path resolve_cora_folder() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("ITEROP_CORA_DIR"); env != nullptr && *env != '\0') {
    const fs::path p(env);
    require(fs::exists(p / "features.tsv"), "ITEROP_CORA_DIR", p.string(),
            "a Planetoid folder holding features.tsv, labels.tsv, edges.tsv and split.tsv");
    return p;
  }
  const fs::path fallback = fs::path("..") / "shared" / "data" / "planetoid" / "cora";
  std::error_code ec;
  if (fs::exists(fallback / "features.tsv", ec)) return fallback;
  return {};
}

ExperimentOutcome run_pign_study(const ExperimentContext& context, const PignStudy& study) {
  study.validate();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);

  op::GraphData base;
  const bool from_folder = !study.data_folder.empty();
  if (from_folder) {
    context.report("reading " + study.data_folder.string());
    base = op::read_planetoid(study.data_folder);
  }
  const std::string data_text =
      from_folder ? fmt::format("{} ({}: {} nodes, {} features, {} classes, {} edges)", base.name,
                                study.data_folder.string(), base.num_nodes, base.num_features, base.num_classes,
                                base.edges.size())
                  : fmt::format("the built-in SBM generator ({} nodes, {} classes, {} features; graph seed = run seed)",
                                study.sbm.num_nodes, study.sbm.num_classes, study.sbm.num_features);

  const std::vector<double> schedule(static_cast<std::size_t>(study.inference_iterations), study.pign.alpha);
  std::vector<Cell> cells;
  const std::size_t total = study.noise_levels.size() * static_cast<std::size_t>(study.seeds);
  for (double p : study.noise_levels) {
    for (int i = 0; i < study.seeds; ++i) {
      Cell c;
      c.noise = p;
      c.seed = context.seed + static_cast<std::uint64_t>(i);
      op::GraphData g;
      if (from_folder) {
        g = base;
      } else {
        op::SbmOptions s = study.sbm;
        s.seed = c.seed;
        g = op::make_sbm(s);
      }
      op::add_feature_noise(g, p, 1000003 * c.seed + 17);
      op::GcnOptions go = study.gcn;
      go.seed = c.seed;
      c.gcn = op::train_gcn(g, go);
      op::PignOptions po = study.pign;
      po.seed = c.seed;
      op::Pign model(g, po);
      c.pign = model.train();
      c.schedule = model.evaluate(schedule);
      cells.push_back(std::move(c));
      const Cell& d = cells.back();
      context.report(fmt::format("[{}/{}] p = {} seed {}: GCN test {} (epoch {}), PIGN test {} (epoch {}), {:.1f} s",
                                 cells.size(), total, format_exact(p), d.seed, pct(d.gcn.test_acc), d.gcn.best_epoch,
                                 pct(d.pign.test_acc), d.pign.best_epoch, d.gcn.seconds + d.pign.seconds));
    }
  }
  const double seconds = seconds_since(t0);

  // Summary per noise level; per-iteration means of PIGN along the schedule.
  Table summary;
  summary.columns = {"noise p", "seeds", "GCN test % (mean ± std)", "PIGN test % (mean ± std)", "PIGN - GCN (points)",
                     "PIGN wins (seeds)"};
  summary.align = {Align::left, Align::right, Align::right, Align::right, Align::right, Align::right};
  nlohmann::json summary_json = nlohmann::json::array();
  Figure acc_fig, mad_fig;
  Panel acc_panel, mad_panel;
  acc_panel.title = "PIGN test accuracy along the inference schedule (mean over seeds); GCN dashed";
  acc_panel.x_label = "inference iteration k (trained with K = " + std::to_string(study.pign.iterations) + ")";
  acc_panel.y_label = "test accuracy";
  acc_panel.log_y = false;
  mad_panel.title = "PIGN over-smoothing: MAD of x_k (mean over seeds)";
  mad_panel.x_label = acc_panel.x_label;
  mad_panel.y_label = "mean average cosine distance";
  mad_panel.log_y = false;
  std::string summary_line;
  for (std::size_t li = 0; li < study.noise_levels.size(); ++li) {
    const double p = study.noise_levels[li];
    std::vector<double> gcn_acc, pign_acc;
    int wins = 0;
    const std::size_t len = schedule.size() + 1;
    std::vector<std::vector<double>> acc_k(len), mad_k(len);
    for (const auto& c : cells) {
      if (c.noise != p) continue;
      gcn_acc.push_back(c.gcn.test_acc);
      pign_acc.push_back(c.pign.test_acc);
      if (c.pign.test_acc > c.gcn.test_acc) ++wins;
      for (std::size_t k = 0; k < len && k < c.schedule.size(); ++k) {
        acc_k[k].push_back(c.schedule[k].test_acc);
        mad_k[k].push_back(c.schedule[k].mad);
      }
    }
    const auto g = mean_std(gcn_acc), q = mean_std(pign_acc);
    summary.add_row({format_exact(p), std::to_string(gcn_acc.size()), pm(g), pm(q),
                     fmt::format("{:+.1f}", 100 * (q.first - g.first)), fmt::format("{}/{}", wins, gcn_acc.size())});
    nlohmann::json acc_mean = nlohmann::json::array(), mad_mean = nlohmann::json::array();
    Series acc_s, mad_s, gcn_s;
    acc_s.label = mad_s.label = "PIGN, p = " + format_exact(p);
    acc_s.color = mad_s.color = gcn_s.color = colour(li);
    gcn_s.label = "GCN, p = " + format_exact(p);
    gcn_s.dash_type = 2;
    for (std::size_t k = 0; k < len; ++k) {
      const double a = mean_std(acc_k[k]).first, m = mean_std(mad_k[k]).first;
      acc_mean.push_back(json_number(a));
      mad_mean.push_back(json_number(m));
      acc_s.x.push_back(static_cast<double>(k));
      acc_s.y.push_back(a);
      mad_s.x.push_back(static_cast<double>(k));
      mad_s.y.push_back(m);
    }
    gcn_s.x = {0.0, static_cast<double>(len - 1)};
    gcn_s.y = {g.first, g.first};
    acc_panel.series.push_back(std::move(acc_s));
    acc_panel.series.push_back(std::move(gcn_s));
    mad_panel.series.push_back(std::move(mad_s));
    summary_json.push_back({{"noise", p},
                            {"seeds", gcn_acc.size()},
                            {"gcn_test_mean", json_number(g.first)},
                            {"gcn_test_std", json_number(g.second)},
                            {"pign_test_mean", json_number(q.first)},
                            {"pign_test_std", json_number(q.second)},
                            {"pign_wins", wins},
                            {"pign_test_acc_per_iteration", acc_mean},
                            {"pign_mad_per_iteration", mad_mean}});
    summary_line += fmt::format("{}p = {}: GCN {} %, PIGN {} %", summary_line.empty() ? "" : "; ", format_exact(p),
                                pm(g), pm(q));
  }
  acc_fig.panels.push_back(std::move(acc_panel));
  mad_fig.panels.push_back(std::move(mad_panel));
  acc_fig.width = mad_fig.width = 1100;

  // Per-cell rows.
  Table per_seed;
  per_seed.columns = {"noise p", "seed", "GCN val %", "GCN test %", "GCN epoch", "PIGN val %", "PIGN test %",
                      "PIGN epoch", "PIGN test % at k = " + std::to_string(schedule.size()), "MAD k = 0",
                      "MAD k = " + std::to_string(schedule.size())};
  per_seed.align.assign(per_seed.columns.size(), Align::right);
  Table csv;
  csv.columns = {"noise", "seed", "gcn_val_acc", "gcn_test_acc", "gcn_best_epoch", "gcn_seconds", "pign_val_acc",
                 "pign_test_acc", "pign_best_epoch", "pign_seconds", "pign_test_acc_last_iteration", "pign_mad_first",
                 "pign_mad_last"};
  nlohmann::json cells_json = nlohmann::json::array();
  for (const auto& c : cells) {
    const auto& last = c.schedule.back();
    per_seed.add_row({format_exact(c.noise), std::to_string(c.seed), pct(c.gcn.best_val_acc), pct(c.gcn.test_acc),
                      std::to_string(c.gcn.best_epoch), pct(c.pign.best_val_acc), pct(c.pign.test_acc),
                      std::to_string(c.pign.best_epoch), pct(last.test_acc), fmt::format("{:.3f}", c.schedule[0].mad),
                      fmt::format("{:.3f}", last.mad)});
    csv.add_row({format_exact(c.noise), std::to_string(c.seed), format_exact(c.gcn.best_val_acc),
                 format_exact(c.gcn.test_acc), std::to_string(c.gcn.best_epoch), format_exact(c.gcn.seconds),
                 format_exact(c.pign.best_val_acc), format_exact(c.pign.test_acc), std::to_string(c.pign.best_epoch),
                 format_exact(c.pign.seconds), format_exact(last.test_acc), format_exact(c.schedule[0].mad),
                 format_exact(last.mad)});
    nlohmann::json iters = nlohmann::json::array();
    for (const auto& r : c.schedule)
      iters.push_back({{"iteration", r.iteration},
                       {"alpha", r.alpha},
                       {"train_acc", json_number(r.train_acc)},
                       {"val_acc", json_number(r.val_acc)},
                       {"test_acc", json_number(r.test_acc)},
                       {"mad", json_number(r.mad)},
                       {"step", json_number(r.step)}});
    cells_json.push_back(
        {{"noise", c.noise}, {"seed", c.seed}, {"gcn", report_json(c.gcn)}, {"pign", report_json(c.pign)},
         {"pign_schedule", iters}});
  }

  context.report("writing the report to " + folder.path().string());
  folder.write_json("results.json", {{"experiment", study.name},
                                     {"data", data_text},
                                     {"summary", summary_json},
                                     {"cells", cells_json},
                                     {"std_note", "sample standard deviation over seeds (n - 1)"},
                                     {"seconds", seconds}});
  folder.write_csv("results.csv", csv);
  folder.write_json("config.json", {{"experiment", study.name},
                                    {"started_utc", started},
                                    {"seed", context.seed},
                                    {"seeds", study.seeds},
                                    {"seed_rule", "run i uses seed + i for training, the SBM graph and (1000003 seed + 17) for the noise"},
                                    {"data_folder", study.data_folder.string()},
                                    {"data", data_text},
                                    {"noise_levels", study.noise_levels},
                                    {"inference_schedule", schedule},
                                    {"pign", pign_options_json(study.pign)},
                                    {"gcn", gcn_options_json(study.gcn)},
                                    {"selection", "test accuracy at the epoch of best validation accuracy (ties: lower validation loss)"},
                                    {"versions", build_info_json()}});

  ExperimentOutcome outcome;
  std::string plots_md;
  for (const auto& [stem, fig, caption] :
       {std::tuple<const char*, const Figure*, const char*>{"accuracy_vs_iterations", &acc_fig,
                                                            "Test accuracy after k inference iterations"},
        std::tuple<const char*, const Figure*, const char*>{"mad_vs_iterations", &mad_fig, "MAD after k iterations"}}) {
    const PlotOutcome po = plot_png(folder, stem, *fig, PlotOptions{context.gnuplot});
    if (po.written) {
      plots_md += fmt::format("![{}]({}.png)\n\n", caption, stem);
    } else {
      outcome.notes.push_back(std::string("plot ") + stem + " skipped: " + po.message);
      plots_md += fmt::format("Plot `{}` skipped: {}.\n\n", stem, po.message);
    }
  }

  std::string md = "# Experiment " + study.name + ": PIGN vs the stacked GCN under feature noise\n\n";
  md += "Data: " + data_text + ". Feature noise: +1 on each feature entry with probability p. Each model is trained " +
        "per seed and noise level; the test accuracy is read at the epoch of best validation accuracy (model " +
        "selection on validation only). Mean ± sample standard deviation over " + std::to_string(study.seeds) +
        " seeds (from " + std::to_string(context.seed) + ").\n\n";
  md += fmt::format("PIGN: width {}, K_train = {}, alpha {}, input dropout {}, dropout {} ({} the loop), row "
                    "normalisation {}, lr {}, weight decay {}, {} epochs. GCN: 2 layers, width {}, dropout {}, {} epochs "
                    "(Kipf & Welling). Inference schedule: {} iterations at constant alpha {}.\n\n",
                    study.pign.hidden, study.pign.iterations, study.pign.alpha, study.pign.input_dropout,
                    study.pign.dropout, study.pign.dropout_in_loop ? "also inside" : "not inside",
                    study.pign.row_normalise ? "on" : "off", study.pign.lr, study.pign.weight_decay,
                    study.pign.epochs, study.gcn.hidden, study.gcn.dropout, study.gcn.epochs, schedule.size(),
                    study.pign.alpha);
  md += "## Test accuracy (mean ± std over seeds)\n\n" + summary.to_markdown() + "\n";
  md += "## Per seed\n\n" + per_seed.to_markdown() + "\n";
  md += "## Along the inference schedule\n\n" + plots_md;
  md += "iterop " + iterop_version() + ", " + compiler_description() + "; total " + format_seconds(seconds) + ".\n\n";
  md += "Files: `results.json` (every cell, per-iteration accuracy and MAD), `results.csv`, `config.json`.\n";
  folder.write_text("report.md", md);

  outcome.files = folder.written();
  outcome.summary = summary_line + ", in " + format_seconds(seconds);
  return outcome;
}

Experiment pign_sbm_experiment() {
  Experiment e;
  e.name = "pign-sbm";
  e.description =
      "PIGN vs the 2-layer GCN on the built-in SBM generator (no data needed), p in {0, 0.5}, 2 seeds: test "
      "accuracy, accuracy and MAD along the inference iterations.";
  e.run = [](const ExperimentContext& context) {
    PignStudy s;
    s.name = "pign-sbm";
    s.noise_levels = {0.0, 0.5};
    s.seeds = 2;
    s.pign = tuned_pign_options();
    s.pign.epochs = 100;
    s.gcn.epochs = 100;
    s.inference_iterations = 18;
    return run_pign_study(context, s);
  };
  e.in_suite = true;  // the short neural run of the default suite (about 6 s)
  return e;
}

Experiment pign_cora_experiment() {
  Experiment e;
  e.name = "pign-cora";
  e.description =
      "PIGN vs the 2-layer GCN on Cora ($ITEROP_CORA_DIR or ../shared/data/planetoid/cora; the SBM generator when "
      "absent), p in {0, 0.5, 0.7}, 5 seeds: mean ± std test accuracy, accuracy and MAD along the iterations.";
  e.run = [](const ExperimentContext& context) {
    PignStudy s;
    s.name = "pign-cora";
    s.data_folder = resolve_cora_folder();
    if (s.data_folder.empty())
      context.report("Cora not found ($ITEROP_CORA_DIR unset, no ../shared/data/planetoid/cora): using the SBM generator");
    s.noise_levels = {0.0, 0.5, 0.7};
    s.seeds = 5;
    s.pign = tuned_pign_options();
    s.inference_iterations = 18;
    return run_pign_study(context, s);
  };
  e.in_suite = false;
  return e;
}

}  // namespace iterop::experiments
