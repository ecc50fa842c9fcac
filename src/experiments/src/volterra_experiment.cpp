// The "volterra" experiment: convergence studies on the reference problems, then the report
// (Markdown, CSV, JSON, configuration, log-log convergence plot); every number in it is measured.
#include "iterop/experiments/volterra_experiment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/build_info.hpp"
#include "iterop/experiments/cell_cache.hpp"
#include "iterop/experiments/plot.hpp"
#include "iterop/experiments/report_writer.hpp"
#include "iterop/experiments/table.hpp"
#include "iterop/experiments/run_time.hpp"
#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/quadrature/step_solver.hpp"

namespace iterop::experiments {

namespace {

namespace q = quadrature;

constexpr const char* experiment_name = "volterra";
constexpr const char* plot_stem = "convergence";

const std::vector<std::string>& problem_order() {
  static const std::vector<std::string> ids = {"L2", "L3", "N1", "N3", "N4", "S1", "A2", "F2", "D2"};
  return ids;
}

std::string problem_description(const std::string& id) {
  static const std::map<std::string, std::string> d = {
      {"L2", "y = 1 - int_0^t (t - s) y(s) ds on [0, 2 pi]; y = cos t"},
      {"L3", "y = 1 - 10 int_0^t exp(-1000 (t - s)) y(s) ds on [0, 1] (stiff memory, boundary layer of width ~1e-3)"},
      {"N1", "y = sin t + (sin^2 t - t^2)/4 + int_0^t (t - s) y(s)^2 ds on [0, 1]; y = sin t"},
      {"N3", "y = exp(-2t) + int_0^t exp(-(t - s)) y(s)^2 ds on [0, 2]; y = exp(-t)"},
      {"N4", "y = 1 + int_0^t y(s)^2 ds on [0, 0.9]; y = 1/(1 - t), blows up at t = 1"},
      {"S1", "u = f1 + int_0^t (t - s) v ds, v = f2 + int_0^t (t - s) u ds on [0, 1]; (u, v) = (e^t, e^-t)"},
      {"A2", "y = t^2 + (16/15) t^(5/2) - int_0^t (t - s)^(-1/2) y(s) ds on [0, 1]; y = t^2 (weakly singular)"},
      {"F2", "int_0^t (1 + exp(-(t - s))) y(s) ds = t on [0, 5]; y = 1 - exp(-t/2)/2 (first kind)"},
      {"D2", "y' + y = int_0^t exp(-(t - s)) y(s) ds, y(0) = 1, on [0, 5]; y = exp(-t) cosh t (integro-differential)"},
  };
  auto it = d.find(id);
  return it == d.end() ? id : it->second;
}

std::vector<int> powers_of_two(int lo, int hi) {
  std::vector<int> v;
  for (int p = lo; p <= hi; ++p) v.push_back(1 << p);
  return v;
}

std::string fixed(double v, int digits = 2) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : std::string("n/a");
}

std::string grid_text(double grading) {
  return grading == 1 ? std::string("uniform") : "graded r=" + format_exact(grading);
}

/// A study and what came of it.
struct Study {
  VolterraStudyCase spec;
  std::vector<ConvergenceRun> runs;
  double order = std::nan("");         // least squares over every usable run
  double finest_order = std::nan("");  // local order between the two finest runs
  double seconds = 0;
};

/// One solve of N4 past its blow-up.
struct BeyondRun {
  VolterraMethod method;
  ConvergenceRun run;
};

std::string method_colour(VolterraMethod m) {
  switch (m) {
    case VolterraMethod::trapezoid: return "#1f77b4";
    case VolterraMethod::block_simpson: return "#d62728";
    case VolterraMethod::product_trapezoid: return "#2ca02c";
    case VolterraMethod::midpoint: return "#9467bd";
    case VolterraMethod::ide_trapezoid: return "#ff7f0e";
  }
  return "";
}

Figure convergence_figure(const std::vector<Study>& studies) {
  Figure fig;
  fig.columns = 3;
  fig.width = 1950;
  fig.height = 1650;
  for (const auto& id : problem_order()) {
    Panel panel;
    panel.title = id + ": max error over the nodes against h (log-log)";
    panel.x_label = "h";
    panel.log_x = true;
    panel.y_label = "max error";
    std::map<int, bool> guide_done;
    for (const auto& s : studies) {
      if (s.spec.problem != id) continue;
      Series series;
      series.label = s.spec.label();
      series.color = method_colour(s.spec.method);
      series.dash_type = s.spec.grading == 1 ? 1 : 4;
      for (const auto& r : s.runs) {
        if (!r.result.converged()) continue;
        series.x.push_back(r.h);
        series.y.push_back(r.result.max_error);
      }
      // A grey guide of slope `order`, through the coarsest drawn point, one per stated order.
      const int order = stated_order(s.spec.method);
      std::size_t anchor = 0;
      while (anchor < series.y.size() && !(series.y[anchor] > 0)) ++anchor;
      if (!guide_done[order] && anchor < series.x.size()) {
        guide_done[order] = true;
        Series guide;
        guide.label = "slope " + std::to_string(order);
        guide.color = order == 2 ? "#7f7f7f" : "#bcbd22";
        guide.dash_type = 2;
        const double x0 = series.x[anchor], y0 = series.y[anchor];
        for (std::size_t i = anchor; i < series.x.size(); ++i) {
          guide.x.push_back(series.x[i]);
          guide.y.push_back(y0 * std::pow(series.x[i] / x0, order));
        }
        panel.series.push_back(std::move(series));
        panel.series.push_back(std::move(guide));
      } else {
        panel.series.push_back(std::move(series));
      }
    }
    fig.panels.push_back(std::move(panel));
  }
  return fig;
}

Table summary_table(const std::vector<Study>& studies) {
  Table t;
  t.columns = {"problem", "method", "grid", "N", "observed order (least squares)", "local order (two finest N)",
               "stated order", "max error at finest N", "all converged", "time"};
  t.align = {Align::left,  Align::left,  Align::left,  Align::left,  Align::right,
             Align::right, Align::right, Align::right, Align::left,  Align::right};
  for (const auto& s : studies) {
    bool ok = true;
    for (const auto& r : s.runs) ok = ok && r.result.converged();
    t.add_row({s.spec.problem, to_string(s.spec.method), grid_text(s.spec.grading),
               std::to_string(s.spec.steps.front()) + " .. " + std::to_string(s.spec.steps.back()), fixed(s.order),
               fixed(s.finest_order), std::to_string(stated_order(s.spec.method)),
               format_scientific(s.runs.back().result.max_error), ok ? "yes" : "no", format_seconds(s.seconds)});
  }
  return t;
}

/// Errors of every study of one problem: one row per method and grid, one column per N.
Table problem_table(const std::vector<Study>& studies, const std::string& id) {
  std::vector<ErrorTableRow> rows;
  for (const auto& s : studies) {
    if (s.spec.problem != id) continue;
    ErrorTableRow row{s.spec.label(), {}, s.order, stated_order(s.spec.method)};
    for (const auto& r : s.runs)
      row.cells.emplace_back(r.steps, r.result.converged() ? format_scientific(r.result.max_error)
                                                           : std::string(to_string(r.result.status)));
    rows.push_back(std::move(row));
  }
  return error_table(rows);
}

Table beyond_table(const std::vector<BeyondRun>& runs) {
  Table t;
  t.columns = {"method", "N", "status", "blow-up time (where the solve stopped)", "last node", "y at last node",
               "kernel evals", "message"};
  t.align = {Align::left, Align::right, Align::left, Align::right, Align::right, Align::right, Align::right, Align::left};
  for (const auto& b : runs) {
    const auto& r = b.run.result;
    t.add_row({to_string(b.method), std::to_string(b.run.steps), std::string(to_string(r.status)),
               std::isfinite(r.blow_up_time) ? format_exact(r.blow_up_time) : std::string("none"),
               r.t.empty() ? std::string("none") : format_exact(r.t.back()),
               r.y.empty() ? std::string("") : format_scientific(r.y.back(), 4), std::to_string(r.kernel_evaluations),
               r.message});
  }
  return t;
}

Table csv_table(const std::vector<Study>& studies, const std::vector<BeyondRun>& beyond, double beyond_T) {
  Table t;
  t.columns = {"section", "problem", "T", "method", "grid", "grading", "steps", "h", "status", "max_error",
               "evaluations", "forcing_evaluations", "iterations", "seconds", "t_end", "blow_up_time", "message"};
  auto add = [&](const std::string& section, const std::string& problem, double T, VolterraMethod m, double grading,
                 const ConvergenceRun& r) {
    t.add_row({section, problem, format_exact(T), to_string(m), grid_text(grading), format_exact(grading),
               std::to_string(r.steps), format_exact(r.h), std::string(to_string(r.result.status)),
               format_exact(r.result.max_error), std::to_string(r.result.kernel_evaluations),
               std::to_string(r.result.forcing_evaluations), std::to_string(r.result.nonlinear_iterations),
               format_exact(r.wall_seconds), r.result.t.empty() ? "" : format_exact(r.result.t.back()),
               format_exact(r.result.blow_up_time), r.result.message});
  };
  for (const auto& s : studies)
    for (const auto& r : s.runs)
      add("convergence", s.spec.problem, problem_end(volterra_reference_problem(s.spec.problem)), s.spec.method,
          s.spec.grading, r);
  for (const auto& b : beyond) add("n4_beyond", "N4", beyond_T, b.method, 1, b.run);
  return t;
}

nlohmann::json results_json(const std::vector<Study>& studies, const std::vector<BeyondRun>& beyond, double beyond_T) {
  nlohmann::json js = nlohmann::json::array();
  for (const auto& s : studies) {
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& r : s.runs) runs.push_back(convergence_run_json(r));
    js.push_back({{"problem", s.spec.problem},
                  {"T", problem_end(volterra_reference_problem(s.spec.problem))},
                  {"method", to_string(s.spec.method)},
                  {"label", s.spec.label()},
                  {"grid", grid_text(s.spec.grading)},
                  {"grading", s.spec.grading},
                  {"stated_order", stated_order(s.spec.method)},
                  {"observed_order", json_number(s.order)},
                  {"local_order_finest", json_number(s.finest_order)},
                  {"seconds", s.seconds},
                  {"runs", runs}});
  }
  nlohmann::json jb = nlohmann::json::array();
  for (const auto& b : beyond) {
    nlohmann::json r = convergence_run_json(b.run);
    r["method"] = to_string(b.method);
    r["problem"] = "N4";
    r["T"] = beyond_T;
    jb.push_back(std::move(r));
  }
  return {{"experiment", experiment_name},
          {"observed_order_rule",
           "least-squares slope of log(max error) over log(h) over the converged runs with a finite, positive error"},
          {"studies", js},
          {"n4_beyond_blow_up", jb}};
}

nlohmann::json config_json(const VolterraExperimentConfig& config, const ExperimentContext& context,
                           const std::vector<VolterraStudyCase>& cases, const std::string& started) {
  nlohmann::json jc = nlohmann::json::array();
  for (const auto& c : cases)
    jc.push_back({{"problem", c.problem}, {"method", to_string(c.method)}, {"grading", c.grading}, {"steps", c.steps}});
  const q::StepSolver step{};
  return {{"experiment", experiment_name},
          {"started_utc", started},
          {"seed", context.seed},
          {"seed_note", "the experiment is deterministic; the seed is recorded for the runner's uniformity"},
          {"steps", {{"min_power", config.min_power}, {"max_power", config.max_power}}},
          {"l3_steps", {{"min_power", config.l3_min_power}, {"max_power", config.l3_max_power}}},
          {"a2_grading", config.a2_grading},
          {"n4_beyond", {{"T", config.n4_beyond_T}, {"steps", config.n4_beyond_steps}}},
          {"step_solver",
           {{"kind", step.describe()}, {"tolerance", step.tolerance}, {"max_iterations", step.max_iterations}}},
          {"blow_up_threshold", 1e12},
          {"trapezoid_lag_sums", trapezoid_lag_sums()},
          {"cases", jc},
          {"versions", build_info_json()}};
}

std::string markdown_report(const VolterraExperimentConfig& config, const std::vector<Study>& studies,
                            const std::vector<BeyondRun>& beyond, const PlotOutcome& plot,
                            const std::vector<std::string>& notes, double total_seconds) {
  std::string s = "# Experiment volterra: convergence of iterop's Volterra methods\n\n";
  const q::StepSolver step{};
  s += fmt::format(
      "The reference problems of PROBLEMS.md, each solved by every method of iterop::quadrature that applies, "
      "with N = 2^{} .. 2^{} steps (L3: 2^{} .. 2^{}, for its boundary layer of width 1/(lambda + mu) ~ 1e-3). "
      "The error is the maximum over the nodes of |y_n - y(t_n)| (both components for S1; the midpoints for the "
      "first-kind midpoint rule). The observed order is the least-squares slope of log(max error) over log(h), h "
      "the largest step, over every converged run of the sweep; the local order compares the two finest runs. "
      "Implicit equations of each step: {} to ||y - Phi(y)||_inf <= {} (1 + ||y||_inf). Convolution problems "
      "(L2, L3, N1, N3, N4, S1) use lag sums in the trapezoidal rule ({} summation). The stated order is the method's own "
      "`order`.\n\n",
      config.min_power, config.max_power, config.l3_min_power, config.l3_max_power, step.describe(),
      format_exact(step.tolerance), trapezoid_lag_sums());
  const auto info = build_info_json();
  std::size_t solves = beyond.size();
  for (const auto& st : studies) solves += st.runs.size();
  s += "iterop " + info["iterop"].get<std::string>() + ", " + info["compiler"].get<std::string>() +
       fmt::format(". {} solves in {}.\n\n", solves, format_seconds(total_seconds));
  for (const auto& n : notes) s += "> " + n + "\n";
  if (!notes.empty()) s += "\n";

  s += "## Observed orders\n\n" + summary_table(studies).to_markdown() + "\n";
  s += "## Errors by problem\n\nMax error over the nodes; a status in place of the error where the solve stopped "
       "before T.\n\n";
  for (const auto& id : problem_order()) {
    bool any = false;
    for (const auto& st : studies) any = any || st.spec.problem == id;
    if (!any) continue;
    s += "### " + id + "\n\n" + problem_description(id) + "\n\n" + problem_table(studies, id).to_markdown() + "\n";
  }
  s += "## Convergence plots\n\n";
  if (plot.written)
    s += "![convergence](" + plot.png.filename().string() + ")\n\nOne panel per problem, h against the max "
         "error, both on log scales; grey dashed lines have the stated slopes. Data: `" + plot.data.filename().string() +
         "`, script: `" + plot.script.filename().string() + "`.\n\n";
  else
    s += "Plot skipped: " + plot.message + ". The data (`" + plot.data.filename().string() +
         "`) and the gnuplot script (`" + plot.script.filename().string() +
         "`) were written; install gnuplot and run the script to draw it.\n\n";

  s += fmt::format("## N4 beyond t = 1\n\ny = 1 + int_0^t y(s)^2 ds has the solution 1/(1 - t), which blows up at "
                   "t = 1. Solved on [0, {}] (the exact solution does not exist past 1), the methods must say so: "
                   "the status, and the time where the solve stopped (VolterraResult::blow_up_time: the node whose "
                   "implicit equation had no solution, or whose value passed the blow-up threshold).\n\n",
                   format_exact(config.n4_beyond_T));
  s += beyond_table(beyond).to_markdown() + "\n";
  std::vector<std::string> lines;
  for (const auto& b : beyond) {
    const auto& r = b.run.result;
    lines.push_back(fmt::format("{} N = {}: {} at t = {}", to_string(b.method), b.run.steps, to_string(r.status),
                                std::isfinite(r.blow_up_time) ? format_exact(r.blow_up_time) : std::string("-")));
  }
  s += "In short: ";
  for (std::size_t i = 0; i < lines.size(); ++i) s += (i ? "; " : "") + lines[i];
  s += ".\n\n";

  s += "## All runs\n\n";
  for (const auto& st : studies)
    s += "### " + st.spec.problem + ", " + st.spec.label() + "\n\n" + convergence_table(st.runs).to_markdown() + "\n";
  s += "Files: `results.csv` and `results.json` (every run), `config.json` (configuration and versions).\n";
  return s;
}

}  // namespace

std::string VolterraStudyCase::label() const {
  return to_string(method) + (grading == 1 ? std::string() : " (graded r=" + format_exact(grading) + ")");
}

std::vector<VolterraStudyCase> volterra_cases(const VolterraExperimentConfig& c) {
  require(c.min_power >= 1 && c.min_power <= c.max_power && c.max_power <= 20, "VolterraExperimentConfig::min_power",
          c.min_power, "1 <= min_power <= max_power <= 20");
  require(c.l3_min_power >= 1 && c.l3_min_power <= c.l3_max_power && c.l3_max_power <= 20,
          "VolterraExperimentConfig::l3_min_power", c.l3_min_power, "1 <= l3_min_power <= l3_max_power <= 20");
  require(c.a2_grading >= 1, "VolterraExperimentConfig::a2_grading", c.a2_grading, "a2_grading >= 1");
  const auto regular = powers_of_two(c.min_power, c.max_power);
  std::vector<VolterraStudyCase> cases;
  for (const std::string id : {"L2", "L3", "N1", "N3", "N4", "S1"})
    for (auto m : {VolterraMethod::trapezoid, VolterraMethod::block_simpson})
      cases.push_back({id, m, 1, id == "L3" ? powers_of_two(c.l3_min_power, c.l3_max_power) : regular});
  cases.push_back({"A2", VolterraMethod::product_trapezoid, 1, regular});
  if (c.a2_grading != 1) cases.push_back({"A2", VolterraMethod::product_trapezoid, c.a2_grading, regular});
  cases.push_back({"F2", VolterraMethod::midpoint, 1, regular});
  cases.push_back({"D2", VolterraMethod::ide_trapezoid, 1, regular});
  return cases;
}

AnyVolterraProblem volterra_reference_problem(const std::string& id, double T) {
  namespace r = q::reference;
  if (id == "F2") return r::F2();
  if (id == "D2") return r::D2();
  if (id == "N4" && T > 0) return r::N4(T);
  return r::second_kind(id);
}

/// A finished study as a cell of the cache: every run in full (nodes, values, counters), so that a
/// study read back gives the same tables, plots and JSON as the solve that wrote it. Non-finite
/// values are stored as null and read back as NaN.
nlohmann::json numbers_json(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(json_number(x));
  return a;
}

std::vector<double> numbers_from_json(const nlohmann::json& a) {
  std::vector<double> v;
  v.reserve(a.size());
  for (const auto& x : a) v.push_back(x.is_null() ? std::nan("") : x.get<double>());
  return v;
}

double number_from_json(const nlohmann::json& x) { return x.is_null() ? std::nan("") : x.get<double>(); }

Status status_from_text(const std::string& text) {
  for (Status st : {Status::converged, Status::small_step, Status::max_iterations, Status::max_evaluations,
                    Status::stagnated, Status::diverged, Status::non_finite, Status::stopped_by_observer})
    if (to_string(st) == text) return st;
  throw std::runtime_error("unknown status " + text);
}

nlohmann::json study_cell_json(const Study& st) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& r : st.runs) {
    nlohmann::json j = convergence_run_json(r);
    j["method"] = r.result.method;
    j["order"] = r.result.order;
    j["dimension"] = r.result.dimension;
    j["t"] = numbers_json(r.result.t);
    j["y"] = numbers_json(r.result.y);
    j["step_iterations"] = r.result.step_iterations;
    runs.push_back(std::move(j));
  }
  return {{"runs", runs}, {"seconds", st.seconds}};
}

std::vector<ConvergenceRun> runs_from_cell_json(const nlohmann::json& cell) {
  std::vector<ConvergenceRun> runs;
  for (const auto& j : cell.at("runs")) {
    ConvergenceRun r;
    r.steps = j.at("steps").get<int>();
    r.h = j.at("h").get<double>();
    r.wall_seconds = j.at("seconds").get<double>();
    if (j.contains("expression_evaluations")) r.expression_evaluations = j.at("expression_evaluations").get<long>();
    q::VolterraResult& v = r.result;
    v.method = j.at("method").get<std::string>();
    v.order = j.at("order").get<int>();
    v.dimension = j.at("dimension").get<int>();
    v.t = numbers_from_json(j.at("t"));
    v.y = numbers_from_json(j.at("y"));
    v.status = status_from_text(j.at("status").get<std::string>());
    v.message = j.at("message").get<std::string>();
    v.kernel_evaluations = j.at("evaluations").get<long>();
    v.forcing_evaluations = j.at("forcing_evaluations").get<long>();
    v.nonlinear_iterations = j.at("iterations").get<long>();
    v.step_iterations = j.at("step_iterations").get<std::vector<int>>();
    v.max_error = number_from_json(j.at("max_error"));
    v.blow_up_time = number_from_json(j.at("blow_up_time"));
    v.seconds = j.at("solver_seconds").get<double>();
    runs.push_back(std::move(r));
  }
  return runs;
}

ExperimentOutcome run_volterra_experiment(const VolterraExperimentConfig& config, const ExperimentContext& context) {
  const auto cases = volterra_cases(config);
  for (int n : config.n4_beyond_steps) require(n >= 2 && n % 2 == 0, "VolterraExperimentConfig::n4_beyond_steps", n, "even, >= 2");
  require(config.n4_beyond_T > 1, "VolterraExperimentConfig::n4_beyond_T", config.n4_beyond_T, "n4_beyond_T > 1");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);

  // Each finished study is a cell in cells/ (keyed by problem, method, grading, grids and seed): a rerun
  // into the same folder reads it back instead of solving again (not with --fresh).
  const CellCache cache(folder.path() / "cells", !context.fresh);
  CellBudget budget(context.stop_after_cells);
  std::vector<Study> studies;
  const std::size_t total = cases.size() + 1;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    check_volterra_method(c.method, c.problem == "F2"   ? VolterraKind::first
                                    : c.problem == "D2" ? VolterraKind::ide
                                                        : VolterraKind::second,
                          c.problem == "A2" ? 0.5 : 0.0, c.grading, c.steps);
    Study st;
    st.spec = c;
    const nlohmann::json key = {{"experiment", experiment_name}, {"problem", c.problem},
                                {"method", std::string(to_string(c.method))}, {"grading", c.grading},
                                {"steps", c.steps}, {"seed", context.seed}};
    bool cached = false;
    if (const auto stored = cache.load(key)) {
      try {
        st.runs = runs_from_cell_json(*stored);
        st.seconds = stored->at("seconds").get<double>();
        cached = st.runs.size() == c.steps.size();
      } catch (const std::exception&) {  // a cell of another layout: solve again
        cached = false;
      }
      if (!cached) st.runs.clear();
    }
    if (!cached) {
      const AnyVolterraProblem problem = volterra_reference_problem(c.problem);
      const auto s0 = std::chrono::steady_clock::now();
      for (int n : c.steps) st.runs.push_back(run_volterra(problem, c.method, n, c.grading));
      st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
      cache.store(key, study_cell_json(st));
    }
    st.order = fitted_order(st.runs);
    if (st.runs.size() >= 2) st.finest_order = local_order(st.runs[st.runs.size() - 2], st.runs.back());
    context.report(fmt::format("[{:>2}/{}] {}{} {:<30} N = {}..{}: observed order {} (stated {}), finest error {}, {}",
                               i + 1, total, cached ? "cached: " : "", c.problem, c.label(), c.steps.front(),
                               c.steps.back(), fixed(st.order), stated_order(c.method),
                               format_scientific(st.runs.back().result.max_error), format_seconds(st.seconds)));
    studies.push_back(std::move(st));
    if (!cached) budget.computed(cases.size() - i - 1);
  }

  std::vector<BeyondRun> beyond;
  const AnyVolterraProblem n4 = volterra_reference_problem("N4", config.n4_beyond_T);
  for (auto m : {VolterraMethod::trapezoid, VolterraMethod::block_simpson})
    for (int n : config.n4_beyond_steps) beyond.push_back({m, run_volterra(n4, m, n, 1)});
  {
    std::string line = fmt::format("[{:>2}/{}] N4 on [0, {}]:", total, total, format_exact(config.n4_beyond_T));
    for (const auto& b : beyond)
      line += fmt::format(" {} N={} {} at t={};", to_string(b.method), b.run.steps, to_string(b.run.result.status),
                          format_exact(b.run.result.blow_up_time));
    context.report(line);
  }

  context.report("writing the report to " + folder.path().string());
  std::vector<std::string> notes;
  folder.write_csv("results.csv", csv_table(studies, beyond, config.n4_beyond_T));
  folder.write_json("results.json", results_json(studies, beyond, config.n4_beyond_T));
  folder.write_json("config.json", config_json(config, context, cases, started));
  PlotOptions plot_options;
  plot_options.gnuplot = context.gnuplot;
  const PlotOutcome plot = plot_png(folder, plot_stem, convergence_figure(studies), plot_options);
  if (!plot.written) {
    notes.push_back("Plot skipped: " + plot.message + ".");
    context.report("plot skipped: " + plot.message);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  folder.write_text("report.md", markdown_report(config, studies, beyond, plot, notes, seconds));

  ExperimentOutcome outcome;
  outcome.files = folder.written();
  outcome.notes = notes;
  std::size_t solves = beyond.size(), near = 0;
  for (const auto& st : studies) {
    solves += st.runs.size();
    if (std::isfinite(st.order) && std::abs(st.order - stated_order(st.spec.method)) <= 0.3) ++near;
  }
  outcome.summary = fmt::format("{} convergence studies ({} solves) in {}; observed order within 0.3 of the stated "
                                "order in {} of {}",
                                studies.size(), solves, format_seconds(seconds), near, studies.size());
  return outcome;
}

Experiment volterra_experiment(VolterraExperimentConfig config) {
  Experiment e;
  e.name = experiment_name;
  e.description =
      "Volterra reference problems (L2, L3, N1, N3, N4, S1, A2, F2, D2), every applicable method, N = 2^4 .. 2^10 "
      "(L3 2^8 .. 2^13): error tables, observed vs stated orders, log-log plots, N4 past its blow-up at t = 1.";
  e.run = [config = std::move(config)](const ExperimentContext& context) {
    return run_volterra_experiment(config, context);
  };
  return e;
}

}  // namespace iterop::experiments
