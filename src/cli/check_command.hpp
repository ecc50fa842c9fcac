// `iterop check [NAME ...|--all] [--format table|json]`: runs theory checks from the registry and
// prints each verdict (PASS, FAIL, PREMISE NOT MET) with the measured quantity, bound and margin.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace iterop::cli {

/// The `check` subcommand.
class CheckCommand {
 public:
  explicit CheckCommand(CLI::App& app);
  bool selected() const { return app_->parsed(); }
  /// Runs the selected checks; exit 0 when every verdict is PASS, 1 otherwise; usage_error for an
  /// unknown check name (CLI11 has checked --format).
  int execute(std::ostream& out) const;

 private:
  CLI::App* app_;
  std::vector<std::string> names_;
  bool all_ = false;
  bool list_ = false;
  std::string format_;  // set by add_format_option
};

}  // namespace iterop::cli
