// The PIGN studies. pign-sbm / pign-cora: one cell per (noise level, seed) training the GCN and PIGN on
// the same noisy graph; pign-search: one cell per trial (validation only) and per final seed of the
// selected trial. Reports: mean and std over seeds per noise level, per-seed rows, accuracy and MAD
// along PIGN's inference schedule.
#include "iterop/experiments/studies/pign.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <map>
#include <memory>
#include <random>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"

namespace iterop::experiments {

namespace {

namespace op = operators;
using nlohmann::json;

std::string pct(double v) { return format_fixed(100 * v, 1); }
std::string g4(double v) { return format_significant(v, 4); }
std::string f3(double v) { return fmt::format("{:.3f}", v); }

json pign_options_json(const op::PignOptions& o) {
  json j = {{"hidden", o.hidden}, {"iterations", o.iterations}, {"alpha", o.alpha}, {"alpha_schedule", o.alpha_schedule},
            {"learn_alpha", o.learn_alpha}, {"input_dropout", o.input_dropout}, {"dropout", o.dropout},
            {"dropout_in_loop", o.dropout_in_loop}, {"lr", o.lr}, {"weight_decay", o.weight_decay}, {"epochs", o.epochs},
            {"row_normalise", o.row_normalise}, {"spectral_norm_bound", o.spectral_norm_bound}, {"device", o.device}};
  // Keys of the later options only when they differ from the defaults, so that earlier configurations keep their keys.
  if (o.feature_scaling != "none") j["feature_scaling"] = o.feature_scaling;
  if (o.step != "gcn") j.update({{"step", o.step}, {"teleport", o.teleport}});
  return j;
}

/// The equilibrium settings of PIGN's options (only for mode "equilibrium": the unrolled records keep their keys).
void put_equilibrium_options(json& j, const op::PignOptions& o) {
  if (o.mode != "equilibrium") return;
  const auto& e = o.equilibrium;
  j.update({{"mode", o.mode}, {"weight_bound", o.weight_bound}, {"jacobian_penalty", o.jacobian_penalty},
            {"equilibrium", {{"training", e.training}, {"method", e.method}, {"memory", e.memory},
                             {"forward_tol", e.forward_tol}, {"forward_max_iterations", e.forward_max_iterations},
                             {"backward_tol", e.backward_tol}, {"backward_max_iterations", e.backward_max_iterations},
                             {"on_failure", e.on_failure}}}});
}

json gcn_options_json(const op::GcnOptions& o) {
  json j = {{"hidden", o.hidden}, {"dropout", o.dropout}, {"lr", o.lr}, {"weight_decay", o.weight_decay},
            {"decay_first_layer_only", o.decay_first_layer_only}, {"epochs", o.epochs},
            {"row_normalise", o.row_normalise}, {"device", o.device}};
  if (o.feature_scaling != "none") j["feature_scaling"] = o.feature_scaling;  // only when set (as for PIGN)
  return j;
}

/// The data of a study: the Planetoid graph of `folder` (read once), or the SBM generator's settings.
struct Data {
  std::shared_ptr<const op::GraphData> base;  ///< null: the SBM generator
  op::SbmOptions sbm;
  std::string text;
};

Data read_data(const std::filesystem::path& folder, const op::SbmOptions& sbm, const ExperimentContext& context) {
  Data d{nullptr, sbm, {}};
  if (folder.empty()) {
    d.text = fmt::format("the built-in SBM generator ({} nodes, {} classes, {} features; graph seed = run seed)",
                         sbm.num_nodes, sbm.num_classes, sbm.num_features);
    return d;
  }
  context.report("reading " + folder.string());
  d.base = std::make_shared<const op::GraphData>(op::read_planetoid(folder));
  d.text = fmt::format("{} ({}: {} nodes, {} features, {} classes, {} edges)", d.base->name, folder.string(),
                       d.base->num_nodes, d.base->num_features, d.base->num_classes, d.base->edges.size());
  return d;
}

/// The trivial baseline: the share of the test nodes in their most frequent class (what predicting that
/// class for every node scores).
double majority_test_share(const op::GraphData& g) {
  if (g.test.empty()) return 0.0;
  std::map<int, std::size_t> count;
  std::size_t most = 0;
  for (int i : g.test) most = std::max(most, ++count[g.labels[std::size_t(i)]]);
  return double(most) / double(g.test.size());
}

/// The graph of run `seed` with feature noise p: the data folder's, or the SBM generator's with that seed.
op::GraphData noisy_graph(const Data& data, double p, std::uint64_t seed) {
  op::SbmOptions s = data.sbm;
  s.seed = seed;
  op::GraphData g = data.base ? *data.base : op::make_sbm(s);
  op::add_feature_noise(g, p, 1000003 * seed + 17);
  return g;
}

void put_training(Record& r, const std::string& model, const op::TrainReport& t, bool equilibrium = false) {
  r[model + "_val_acc"] = record_number(t.best_val_acc);
  r[model + "_test_acc"] = record_number(t.test_acc);
  r[model + "_best_epoch"] = t.best_epoch;
  r[model + "_epochs"] = t.epochs.size();
  r[model + "_seconds"] = t.seconds;
  if (equilibrium)
    r.update({{model + "_forward_iterations", t.mean_forward_iterations},
              {model + "_backward_iterations", t.mean_backward_iterations},
              {model + "_forward_failures", t.forward_failures}, {model + "_backward_failures", t.backward_failures},
              {model + "_skipped_steps", t.skipped_steps}, {model + "_max_forward_residual", record_number(t.max_forward_residual)}});
}

/// K of a trained PIGN: its training iterations (unrolled), or the mean forward iterations of its
/// training solves rounded up (equilibrium).
int trained_k(const op::PignOptions& o, const op::TrainReport& t) {
  return o.mode == "equilibrium" ? std::max(1, int(std::ceil(t.mean_forward_iterations))) : o.iterations;
}

/// GCN and PIGN trained on the noisy graph of (p, seed); PIGN along `schedule` (when not empty; with
/// `k_multiple` > 0 instead: k_multiple K iterations at its alpha, K = trained_k) and the contraction of
/// its trained step at its alpha over 200 iterations; in equilibrium mode also its fixed point by Anderson.
Record compare_cell(const Data& data, double p, std::uint64_t seed, op::GcnOptions go, op::PignOptions po,
                    std::vector<double> schedule, int k_multiple = 0) {
  const op::GraphData g = noisy_graph(data, p, seed);
  go.seed = po.seed = seed;
  Record r = {{"noise", p}, {"seed", seed}, {"majority_test_acc", majority_test_share(g)}};
  put_training(r, "gcn", op::train_gcn(g, go));
  op::Pign model(g, po);
  const bool equilibrium = po.mode == "equilibrium";
  const op::TrainReport trained = model.train();
  put_training(r, "pign", trained, equilibrium);
  if (k_multiple > 0) {
    r["k_train"] = trained_k(po, trained);
    schedule.assign(std::size_t(k_multiple * trained_k(po, trained)), po.alpha);
  }
  if (!schedule.empty()) {
    const auto it = model.evaluate(schedule);
    r["pign_test_acc_last_iteration"] = record_number(it.back().test_acc);
    if (k_multiple > 0) {
      double best = 0;
      for (std::size_t k = 1; k < it.size(); ++k) best = std::max(best, it[k].test_acc);
      r["pign_best_test_acc_along"] = record_number(best);
      r["pign_drop_at_last_iteration"] = record_number(best - it.back().test_acc);
    }
    r["pign_mad_first"] = record_number(it.front().mad);
    r["pign_mad_last"] = record_number(it.back().mad);
    using I = op::PignIterationRecord;
    static const std::vector<std::pair<std::string, double I::*>> series = {
        {"alpha", &I::alpha}, {"train_acc", &I::train_acc}, {"val_acc", &I::val_acc},
        {"test_acc", &I::test_acc}, {"mad", &I::mad}, {"step", &I::step}};
    for (const auto& [name, field] : series) {
      Record a = Record::array();
      for (const auto& k : it) a.push_back(record_number(k.*field));
      r["pign_" + name + "_per_iteration"] = std::move(a);
    }
  }
  const op::PignContraction c = model.contraction(po.alpha, 200);
  r.update({{"contraction_alpha", c.alpha}, {"weight_norm", record_number(c.weight_norm)},
            {"contraction_bound", record_number(c.bound)}, {"observed_rate", record_number(c.mean_ratio)},
            {"max_step_ratio", record_number(c.max_ratio)}, {"contraction_iterations", c.iterations},
            {"jacobian_spectral_radius", record_number(c.jacobian_spectral_radius)},
            {"jacobian_radius_converged", c.jacobian_radius_converged}, {"jacobian_norm", record_number(c.jacobian_norm)},
            {"final_residual", record_number(c.final_residual)}});
  if (equilibrium) {
    const op::PignFixedPoint f = model.solve_fixed_point(po.alpha, po.equilibrium.memory, 1e-8, 2000);
    r.update({{"fixed_point_converged", f.anderson_converged}, {"fixed_point_iterations", f.anderson_iterations},
              {"pign_fixed_point_test_acc", record_number(f.test_acc)}});
  }
  return r;
}

std::string progress_line(const Record& r) {
  return fmt::format(": GCN test {} (epoch {}), PIGN test {} (epoch {})", pct(number_of(r, "gcn_test_acc")),
                     text_of(r, "gcn_best_epoch"), pct(number_of(r, "pign_test_acc")), text_of(r, "pign_best_epoch"));
}

/// Per noise level of the comparison cells: mean and std over seeds of both test accuracies ("n" seeds),
/// PIGN's wins, and (when the cells have them) the means over seeds of PIGN's accuracy and MAD per iteration.
Records by_noise(const Records& cells) {
  const auto pign_wins = [](const Record& r) { return number_of(r, "pign_test_acc") > number_of(r, "gcn_test_acc"); };
  return cells.summarise({"noise"}, {"gcn_test_acc", "pign_test_acc", "majority_test_acc"},
                         {.count_where = {{"pign_wins", pign_wins}},
                          .elementwise = {"pign_test_acc_per_iteration", "pign_mad_per_iteration"}});
}

/// "mean ± std" in percent of <model>_test_acc over seeds.
std::string pm(const Record& r, const std::string& model) {
  return pct(number_of(r, model + "_test_acc_mean")) + " ± " + pct(number_of(r, model + "_test_acc_std"));
}

/// The comparison by noise level: `extra` columns after the noise level, then the seeds, both mean ± std
/// test accuracies, the difference and the wins.
Table comparison_table(const Records& summary, std::vector<Column> extra) {
  std::vector<Column> columns = {Column::text("noise p", "noise")};
  columns.insert(columns.end(), extra.begin(), extra.end());
  columns.insert(columns.end(),
                 {Column::text("seeds", "n", Align::right), {"GCN test % (mean ± std)", [](const Record& r) { return pm(r, "gcn"); }},
                  {"PIGN test % (mean ± std)", [](const Record& r) { return pm(r, "pign"); }},
                  {"PIGN - GCN (points)",
                   [](const Record& r) {
                     return fmt::format("{:+.1f}", 100 * (number_of(r, "pign_test_acc_mean") - number_of(r, "gcn_test_acc_mean")));
                   }},
                  {"PIGN wins (seeds)", [](const Record& r) { return text_of(r, "pign_wins") + "/" + text_of(r, "n"); }},
                  // The trivial answer, beside which the accuracies mean something: the test nodes' majority class.
                  Column::number("majority class % (test)", "majority_test_acc_mean", pct)});
  return summary.table(columns);
}

std::string summary_line(const Records& summary, const std::string& pign) {
  std::vector<std::string> parts;
  for (const auto& s : summary)
    parts.push_back(fmt::format("p = {}: GCN {} %, {} {} %", text_of(s, "noise"), pm(s, "gcn"), pign, pm(s, "pign")));
  return fmt::format("{}", fmt::join(parts, "; "));
}

/// PIGN's mean `field` per iteration, one line per noise level (colour by level); with `gcn`, the GCN's
/// mean test accuracy as a dashed line of the same colour.
Figure per_iteration_figure(const Records& summary, const std::string& field, const std::string& title,
                            const std::string& y_label, const std::string& x_label, bool gcn) {
  Panel panel{.title = title, .x_label = x_label, .y_label = y_label, .log_y = false};
  for (std::size_t i = 0; i < summary.size(); ++i) {
    const Record& s = summary[i];
    const std::vector<double> y = numbers_of(s[field]);
    const double last = y.empty() ? 0 : double(y.size() - 1);
    panel.series.push_back({.label = "PIGN, p = " + text_of(s, "noise"), .x = indices(y.size()), .y = y,
                            .color = palette_colour(i)});
    if (gcn)
      panel.series.push_back({.label = "GCN, p = " + text_of(s, "noise"), .x = {0.0, last},
                              .y = {number_of(s, "gcn_test_acc_mean"), number_of(s, "gcn_test_acc_mean")},
                              .color = palette_colour(i), .dash_type = 2});
  }
  return Figure{.panels = {std::move(panel)}, .width = 1100};
}

/// One configuration of the search, with a one-line description.
struct SearchConfig {
  op::PignOptions o;
  std::string schedule;  ///< "constant", "rising", "learned"
  std::string dropout;   ///< "encoder", "encoder+loop", "input+encoder"
  std::string text() const {
    const std::string scaling = o.feature_scaling == "none" ? "" : ", features " + o.feature_scaling;
    if (o.mode == "equilibrium" && o.step == "propagate")
      return fmt::format("equilibrium, propagation step, teleport {}, alpha {}, width {}, dropout {}, row norm {}{}, lr {}, "
                         "weight decay {}",
                         o.teleport, o.alpha, o.hidden, dropout, o.row_normalise ? "on" : "off", scaling, o.lr, o.weight_decay);
    if (o.mode == "equilibrium")
      return fmt::format("equilibrium, alpha {}, {} bound {}, width {}, dropout {}, row norm {}{}, lr {}, weight decay {}, "
                         "Jacobian penalty {}",
                         o.alpha, o.weight_bound, o.spectral_norm_bound, o.hidden, dropout, o.row_normalise ? "on" : "off",
                         scaling, o.lr, o.weight_decay, o.jacobian_penalty);
    return fmt::format("alpha {} {}, K {}, width {}, dropout {}, row norm {}, spectral norm {}, lr {}", o.alpha, schedule,
                       o.iterations, o.hidden, dropout, o.row_normalise ? "on" : "off",
                       o.spectral_norm_bound > 0 ? format_exact(o.spectral_norm_bound) : std::string("off"), o.lr);
  }
};

void place_dropout(SearchConfig& c) {
  c.o.input_dropout = c.dropout == "input+encoder" ? 0.5 : 0.0;
  c.o.dropout = 0.5;
  c.o.dropout_in_loop = c.dropout == "encoder+loop";
}

/// Trial 0 of the equilibrium search: alpha 0.5, spectral bound 0.9, width 64, input + encoder dropout.
SearchConfig default_equilibrium_config() {
  SearchConfig c{tuned_pign_options(), "constant", "input+encoder"};
  c.o.mode = "equilibrium";
  c.o.alpha = 0.5;
  c.o.spectral_norm_bound = 0.9;
  c.o.row_normalise = true;
  c.o.lr = 0.01;
  place_dropout(c);
  return c;
}

/// Trials 1 and 2 of the equilibrium search: APPNP's propagation step (teleport 0.1, alpha 0: the contraction
/// factor 0.9) with trial 0's width, dropout, lr and weight decay; trial 1 on row-normalised features,
/// trial 2 on standardised ones (the setting that learns under heavy feature noise).
SearchConfig propagation_config(const std::string& feature_scaling) {
  SearchConfig c{default_equilibrium_config()};
  c.o.step = "propagate";
  c.o.teleport = 0.1;
  c.o.alpha = 0.0;
  c.o.feature_scaling = feature_scaling;
  return c;
}

/// One of `options`, drawn uniformly by one draw of `rng` (the search's configurations are drawn field by field).
template <class T>
T pick(std::mt19937_64& rng, std::initializer_list<T> options) {
  return options.begin()[rng() % options.size()];
}

/// An equilibrium configuration: every step a contraction by construction (bound alpha + (1 - alpha) c < 1).
SearchConfig draw_equilibrium_config(std::mt19937_64& rng) {
  SearchConfig c{default_equilibrium_config()};
  c.o.alpha = pick(rng, {0.0, 0.3, 0.5});
  c.o.spectral_norm_bound = pick(rng, {0.8, 0.9, 0.95});
  c.o.weight_bound = pick(rng, {"spectral", "frobenius"});
  c.o.hidden = pick(rng, {32, 64, 128});
  c.dropout = pick(rng, {"encoder", "encoder+loop", "input+encoder"});
  c.o.row_normalise = pick(rng, {true, false});
  c.o.lr = pick(rng, {0.005, 0.01, 0.02});
  c.o.weight_decay = pick(rng, {5e-4, 5e-3});
  c.o.jacobian_penalty = pick(rng, {0.0, 0.1});
  c.o.step = pick(rng, {"gcn", "propagate"});  // drawn after the earlier fields, so that those keep their draws
  c.o.teleport = pick(rng, {0.1, 0.2});
  c.o.feature_scaling = pick(rng, {"none", "standardise"});
  place_dropout(c);
  return c;
}

/// GCN trial 0 is Kipf and Welling's setting (GcnOptions{}); the others are drawn from this grid.
op::GcnOptions draw_gcn_config(std::mt19937_64& rng) {
  op::GcnOptions g;
  g.hidden = pick(rng, {16, 32, 64});
  g.dropout = pick(rng, {0.5, 0.7});
  g.lr = pick(rng, {0.005, 0.01});
  g.weight_decay = pick(rng, {5e-4, 5e-3});
  g.row_normalise = pick(rng, {true, false});
  g.feature_scaling = pick(rng, {"none", "standardise"});
  return g;
}

std::string gcn_text(const op::GcnOptions& g) {
  return fmt::format("width {}, dropout {}, lr {}, weight decay {}, row norm {}{}", g.hidden, g.dropout, g.lr,
                     g.weight_decay, g.row_normalise ? "on" : "off",
                     g.feature_scaling == "none" ? "" : ", features " + g.feature_scaling);
}

/// Trial 0: the hand-tuned setting that preceded the search (width 32, lr 0.01; otherwise as
/// tuned_pign_options()), kept fixed so that a search report stays reproducible.
SearchConfig default_config() {
  SearchConfig c{tuned_pign_options(), "constant", "input+encoder"};
  c.o.hidden = 32;
  c.o.lr = 0.01;
  return c;
}

SearchConfig draw_config(std::mt19937_64& rng) {
  SearchConfig c;
  c.o.alpha = pick(rng, {0.3, 0.55, 0.8});
  c.schedule = pick(rng, {"constant", "rising", "learned"});
  c.o.iterations = pick(rng, {2, 4, 9});
  c.o.hidden = pick(rng, {16, 32, 64});
  c.dropout = pick(rng, {"encoder", "encoder+loop", "input+encoder"});
  c.o.row_normalise = pick(rng, {true, false});
  c.o.spectral_norm_bound = pick(rng, {0.0, 0.9});
  c.o.lr = pick(rng, {0.005, 0.01, 0.02});
  if (c.schedule == "rising") c.o.alpha_schedule = op::linear_schedule(c.o.iterations, c.o.alpha, 0.95);
  c.o.learn_alpha = c.schedule == "learned";
  place_dropout(c);
  return c;
}

/// The folder of pign-cora: --data, else ../shared/data/planetoid/cora when present, else none (SBM).
std::filesystem::path cora_folder(const ExperimentContext& context) {
  if (!context.data_folder.empty()) return context.data_folder;
  const auto fallback = std::filesystem::path("..") / "shared" / "data" / "planetoid" / "cora";
  std::error_code ec;
  if (std::filesystem::exists(fallback / "features.tsv", ec)) return fallback;
  context.report("Cora not found (no --data, no ../shared/data/planetoid/cora): using the SBM generator");
  return {};
}

}  // namespace

void PignStudy::validate() const {
  require(!name.empty(), "PignStudy::name", std::string("\"\""), "a non-empty name");
  require(seeds >= 1, "PignStudy::seeds", seeds, "seeds >= 1");
  require(!noise_levels.empty(), "PignStudy::noise_levels", std::string("[]"), "at least one noise level");
  for (double p : noise_levels) require(p >= 0 && p <= 1, "PignStudy::noise_levels", p, "0 <= p <= 1");
  require(inference_iterations >= 1, "PignStudy::inference_iterations", inference_iterations, "inference_iterations >= 1");
  pign.validate();
  gcn.validate();
  if (data_folder.empty()) sbm.validate();
}

void PignSearch::validate() const {
  require(!name.empty(), "PignSearch::name", std::string("\"\""), "a non-empty name");
  require(!noise_levels.empty(), "PignSearch::noise_levels", std::string("[]"), "at least one noise level");
  for (double p : noise_levels) require(p >= 0 && p <= 1, "PignSearch::noise_levels", p, "0 <= p <= 1");
  require(trials >= 1, "PignSearch::trials", trials, "trials >= 1");
  require(epochs >= 1, "PignSearch::epochs", epochs, "epochs >= 1");
  require(final_seeds >= 1, "PignSearch::final_seeds", final_seeds, "final_seeds >= 1");
  require(mode == "equilibrium" || mode == "unrolled", "PignSearch::mode", mode, "\"equilibrium\" or \"unrolled\"");
  require(gcn_trials >= 1, "PignSearch::gcn_trials", gcn_trials, "gcn_trials >= 1");
  require(k_multiple >= 1, "PignSearch::k_multiple", k_multiple, "k_multiple >= 1");
  gcn.validate();
  if (data_folder.empty()) sbm.validate();
}

op::PignOptions tuned_pign_options() {
  op::PignOptions o;
  o.hidden = 64;  // pign-search on Cora validation (seed 1): selected at p = 0.7, second at p = 0
  o.iterations = 9;
  o.alpha = 0.55;
  o.input_dropout = 0.5;
  o.dropout_in_loop = false;
  o.row_normalise = false;
  o.lr = 0.005;
  return o;
}

Study pign_study(const PignStudy& settings, const ExperimentContext& context) {
  settings.validate();
  const PignStudy& s = settings;
  const Data data = read_data(s.data_folder, s.sbm, context);
  const std::vector<double> schedule(static_cast<std::size_t>(s.inference_iterations), s.pign.alpha);
  Study study;
  study.name = s.name;
  study.title = "Experiment " + s.name + ": PIGN vs the stacked GCN under feature noise";
  study.description = fmt::format(
      "Data: {}. Feature noise: +1 on each feature entry with probability p. Test accuracy at the epoch of best "
      "validation accuracy; mean ± sample std over {} seeds (from {}). PIGN: width {}, K_train = {}, alpha {}, input "
      "dropout {}, dropout {} ({} the loop), row normalisation {}, lr {}, weight decay {}, {} epochs. GCN: 2 layers, "
      "width {}, dropout {}, {} epochs. Inference schedule: {} iterations at alpha {}; contraction of each trained step "
      "at that alpha over 200 iterations.",
      data.text, s.seeds, context.seed, s.pign.hidden, s.pign.iterations, s.pign.alpha, s.pign.input_dropout, s.pign.dropout,
      s.pign.dropout_in_loop ? "also inside" : "not inside", s.pign.row_normalise ? "on" : "off", s.pign.lr,
      s.pign.weight_decay, s.pign.epochs, s.gcn.hidden, s.gcn.dropout, s.gcn.epochs, schedule.size(), s.pign.alpha);
  study.config = {{"seeds", s.seeds}, {"seed_rule", "run i uses seed + i for training, the SBM graph and (1000003 seed + 17) for the noise"},
                  {"data_folder", s.data_folder.string()}, {"data", data.text}, {"noise_levels", s.noise_levels},
                  {"inference_schedule", schedule}, {"pign", pign_options_json(s.pign)},
                  {"contraction", "per cell: Pign::contraction(alpha, 200) of the trained step"},
                  {"gcn", gcn_options_json(s.gcn)},
                  {"selection", "test accuracy at the epoch of best validation accuracy (ties: lower validation loss)"}};
  study.results_header = {{"data", data.text}, {"std_note", "sample standard deviation over seeds (n - 1)"}};
  struct Run {
    double p;
    std::uint64_t seed;
  };
  std::vector<Run> runs;
  for (double p : s.noise_levels)
    for (int i = 0; i < s.seeds; ++i) {
      runs.push_back({p, context.seed + static_cast<std::uint64_t>(i)});
      study.cells.push_back({{{"noise", p}, {"run", i}, {"data", data.text}, {"pign", study.config["pign"]},
                              {"gcn", study.config["gcn"]}, {"inference_iterations", s.inference_iterations}},
                             fmt::format("p = {} seed {}", format_exact(p), runs.back().seed)});
    }
  study.compute = [s, data, runs, schedule](std::size_t i) {
    return compare_cell(data, runs[i].p, runs[i].seed, s.gcn, s.pign, schedule);
  };
  study.progress = progress_line;
  study.report = [s, schedule](const Records& cells, StudyReport& report) {
    const Records summary = by_noise(cells);
    const auto k_max = std::to_string(schedule.size());
    std::string md = "## Test accuracy (mean ± std over seeds)\n\n" + comparison_table(summary, {}).to_markdown() + "\n";
    md += "## Per seed\n\n" +
          cells
              .table({Column::text("noise p", "noise"), Column::text("seed", "seed"), Column::number("GCN val %", "gcn_val_acc", pct),
                      Column::number("GCN test %", "gcn_test_acc", pct), Column::text("GCN epoch", "gcn_best_epoch", Align::right),
                      Column::number("PIGN val %", "pign_val_acc", pct), Column::number("PIGN test %", "pign_test_acc", pct),
                      Column::text("PIGN epoch", "pign_best_epoch", Align::right),
                      Column::number("PIGN test % at k = " + k_max, "pign_test_acc_last_iteration", pct),
                      Column::number("MAD k = 0", "pign_mad_first", f3), Column::number("MAD k = " + k_max, "pign_mad_last", f3),
                      Column::number("bound alpha + (1 - alpha) ||W||_2", "contraction_bound", g4),
                      Column::number("observed rate", "observed_rate", g4),
                      Column::number("rho(J(x_K))", "jacobian_spectral_radius", g4),
                      Column::number("||J(x_K)||_2", "jacobian_norm", g4)})
              .to_markdown() +
          "\n";
    const std::string x_label = "inference iteration k (trained with K = " + std::to_string(s.pign.iterations) + ")";
    md += "## Along the inference schedule\n\n" +
          report.plot("accuracy_vs_iterations",
                      per_iteration_figure(summary, "pign_test_acc_per_iteration",
                                           "PIGN test accuracy along the inference schedule (mean over seeds); GCN dashed",
                                           "test accuracy", x_label, true),
                      "Test accuracy after k inference iterations") +
          report.plot("mad_vs_iterations",
                      per_iteration_figure(summary, "pign_mad_per_iteration", "PIGN over-smoothing: MAD of x_k (mean over seeds)",
                                           "mean average cosine distance", x_label, false),
                      "MAD after k iterations");
    return ReportText{md, summary_line(summary, "PIGN"), summary};
  };
  return study;
}

Study pign_search_study(const PignSearch& settings, const ExperimentContext& context) {
  settings.validate();
  const PignSearch& s = settings;
  const Data data = read_data(s.data_folder, s.sbm, context);
  const bool equilibrium = s.mode == "equilibrium";
  std::mt19937_64 rng(context.seed);
  std::vector<SearchConfig> configs;
  for (int t = 0; t < s.trials; ++t) {
    if (equilibrium)
      configs.push_back(t == 0   ? default_equilibrium_config()
                        : t == 1 ? propagation_config("none")
                        : t == 2 ? propagation_config("standardise")
                                 : draw_equilibrium_config(rng));
    else
      configs.push_back(t == 0 ? default_config() : draw_config(rng));
    configs.back().o.epochs = s.epochs;
  }
  std::mt19937_64 gcn_rng(context.seed + 1);
  std::vector<op::GcnOptions> gcns;
  for (int t = 0; t < s.gcn_trials; ++t) {
    op::GcnOptions standardised;  // GCN trial 1: Kipf and Welling's setting on standardised features
    standardised.feature_scaling = "standardise";
    gcns.push_back(t == 0 ? op::GcnOptions{} : t == 1 ? standardised : draw_gcn_config(gcn_rng));
    gcns.back().epochs = s.epochs;
    gcns.back().device = s.gcn.device;
  }
  Study study;
  study.name = s.name;
  study.title = "Experiment " + s.name + ": PIGN (" + s.mode + ") and GCN searches on validation, then PIGN vs GCN";
  study.description = fmt::format(
      "Data: {}. Feature noise: +1 on each feature entry with probability p. Per noise level, {} PIGN ({}) and {} GCN "
      "configurations trained once (seed {}) and scored by validation accuracy only; the selected ones trained with {} "
      "seeds, whose test accuracies (at the best validation epoch) alone are reported, with PIGN iterated to {} K. {} "
      "epochs throughout.",
      data.text, s.trials, s.mode, s.gcn_trials, context.seed, s.final_seeds, s.k_multiple, s.epochs);
  study.config = {{"trials", s.trials}, {"gcn_trials", s.gcn_trials}, {"mode", s.mode}, {"epochs", s.epochs},
                  {"final_seeds", s.final_seeds}, {"k_multiple", s.k_multiple}, {"noise_levels", s.noise_levels},
                  {"data_folder", s.data_folder.string()}, {"data", data.text},
                  {"search_rule",
                   "see PignSearch in studies/pign.hpp: PIGN trial 0 fixed, trials 1.. drawn from std::mt19937_64(seed); "
                   "GCN trial 0 = GcnOptions{}, trials 1.. from std::mt19937_64(seed + 1); each trained once with the run "
                   "seed; selection by best validation accuracy (ties: earlier trial); test read only for the "
                   "selections, over final_seeds seeds"}};
  study.results_header = {{"data", data.text}, {"std_note", "sample standard deviation over seeds (n - 1)"}};
  struct Item {
    double p;
    std::string kind;  ///< "trial", "gcn_trial", "final"
    int index;         ///< trial or final-seed index
    std::uint64_t seed;
  };
  std::vector<Item> items;
  for (double p : s.noise_levels) {
    for (const auto& [kind, count] : {std::pair<std::string, int>{"trial", s.trials}, {"gcn_trial", s.gcn_trials},
                                      {"final", s.final_seeds}})
      for (int t = 0; t < count; ++t) {
        const std::uint64_t seed = kind == "final" ? context.seed + std::uint64_t(t) : context.seed;
        items.push_back({p, kind, t, seed});
        study.cells.push_back({{{"noise", p}, {kind, t}, {"config", study.config}},
                               kind == "final" ? fmt::format("p = {} final seed {}", format_exact(p), seed)
                                               : fmt::format("p = {} {} {}", format_exact(p), kind, t),
                               kind == "final" ? 1 : 0});
      }
  }
  // The final cells (stage 1) train the trials with the best validation accuracy at their noise level
  // (ties: the earlier trial), chosen in begin_stage from the records of every trial, on every rank.
  using Best = std::map<std::pair<std::string, double>, std::pair<int, double>>;
  auto best = std::make_shared<Best>();
  study.begin_stage = [best](int, const Records& trials) {
    best->clear();
    for (const Record& r : trials) {
      const double p = number_of(r, "noise"), val = number_of(r, "val_acc");
      auto [at, first] = best->try_emplace({text_of(r, "kind"), p}, r["trial"].get<int>(), val);
      if (!first && val > at->second.second) at->second = {r["trial"].get<int>(), val};
    }
  };
  study.compute = [s, data, items, configs, gcns, best](std::size_t i) {
    const Item& it = items[i];
    if (it.kind == "final") {
      const int t = best->at({"trial", it.p}).first, tg = best->at({"gcn_trial", it.p}).first;
      Record r = {{"kind", "final"}, {"selected_trial", t}, {"selected_gcn_trial", tg}};
      r.update(compare_cell(data, it.p, it.seed, gcns[std::size_t(tg)], configs[std::size_t(t)].o, {}, s.k_multiple));
      return r;
    }
    const op::GraphData g = noisy_graph(data, it.p, it.seed);
    Record r = {{"kind", it.kind}, {"noise", it.p}, {"trial", it.index}};
    op::TrainReport tr;
    if (it.kind == "gcn_trial") {
      op::GcnOptions go = gcns[std::size_t(it.index)];
      go.seed = it.seed;
      tr = op::train_gcn(g, go);
      r["configuration"] = gcn_text(go);
      r.update(gcn_options_json(go));
    } else {
      const SearchConfig& c = configs[std::size_t(it.index)];
      op::PignOptions o = c.o;
      o.seed = it.seed;
      op::Pign model(g, o);
      tr = model.train();
      r["configuration"] = c.text();
      json options = pign_options_json(c.o);
      put_equilibrium_options(options, c.o);
      r.update(options);
      r.update({{"schedule", c.schedule}, {"dropout_placement", c.dropout}});
      if (o.mode == "equilibrium")
        r.update({{"forward_failures", tr.forward_failures}, {"backward_failures", tr.backward_failures},
                  {"forward_iterations", tr.mean_forward_iterations}});
    }
    r.update({{"val_acc", record_number(tr.best_val_acc)}, {"best_epoch", tr.best_epoch}, {"seconds", tr.seconds}});
    return r;
  };
  study.progress = [](const Record& r) {
    if (text_of(r, "kind") == "final") return progress_line(r);
    return fmt::format(": validation {} % ({})", pct(number_of(r, "val_acc")), text_of(r, "configuration"));
  };
  study.report = [s](const Records& cells, StudyReport&) {
    const Records finals = cells.where("kind", "final");
    std::vector<Record> rows = by_noise(finals).rows();
    for (auto& r : rows) {
      const std::string p = text_of(r, "noise");
      const Record& f = *finals.find({{"noise", p}});
      const Record& chosen = *cells.find({{"kind", "trial"}, {"noise", p}, {"trial", text_of(f, "selected_trial")}});
      const Record& gcn = *cells.find({{"kind", "gcn_trial"}, {"noise", p}, {"trial", text_of(f, "selected_gcn_trial")}});
      r.update({{"selected_trial", chosen["trial"]}, {"selected_configuration", chosen["configuration"]},
                {"selected_val_acc", chosen["val_acc"]}, {"selected_gcn_trial", gcn["trial"]},
                {"selected_gcn_configuration", gcn["configuration"]}, {"selected_gcn_val_acc", gcn["val_acc"]}});
      const Records group = finals.where("noise", p);
      double worst_drop = 0, max_rho = 0;
      for (const auto& g : group) {
        worst_drop = std::max(worst_drop, number_of(g, "pign_drop_at_last_iteration"));
        max_rho = std::max(max_rho, number_of(g, "jacobian_spectral_radius"));
      }
      r.update({{"max_drop_at_last_iteration", record_number(worst_drop)}, {"max_jacobian_spectral_radius", record_number(max_rho)}});
    }
    const Records summary(std::move(rows));
    const std::string kk = std::to_string(s.k_multiple) + "K";
    std::string md = "## Tuned PIGN vs tuned GCN (test %, mean ± sample std over seeds)\n\n" +
                     comparison_table(summary, {Column::text("selected PIGN configuration (validation)", "selected_configuration"),
                                                Column::number("val %", "selected_val_acc", pct),
                                                Column::text("selected GCN configuration (validation)", "selected_gcn_configuration"),
                                                Column::number("GCN val %", "selected_gcn_val_acc", pct),
                                                Column::number("max drop at " + kk + " (points)", "max_drop_at_last_iteration", pct),
                                                Column::number("max rho(J)", "max_jacobian_spectral_radius", g4)})
                         .to_markdown() +
                     "\n## Final seeds\n\n" +
                     finals
                         .table({Column::text("noise p", "noise"), Column::text("seed", "seed"),
                                 Column::number("GCN test %", "gcn_test_acc", pct), Column::number("PIGN test %", "pign_test_acc", pct),
                                 Column::text("K", "k_train", Align::right),
                                 Column::number("PIGN test % at " + kk, "pign_test_acc_last_iteration", pct),
                                 Column::number("best along the way %", "pign_best_test_acc_along", pct),
                                 Column::number("at the fixed point %", "pign_fixed_point_test_acc", pct),
                                 Column::number("bound", "contraction_bound", g4),
                                 Column::number("rho(J)", "jacobian_spectral_radius", g4),
                                 Column::number("||J||_2", "jacobian_norm", g4),
                                 {"solve failures (fwd/bwd)", [](const Record& r) {
                                   return r.contains("pign_forward_failures")
                                              ? text_of(r, "pign_forward_failures") + "/" + text_of(r, "pign_backward_failures")
                                              : std::string("-");
                                 }}})
                         .to_markdown() +
                     "\n## Trials (validation accuracy only)\n\n" +
                     cells.where([](const Record& r) { return text_of(r, "kind") != "final"; })
                         .table({Column::text("noise p", "noise"), Column::text("model", "kind"), Column::text("trial", "trial"),
                                 Column::text("configuration", "configuration"), Column::number("val %", "val_acc", pct),
                                 Column::text("best epoch", "best_epoch", Align::right),
                                 Column::number("seconds", "seconds", [](double v) { return fmt::format("{:.1f}", v); })})
                         .to_markdown() +
                     "\n";
    return ReportText{md, summary_line(summary, "tuned PIGN"), summary};
  };
  return study;
}

Experiment pign_sbm_experiment() {
  return study_experiment(
      "pign-sbm",
      "PIGN vs the 2-layer GCN on the built-in SBM generator (no data needed), p in {0, 0.5}, 2 seeds: test accuracy, "
      "accuracy and MAD along the inference iterations.",
      true, [](const ExperimentContext& context) {  // the short neural run of the default suite (about 13 s of CPU)
        PignStudy s{.name = "pign-sbm", .data_folder = {}, .noise_levels = {0.0, 0.5}, .seeds = 2, .pign = tuned_pign_options()};
        s.pign.epochs = s.gcn.epochs = 100;
        return pign_study(s, context);
      });
}

Experiment pign_cora_experiment() {
  return study_experiment(
      "pign-cora",
      "PIGN vs the 2-layer GCN on Cora (--data DIR or ../shared/data/planetoid/cora; the SBM generator when absent), p "
      "in {0, 0.5, 0.7}, 5 seeds: mean ± std test accuracy, accuracy and MAD along the iterations.",
      false, [](const ExperimentContext& context) {
        return pign_study({.name = "pign-cora", .data_folder = cora_folder(context), .noise_levels = {0.0, 0.5, 0.7},
                           .seeds = 5, .pign = tuned_pign_options()},
                          context);
      });
}

Experiment pign_search_experiment() {
  return study_experiment(
      "pign-search",
      "Reproducible PIGN hyperparameter search on validation (seeded random over alpha and schedule, K, width, dropout "
      "placement, normalisation, lr), then the selection vs the GCN on test; SBM (quick) or --data DIR (Cora).",
      false, [](const ExperimentContext& context) {
        PignSearch s{.name = "pign-search", .data_folder = context.data_folder};
        if (s.data_folder.empty()) {
          s.trials = 8;
          s.epochs = 100;
          s.final_seeds = 3;
        }
        return pign_search_study(s, context);
      });
}

}  // namespace iterop::experiments
