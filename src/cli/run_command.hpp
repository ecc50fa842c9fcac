// `iterop run [NAME]`: runs an experiment from the registry (default: fixed-point) and writes its
// report folder; `iterop run --list` lists the experiments.
#pragma once

#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "iterop/experiments/experiment_registry.hpp"

namespace iterop::cli {

/// The `run` subcommand: its options, and running it.
class RunCommand {
 public:
  /// Adds the subcommand "run" to `app`, listing the experiments of `registry` in its help.
  RunCommand(CLI::App& app, const experiments::ExperimentRegistry& registry);

  /// Whether the command line selected this subcommand.
  bool selected() const { return app_->parsed(); }

  /// Lists the experiments, or runs one (progress on `progress`, the list of files on `out`).
  /// Throws usage_error for an unknown experiment or bad seed; io_error when a file cannot be written.
  int execute(std::ostream& out, std::ostream& progress) const;

 private:
  CLI::App* app_;
  const experiments::ExperimentRegistry& registry_;
  std::string name_;
  bool list_ = false;
  std::string out_;
  std::string seed_ = "1";
};

}  // namespace iterop::cli
