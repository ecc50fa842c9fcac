// `iterop check`: look-up of checks by name, the table and JSON outputs, and the exit status
// (0 only when every selected check passed).
#include "check_command.hpp"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "iterop/experiments/studies/theory_checks.hpp"
#include "iterop/theory_checks/check.hpp"

namespace iterop::cli {

CheckCommand::CheckCommand(CLI::App& app) {
  app_ = app.add_subcommand("check", "Run theory checks: each theorem the library relies on, checked numerically");
  app_->add_option("names", names_, "Checks to run (see --list)")->type_name("NAME");
  app_->add_flag("--all", all_, "Run every check");
  app_->add_flag("--list", list_, "List the checks and exit");
  add_format_option(*app_, format_, {"table", "json"});
  app_->footer(
      "Each check states a theorem, establishes its premise (or reports PREMISE NOT MET, never PASS), runs an\n"
      "experiment and compares the measured quantity with the bound: margin >= 0 is PASS.\n"
      "Theory pages: docs/theory/.\n" +
      exit_status_text());
}

int CheckCommand::execute(std::ostream& out) const {
  const auto& checks = theory::all_checks();
  if (list_) {
    for (const auto& c : checks) out << c.name << "  " << c.statement << "\n";
    return exit_ok;
  }
  require_usage(all_ || !names_.empty(), "check", "(none)", "at least one NAME, or --all (see iterop check --list)");
  std::vector<const theory::TheoryCheck*> selected;
  if (all_) {
    for (const auto& c : checks) selected.push_back(&c);
  } else {
    for (const auto& n : names_) {
      const theory::TheoryCheck* found = nullptr;
      for (const auto& c : checks)
        if (c.name == n) found = &c;
      require_usage(found != nullptr, "check", n, "a registered check (see iterop check --list)");
      selected.push_back(found);
    }
  }
  bool all_pass = true;
  nlohmann::json results = nlohmann::json::array();
  if (format_ == "table")
    out << fmt::format("{:<40} {:<16} {:>13} {:>13} {:>11}\n", "check", "verdict", "measured", "bound", "margin");
  for (const auto* c : selected) {
    const theory::CheckResult r = c->run();
    all_pass = all_pass && r.verdict == theory::Verdict::pass;
    if (format_ == "table") {
      out << fmt::format("{:<40} {:<16} {:>13.6g} {:>13.6g} {:>11.3g}\n", r.name, theory::to_string(r.verdict),
                         r.measured, r.bound, r.margin);
      if (r.verdict != theory::Verdict::pass)
        out << "    premise: " << r.premise << " -- " << r.premise_evidence << "\n    " << r.details << "\n";
    } else {
      results.push_back(nlohmann::json::parse(experiments::check_record(r).dump()));
    }
  }
  if (format_ == "json") out << nlohmann::json{{"checks", results}, {"all_pass", all_pass}}.dump(2) << "\n";
  return all_pass ? exit_ok : exit_not_converged;
}

}  // namespace iterop::cli
