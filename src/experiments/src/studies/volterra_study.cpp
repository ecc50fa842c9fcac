// The Volterra study of an experiment file: one solve per cell (problem x method x grid x N x seed),
// one record each; the report fits observed orders per problem and method, tabulates errors by N,
// lists the solves that stopped early (blow-up) and plots max error against h.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "iterop/diagnostics/observed_order.hpp"
#include "iterop/experiments/runner/experiment_file.hpp"
#include "iterop/experiments/runner/study.hpp"

namespace iterop::experiments {

namespace {

std::string fixed2(double v) { return format_fixed(v, 2); }

std::string grid_text(double grading) { return grading == 1 ? std::string("uniform") : "graded r=" + format_exact(grading); }

/// One panel per problem: max error against h (log-log) of each method, and a grey guide with the
/// stated slope through the coarsest point, one per order and panel.
Figure convergence_figure(const Records& records) {
  const auto groups = records.distinct("group");
  const auto labels = records.distinct("label");
  Figure fig;
  for (const auto& g : groups) {
    Panel panel{.title = g + ": max error against h (log-log)", .x_label = "h", .y_label = "max error", .log_x = true};
    std::map<int, bool> guide_done;
    for (const auto& [label, runs] : records.where("group", g).group_by({"label"})) {
      const auto at = static_cast<std::size_t>(std::find(labels.begin(), labels.end(), label) - labels.begin());
      Series s{.label = label, .color = palette_colour(at), .dash_type = number_of(runs[0], "grading") == 1 ? 1 : 4};
      for (const auto& r : runs)
        if (usable_run(r)) s.add(number_of(r, "h"), number_of(r, "max_error"));
      const int order = static_cast<int>(number_of(runs[0], "stated_order"));
      const bool guide = !guide_done[order] && !s.x.empty();
      Series g2{.label = "slope " + std::to_string(order), .x = s.x, .color = order == 2 ? "#7f7f7f" : "#bcbd22",
                .dash_type = 2};
      for (double x : s.x) g2.y.push_back(s.y.front() * std::pow(x / s.x.front(), order));
      panel.series.push_back(std::move(s));
      if (guide) {
        guide_done[order] = true;
        panel.series.push_back(std::move(g2));
      }
    }
    fig.panels.push_back(std::move(panel));
  }
  fig.grid(3, 650, 550);
  return fig;
}

}  // namespace

Study file_study_frame(const ExperimentFile& file) {
  const std::string kind = to_string(file.kind);
  Study study;
  study.name = file.name;
  study.title = "Experiment " + file.name + " (" + kind + ", from `" + file.path.string() + "`)";
  study.description = file.description;
  study.notes = file.notes;
  study.config = {{"kind", kind}, {"file", file.path.string()}, {"seeds", file.seeds},
                  {"seed_source", file.seed_from_command_line ? "--seed" : "the file ([experiment] seed, default 1)"},
                  {"plots", file.plots}, {"document", file.document}};
  study.results_header = {{"kind", kind}};
  return study;
}

Study volterra_file_study(const ExperimentFile& file) {
  Study study = file_study_frame(file);
  study.config["left_out"] = file.left_out;
  study.results_header["observed_order_rule"] =
      "least-squares slope of log(max error) over log(h) over the converged runs with a finite, positive error";
  const bool seeds_vary = file.seeds.size() > 1;
  struct Solve {
    std::size_t cell;
    int steps;
    std::string group;
  };
  std::vector<Solve> solves;
  for (std::size_t i = 0; i < file.volterra_cells.size(); ++i) {
    const VolterraFileCell& c = file.volterra_cells[i];
    const std::string group = c.problem_label + (seeds_vary ? " seed=" + std::to_string(c.seed) : std::string());
    for (int n : c.steps) {
      solves.push_back({i, n, group});
      nlohmann::json key = c.key;
      key["steps"] = n;
      study.cells.push_back({key, fmt::format("{} | {} N = {}", group, c.method_label, n)});
    }
  }
  study.compute = [cells = file.volterra_cells, solves](std::size_t i) {
    const Solve& s = solves[i];
    const VolterraFileCell& c = cells[s.cell];
    ConvergenceRun run;
    double T = 0;
    if (c.reference) {
      const AnyVolterraProblem problem = volterra_reference_problem(*c.reference, c.T.value_or(0.0));
      T = problem_end(problem);
      run = run_volterra(problem, c.method, s.steps, c.grading);
    } else {
      VolterraExpressionProblem expr = make_expression_problem(c.expression);
      T = c.expression.T;
      run = run_volterra(expr.problem, c.method, s.steps, c.grading);
      run.expression_evaluations = expr.expression_evaluations();
    }
    Record r = {{"group", s.group},
                {"problem", c.problem_label},
                {"reference", c.reference ? Record(*c.reference) : Record()},
                {"T", T},
                {"equation_kind", to_string(c.equation_kind)},
                {"method", to_string(c.method)},
                {"label", c.method_label},
                {"grading", c.grading},
                {"grid", grid_text(c.grading)},
                {"seed", c.seed},
                {"stated_order", stated_order(c.method)},
                {"has_exact", c.reference.has_value() || c.expression.exact.has_value()}};
    r.update(convergence_run_json(run));
    return r;
  };
  study.progress = [](const Record& r) {
    return fmt::format(": {}, max error {}, {}", text_of(r, "status"), format_scientific(number_of(r, "max_error")),
                       format_seconds(number_of(r, "seconds")));
  };
  study.report = [plots = file.plots](const Records& records, StudyReport& report) {
    // One derived record per (problem, method): the fitted and local orders over its N.
    Records derived;
    for (const auto& [key, runs] : records.group_by({"group", "label"})) {
      const bool exact = runs[0].value("has_exact", false);
      const ObservedOrders o = exact ? observed_orders(runs) : ObservedOrders{};
      const bool all = runs.where("status", "converged").size() == runs.size();
      Record d = Record::object();  // the fields every run of the pair shares, then the fitted ones
      for (const char* f : {"group", "problem", "reference", "T", "label", "method", "grading", "grid"}) d[f] = runs[0][f];
      d.update(Record{{"steps_min", runs[0]["steps"]},
                      {"steps_max", runs[runs.size() - 1]["steps"]},
                      {"stated_order", runs[0]["stated_order"]},
                      {"observed_order", record_number(o.fitted)},
                      {"local_order_finest", record_number(o.local_finest)},
                      {"has_exact", exact},
                      {"finest_max_error", runs[runs.size() - 1]["max_error"]},
                      {"all_converged", all},
                      {"seconds", runs.mean_std("seconds").mean * static_cast<double>(runs.size())}});
      derived.push_back(std::move(d));
    }
    std::string md =
        "Each cell solves one problem by one method on one kind of grid with one step count N. The error is the "
        "maximum over the nodes of |y_n - y(t_n)|; the observed order is the least-squares slope of log(max error) "
        "over log(h), h the largest step, over the converged runs; the local order compares the two finest runs; the "
        "stated order is the method's own `order`.\n\n";
    md += "## Observed orders\n\n" +
          derived
              .table({Column::text("problem", "group"), Column::text("method", "label"), Column::text("grid", "grid"),
                      {"N", [](const Record& r) { return text_of(r, "steps_min") + " .. " + text_of(r, "steps_max"); },
                       Align::left},
                      Column::number("observed order (least squares)", "observed_order", fixed2),
                      Column::number("local order (two finest N)", "local_order_finest", fixed2),
                      Column::text("stated order", "stated_order"),
                      {"max error at finest N",
                       [](const Record& r) {
                         return r.value("has_exact", false) ? format_scientific(number_of(r, "finest_max_error"))
                                                            : std::string("no exact solution");
                       },
                       Align::right},
                      {"all converged", [](const Record& r) { return r.value("all_converged", false) ? "yes" : "no"; },
                       Align::left},
                      Column::number("time", "seconds", format_seconds)})
              .to_markdown() +
          "\n";
    md += "## Errors by problem\n\nMax error over the nodes; a status in place of the error where the solve stopped "
          "before T.\n\n";
    for (const auto& [group, rs] : records.group_by({"group"})) {
      std::vector<ErrorTableRow> rows;
      for (const auto& [label, runs] : rs.group_by({"label"})) {
        const Record* d = derived.find({{"group", group}, {"label", label}});
        ErrorTableRow row{label, {}, number_of(*d, "observed_order"), static_cast<int>(number_of(*d, "stated_order"))};
        for (const auto& x : runs)
          row.cells.emplace_back(static_cast<int>(number_of(x, "steps")),
                                 text_of(x, "status") == "converged" ? format_scientific(number_of(x, "max_error"))
                                                                     : text_of(x, "status"));
        rows.push_back(std::move(row));
      }
      md += "### " + group + "\n\n" + error_table(rows).to_markdown() + "\n";
    }
    const Records early = records.where([](const Record& r) { return text_of(r, "status") != "converged"; });
    if (!early.empty()) {
      md += "## Solves that stopped before T\n\nBlow-up is reported with the time where the solution left every "
            "bound, and the last node reached.\n\n";
      md += early
                .table({Column::text("problem", "group"), Column::text("method", "label"), Column::text("N", "steps"),
                        Column::text("status", "status"),
                        Column::number("blow-up time", "blow_up_time", [](double v) {
                          return std::isfinite(v) ? format_exact(v) : std::string("none");
                        }),
                        Column::number("last node", "t_end", [](double v) { return format_exact(v); }),
                        Column::number("y at last node", "y_end", [](double v) { return format_scientific(v, 4); }),
                        Column::text("kernel evals", "evaluations"), Column::text("message", "message")})
                .to_markdown() +
            "\n";
    }
    md += "## Convergence plots\n\n";
    md += plots ? report.plot("convergence", convergence_figure(records), "convergence")
                : "Plots are off (`[output] plots = false`).\n\n";
    md += "## All runs\n\n";
    for (const auto& [key, runs] : records.group_by({"group", "label"}))
      md += "### " + text_of(runs[0], "group") + ", " + text_of(runs[0], "label") + "\n\n" + convergence_table(runs).to_markdown() + "\n";
    const Records with_order = derived.where([](const Record& d) {
      return d.value("has_exact", false) && d.value("all_converged", false);
    });
    const std::size_t near = with_order.where([](const Record& d) {
      return std::abs(number_of(d, "observed_order") - number_of(d, "stated_order")) <= 0.3;  // false for NaN
    }).size();
    const std::string summary = fmt::format("{} solves in {} studies; observed order within 0.3 of the stated order "
                                            "in {} of {} (the studies with an exact solution where every run converged)",
                                            records.size(), derived.size(), near, with_order.size());
    return ReportText{std::move(md), summary, std::move(derived)};
  };
  return study;
}

ExperimentOutcome run_experiment_file(const ExperimentFile& file, const ExperimentContext& context) {
  return run_study(file.kind == ExperimentKind::fixed_point ? fixed_point_file_study(file) : volterra_file_study(file),
                   context);
}

}  // namespace iterop::experiments
