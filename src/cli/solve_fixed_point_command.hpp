// `iterop solve fixed-point`: solves one catalogue problem x = G(x), or the step of a TorchScript file
// (--torchscript), with a chosen method and solver, and prints the summary and history as a table, CSV or JSON.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "iterop/experiments/problems/fixed_point_run.hpp"
#include "iterop/experiments/problems/problem_catalogue.hpp"

namespace iterop::cli {

/// The `fixed-point` subcommand of `solve`: its options, and running it.
class SolveFixedPointCommand {
 public:
  /// Adds the subcommand "fixed-point" to `solve`, with one option per parameter of the problems in `catalogue`.
  SolveFixedPointCommand(CLI::App& solve, const experiments::ProblemCatalogue& catalogue);

  /// Whether the command line selected this subcommand.
  bool selected() const { return app_->parsed(); }

  /// Validates the options (usage_error or iterop::invalid_option before any work), solves, and
  /// writes the result to `out`. Returns exit_ok when converged and exit_not_converged otherwise.
  int execute(std::ostream& out) const;

 private:
  /// --torchscript FILE: the step of a TorchScript file on the tensor of --input, solved with `method`.
  int execute_torchscript(std::ostream& out, const experiments::MethodSpec& method, const Stop& stop) const;

  CLI::App* app_;
  const experiments::ProblemCatalogue& catalogue_;
  std::string problem_ = "heq";
  std::map<std::string, std::string> parameter_text_;  // by parameter name
  std::map<std::string, CLI::Option*> parameter_option_;
  std::map<std::string, std::string> method_text_;  // by key of experiments::method_options()
  std::map<std::string, CLI::Option*> method_option_;
  int max_iterations_ = 1000;
  double tol_ = 0, atol_ = 0, rtol_ = 0;
  std::string format_;
  CLI::Option *tol_opt_ = nullptr, *atol_opt_ = nullptr, *rtol_opt_ = nullptr;
  // --torchscript FILE --input FILE [--x0 FILE] [--dtype D] [--output FILE]
  std::string torchscript_, input_, x0_file_, dtype_ = "float64", output_;
  CLI::Option *problem_opt_ = nullptr, *torchscript_opt_ = nullptr;
  std::vector<CLI::Option*> torchscript_only_;  // --input, --x0, --dtype, --output
};

}  // namespace iterop::cli
