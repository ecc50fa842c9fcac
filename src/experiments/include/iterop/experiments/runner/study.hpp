// A study: a sweep of cells, each computed into one flat record, and a report made from the records.
// run_study is the one runner: cell cache and resume, budget, progress, timing, config.json,
// results.json and results.csv written straight from the records, report.md with its footer.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/experiments/runner/experiment_registry.hpp"
#include "iterop/experiments/runner/plot.hpp"
#include "iterop/experiments/runner/report_writer.hpp"
#include "iterop/experiments/runner/records.hpp"

namespace iterop::experiments {

/// One cell of a sweep: its identity in the cell cache (any JSON; the runner adds the study's name and
/// the seed) and a label for progress lines.
struct Cell {
  nlohmann::json key;
  std::string label;
  /// Cells of a stage s > 0 may depend on the records of every cell of an earlier stage (a search's final
  /// runs train what its trials selected): the runner computes the stages in increasing order and calls
  /// Study::begin_stage before each later one. Within a stage the cells are independent.
  int stage = 0;
};

/// What a report is given besides the records: the folder (for plots) and the context.
class StudyReport {
 public:
  StudyReport(ReportFolder& folder, const ExperimentContext& context) : folder_(folder), context_(context) {}

  const ExperimentContext& context() const { return context_; }
  ReportFolder& folder() { return folder_; }
  /// Draws `figure` into <stem>.png (with its .dat and .gp) and returns the Markdown that shows it, or
  /// says why it was skipped (the skip also becomes a note of the run).
  std::string plot(const std::string& stem, const Figure& figure, const std::string& caption);
  /// Adds a note (shown at the top of report.md and in the run's outcome).
  void note(std::string line) { notes_.push_back(std::move(line)); }
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  ReportFolder& folder_;
  const ExperimentContext& context_;
  std::vector<std::string> notes_;
};

/// What a study's report returns: the Markdown body, the one-line summary for the suite's index, and
/// the records it derived from the cells (fitted orders, means over seeds), kept in results.json.
struct ReportText {
  std::string markdown;
  std::string summary;
  Records derived = {};
};

/// A sweep of records. The runner calls compute(i) for each cell that is not cached, in order, and
/// report(records) once; it adds "cell" (the cell's hash), "seconds" (compute time, unless the record
/// sets it) and "cached" to every record.
struct Study {
  std::string name;                  ///< the experiment's name (report folder, cache key)
  std::string title;                 ///< report.md's heading, e.g. "Experiment fixed-point: the H-equation"
  std::string description;           ///< the first paragraph of report.md
  nlohmann::json config;             ///< what config.json records besides seed, cells, time and versions
  std::vector<Cell> cells;
  std::function<Record(std::size_t cell)> compute;
  /// The progress text of a finished cell, appended to its label (e.g. ": converged, 9 iterations").
  std::function<std::string(const Record&)> progress;
  /// Called before the cells of stage s > 0 are computed, on every rank, with the records of all the cells of
  /// the earlier stages in cell order (computed here, by another rank, or read back): what those cells need.
  std::function<void(int stage, const Records& earlier)> begin_stage;
  /// The report body from the records.
  std::function<ReportText(const Records&, StudyReport&)> report;
  std::vector<std::string> notes;    ///< shown at the top of report.md (e.g. cases skipped in this build)
  bool cache = true;                 ///< false: every cell is computed on every run (timing benches)
  nlohmann::json results_header = nlohmann::json::object();  ///< extra top-level fields of results.json
};

/// Runs `study` into context.output_folder: report.md, results.json ({"experiment", "seed", ...header,
/// "results": records}), results.csv, config.json and the report's plots. Each computed cell is stored
/// in cells/ and read back by a later run of the same build (unless context.fresh). Throws io_error when
/// a file cannot be written, run_interrupted when context.stop_after_cells stops the run.
ExperimentOutcome run_study(const Study& study, const ExperimentContext& context);

/// The line every report ends its first paragraph with: iterop's version, the compiler, the backends.
std::string versions_line();

/// An experiment entry that builds its study from the context and runs it.
Experiment study_experiment(std::string name, std::string description, bool in_suite,
                            std::function<Study(const ExperimentContext&)> make);

}  // namespace iterop::experiments
