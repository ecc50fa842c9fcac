// `iterop bench volterra [--out DIR] [--quick]`: the Volterra work-precision bench (VIE methods against
// ODE integrators on L3 and N3), writing its report folder.
#pragma once

#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

namespace iterop::cli {

/// The `bench` subcommand and its `volterra` subcommand: options, and running it.
class BenchCommand {
 public:
  /// Adds "bench" (with "volterra") to `app`.
  explicit BenchCommand(CLI::App& app);

  /// Whether the command line selected `bench volterra`.
  bool selected() const { return volterra_->parsed(); }

  /// Runs the bench (progress on `progress`, the list of files on `out`). Throws io_error when a
  /// file cannot be written. Returns exit_ok.
  int execute(std::ostream& out, std::ostream& progress) const;

 private:
  CLI::App* bench_;
  CLI::App* volterra_;
  std::string out_;
  bool quick_ = false;
};

}  // namespace iterop::cli
