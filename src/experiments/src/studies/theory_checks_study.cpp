// The "theory-checks" study: one cell per check of iterop::theory::all_checks(), one record each (the
// verdict, the measured quantity, the bound and the margin); the report is the table of verdicts and
// the statements. Not cached: the checks take seconds and a rerun should check again.
#include "iterop/experiments/studies/theory_checks.hpp"

#include <cmath>

#include <fmt/format.h>

#include "iterop/experiments/runner/study.hpp"
#include "iterop/theory_checks/check.hpp"

namespace iterop::experiments {

namespace {

/// A measured quantity with 6 significant digits ("n/a" when not finite).
std::string g6(double v) { return format_significant(v, 6); }

Study theory_checks_study() {
  Study s;
  s.name = "theory-checks";
  s.title = "Experiment theory-checks: each theorem checked numerically";
  s.description =
      "Every check of iterop::theory::all_checks() (the same as `iterop check --all`): it states a theorem, "
      "establishes its premise (PREMISE NOT MET when it fails, never PASS), runs an experiment and compares the "
      "measured quantity with the bound; the margin is how far inside the bound the measurement is (margin >= 0 is "
      "PASS). Theory pages: docs/theory/. The checks fix their own seeds.";
  s.cache = false;
  s.config = {{"verdict_rule", "PREMISE NOT MET when the premise fails; else PASS when margin >= 0"}};
  for (const auto& c : theory::all_checks()) s.cells.push_back({{{"check", c.name}}, c.name});
  s.compute = [](std::size_t i) { return check_record(theory::all_checks()[i].run()); };
  s.progress = [](const Record& r) {
    return fmt::format(": {} measured {} bound {} margin {}", text_of(r, "verdict"), g6(number_of(r, "measured")),
                       g6(number_of(r, "bound")), g6(number_of(r, "margin")));
  };
  s.report = [](const Records& records, StudyReport&) {
    std::string md = "## Verdicts\n\n" +
                     records
                         .table({Column::text("check", "name"), Column::text("verdict", "verdict"),
                                 Column::number("measured", "measured", g6), Column::number("bound", "bound", g6),
                                 Column::number("margin", "margin", g6), Column::text("quantity", "quantity"),
                                 Column::number("time", "seconds", format_seconds)})
                         .to_markdown() +
                     "\n";
    const Records failed = records.where([](const Record& r) { return text_of(r, "verdict") != "PASS"; });
    if (!failed.empty()) md += "## Checks that did not pass\n\n";
    for (const auto& r : failed)
      md += "### " + text_of(r, "name") + ": " + text_of(r, "verdict") + "\n\n" + text_of(r, "statement") +
            "\n\nPremise: " + text_of(r, "premise") + " (" + text_of(r, "premise_evidence") + "). " +
            text_of(r, "details") + "\n\n";
    md += "## Statements\n\n";
    for (const auto& r : records)
      md += "- **" + text_of(r, "name") + "**: " + text_of(r, "statement") + " Premise: " + text_of(r, "premise") + ".\n";
    const auto count = [&](const char* v) { return records.where("verdict", v).size(); };
    return ReportText{md, fmt::format("{} checks: {} PASS, {} FAIL, {} PREMISE NOT MET", records.size(), count("PASS"),
                                      count("FAIL"), count("PREMISE NOT MET"))};
  };
  return s;
}

}  // namespace

Record check_record(const theory::CheckResult& r) {
  return Record{{"name", r.name},
                {"verdict", std::string(theory::to_string(r.verdict))},
                {"statement", r.statement},
                {"premise", r.premise},
                {"premise_met", r.premise_met},
                {"premise_evidence", r.premise_evidence},
                {"experiment", r.experiment},
                {"quantity", r.quantity},
                {"measured", record_number(r.measured)},
                {"bound", record_number(r.bound)},
                {"margin", record_number(r.margin)},
                {"details", r.details}};
}

Experiment theory_checks_experiment() {
  return study_experiment(
      "theory-checks",
      "Every theory check (Banach bounds, Krasnoselskii-Mann, Anderson gain and GMRES, causal sweeps, attention, GCN, "
      "Volterra factorial bound, quadrature orders): table of verdicts PASS / FAIL / PREMISE NOT MET.",
      true, [](const ExperimentContext&) { return theory_checks_study(); });
}

}  // namespace iterop::experiments
