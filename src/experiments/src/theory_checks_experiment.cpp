// The "theory-checks" experiment: runs iterop::theory::all_checks(), one progress line per check, and
// writes the verdict table (Markdown, CSV), every field of every result (JSON) and the configuration.
#include "iterop/experiments/theory_checks_experiment.hpp"

#include <chrono>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "iterop/experiments/build_info.hpp"
#include "iterop/experiments/report_writer.hpp"
#include "iterop/experiments/table.hpp"
#include "iterop/experiments/run_time.hpp"
#include "iterop/theory_checks/check.hpp"

namespace iterop::experiments {

namespace {

constexpr const char* experiment_name = "theory-checks";

/// A measured quantity with 6 significant digits ("n/a" when not finite).
std::string g6(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : std::string("n/a"); }

}  // namespace

ExperimentOutcome run_theory_checks_experiment(const ExperimentContext& context) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  const auto& checks = theory::all_checks();

  std::vector<theory::CheckResult> results;
  std::vector<double> seconds;
  int pass = 0, fail = 0, premise = 0;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const auto c0 = std::chrono::steady_clock::now();
    theory::CheckResult r = checks[i].run();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count());
    switch (r.verdict) {
      case theory::Verdict::pass: ++pass; break;
      case theory::Verdict::fail: ++fail; break;
      case theory::Verdict::premise_not_met: ++premise; break;
    }
    context.report(fmt::format("[{}/{}] {:<38} {:<15} measured {} bound {} margin {}", i + 1, checks.size(), r.name,
                               theory::to_string(r.verdict), g6(r.measured), g6(r.bound), g6(r.margin)));
    results.push_back(std::move(r));
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  Table table;
  table.columns = {"check", "verdict", "measured", "bound", "margin", "quantity", "time"};
  table.align = {Align::left, Align::left, Align::right, Align::right, Align::right, Align::left, Align::right};
  Table csv;
  csv.columns = {"name", "verdict", "premise_met", "measured", "bound", "margin", "quantity", "seconds", "statement",
                 "premise", "premise_evidence", "experiment", "details"};
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const std::string verdict(theory::to_string(r.verdict));
    table.add_row({r.name, verdict, g6(r.measured), g6(r.bound), g6(r.margin), r.quantity, format_seconds(seconds[i])});
    csv.add_row({r.name, verdict, r.premise_met ? "true" : "false", format_exact(r.measured), format_exact(r.bound),
                 format_exact(r.margin), r.quantity, format_exact(seconds[i]), r.statement, r.premise,
                 r.premise_evidence, r.experiment, r.details});
    rows.push_back({{"name", r.name},
                    {"verdict", verdict},
                    {"statement", r.statement},
                    {"premise", r.premise},
                    {"premise_met", r.premise_met},
                    {"premise_evidence", r.premise_evidence},
                    {"experiment", r.experiment},
                    {"quantity", r.quantity},
                    {"measured", json_number(r.measured)},
                    {"bound", json_number(r.bound)},
                    {"margin", json_number(r.margin)},
                    {"details", r.details},
                    {"seconds", seconds[i]}});
  }
  const std::string summary = fmt::format("{} checks: {} PASS, {} FAIL, {} PREMISE NOT MET", results.size(), pass,
                                          fail, premise);

  context.report("writing the report to " + folder.path().string());
  folder.write_json("results.json", {{"experiment", experiment_name},
                                     {"checks", rows},
                                     {"counts", {{"PASS", pass}, {"FAIL", fail}, {"PREMISE NOT MET", premise}}},
                                     {"all_pass", fail == 0 && premise == 0},
                                     {"seconds", total}});
  folder.write_csv("results.csv", csv);
  folder.write_json("config.json", {{"experiment", experiment_name},
                                    {"started_utc", started},
                                    {"seed", context.seed},
                                    {"seed_note", "the checks fix their own seeds; the seed is recorded for the runner's uniformity"},
                                    {"checks", [&] {
                                       nlohmann::json names = nlohmann::json::array();
                                       for (const auto& c : checks) names.push_back(c.name);
                                       return names;
                                     }()},
                                    {"verdict_rule", "PREMISE NOT MET when the premise fails; else PASS when margin >= 0"},
                                    {"versions", build_info_json()}});

  std::string md = "# Experiment theory-checks: each theorem checked numerically\n\n";
  md += "Every check of iterop::theory::all_checks() (the same as `iterop check --all`): it states a theorem, "
        "establishes its premise (PREMISE NOT MET when it fails, never PASS), runs an experiment and compares the "
        "measured quantity with the bound; the margin is how far inside the bound the measurement is "
        "(margin >= 0 is PASS). Theory pages: docs/theory/.\n\n";
  const auto info = build_info_json();
  md += "iterop " + info["iterop"].get<std::string>() + ", " + info["compiler"].get<std::string>() + ". " + summary +
        ", in " + format_seconds(total) + ".\n\n";
  md += "## Verdicts\n\n" + table.to_markdown() + "\n";
  bool any = false;
  for (const auto& r : results) {
    if (r.verdict == theory::Verdict::pass) continue;
    if (!any) md += "## Checks that did not pass\n\n";
    any = true;
    md += "### " + r.name + ": " + std::string(theory::to_string(r.verdict)) + "\n\n" + r.statement + "\n\nPremise: " +
          r.premise + " (" + r.premise_evidence + "). " + r.details + "\n\n";
  }
  md += "## Statements\n\n";
  for (const auto& r : results) md += "- **" + r.name + "**: " + r.statement + " Premise: " + r.premise + ".\n";
  md += "\nFiles: `results.json` (every field of every check), `results.csv`, `config.json`.\n";
  folder.write_text("report.md", md);

  ExperimentOutcome outcome;
  outcome.files = folder.written();
  outcome.summary = summary + ", in " + format_seconds(total);
  return outcome;
}

Experiment theory_checks_experiment() {
  Experiment e;
  e.name = experiment_name;
  e.description =
      "Every theory check (Banach bounds, Krasnoselskii-Mann, Anderson gain and GMRES, causal sweeps, attention, "
      "GCN, Volterra factorial bound, quadrature orders): table of verdicts PASS / FAIL / PREMISE NOT MET.";
  e.run = [](const ExperimentContext& context) { return run_theory_checks_experiment(context); };
  return e;
}

}  // namespace iterop::experiments
