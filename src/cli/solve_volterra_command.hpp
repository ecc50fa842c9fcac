// `iterop solve volterra`: a scalar Volterra equation given by expressions (second kind, first kind
// or integro-differential), solved for a list of step counts, with errors and the observed order.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace iterop::cli {

/// Parses "64,128,256": integers >= 2, strictly increasing; throws usage_error naming --steps otherwise.
std::vector<int> parse_steps_list(const std::string& text);

/// The `volterra` subcommand of `solve`: its options, and running it.
class SolveVolterraCommand {
 public:
  /// Adds the subcommand "volterra" to `solve`.
  explicit SolveVolterraCommand(CLI::App& solve);

  /// Whether the command line selected this subcommand.
  bool selected() const { return app_->parsed(); }

  /// Checks every option and expression (usage_error or iterop::invalid_option, before any solve),
  /// solves once per step count and writes the table or JSON to `out`. Returns exit_ok when every
  /// solve converged and exit_not_converged otherwise (e.g. a solution that blows up before T).
  int execute(std::ostream& out) const;

 private:
  CLI::App* app_;
  std::string f_, kernel_, T_, kind_ = "second", y0_, singular_exponent_, method_;
  std::string steps_ = "64,128,256,512,1024", exact_, grading_ = "1", format_ = "table";
  CLI::Option *y0_opt_ = nullptr, *singular_opt_ = nullptr, *method_opt_ = nullptr, *exact_opt_ = nullptr;
};

}  // namespace iterop::cli
