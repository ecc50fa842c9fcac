// The fixed-point study of an experiment file: one solve per cell (problem x method x stop rule x seed),
// one record each; the report pivots iterations and true residuals by method and problem, says which
// methods missed the tolerance, and plots the residual histories.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "iterop/experiments/runner/cell_cache.hpp"
#include "iterop/experiments/runner/experiment_file.hpp"
#include "iterop/experiments/runner/study.hpp"

namespace iterop::experiments {

namespace {

std::string iterations_cell(const Record& r) {
  const std::string status = text_of(r, "status");
  if (status == "error") return "error";
  std::string s = text_of(r, "iterations");
  if (status != "converged") s += " (" + status + ")";
  if (!r.value("meets_tolerance", false)) s += " †";
  return s;
}

/// One panel per problem group; one colour per method label (in order of first appearance), one dash
/// type per solver.
Figure residual_figure(const Records& records) {
  const auto groups = records.distinct("group");
  const auto labels = records.distinct("label");
  Figure fig;
  for (const auto& g : groups) {
    Panel panel{.title = g, .x_label = "iteration", .y_label = "||G(x) - x||_2 (as recorded by each solver)", .x_min = 0};
    double top = 0;
    for (const auto& r : records.where("group", g)) {
      const auto& history = r.at("residual_history");
      if (history.empty()) continue;
      const std::string label = text_of(r, "label"), solver = text_of(r, "solver");
      const auto at = static_cast<std::size_t>(std::find(labels.begin(), labels.end(), label) - labels.begin());
      Series s{.label = label, .x = indices(history.size()), .y = numbers_of(history), .color = palette_colour(at),
               .dash_type = solver == "iterop" ? 1 : solver == "kinsol" ? 2 : 4};
      if (std::isfinite(s.y.front())) top = std::max(top, s.y.front());
      panel.series.push_back(std::move(s));
    }
    if (top > 0) panel.y_max = 1e3 * top;  // diverging runs leave the plot at the top instead of squashing it
    fig.panels.push_back(std::move(panel));
  }
  fig.grid(2, 1200, 650);
  return fig;
}

/// For each problem group: the methods whose true residual missed the tolerance, and those that
/// reported convergence by their own test although it did.
std::string verdict_section(const Records& records) {
  std::string s = "## Which methods met the tolerance\n\n\"Met\" means the true residual at the returned x, computed "
                  "by iterop, is within the rule's tolerance, whoever stopped the solve.\n\n";
  for (const auto& [group, rs] : records.group_by({"group"})) {
    std::vector<std::string> missed, false_success;
    for (const auto& r : rs) {
      if (r.value("meets_tolerance", false)) continue;
      missed.push_back(text_of(r, "label") + " (" + text_of(r, "status") + ")");
      if (text_of(r, "status") == "converged") false_success.push_back(text_of(r, "label"));
    }
    s += fmt::format("- **{}**: {} of {} met it", group, rs.size() - missed.size(), rs.size());
    if (!missed.empty()) s += fmt::format("; missed: {}", fmt::join(missed, ", "));
    if (!false_success.empty())
      s += fmt::format("; reported convergence by their own test but missed it: {}", fmt::join(false_success, ", "));
    s += ".\n";
  }
  return s + "\n";
}

}  // namespace

Study fixed_point_file_study(const ExperimentFile& file) {
  Study study = file_study_frame(file);
  study.config["backends_available"] = {{"kinsol", backend_available(Backend::kinsol)},
                                        {"ceres", backend_available(Backend::ceres)}};
  study.results_header["stop_rule"] =
      "||G(x) - x||_2 <= rtol ||G(x0) - x0||_2 + atol (2-norm), true residual computed by iterop";
  const bool seeds_vary = file.seeds.size() > 1;
  auto group_of = [seeds_vary](const FixedPointFileCell& c) {
    return c.problem_label + (seeds_vary ? " seed=" + std::to_string(c.seed) : std::string()) +
           (c.stop_label.empty() ? std::string() : " " + c.stop_label);
  };
  for (const auto& c : file.fixed_point_cells) study.cells.push_back({c.key, group_of(c) + " | " + c.method_label});

  // Problems are built once per parameter set (the H-equation's integral weights, say) and shared by cells.
  auto problems = std::make_shared<std::map<std::string, FixedPointProblem>>();
  study.compute = [cells = file.fixed_point_cells, problems, group_of](std::size_t i) {
    const FixedPointFileCell& c = cells[i];
    const std::string pk = canonical_cell_key(c.key["problem"]);
    auto it = problems->find(pk);
    if (it == problems->end()) it = problems->emplace(pk, default_problem_catalogue().make(c.problem, c.parameters)).first;
    FixedPointRun run;
    std::string status, message;
    try {
      run = run_fixed_point(it->second, c.method, toth_kelley_stop(c.atol, c.rtol, c.max_iterations));
      status = std::string(to_string(run.summary.status));
      message = run.summary.message;
    } catch (const backend_error& e) {
      run.solver = c.method.solver;
      status = "error";
      message = e.what();
    }
    Record r = {{"group", group_of(c)}, {"problem", c.problem_label}, {"problem_name", c.problem}};
    for (const auto& [k, v] : c.parameters) r[k == "seed" ? "problem_seed" : k] = v;
    const bool kinsol_test =
        c.method.solver == Backend::kinsol && c.method.kinsol_test.value_or(KinsolTest::iterop) == KinsolTest::kinsol;
    r.update(Record{{"seed", c.seed}, {"atol", c.atol}, {"rtol", c.rtol}, {"max_iterations", c.max_iterations},
                    {"solver", to_string(c.method.solver)}, {"method", c.method.method_name()}, {"label", c.method_label},
                    {"memory", c.method.memory ? Record(*c.method.memory) : Record()},
                    {"orth", c.method.orth ? Record(*c.method.orth) : Record()},
                    {"stopping_test", kinsol_test ? "kinsol" : "iterop"}, {"description", run.summary.method},
                    {"status", status}, {"message", message}, {"iterations", run.summary.iterations},
                    {"evaluations", run.summary.evaluations}, {"residual", record_number(run.true_residual)},
                    {"reported_residual", record_number(run.summary.residual)},
                    {"initial_residual", record_number(run.summary.initial_residual)},
                    {"tolerance", record_number(run.tolerance)},
                    {"meets_tolerance", status != "error" && run.meets_tolerance()},
                    {"error", record_number(run.error)}, {"seconds", run.wall_seconds}});
    Record history = Record::array();
    for (const auto& rec : run.summary.history) history.push_back(record_number(rec.residual));
    r["residual_history"] = std::move(history);
    return r;
  };
  study.progress = [](const Record& r) {
    return fmt::format(": {}, {} iterations, ||G(x)-x||_2 = {}, {}", text_of(r, "status"), text_of(r, "iterations"),
                       format_scientific(number_of(r, "residual")), format_seconds(number_of(r, "seconds")));
  };
  study.report = [plots = file.plots](const Records& records, StudyReport& report) {
    std::vector<std::string> stops;
    for (const auto& [rule, rs] : records.group_by({"rtol", "atol", "max_iterations"}))
      stops.push_back(fmt::format("rtol = {}, atol = {}, at most {} iterations", text_of(rs[0], "rtol"),
                                  text_of(rs[0], "atol"), text_of(rs[0], "max_iterations")));
    std::string md = fmt::format(
        "Every cell stops when ||G(x) - x||_2 <= rtol ||G(x0) - x0||_2 + atol ({}) by the solver's own account; the "
        "residual column is the true ||G(x) - x||_2 at the returned x, computed by iterop for every solver, and \"meets "
        "tol\" compares it with the rule's tolerance.\n\n",
        fmt::join(stops, "; "));
    md += "## Iterations\n\nIterations to the stopping rule; the status follows when it is not `converged`; † marks a "
          "true residual above the tolerance.\n\n";
    md += records.pivot("label", "method", "group", "", iterations_cell).to_markdown() + "\n";
    md += "## True final residual ||G(x) - x||_2\n\n";
    md += records.pivot("label", "method", "group", "", [](const Record& r) {
      return format_scientific(number_of(r, "residual"));
    }).to_markdown() + "\n";
    md += verdict_section(records);
    md += "## Residual histories\n\n";
    md += plots ? report.plot("residual-history", residual_figure(records), "residual histories")
                : "Plots are off (`[output] plots = false`).\n\n";
    md += "## All cells\n\n" +
          records
              .table({Column::text("problem", "group"), Column::text("method", "label"), Column::text("status", "status"),
                      Column::text("iterations", "iterations", Align::right),
                      Column::text("evaluations", "evaluations", Align::right),
                      Column::number("||G(x)-x||_2", "residual", [](double v) { return format_scientific(v); }),
                      Column::number("tolerance", "tolerance", [](double v) { return format_scientific(v); }),
                      {"meets tol", [](const Record& r) { return r.value("meets_tolerance", false) ? "yes" : "no"; }, Align::left},
                      Column::number("wall time", "seconds", format_seconds),
                      {"cached", [](const Record& r) { return r.value("cached", false) ? "yes" : "no"; }, Align::left}})
              .to_markdown() +
          "\n";
    const auto met = records.where([](const Record& r) { return r.value("meets_tolerance", false); }).size();
    return ReportText{md, fmt::format("{} solves; {} meet the tolerance", records.size(), met)};
  };
  return study;
}

}  // namespace iterop::experiments
