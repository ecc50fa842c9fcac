// Experiment registry: named experiments (a name, a description, a function of a context holding
// the output folder, seed and progress reporter) that `iterop run NAME` looks up and runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iterop::experiments {

/// Receives one line of progress (no trailing newline), e.g. "[3/140] c = 0.99 ...".
using ProgressReporter = std::function<void(std::string_view line)>;

/// How large a run is: `iterop run NAME --size default|full`. `full` is the papers' scale where an
/// experiment has one (flow-*: the authors' steps and sample sizes); the others ignore it.
enum class RunSize { standard, full };

/// What an experiment is given.
struct ExperimentContext {
  std::filesystem::path output_folder;  ///< where the report goes (created if missing)
  std::uint64_t seed = 1;               ///< seed for every random choice the experiment makes
  ProgressReporter progress;            ///< progress lines; may be empty (silent)
  std::string gnuplot = "gnuplot";      ///< the gnuplot program used for plots
  bool fresh = false;                   ///< ignore finished cells cached in the report folder (--fresh)
  /// Data folder for experiments that read one (`iterop run NAME --data DIR`; pign-cora, pign-search:
  /// a Planetoid folder); empty: each such experiment's default.
  std::filesystem::path data_folder;
  /// `--size`: the default size, or the papers' scale where an experiment has one.
  RunSize size = RunSize::standard;
  /// Testing aid (ITEROP_STOP_AFTER_CELLS): experiments with a cell cache stop with run_interrupted
  /// after computing this many cells, as if the run had been killed; unset: no limit.
  std::optional<std::size_t> stop_after_cells;
  /// Cells over ranks (`mpirun -np R iterop run NAME`): this process's rank, the number of ranks and the
  /// launcher's job id, as the launcher set them (the CLI reads them; the library reads no environment).
  /// Rank r computes cells r, r + R, ... of each cached study; rank 0 waits for the others and writes the report.
  int rank = 0;
  int ranks = 1;
  std::string job;

  /// Sends `line` to the progress reporter, if there is one.
  void report(std::string_view line) const {
    if (progress) progress(line);
  }
};

/// What an experiment did: the files it wrote and anything the reader must know (e.g. a skipped plot).
struct ExperimentOutcome {
  std::vector<std::filesystem::path> files = {};  ///< every file written, in order
  std::vector<std::string> notes = {};            ///< one line each, e.g. "plot skipped: gnuplot not found"
  std::string summary = {};                       ///< one line for the suite's index.md, e.g. "140 solves, ..."
};

/// A runnable experiment.
struct Experiment {
  std::string name;         ///< unique, used on the command line: `iterop run NAME`
  std::string description;  ///< one sentence for `iterop run --list`
  /// Runs the experiment and writes its report into context.output_folder. Throws io_error when a
  /// file cannot be written and iterop::invalid_option for a bad context.
  std::function<ExperimentOutcome(const ExperimentContext&)> run;
  bool in_suite = true;     ///< run by `iterop run` without a name (the default suite)
};

/// Experiments by name, in registration order; the first registered is the default experiment, and
/// those marked in_suite form the default suite that `iterop run` runs without a name.
class ExperimentRegistry {
 public:
  /// Adds an experiment. Throws iterop::invalid_option for an empty or duplicate name or a missing function.
  void add(Experiment experiment);
  /// The experiment called `name`, or nullptr.
  const Experiment* find(std::string_view name) const;
  /// Every experiment, in registration order.
  const std::vector<Experiment>& list() const { return experiments_; }
  /// Names in registration order, joined by ", " (for messages).
  std::string names() const;
  /// The first registered experiment; throws if there is none.
  const Experiment& default_experiment() const;
  /// The members of the default suite (in_suite), in registration order.
  std::vector<const Experiment*> suite() const;

 private:
  std::vector<Experiment> experiments_;
};

/// The built-in studies, in registration order (studies/study_list.cpp, the one list of them): the
/// built-in experiment files (fixed-point, the first, `iterop run fixed-point` and the head of the default
/// suite; volterra), volterra-bench, theory-checks, and with LibTorch the PIGN, denoiser and flow studies.
std::vector<Experiment> builtin_studies();

/// The process-wide registry used by `iterop run`: the built-in experiments.
ExperimentRegistry& default_experiment_registry();

}  // namespace iterop::experiments
