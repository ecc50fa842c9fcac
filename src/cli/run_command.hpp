// `iterop run [NAME|FILE]`: the default suite (no argument), one experiment of the registry, or an
// experiment file (TOML); `iterop run --list` lists the suite members and the files in experiments/.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

#include "iterop/experiments/runner/experiment_registry.hpp"

namespace iterop::cli {

/// The `run` subcommand: its options, and running it.
class RunCommand {
 public:
  /// Adds the subcommand "run" to `app`, listing the experiments of `registry` in its help.
  RunCommand(CLI::App& app, const experiments::ExperimentRegistry& registry);

  /// Whether the command line selected this subcommand.
  bool selected() const { return app_->parsed(); }

  /// Lists the experiments and files, or runs the suite, one experiment or one file (progress on
  /// `progress`, the list of files on `out`) at --size and with --data. Throws usage_error for an
  /// unknown experiment or a bad ITEROP_STOP_AFTER_CELLS (CLI11 has checked the options), experiments::experiment_file_error for a bad file (both exit 2, before
  /// any work), io_error when a file cannot be written. Returns exit_failure, after one line on stderr,
  /// when ITEROP_STOP_AFTER_CELLS stopped the run.
  int execute(std::ostream& out, std::ostream& progress) const;

 private:
  int list(std::ostream& out) const;

  CLI::App* app_;
  CLI::Option* seed_option_ = nullptr;
  const experiments::ExperimentRegistry& registry_;
  std::string name_;
  bool list_ = false;
  bool fresh_ = false;
  std::string out_;
  std::uint64_t seed_ = 0;  // set to default_seed by add_seed_option
  std::string size_ = "default";
  std::string experiments_dir_ = "experiments";
  std::string data_;
};

}  // namespace iterop::cli
