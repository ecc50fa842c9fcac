// Running an experiment file: each cell computed or read back from cells/, one progress line per cell,
// then the report folder (Markdown tables, JSON, CSV, configuration, plots) built from the cell results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "iterop/experiments/build_info.hpp"
#include "iterop/experiments/cell_cache.hpp"
#include "iterop/experiments/experiment_file.hpp"
#include "iterop/experiments/plot.hpp"
#include "iterop/experiments/report_writer.hpp"
#include "iterop/experiments/table.hpp"
#include "iterop/experiments/volterra_experiment.hpp"
#include "iterop/experiments/run_time.hpp"

namespace iterop::experiments {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

double number_or_nan(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : nan_value; }

std::string fixed2(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", v) : std::string("n/a"); }

/// Items in first-seen order.
std::vector<std::string> unique_in_order(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& i : items)
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  return out;
}

const std::vector<std::string>& palette() {
  static const std::vector<std::string> p = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                             "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8"};
  return p;
}

std::string versions_line() {
  const auto info = build_info_json();
  std::string s = "iterop " + info["iterop"].get<std::string>() + ", " + info["compiler"].get<std::string>();
  for (const auto& [name, version] : backend_versions()) s += ", " + name + " " + version;
  return s;
}

std::string plot_section(const ExperimentFile& file, const std::optional<PlotOutcome>& plot, const std::string& what) {
  if (!file.plots) return "Plots are off (`[output] plots = false`).\n\n";
  if (plot->written)
    return "![" + what + "](" + plot->png.filename().string() + ")\n\nData: `" + plot->data.filename().string() +
           "`, script: `" + plot->script.filename().string() + "`.\n\n";
  return "Plot skipped: " + plot->message + ". The data (`" + plot->data.filename().string() +
         "`) and the gnuplot script (`" + plot->script.filename().string() +
         "`) were written; install gnuplot and run the script to draw it.\n\n";
}

/// Everything the cells share: the cache, the budget of computed cells, the counts and the progress lines.
struct CellRunner {
  const ExperimentContext& context;
  CellCache cache;
  CellBudget budget;
  std::size_t total = 0, computed = 0, cached = 0;

  CellRunner(const ExperimentContext& c, const std::filesystem::path& folder, std::size_t n)
      : context(c), cache(folder / "cells", !c.fresh), budget(c.stop_after_cells), total(n) {}

  /// The result of cell `index`: read back when a valid cell file exists and `parse` accepts it,
  /// else `compute`d and stored. `line` makes the progress text from the result.
  template <class Parsed, class Parse, class Compute, class Line>
  Parsed run(std::size_t index, const nlohmann::json& key, Parse&& parse, Compute&& compute, Line&& line) {
    if (const auto stored = cache.load(key)) {
      try {
        Parsed p = parse(*stored, true);
        ++cached;
        context.report(fmt::format("[{}/{}] cached: {}", index + 1, total, line(p)));
        return p;
      } catch (const std::exception&) {  // a cell of another layout: compute it again
      }
    }
    const nlohmann::json result = compute();
    cache.store(key, result);
    Parsed p = parse(result, false);
    ++computed;
    context.report(fmt::format("[{}/{}] {}", index + 1, total, line(p)));
    budget.computed(total - index - 1);
    return p;
  }
};

// ---------------------------------------------------------------------------------------------
// fixed-point

struct FixedPointRow {
  const FixedPointFileCell* cell = nullptr;
  FixedPointRun run;
  std::string status, message;
  bool cached = false;
  std::string group;  // the problem label, with seed and stop rule where they vary
};

nlohmann::json compute_fixed_point(const FixedPointFileCell& c, std::map<std::string, FixedPointProblem>& problems) {
  const std::string pk = canonical_cell_key(c.key["problem"]);
  auto it = problems.find(pk);
  if (it == problems.end()) it = problems.emplace(pk, default_problem_catalogue().make(c.problem, c.parameters)).first;
  const Stop stop = toth_kelley_stop(c.atol, c.rtol, c.max_iterations);
  FixedPointRun run;
  std::string status, message;
  try {
    run = run_fixed_point(it->second, c.method, stop);
    status = std::string(to_string(run.summary.status));
    message = run.summary.message;
  } catch (const backend_error& e) {
    run = FixedPointRun{};
    run.solver = c.method.solver;
    status = "error";
    message = e.what();
  }
  return {{"status", status}, {"message", message}, {"run", fixed_point_run_cell_json(run)}};
}

std::string iterations_cell(const FixedPointRow& r) {
  if (r.status == "error") return "error";
  std::string s = std::to_string(r.run.summary.iterations);
  if (r.status != "converged") s += " (" + r.status + ")";
  if (!r.run.meets_tolerance()) s += " †";
  return s;
}

Table fixed_point_pivot(const std::vector<FixedPointRow>& rows, const std::function<std::string(const FixedPointRow&)>& cell) {
  std::vector<std::string> groups, labels;
  for (const auto& r : rows) {
    groups.push_back(r.group);
    labels.push_back(r.cell->method_label);
  }
  groups = unique_in_order(groups);
  labels = unique_in_order(labels);
  Table t;
  t.columns = {"method"};
  t.align = {Align::left};
  for (const auto& g : groups) {
    t.columns.push_back(g);
    t.align.push_back(Align::right);
  }
  for (const auto& label : labels) {
    std::vector<std::string> row{label};
    for (const auto& g : groups) {
      auto it = std::find_if(rows.begin(), rows.end(),
                             [&](const FixedPointRow& r) { return r.group == g && r.cell->method_label == label; });
      row.push_back(it == rows.end() ? "" : cell(*it));
    }
    t.add_row(std::move(row));
  }
  return t;
}

nlohmann::json fixed_point_row_json(const FixedPointRow& r) {
  const FixedPointFileCell& c = *r.cell;
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : c.parameters) params[k] = v;
  nlohmann::json history = nlohmann::json::array();
  for (const auto& rec : r.run.summary.history) history.push_back(json_number(rec.residual));
  return {{"cell", cell_hash(canonical_cell_key(c.key))},
          {"problem", c.problem_label},
          {"problem_name", c.problem},
          {"parameters", params},
          {"seed", c.seed},
          {"stop", {{"atol", c.atol}, {"rtol", c.rtol}, {"max_iterations", c.max_iterations}}},
          {"solver", to_string(c.method.solver)},
          {"method", c.method.method_name()},
          {"label", c.method_label},
          {"options", method_spec_json(c.method)},
          {"description", r.run.summary.method},
          {"status", r.status},
          {"message", r.message},
          {"iterations", r.run.summary.iterations},
          {"evaluations", r.run.summary.evaluations},
          {"residual", json_number(r.run.true_residual)},
          {"reported_residual", json_number(r.run.summary.residual)},
          {"initial_residual", json_number(r.run.summary.initial_residual)},
          {"tolerance", json_number(r.run.tolerance)},
          {"meets_tolerance", r.status != "error" && r.run.meets_tolerance()},
          {"error", json_number(r.run.error)},
          {"seconds", r.run.wall_seconds},
          {"cached", r.cached},
          {"residual_history", history}};
}

Figure fixed_point_figure(const std::vector<FixedPointRow>& rows) {
  std::vector<std::string> groups, labels;
  for (const auto& r : rows) {
    groups.push_back(r.group);
    labels.push_back(r.cell->method_label);
  }
  groups = unique_in_order(groups);
  labels = unique_in_order(labels);
  Figure fig;
  fig.columns = static_cast<int>(std::min<std::size_t>(2, groups.size()));  // the keys sit beside the panels
  const int rows_of_panels = static_cast<int>((groups.size() + static_cast<std::size_t>(fig.columns) - 1) /
                                              static_cast<std::size_t>(fig.columns));
  fig.width = 1200 * fig.columns;
  fig.height = 650 * rows_of_panels;
  for (const auto& g : groups) {
    Panel panel;
    panel.title = g;
    panel.x_label = "iteration";
    panel.y_label = "||G(x) - x||_2 (as recorded by each solver)";
    panel.x_min = 0;
    double top = 0;
    for (const auto& r : rows) {
      if (r.group != g || r.run.summary.history.empty()) continue;
      Series s;
      s.label = r.cell->method_label;
      const auto at = std::find(labels.begin(), labels.end(), s.label) - labels.begin();
      s.color = palette()[static_cast<std::size_t>(at) % palette().size()];
      s.dash_type = r.cell->method.solver == Backend::iterop ? 1 : (r.cell->method.solver == Backend::kinsol ? 2 : 4);
      for (const auto& rec : r.run.summary.history) {
        s.x.push_back(rec.iteration);
        s.y.push_back(rec.residual);
      }
      if (std::isfinite(s.y.front())) top = std::max(top, s.y.front());
      panel.series.push_back(std::move(s));
    }
    if (top > 0) panel.y_max = 1e3 * top;  // diverging runs leave the plot at the top instead of squashing it
    fig.panels.push_back(std::move(panel));
  }
  return fig;
}

// ---------------------------------------------------------------------------------------------
// volterra

struct VolterraRunRow {
  int steps = 0;
  double h = nan_value, max_error = nan_value, seconds = nan_value, t_end = nan_value, blow_up_time = nan_value;
  long evaluations = 0, iterations = 0;
  std::string status, message;
};

struct VolterraRow {
  const VolterraFileCell* cell = nullptr;
  std::vector<VolterraRunRow> runs;
  nlohmann::json runs_json;
  double order = nan_value, finest_order = nan_value, seconds = 0;
  bool has_exact = true, cached = false;
  std::string group;  // the problem label, with the seed where seeds vary
  bool all_converged() const {
    return std::all_of(runs.begin(), runs.end(), [](const VolterraRunRow& r) { return r.status == "converged"; });
  }
};

nlohmann::json compute_volterra(const VolterraFileCell& c) {
  std::optional<VolterraExpressionProblem> expr;
  AnyVolterraProblem problem;
  if (c.reference) {
    problem = volterra_reference_problem(*c.reference);
  } else {
    expr.emplace(make_expression_problem(c.expression));
  }
  const auto t0 = Clock::now();
  std::vector<ConvergenceRun> runs;
  for (int n : c.steps) {
    if (expr) {
      expr->reset_evaluations();
      ConvergenceRun run = run_volterra(expr->problem, c.method, n, c.grading);
      run.expression_evaluations = expr->expression_evaluations();
      runs.push_back(std::move(run));
    } else {
      runs.push_back(run_volterra(problem, c.method, n, c.grading));
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const bool has_exact = c.reference.has_value() || c.expression.exact.has_value();
  nlohmann::json jr = nlohmann::json::array();
  for (const auto& r : runs) jr.push_back(convergence_run_json(r));
  const double order = has_exact ? fitted_order(runs) : nan_value;
  const double finest = has_exact && runs.size() >= 2 ? local_order(runs[runs.size() - 2], runs.back()) : nan_value;
  return {{"runs", jr},
          {"observed_order", json_number(order)},
          {"local_order_finest", json_number(finest)},
          {"has_exact", has_exact},
          {"seconds", seconds}};
}

VolterraRow parse_volterra(const VolterraFileCell& c, const nlohmann::json& j, bool cached) {
  VolterraRow row;
  row.cell = &c;
  row.cached = cached;
  row.runs_json = j.at("runs");
  for (const auto& r : row.runs_json) {
    VolterraRunRow v;
    v.steps = r.at("steps").get<int>();
    v.h = number_or_nan(r.at("h"));
    v.status = r.at("status").get<std::string>();
    v.message = r.at("message").get<std::string>();
    v.max_error = number_or_nan(r.at("max_error"));
    v.evaluations = r.at("evaluations").get<long>();
    v.iterations = r.at("iterations").get<long>();
    v.seconds = number_or_nan(r.at("seconds"));
    v.t_end = number_or_nan(r.at("t_end"));
    v.blow_up_time = number_or_nan(r.at("blow_up_time"));
    row.runs.push_back(std::move(v));
  }
  if (row.runs.size() != c.steps.size()) throw std::runtime_error("cell with another set of step counts");
  row.order = number_or_nan(j.at("observed_order"));
  row.finest_order = number_or_nan(j.at("local_order_finest"));
  row.has_exact = j.at("has_exact").get<bool>();
  row.seconds = j.at("seconds").get<double>();
  return row;
}

std::string grid_text(double grading) {
  return grading == 1 ? std::string("uniform") : "graded r=" + format_exact(grading);
}

Table volterra_summary(const std::vector<VolterraRow>& rows) {
  Table t;
  t.columns = {"problem", "method", "grid", "N", "observed order (least squares)", "local order (two finest N)",
               "stated order", "max error at finest N", "all converged", "time"};
  t.align = {Align::left,  Align::left,  Align::left,  Align::left,  Align::right,
             Align::right, Align::right, Align::right, Align::left,  Align::right};
  for (const auto& r : rows) {
    const auto& c = *r.cell;
    t.add_row({r.group, c.method_label, grid_text(c.grading),
               std::to_string(c.steps.front()) + " .. " + std::to_string(c.steps.back()), fixed2(r.order),
               fixed2(r.finest_order), std::to_string(stated_order(c.method)),
               r.has_exact ? format_scientific(r.runs.back().max_error) : std::string("no exact solution"),
               r.all_converged() ? "yes" : "no", format_seconds(r.seconds)});
  }
  return t;
}

Table volterra_problem_table(const std::vector<VolterraRow>& rows, const std::string& group) {
  std::vector<ErrorTableRow> table_rows;
  for (const auto& r : rows) {
    if (r.group != group) continue;
    ErrorTableRow row{r.cell->method_label, {}, r.order, stated_order(r.cell->method)};
    for (const auto& x : r.runs)
      row.cells.emplace_back(x.steps, x.status == "converged" ? format_scientific(x.max_error) : x.status);
    table_rows.push_back(std::move(row));
  }
  return error_table(table_rows);
}

Table volterra_runs_table(const VolterraRow& r) {
  Table t;
  t.columns = {"N", "h", "status", "max error", "local order", "kernel evals", "iterations", "time", "stopped at"};
  t.align = {Align::right, Align::right, Align::left, Align::right, Align::right,
             Align::right, Align::right, Align::right, Align::left};
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    const auto& x = r.runs[i];
    double lo = nan_value;
    if (i > 0) {
      const auto& p = r.runs[i - 1];
      if (p.status == "converged" && x.status == "converged" && p.max_error > 0 && x.max_error > 0 && p.h != x.h)
        lo = std::log(p.max_error / x.max_error) / std::log(p.h / x.h);
    }
    t.add_row({std::to_string(x.steps), format_scientific(x.h), x.status, format_scientific(x.max_error),
               std::isfinite(lo) ? fixed2(lo) : "", std::to_string(x.evaluations), std::to_string(x.iterations),
               format_seconds(x.seconds),
               x.status == "converged" ? std::string()
                                       : "t = " + format_scientific(x.blow_up_time, 4) + " (last node " +
                                             format_scientific(x.t_end, 4) + ")"});
  }
  return t;
}

Figure volterra_figure(const std::vector<VolterraRow>& rows) {
  std::vector<std::string> groups, labels;
  for (const auto& r : rows) {
    groups.push_back(r.group);
    labels.push_back(r.cell->method_label);
  }
  groups = unique_in_order(groups);
  labels = unique_in_order(labels);
  Figure fig;
  fig.columns = static_cast<int>(std::min<std::size_t>(3, groups.size()));
  const int rows_of_panels = static_cast<int>((groups.size() + static_cast<std::size_t>(fig.columns) - 1) /
                                              static_cast<std::size_t>(fig.columns));
  fig.width = 650 * fig.columns;
  fig.height = 550 * rows_of_panels;
  for (const auto& g : groups) {
    Panel panel;
    panel.title = g + ": max error against h (log-log)";
    panel.x_label = "h";
    panel.log_x = true;
    panel.y_label = "max error";
    std::map<int, bool> guide_done;
    for (const auto& r : rows) {
      if (r.group != g) continue;
      Series s;
      s.label = r.cell->method_label;
      const auto at = std::find(labels.begin(), labels.end(), s.label) - labels.begin();
      s.color = palette()[static_cast<std::size_t>(at) % palette().size()];
      s.dash_type = r.cell->grading == 1 ? 1 : 4;
      for (const auto& x : r.runs)
        if (x.status == "converged" && std::isfinite(x.max_error)) {
          s.x.push_back(x.h);
          s.y.push_back(x.max_error);
        }
      // A grey guide with the stated slope through the coarsest drawn point, one per order and panel.
      const int order = stated_order(r.cell->method);
      std::size_t anchor = 0;
      while (anchor < s.y.size() && !(s.y[anchor] > 0)) ++anchor;
      const bool guide = !guide_done[order] && anchor < s.x.size();
      Series g2;
      if (guide) {
        guide_done[order] = true;
        g2.label = "slope " + std::to_string(order);
        g2.color = order == 2 ? "#7f7f7f" : "#bcbd22";
        g2.dash_type = 2;
        for (std::size_t i = anchor; i < s.x.size(); ++i) {
          g2.x.push_back(s.x[i]);
          g2.y.push_back(s.y[anchor] * std::pow(s.x[i] / s.x[anchor], order));
        }
      }
      panel.series.push_back(std::move(s));
      if (guide) panel.series.push_back(std::move(g2));
    }
    fig.panels.push_back(std::move(panel));
  }
  return fig;
}

nlohmann::json volterra_row_json(const VolterraRow& r) {
  const auto& c = *r.cell;
  return {{"cell", cell_hash(canonical_cell_key(c.key))},
          {"problem", r.cell->problem_label},
          {"problem_config", c.key["problem"]},
          {"equation_kind", to_string(c.equation_kind)},
          {"method", to_string(c.method)},
          {"label", c.method_label},
          {"grading", c.grading},
          {"grid", grid_text(c.grading)},
          {"steps", c.steps},
          {"seed", c.seed},
          {"stated_order", stated_order(c.method)},
          {"observed_order", json_number(r.order)},
          {"local_order_finest", json_number(r.finest_order)},
          {"has_exact", r.has_exact},
          {"all_converged", r.all_converged()},
          {"finest_max_error", json_number(r.runs.back().max_error)},
          {"seconds", r.seconds},
          {"cached", r.cached},
          {"runs", r.runs_json}};
}

// ---------------------------------------------------------------------------------------------

nlohmann::json config_json(const ExperimentFile& file, const ExperimentContext& context, const std::string& started,
                           const CellRunner& runner) {
  nlohmann::json cells = nlohmann::json::array();
  auto add = [&](const nlohmann::json& key, const std::string& problem, const std::string& method) {
    cells.push_back({{"cell", cell_hash(canonical_cell_key(key))}, {"problem", problem}, {"method", method}, {"key", key}});
  };
  for (const auto& c : file.fixed_point_cells) add(c.key, c.problem_label, c.method_label);
  for (const auto& c : file.volterra_cells) add(c.key, c.problem_label, c.method_label);
  return {{"experiment", file.name},
          {"kind", to_string(file.kind)},
          {"file", file.path.string()},
          {"description", file.description},
          {"started_utc", started},
          {"seeds", file.seeds},
          {"seed_source", file.seed_from_command_line ? "--seed on the command line" : "the file ([experiment] seed, default 1)"},
          {"output_folder", context.output_folder.string()},
          {"plots", file.plots},
          {"document", file.document},
          {"cells", cells},
          {"cell_cache",
           {{"folder", "cells"},
            {"rule", "one file per cell, cells/<FNV-1a 64 of the canonical JSON key>.json, written atomically; reused "
                     "when its key matches and it was written by the same build (iterop version, size and time of the "
                     "executable)"},
            {"fresh", context.fresh},
            {"computed", runner.computed},
            {"cached", runner.cached}}},
          {"notes", file.notes},
          {"left_out", file.left_out},
          {"backends_available", {{"kinsol", backend_available(Backend::kinsol)}, {"ceres", backend_available(Backend::ceres)}}},
          {"versions", build_info_json()}};
}

std::string header_markdown(const ExperimentFile& file, const CellRunner& runner, double seconds,
                            const std::vector<std::string>& notes) {
  std::string s = "# Experiment " + file.name + " (" + to_string(file.kind) + ", from `" + file.path.string() + "`)\n\n";
  if (!file.description.empty()) s += file.description + "\n\n";
  s += versions_line() + fmt::format(". {} cells in {}: {} computed, {} read back from `cells/` (finished by an earlier "
                                     "run of this build with the same settings and seed; their times are that run's).",
                                     runner.total, format_seconds(seconds), runner.computed, runner.cached);
  s += " Seeds: " + fmt::format("{}", fmt::join(file.seeds, ", ")) +
       (file.seed_from_command_line ? " (from --seed)" : "") + ".\n\n";
  for (const auto& n : notes) s += "> " + n + "\n";
  if (!notes.empty()) s += "\n";
  return s;
}

ExperimentOutcome run_fixed_point_file(const ExperimentFile& file, const ExperimentContext& context, ReportFolder& folder,
                                       CellRunner& runner, std::vector<std::string>& notes, const std::string& started,
                                       Clock::time_point t0) {
  std::map<std::string, FixedPointProblem> problems;
  std::vector<FixedPointRow> rows;
  bool seeds_vary = file.seeds.size() > 1;
  for (std::size_t i = 0; i < file.fixed_point_cells.size(); ++i) {
    const FixedPointFileCell& c = file.fixed_point_cells[i];
    const std::string group = c.problem_label + (seeds_vary ? " seed=" + std::to_string(c.seed) : std::string()) +
                              (c.stop_label.empty() ? std::string() : " " + c.stop_label);
    rows.push_back(runner.run<FixedPointRow>(
        i, c.key,
        [&](const nlohmann::json& j, bool cached) {
          FixedPointRow r;
          r.cell = &c;
          r.run = fixed_point_run_from_cell_json(j.at("run"));
          r.status = j.at("status").get<std::string>();
          r.message = j.at("message").get<std::string>();
          r.cached = cached;
          r.group = group;
          return r;
        },
        [&] { return compute_fixed_point(c, problems); },
        [&](const FixedPointRow& r) {
          return fmt::format("{} | {}: {}, {} iterations, ||G(x)-x||_2 = {}, {}", group, c.method_label, r.status,
                             r.run.summary.iterations, format_scientific(r.run.true_residual),
                             format_seconds(r.run.wall_seconds));
        }));
  }

  context.report("writing the report to " + folder.path().string());
  nlohmann::json jrows = nlohmann::json::array();
  for (const auto& r : rows) jrows.push_back(fixed_point_row_json(r));
  folder.write_json("results.json", {{"experiment", file.name},
                                     {"kind", "fixed-point"},
                                     {"file", file.path.string()},
                                     {"stop_rule", "||G(x) - x||_2 <= rtol ||G(x0) - x0||_2 + atol (2-norm), true residual computed by iterop"},
                                     {"cells", jrows}});
  Table csv;
  csv.columns = {"problem", "problem_name", "parameters", "seed", "atol", "rtol", "max_iterations", "solver", "method",
                 "label", "status", "iterations", "evaluations", "residual", "initial_residual", "tolerance",
                 "meets_tolerance", "error", "seconds", "cached", "message"};
  for (const auto& r : rows) {
    const auto& c = *r.cell;
    std::string params;
    for (const auto& [k, v] : c.parameters) params += (params.empty() ? "" : " ") + k + "=" + format_exact(v);
    csv.add_row({c.problem_label, c.problem, params, std::to_string(c.seed), format_exact(c.atol), format_exact(c.rtol),
                 std::to_string(c.max_iterations), to_string(c.method.solver), c.method.method_name(), c.method_label,
                 r.status, std::to_string(r.run.summary.iterations), std::to_string(r.run.summary.evaluations),
                 format_exact(r.run.true_residual), format_exact(r.run.summary.initial_residual),
                 format_exact(r.run.tolerance), r.status != "error" && r.run.meets_tolerance() ? "true" : "false",
                 format_exact(r.run.error), format_exact(r.run.wall_seconds), r.cached ? "true" : "false", r.message});
  }
  folder.write_csv("results.csv", csv);
  folder.write_json("config.json", config_json(file, context, started, runner));
  std::optional<PlotOutcome> plot;
  if (file.plots) {
    PlotOptions options;
    options.gnuplot = context.gnuplot;
    plot = plot_png(folder, "residual-history", fixed_point_figure(rows), options);
    if (!plot->written) {
      notes.push_back("Plot skipped: " + plot->message + ".");
      context.report("plot skipped: " + plot->message);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  std::string md = header_markdown(file, runner, seconds, notes);
  std::vector<std::string> stops;
  for (const auto& c : file.fixed_point_cells)
    stops.push_back(fmt::format("rtol = {}, atol = {}, at most {} iterations", format_exact(c.rtol), format_exact(c.atol),
                                c.max_iterations));
  stops = unique_in_order(stops);
  md += "Every cell stops when ||G(x) - x||_2 <= rtol ||G(x0) - x0||_2 + atol (" +
        fmt::format("{}", fmt::join(stops, "; ")) +
        ") by the solver's own account; the residual column is the true ||G(x) - x||_2 at the returned x, computed by "
        "iterop for every solver, and \"meets tol\" compares it with the rule's tolerance.\n\n";
  md += "## Iterations\n\nIterations to the stopping rule; the status follows when it is not `converged`; † marks a "
        "true residual above the tolerance.\n\n";
  md += fixed_point_pivot(rows, iterations_cell).to_markdown() + "\n";
  md += "## True final residual ||G(x) - x||_2\n\n";
  md += fixed_point_pivot(rows, [](const FixedPointRow& r) { return format_scientific(r.run.true_residual); }).to_markdown() + "\n";
  md += "## Residual histories\n\n" + plot_section(file, plot, "residual histories");
  Table detail;
  detail.columns = {"problem", "method", "status", "iterations", "evaluations", "||G(x)-x||_2", "tolerance", "meets tol",
                    "wall time", "cached"};
  detail.align = {Align::left,  Align::left,  Align::left, Align::right, Align::right,
                  Align::right, Align::right, Align::left, Align::right, Align::left};
  for (const auto& r : rows)
    detail.add_row({r.group, r.cell->method_label, r.status, std::to_string(r.run.summary.iterations),
                    std::to_string(r.run.summary.evaluations), format_scientific(r.run.true_residual),
                    format_scientific(r.run.tolerance), r.status != "error" && r.run.meets_tolerance() ? "yes" : "no",
                    format_seconds(r.run.wall_seconds), r.cached ? "yes" : "no"});
  md += "## All cells\n\n" + detail.to_markdown() + "\n";
  md += "Files: `results.json` (every cell, with residual histories), `results.csv`, `config.json` (the parsed file, "
        "the cells and their keys, versions, seeds), `cells/` (one file per finished cell).\n";
  folder.write_text("report.md", md);

  ExperimentOutcome outcome;
  outcome.files = folder.written();
  outcome.notes = notes;
  std::size_t meet = 0;
  for (const auto& r : rows) meet += r.status != "error" && r.run.meets_tolerance() ? 1 : 0;
  outcome.summary = fmt::format("{} cells ({} computed, {} read back from cells/) in {}; {} meet the tolerance",
                                rows.size(), runner.computed, runner.cached, format_seconds(seconds), meet);
  return outcome;
}

ExperimentOutcome run_volterra_file(const ExperimentFile& file, const ExperimentContext& context, ReportFolder& folder,
                                    CellRunner& runner, std::vector<std::string>& notes, const std::string& started,
                                    Clock::time_point t0) {
  std::vector<VolterraRow> rows;
  const bool seeds_vary = file.seeds.size() > 1;
  for (std::size_t i = 0; i < file.volterra_cells.size(); ++i) {
    const VolterraFileCell& c = file.volterra_cells[i];
    const std::string group = c.problem_label + (seeds_vary ? " seed=" + std::to_string(c.seed) : std::string());
    rows.push_back(runner.run<VolterraRow>(
        i, c.key,
        [&](const nlohmann::json& j, bool cached) {
          VolterraRow r = parse_volterra(c, j, cached);
          r.group = group;
          return r;
        },
        [&] { return compute_volterra(c); },
        [&](const VolterraRow& r) {
          return fmt::format("{} | {}: N = {}..{}, observed order {} (stated {}), finest error {}, {}", group,
                             c.method_label, c.steps.front(), c.steps.back(), fixed2(r.order), stated_order(c.method),
                             format_scientific(r.runs.back().max_error), format_seconds(r.seconds));
        }));
  }

  context.report("writing the report to " + folder.path().string());
  nlohmann::json jrows = nlohmann::json::array();
  for (const auto& r : rows) jrows.push_back(volterra_row_json(r));
  folder.write_json("results.json",
                    {{"experiment", file.name},
                     {"kind", "volterra"},
                     {"file", file.path.string()},
                     {"observed_order_rule",
                      "least-squares slope of log(max error) over log(h) over the converged runs with a finite, positive error"},
                     {"cells", jrows}});
  Table csv;
  csv.columns = {"problem", "method", "label", "grading", "seed", "steps", "h", "status", "max_error", "evaluations",
                 "iterations", "seconds", "t_end", "blow_up_time", "cached", "message"};
  for (const auto& r : rows)
    for (const auto& x : r.runs)
      csv.add_row({r.cell->problem_label, to_string(r.cell->method), r.cell->method_label, format_exact(r.cell->grading),
                   std::to_string(r.cell->seed), std::to_string(x.steps), format_exact(x.h), x.status,
                   format_exact(x.max_error), std::to_string(x.evaluations), std::to_string(x.iterations),
                   format_exact(x.seconds), format_exact(x.t_end), format_exact(x.blow_up_time),
                   r.cached ? "true" : "false", x.message});
  folder.write_csv("results.csv", csv);
  folder.write_json("config.json", config_json(file, context, started, runner));
  std::optional<PlotOutcome> plot;
  if (file.plots) {
    PlotOptions options;
    options.gnuplot = context.gnuplot;
    plot = plot_png(folder, "convergence", volterra_figure(rows), options);
    if (!plot->written) {
      notes.push_back("Plot skipped: " + plot->message + ".");
      context.report("plot skipped: " + plot->message);
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  std::string md = header_markdown(file, runner, seconds, notes);
  md += "Each cell solves one problem by one method on one kind of grid for every step count N. The error is the "
        "maximum over the nodes of |y_n - y(t_n)|; the observed order is the least-squares slope of log(max error) "
        "over log(h), h the largest step, over the converged runs; the local order compares the two finest runs; the "
        "stated order is the method's own `order`.\n\n";
  md += "## Observed orders\n\n" + volterra_summary(rows).to_markdown() + "\n";
  md += "## Errors by problem\n\nMax error over the nodes; a status in place of the error where the solve stopped "
        "before T.\n\n";
  std::vector<std::string> groups;
  for (const auto& r : rows) groups.push_back(r.group);
  for (const auto& g : unique_in_order(groups)) md += "### " + g + "\n\n" + volterra_problem_table(rows, g).to_markdown() + "\n";
  md += "## Convergence plots\n\n" + plot_section(file, plot, "convergence");
  md += "## All runs\n\n";
  for (const auto& r : rows) md += "### " + r.group + ", " + r.cell->method_label + "\n\n" + volterra_runs_table(r).to_markdown() + "\n";
  md += "Files: `results.json` (every cell and run), `results.csv` (one line per run), `config.json` (the parsed file, "
        "the cells and their keys, versions, seeds), `cells/` (one file per finished cell).\n";
  folder.write_text("report.md", md);

  ExperimentOutcome outcome;
  outcome.files = folder.written();
  outcome.notes = notes;
  std::size_t near = 0, with_order = 0;
  for (const auto& r : rows)
    if (r.has_exact) {
      ++with_order;
      if (std::isfinite(r.order) && std::abs(r.order - stated_order(r.cell->method)) <= 0.3) ++near;
    }
  outcome.summary = fmt::format("{} cells ({} computed, {} read back from cells/) in {}; observed order within 0.3 of "
                                "the stated order in {} of {}",
                                rows.size(), runner.computed, runner.cached, format_seconds(seconds), near, with_order);
  return outcome;
}

}  // namespace

ExperimentOutcome run_experiment_file(const ExperimentFile& file, const ExperimentContext& context) {
  const auto t0 = Clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  CellRunner runner(context, folder.path(), file.cell_count());
  std::vector<std::string> notes = file.notes;
  for (const auto& n : notes) context.report(n);
  return file.kind == ExperimentKind::fixed_point ? run_fixed_point_file(file, context, folder, runner, notes, started, t0)
                                                  : run_volterra_file(file, context, folder, runner, notes, started, t0);
}

}  // namespace iterop::experiments
