// `iterop solve volterra`: a scalar Volterra equation given by expressions (second kind, first kind
// or integro-differential), solved on a list of grids (--intervals N1,N2,...), with errors and the
// observed order.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace iterop::cli {

/// The `volterra` subcommand of `solve`: its options, and running it.
class SolveVolterraCommand {
 public:
  /// Adds the subcommand "volterra" to `solve`.
  explicit SolveVolterraCommand(CLI::App& solve);

  /// Whether the command line selected this subcommand.
  bool selected() const { return app_->parsed(); }

  /// Checks every option and expression (CLI11, then usage_error or iterop::invalid_option, before any
  /// solve), solves once per grid of --intervals and writes the table or JSON to `out`. Returns exit_ok when every
  /// solve converged and exit_not_converged otherwise (e.g. a solution that blows up before T).
  int execute(std::ostream& out) const;

 private:
  CLI::App* app_;
  std::string f_, kernel_, kind_ = "second", method_, exact_, format_;
  double T_ = 0, y0_ = 0, singular_exponent_ = 0, grading_ = 1;
  std::vector<int> intervals_ = {64, 128, 256, 512, 1024};
  CLI::Option *y0_opt_ = nullptr, *singular_opt_ = nullptr, *method_opt_ = nullptr, *exact_opt_ = nullptr;
};

}  // namespace iterop::cli
