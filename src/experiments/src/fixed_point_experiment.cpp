// The "fixed-point" experiment: runs every case, then writes the report (Markdown, CSV, JSON,
// configuration, residual plot) with the reusable writers; every statement in report.md is computed.
#include "iterop/experiments/fixed_point_experiment.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/build_info.hpp"
#include "iterop/experiments/cell_cache.hpp"
#include "iterop/experiments/plot.hpp"
#include "iterop/experiments/problem_catalogue.hpp"
#include "iterop/experiments/report_writer.hpp"
#include "iterop/experiments/table.hpp"
#include "iterop/experiments/run_time.hpp"

namespace iterop::experiments {

namespace {

constexpr const char* experiment_name = "fixed-point";
constexpr const char* plot_stem = "residual-history";

/// One case and what came of it.
struct CaseResult {
  FixedPointCase spec;
  FixedPointRun run;
  std::string status;  ///< the Status name, or "error" when the backend threw
  std::string message;
};

std::string c_text(double c) { return format_exact(c); }

MethodSpec iterop_method(const std::string& name) {
  MethodSpec m;
  m.method = name;
  m.solver = Backend::iterop;
  return m;
}

MethodSpec kinsol_anderson(int memory, const std::string& orth, KinsolTest test) {
  MethodSpec m;
  m.method = "anderson";
  m.solver = Backend::kinsol;
  m.memory = memory;
  m.orth = orth;
  m.kinsol_test = test;
  return m;
}

std::string orth_label(const std::string& orth) {
  std::string s = orth;
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

/// "yes" when the true residual meets the tolerance.
std::string yes_no(bool b) { return b ? "yes" : "no"; }

/// A pivot table: one row per method label (first-seen order), one column per c.
Table pivot(const FixedPointExperimentConfig& config, const std::vector<CaseResult>& results,
            const std::function<std::string(const CaseResult&)>& cell) {
  Table t;
  t.columns = {"method"};
  t.align = {Align::left};
  for (double c : config.c_values) {
    t.columns.push_back("c = " + c_text(c));
    t.align.push_back(Align::right);
  }
  std::vector<std::string> labels;
  for (const auto& r : results)
    if (std::find(labels.begin(), labels.end(), r.spec.label) == labels.end()) labels.push_back(r.spec.label);
  for (const auto& label : labels) {
    std::vector<std::string> row{label};
    for (double c : config.c_values) {
      auto it = std::find_if(results.begin(), results.end(),
                             [&](const CaseResult& r) { return r.spec.label == label && r.spec.c == c; });
      row.push_back(it == results.end() ? "" : cell(*it));
    }
    t.add_row(std::move(row));
  }
  return t;
}

std::string iterations_cell(const CaseResult& r) {
  if (r.status == "error") return "error";
  std::string s = std::to_string(r.run.summary.iterations);
  if (r.status != "converged") s += " (" + r.status + ")";
  if (!r.run.meets_tolerance()) s += " †";
  return s;
}

Table detail_table(const std::vector<CaseResult>& results) {
  Table t;
  t.columns = {"c", "method", "status", "iterations", "evaluations", "||G(x)-x||_2", "tolerance", "meets tol", "wall time"};
  t.align = {Align::right, Align::left,  Align::left,  Align::right, Align::right,
             Align::right, Align::right, Align::left,  Align::right};
  for (const auto& r : results) {
    t.add_row({c_text(r.spec.c), r.spec.label, r.status, std::to_string(r.run.summary.iterations),
               std::to_string(r.run.summary.evaluations), format_scientific(r.run.true_residual),
               format_scientific(r.run.tolerance), yes_no(r.run.meets_tolerance()), format_seconds(r.run.wall_seconds)});
  }
  return t;
}

Table csv_table(const std::vector<CaseResult>& results) {
  Table t;
  t.columns = {"c",           "solver",   "method",       "family",   "memory",         "orth",
               "stopping_test", "status", "iterations",   "evaluations", "residual",    "reported_residual",
               "initial_residual", "tolerance", "meets_tolerance", "seconds", "message"};
  for (const auto& r : results) {
    const MethodSpec& m = r.spec.method;
    const std::string test = m.solver == Backend::kinsol
                                 ? (m.kinsol_test.value_or(KinsolTest::iterop) == KinsolTest::kinsol ? "kinsol" : "iterop")
                                 : "iterop";
    t.add_row({c_text(r.spec.c), to_string(m.solver), r.spec.label, r.spec.family,
               r.spec.memory >= 0 ? std::to_string(r.spec.memory) : "", m.orth.value_or(""), test, r.status,
               std::to_string(r.run.summary.iterations), std::to_string(r.run.summary.evaluations),
               format_exact(r.run.true_residual), format_exact(r.run.summary.residual),
               format_exact(r.run.summary.initial_residual), format_exact(r.run.tolerance),
               r.run.meets_tolerance() ? "true" : "false", format_exact(r.run.wall_seconds), r.message});
  }
  return t;
}

nlohmann::json results_json(const FixedPointExperimentConfig& config, const std::vector<CaseResult>& results) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : results) {
    const MethodSpec& m = r.spec.method;
    nlohmann::json history = nlohmann::json::array();
    for (const auto& rec : r.run.summary.history) history.push_back(json_number(rec.residual));
    nlohmann::json row = {
        {"c", r.spec.c},
        {"n", config.n},
        {"solver", to_string(m.solver)},
        {"method", m.method_name()},
        {"label", r.spec.label},
        {"family", r.spec.family},
        {"description", r.run.summary.method},
        {"status", r.status},
        {"message", r.message},
        {"iterations", r.run.summary.iterations},
        {"evaluations", r.run.summary.evaluations},
        {"residual", json_number(r.run.true_residual)},
        {"reported_residual", json_number(r.run.summary.residual)},
        {"initial_residual", json_number(r.run.summary.initial_residual)},
        {"tolerance", json_number(r.run.tolerance)},
        {"meets_tolerance", r.run.meets_tolerance()},
        {"seconds", r.run.wall_seconds},
        {"residual_history", history},
    };
    row["memory"] = r.spec.memory >= 0 ? nlohmann::json(r.spec.memory) : nlohmann::json();
    row["orth"] = m.orth ? nlohmann::json(*m.orth) : nlohmann::json();
    if (m.solver == Backend::kinsol)
      row["stopping_test"] = m.kinsol_test.value_or(KinsolTest::iterop) == KinsolTest::kinsol ? "kinsol" : "iterop";
    else
      row["stopping_test"] = "iterop";
    rows.push_back(std::move(row));
  }
  return {{"experiment", experiment_name}, {"problem", "heq"}, {"results", rows}};
}

nlohmann::json config_json(const FixedPointExperimentConfig& config, const ExperimentContext& context,
                           const std::vector<FixedPointCase>& cases, const std::string& started) {
  nlohmann::json methods = nlohmann::json::array();
  std::vector<std::string> seen;
  for (const auto& k : cases) {
    if (std::find(seen.begin(), seen.end(), k.label) != seen.end()) continue;
    seen.push_back(k.label);
    nlohmann::json m = {{"label", k.label}, {"solver", to_string(k.method.solver)}, {"method", k.method.method_name()}};
    if (k.method.memory) m["memory"] = *k.method.memory;
    if (k.method.alpha) m["alpha"] = *k.method.alpha;
    if (k.method.orth) m["orth"] = *k.method.orth;
    if (k.method.kinsol_test) m["stopping_test"] = *k.method.kinsol_test == KinsolTest::kinsol ? "kinsol" : "iterop";
    methods.push_back(std::move(m));
  }
  return {
      {"experiment", experiment_name},
      {"started_utc", started},
      {"seed", context.seed},
      {"seed_note", "the H-equation is deterministic; the seed is recorded for the runner's uniformity"},
      {"problem", {{"name", "heq"}, {"n", config.n}, {"c_values", config.c_values}, {"x0", "ones"}}},
      {"stop",
       {{"rule", "||G(x) - x||_2 <= tol ||G(x0) - x0||_2 + tol (Toth & Kelley 2015)"},
        {"tol", config.tol},
        {"max_iterations", config.max_iterations}}},
      {"krasnoselskii_mann_alpha", config.km_alpha},
      {"anderson_memories", config.memories},
      {"methods", methods},
      {"backends_available",
       {{"kinsol", backend_available(Backend::kinsol)}, {"ceres", backend_available(Backend::ceres)}}},
      {"versions", build_info_json()},
  };
}

/// The sentence for one method in the side-by-side section.
std::string comparison_line(const CaseResult& r, double tol) {
  const auto& run = r.run;
  std::string s = "- **" + r.spec.label + "**: ";
  if (r.status == "error") return s + "failed: " + r.message + "\n";
  if (run.meets_tolerance()) {
    s += fmt::format("converged: ||G(x) - x||_2 = {} <= {}", format_scientific(run.true_residual),
                     format_scientific(run.tolerance));
    if (run.true_residual > tol) s += " (the rule's tolerance; above " + format_exact(tol) + " itself)";
    s += fmt::format(" after {} iterations ({} evaluations)", run.summary.iterations, run.summary.evaluations);
    if (r.status != "converged") s += ", although the solver's status is " + r.status;
  } else {
    s += fmt::format("did not converge: ||G(x) - x||_2 = {} > {} after {} iterations ({} evaluations); ",
                     format_scientific(run.true_residual), format_scientific(run.tolerance), run.summary.iterations,
                     run.summary.evaluations);
    s += r.status == "converged" ? "the solver reported convergence by its own test"
                                 : "the solver stopped with status " + r.status;
  }
  return s + ".\n";
}

std::string comparison_section(const FixedPointExperimentConfig& config, const std::vector<CaseResult>& results) {
  const int m = config.compare_memory;
  std::string s = fmt::format("## Anderson m = {}: iterop against KINSOL at the hardest c\n\n", m);
  s += fmt::format(
      "iterop's Anderson with its default options against KINSOL's Anderson with MGS and DCGS2 "
      "orthogonalisation (KINSOL's own stopping test), m = {}. \"Converged\" means the true residual, "
      "computed by iterop at the returned x, meets the stopping rule ||G(x) - x||_2 <= {} ||G(x0) - x0||_2 + {}.\n\n",
      m, format_exact(config.tol), format_exact(config.tol));
  const std::vector<std::string> wanted = {fmt::format("iterop Anderson m={}", m),
                                           fmt::format("KINSOL MGS m={} (own test)", m),
                                           fmt::format("KINSOL DCGS2 m={} (own test)", m)};
  for (double c : config.compare_c) {
    s += "### c = " + c_text(c) + "\n\n";
    std::vector<std::string> yes, no;
    for (const auto& label : wanted) {
      auto it = std::find_if(results.begin(), results.end(),
                             [&](const CaseResult& r) { return r.spec.c == c && r.spec.label == label; });
      if (it == results.end()) {
        s += "- **" + label + "**: not run (" +
             (label.rfind("KINSOL", 0) == 0 ? std::string("this build has no KINSOL") : std::string("not configured")) +
             ").\n";
        continue;
      }
      s += comparison_line(*it, config.tol);
      (it->status != "error" && it->run.meets_tolerance() ? yes : no).push_back(label);
    }
    auto list = [](const std::vector<std::string>& v) {
      std::string out;
      for (std::size_t i = 0; i < v.size(); ++i) out += (i == 0 ? "" : (i + 1 == v.size() ? " and " : ", ")) + v[i];
      return out;
    };
    s += "\n";
    const std::string at = "At c = " + c_text(c) + ", ";
    if (!yes.empty() && !no.empty())
      s += at + list(yes) + " converged; " + list(no) + " did not.\n\n";
    else if (yes.size() == 1)
      s += at + list(yes) + " converged.\n\n";
    else if (!yes.empty())
      s += at + "all of " + list(yes) + " converged.\n\n";
    else if (!no.empty())
      s += at + "none converged: " + list(no) + ".\n\n";
  }
  return s;
}

Series history_series(const CaseResult& r) {
  static const std::map<int, std::string> memory_colour = {
      {1, "#1f77b4"}, {2, "#ff7f0e"}, {3, "#2ca02c"}, {5, "#d62728"}, {10, "#9467bd"}};
  static const std::vector<std::string> spare = {"#17becf", "#bcbd22", "#e377c2"};
  Series s;
  s.label = r.spec.label;
  for (const auto& rec : r.run.summary.history) {
    s.x.push_back(rec.iteration);
    s.y.push_back(rec.residual);
  }
  // Colour by depth m (or by method), dash type by solver family.
  const std::string& f = r.spec.family;
  if (r.spec.memory >= 0) {
    auto it = memory_colour.find(r.spec.memory);
    s.color = it != memory_colour.end() ? it->second : spare[static_cast<std::size_t>(r.spec.memory) % spare.size()];
  } else if (f == "iterop Picard") {
    s.color = "#000000";
  } else if (f.rfind("iterop Krasnoselskii-Mann", 0) == 0) {
    s.color = "#7f7f7f";
  } else {
    s.color = "#8c564b";
  }
  if (f.find("KINSOL MGS (own") != std::string::npos) s.dash_type = 2;
  else if (f.find("KINSOL CGS2") != std::string::npos) s.dash_type = 3;
  else if (f.find("KINSOL DCGS2") != std::string::npos) s.dash_type = 4;
  else if (f.find("KINSOL MGS (iterop") != std::string::npos) s.dash_type = 5;
  return s;
}

/// Two rows of panels, one column per plotted c: every iteration, then the first 30.
Figure residual_figure(const FixedPointExperimentConfig& config, const std::vector<CaseResult>& results) {
  Figure fig;
  fig.columns = static_cast<int>(std::max<std::size_t>(1, config.plot_c.size()));
  fig.width = 1000 * fig.columns;
  fig.height = 1500;
  for (const bool zoom : {false, true}) {
    for (double c : config.plot_c) {
      Panel panel;
      panel.title = fmt::format("H-equation, N = {}, c = {}{}", config.n, c_text(c), zoom ? ", first 30 iterations" : "");
      panel.x_label = "iteration";
      panel.y_label = "||G(x) - x||_2 (as recorded by each solver)";
      panel.x_min = 0;
      if (zoom) panel.x_max = 30;
      panel.y_min = 1e-16;  // residuals of diverging runs leave the plot at the top instead of squashing it
      panel.y_max = 1e4;
      for (const auto& r : results)
        if (r.spec.c == c && !r.run.summary.history.empty()) panel.series.push_back(history_series(r));
      fig.panels.push_back(std::move(panel));
    }
  }
  return fig;
}

std::string markdown_report(const FixedPointExperimentConfig& config, const std::vector<CaseResult>& results,
                            const std::vector<std::string>& notes, const PlotOutcome& plot, double total_seconds) {
  std::string s = "# Experiment fixed-point: the H-equation\n\n";
  s += fmt::format(
      "Chandrasekhar's H-equation with N = {}, x0 = 1, for c in {{{}}}. Every method stops when "
      "||G(x) - x||_2 <= {} ||G(x0) - x0||_2 + {} (Toth & Kelley 2015) or after {} iterations; KINSOL cases "
      "marked \"own test\" use KINSOL's own stopping test instead (fnormtol = {}), and \"iterop test\" applies "
      "iterop's rule to KINSOL's iterates. The residual column is the true ||G(x) - x||_2 at the returned x, "
      "computed by iterop for every solver. iterop's Anderson uses its default options apart from m.\n\n",
      config.n, fmt::join(config.c_values, ", "), format_exact(config.tol), format_exact(config.tol),
      config.max_iterations, format_exact(config.tol));
  const auto info = build_info_json();
  s += "iterop " + info["iterop"].get<std::string>() + ", " + info["compiler"].get<std::string>();
  for (const auto& [name, version] : backend_versions()) s += ", " + name + " " + version;
  s += fmt::format(". {} solves in {}.\n\n", results.size(), format_seconds(total_seconds));
  for (const auto& n : notes) s += "> " + n + "\n";
  if (!notes.empty()) s += "\n";

  s += "## Iterations\n\nIterations to the stopping rule; the status follows when it is not `converged`; "
       "† marks a true residual above the tolerance.\n\n";
  s += pivot(config, results, iterations_cell).to_markdown() + "\n";
  s += "## True final residual ||G(x) - x||_2\n\n";
  s += pivot(config, results, [](const CaseResult& r) { return format_scientific(r.run.true_residual); }).to_markdown() +
       "\n";
  s += comparison_section(config, results);
  s += "## Residual histories\n\n";
  if (plot.written)
    s += "![residual histories](" + plot.png.filename().string() + ")\n\nData: `" + plot.data.filename().string() +
         "`, script: `" + plot.script.filename().string() + "`.\n\n";
  else
    s += "Plot skipped: " + plot.message + ". The data (`" + plot.data.filename().string() + "`) and the gnuplot script (`" +
         plot.script.filename().string() + "`) were written; install gnuplot and run the script to draw it.\n\n";
  s += "## All results\n\n" + detail_table(results).to_markdown() + "\n";
  s += "Files: `results.csv` and `results.json` (every case, with residual histories), `config.json` "
       "(configuration and versions).\n";
  return s;
}

}  // namespace

std::vector<FixedPointCase> fixed_point_cases(const FixedPointExperimentConfig& config) {
  std::vector<FixedPointCase> cases;
  const bool kinsol = config.kinsol && backend_available(Backend::kinsol);
  const bool ceres = config.ceres && backend_available(Backend::ceres);
  for (double c : config.c_values) {
    cases.push_back({c, "iterop Picard", "iterop Picard", -1, iterop_method("picard")});
    MethodSpec km = iterop_method("km");
    km.alpha = config.km_alpha;
    const std::string km_label = "iterop Krasnoselskii-Mann alpha=" + format_exact(config.km_alpha);
    cases.push_back({c, km_label, km_label, -1, km});
    for (int m : config.memories) {
      MethodSpec aa = iterop_method("anderson");
      aa.memory = m;
      cases.push_back({c, fmt::format("iterop Anderson m={}", m), "iterop Anderson", m, aa});
    }
    if (kinsol) {
      for (const std::string orth : {"mgs", "cgs2", "dcgs2"})
        for (int m : config.memories)
          cases.push_back({c, fmt::format("KINSOL {} m={} (own test)", orth_label(orth), m),
                           "KINSOL " + orth_label(orth) + " (own test)", m, kinsol_anderson(m, orth, KinsolTest::kinsol)});
      for (int m : config.memories)
        cases.push_back({c, fmt::format("KINSOL MGS m={} (iterop test)", m), "KINSOL MGS (iterop test)", m,
                         kinsol_anderson(m, "mgs", KinsolTest::iterop)});
    }
    if (ceres) {
      MethodSpec lm;
      lm.solver = Backend::ceres;
      cases.push_back({c, "Ceres Levenberg-Marquardt", "Ceres Levenberg-Marquardt", -1, lm});
    }
  }
  return cases;
}

ExperimentOutcome run_fixed_point_experiment(const FixedPointExperimentConfig& config, const ExperimentContext& context) {
  require(config.n >= 1, "FixedPointExperimentConfig::n", config.n, "n >= 1");
  require(config.tol > 0, "FixedPointExperimentConfig::tol", config.tol, "tol > 0");
  require(!config.c_values.empty(), "FixedPointExperimentConfig::c_values", std::string("{}"), "at least one c");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  const auto cases = fixed_point_cases(config);
  const Stop stop = toth_kelley_stop(config.tol, config.tol, config.max_iterations);

  std::vector<std::string> notes;
  if (config.kinsol && !backend_available(Backend::kinsol))
    notes.push_back("KINSOL cases skipped: this build of iterop has no SUNDIALS.");
  if (config.ceres && !backend_available(Backend::ceres))
    notes.push_back("Ceres cases skipped: this build of iterop has no Ceres.");
  for (const auto& n : notes) context.report(n);

  // Each finished case is stored in cells/ (keyed by problem, method, stop rule and seed); a rerun into
  // the same folder reads finished cases back instead of solving them again (not with --fresh).
  const CellCache cache(folder.path() / "cells", !context.fresh);
  CellBudget budget(context.stop_after_cells);
  std::vector<CaseResult> results;
  std::map<double, FixedPointProblem> problems;
  const std::size_t width = std::to_string(cases.size()).size();
  std::size_t reused = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const FixedPointCase& k = cases[i];
    const nlohmann::json key = {
        {"experiment", experiment_name},
        {"problem", {{"name", "heq"}, {"c", k.c}, {"n", config.n}}},
        {"method", method_spec_json(k.method)},
        {"stop", {{"atol", stop.abs_tol}, {"rtol", stop.rel_tol}, {"max_iterations", stop.max_iterations}}},
        {"seed", context.seed}};
    CaseResult r{k, {}, "", ""};
    bool cached = false;
    if (const auto stored = cache.load(key)) {
      try {
        r.run = fixed_point_run_from_cell_json(stored->at("run"));
        r.status = stored->at("status").get<std::string>();
        r.message = stored->at("message").get<std::string>();
        cached = true;
      } catch (const std::exception&) {  // a cell of another layout: solve again
        r = CaseResult{k, {}, "", ""};
      }
    }
    if (!cached) {
      auto it = problems.find(k.c);
      if (it == problems.end())
        it = problems.emplace(k.c, default_problem_catalogue().make("heq", {{"c", k.c}, {"n", config.n}})).first;
      try {
        r.run = run_fixed_point(it->second, k.method, stop);
        r.status = std::string(to_string(r.run.summary.status));
        r.message = r.run.summary.message;
      } catch (const backend_error& e) {
        r.status = "error";
        r.message = e.what();
        r.run.solver = k.method.solver;
      }
      cache.store(key, {{"status", r.status}, {"message", r.message}, {"run", fixed_point_run_cell_json(r.run)}});
    } else {
      ++reused;
    }
    context.report(fmt::format("[{:>{}}/{}] {}c = {:<7} {:<34} {}, {} iterations, ||G(x)-x||_2 = {}, {}", i + 1, width,
                               cases.size(), cached ? "cached: " : "", c_text(k.c), k.label, r.status,
                               r.run.summary.iterations, format_scientific(r.run.true_residual),
                               format_seconds(r.run.wall_seconds)));
    results.push_back(std::move(r));
    if (!cached) budget.computed(cases.size() - i - 1);
  }
  if (reused > 0)
    notes.push_back(fmt::format("{} of {} cases were read back from cells/ (finished by an earlier run of this build "
                                "with the same settings and seed; their times are those of that run); --fresh solves "
                                "every case again.",
                                reused, cases.size()));

  context.report("writing the report to " + folder.path().string());
  folder.write_csv("results.csv", csv_table(results));
  folder.write_json("results.json", results_json(config, results));
  folder.write_json("config.json", config_json(config, context, cases, started));
  PlotOptions plot_options;
  plot_options.gnuplot = context.gnuplot;
  const PlotOutcome plot = plot_png(folder, plot_stem, residual_figure(config, results), plot_options);
  if (!plot.written) {
    notes.push_back("Plot skipped: " + plot.message + ".");
    context.report("plot skipped: " + plot.message);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  folder.write_text("report.md", markdown_report(config, results, notes, plot, seconds));

  ExperimentOutcome outcome;
  outcome.files = folder.written();
  outcome.notes = notes;
  std::size_t meet = 0;
  for (const auto& r : results) meet += r.status != "error" && r.run.meets_tolerance() ? 1 : 0;
  outcome.summary = fmt::format("{} solves of the H-equation ({} methods, c = {}) in {}; {} meet the tolerance{}",
                                results.size(), results.size() / config.c_values.size(),
                                fmt::join(config.c_values, ", "), format_seconds(seconds), meet,
                                reused > 0 ? fmt::format(" ({} read back from cells/)", reused) : std::string());
  return outcome;
}

Experiment fixed_point_experiment(FixedPointExperimentConfig config) {
  Experiment e;
  e.name = experiment_name;
  e.description =
      "H-equation (N = 512), c = 0.5 ... 0.9999: Picard, Krasnoselskii-Mann, iterop Anderson m = 1, 2, 3, 5, 10 "
      "against KINSOL Anderson (MGS, CGS2, DCGS2) and Ceres; tol 1e-8 (Toth-Kelley), at most 1000 iterations.";
  e.run = [config = std::move(config)](const ExperimentContext& context) {
    return run_fixed_point_experiment(config, context);
  };
  return e;
}

}  // namespace iterop::experiments
