// The default suite of `iterop run`: every suite member of the registry run in turn, each into its own
// subfolder of the report folder, and an index (index.md, index.json) linking them with a summary line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "iterop/experiments/runner/experiment_registry.hpp"

namespace iterop::experiments {

/// What one member of the suite did.
struct SuiteMemberResult {
  std::string name;                 ///< the experiment's name, also its subfolder
  std::string description;          ///< the experiment's one-sentence description
  std::filesystem::path folder;     ///< context.output_folder / name
  ExperimentOutcome outcome;        ///< files, notes and summary line
  double seconds = 0;               ///< wall time of the member
};

/// Runs `members` in order, member k into context.output_folder / members[k]->name (same seed, progress,
/// gnuplot, fresh and stop_after_cells), with a progress line before each; then writes index.md (a
/// table: member, summary line, time, link to its report.md) and index.json into context.output_folder.
/// The outcome lists every file written and the members' notes (prefixed by the member's name); its
/// summary counts the members. Throws what a member throws (io_error, run_interrupted, ...).
ExperimentOutcome run_suite(const std::vector<const Experiment*>& members, const ExperimentContext& context,
                            std::vector<SuiteMemberResult>* results = nullptr);

}  // namespace iterop::experiments
