// The experiment files compiled into iterop (experiments/fixed-point.toml, experiments/volterra.toml):
// registered by name like any built-in experiment, run by the same runner as a file given on the command line.
#pragma once

#include <span>
#include <string_view>

namespace iterop::experiments {

/// One experiment file built into iterop.
struct BuiltinExperimentFile {
  std::string_view name;  ///< the experiment's name, e.g. "fixed-point" (the file's stem)
  std::string_view path;  ///< where it lives in the source tree, e.g. "experiments/fixed-point.toml"
  std::string_view text;  ///< the file's text at build time
};

/// The built-in experiment files, in the order CMake lists them.
std::span<const BuiltinExperimentFile> builtin_experiment_files();

}  // namespace iterop::experiments
