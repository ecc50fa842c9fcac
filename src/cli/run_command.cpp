// `iterop run`: suite, experiment or file look-up, the context (output folder, seed, size, data folder,
// progress to stderr, gnuplot from ITEROP_GNUPLOT, --fresh, ITEROP_STOP_AFTER_CELLS), and the summary.
#include "run_command.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "cli_support.hpp"
#include "launch_environment.hpp"
#include "iterop/experiments/runner/cell_cache.hpp"
#include "iterop/experiments/runner/experiment_file.hpp"
#include "iterop/experiments/runner/experiment_suite.hpp"
#include "iterop/experiments/runner/run_time.hpp"
#include "iterop/experiments/runner/table.hpp"

namespace iterop::cli {

namespace {

std::string suite_names(const experiments::ExperimentRegistry& registry) {
  std::string s;
  for (const auto* e : registry.suite()) s += (s.empty() ? "" : ", ") + e->name;
  return s;
}

}  // namespace

RunCommand::RunCommand(CLI::App& app, const experiments::ExperimentRegistry& registry) : registry_(registry) {
  app_ = app.add_subcommand("run", "Run the default suite (" + suite_names(registry) +
                                       "), one experiment, or an experiment file, and write the report folder");
  app_->add_option("name", name_,
                   "Experiment to run: " + registry.names() +
                       "; or an experiment file (a path ending in .toml, or an existing file; a NAME of experiments/ "
                       "also works). Without it: the default suite")
      ->type_name("NAME|FILE");
  app_->add_flag("--list", list_, "List the suite's experiments and the experiment files in experiments/, and exit");
  app_->add_option("--out", out_,
                   "Report folder (default iterop-report/ for the suite, with a subfolder per experiment and index.md; "
                   "iterop-report/NAME for one experiment or file, or the file's [output] folder)")
      ->check(not_empty("a folder name (leave --out out for the default)"))
      ->type_name("DIR");
  seed_option_ = add_seed_option(*app_, seed_, "the experiments' random choices (for a file: replaces its [experiment] seed)");
  app_->add_option("--size", size_,
                   "default, or full: the papers' scale where an experiment has one (flow-*: the authors' steps, "
                   "sample sizes and seeds; hours); the others ignore it")
      ->check(one_of({"default", "full"}))
      ->type_name("SIZE")
      ->capture_default_str();
  app_->add_flag("--fresh", fresh_, "Recompute every cell instead of reusing the finished cells in the report folder's cells/");
  app_->add_option("--experiments", experiments_dir_, "Folder of experiment files for --list and NAME")
      ->type_name("DIR")
      ->capture_default_str();
  app_->add_option("--data", data_,
                   "Data folder for experiments that read one: pign-cora, pign-search (a Planetoid folder such as "
                   "../shared/data/planetoid/cora); other experiments ignore it. A malformed file in it is bad input: "
                   "exit 2, naming the file, the line and the reason")
      ->check(existing_folder())
      ->type_name("DIR");
  std::string footer = "Experiments (the default suite runs those marked *):\n";
  for (const auto& e : registry.list()) footer += std::string(e.in_suite ? "* " : "  ") + e.name + ": " + e.description + "\n";
  footer += experiments::experiment_file_schema();
  footer +=
      "Each report folder receives report.md, results.csv, results.json, config.json and PNG plots (drawn by\n"
      "gnuplot; set ITEROP_GNUPLOT to use another gnuplot program; without gnuplot the plot is skipped and\n"
      "everything else is written). Every file is written atomically. Sweeps (experiment files, fixed-point)\n"
      "store each finished cell in cells/ of the report folder; a rerun into the same folder reuses them\n"
      "(\"[k/N] cached: ...\") and computes only the missing ones, --fresh recomputes all. Testing aid:\n"
      "ITEROP_STOP_AFTER_CELLS=N stops a sweep after N computed cells, as an interruption would (exit 3).\n"
      "Progress goes to stderr. Experiment options are command-line options (--size, --data, --seed); no\n"
      "environment variable changes what an experiment computes.\n";
  footer += exit_status_text();
  app_->footer(footer);
}

int RunCommand::list(std::ostream& out) const {
  std::size_t width = 0;
  for (const auto& e : registry_.list()) width = std::max(width, e.name.size());
  const auto files = experiments::list_experiment_files(experiments_dir_);
  for (const auto& f : files) width = std::max(width, f.path.stem().string().size());
  for (const auto& e : registry_.list())
    out << e.name << std::string(width + 2 - e.name.size(), ' ') << (e.in_suite ? "[suite] " : "") << e.description
        << "\n";
  out << "\nExperiment files in " << experiments_dir_ << "/ (iterop run NAME or iterop run PATH):\n";
  if (files.empty()) out << "  (none)\n";
  for (const auto& f : files) {
    const std::string stem = f.path.stem().string();
    out << stem << std::string(width + 2 - stem.size(), ' ');
    if (!f.error.empty())
      out << "(does not load: " << f.error << ")\n";
    else if (registry_.find(stem) != nullptr)
      out << "(built in as " << stem << "; this is its source, run it as a file to try edits)\n";
    else
      out << "[" << f.kind << ", " << f.cells << " cells] " << (f.description.empty() ? f.name : f.description) << "\n";
  }
  return exit_ok;
}

int RunCommand::execute(std::ostream& out, std::ostream& progress) const {
  if (list_) return list(out);

  // Everything is checked before any work: the seed, the testing aid, the experiment or the file.
  const std::uint64_t seed = seed_;
  std::optional<std::size_t> stop_after;
  if (const char* s = std::getenv("ITEROP_STOP_AFTER_CELLS"); s != nullptr && *s != '\0')
    stop_after = static_cast<std::size_t>(parse_integer("ITEROP_STOP_AFTER_CELLS", s, 1, 1000000000));

  const experiments::Experiment* experiment = nullptr;
  std::optional<experiments::ExperimentFile> file;
  const std::optional<std::uint64_t> seed_override =
      seed_option_->count() > 0 ? std::optional<std::uint64_t>(seed) : std::nullopt;
  if (!name_.empty()) {
    if (experiments::names_experiment_file(name_)) {
      file = experiments::load_experiment_file(name_, seed_override);
    } else if ((experiment = registry_.find(name_)) == nullptr) {
      const std::filesystem::path in_folder = std::filesystem::path(experiments_dir_) / (name_ + ".toml");
      std::error_code ec;
      if (std::filesystem::is_regular_file(in_folder, ec)) {
        file = experiments::load_experiment_file(in_folder, seed_override);
      } else {
        std::string known = registry_.names();
        for (const auto& f : experiments::list_experiment_files(experiments_dir_)) known += ", " + f.path.stem().string();
        require_usage(false, "experiment", name_,
                      "one of " + known + ", or the path of an experiment file ending in .toml (see iterop run --list)");
      }
    }
  }

  experiments::ExperimentContext context;
  context.data_folder = data_;
  context.seed = seed;
  context.size = size_ == "full" ? experiments::RunSize::full : experiments::RunSize::standard;
  context.fresh = fresh_;
  context.stop_after_cells = stop_after;
  const LaunchEnvironment launch = read_launch_environment();  // mpirun -np R: this rank's share of the cells
  context.rank = launch.rank;
  context.ranks = launch.size;
  context.job = launch.job;
  context.progress = [&progress](std::string_view line) { progress << line << std::endl; };
  if (const char* gnuplot = std::getenv("ITEROP_GNUPLOT"); gnuplot != nullptr && *gnuplot != '\0')
    context.gnuplot = gnuplot;

  std::string what;
  if (file) {
    what = "experiment file " + file->path.string();
    context.output_folder = !out_.empty()          ? std::filesystem::path(out_)
                            : file->output_folder ? *file->output_folder
                                                  : std::filesystem::path("iterop-report") / file->name;
  } else if (experiment != nullptr) {
    what = experiment->name;
    context.output_folder = out_.empty() ? std::filesystem::path("iterop-report") / experiment->name
                                         : std::filesystem::path(out_);
  } else {
    what = "the default suite (" + suite_names(registry_) + ")";
    context.output_folder = out_.empty() ? std::filesystem::path("iterop-report") : std::filesystem::path(out_);
  }

  progress << "iterop run " << what << ": writing to " << context.output_folder.string() << std::endl;
  const auto t0 = std::chrono::steady_clock::now();
  experiments::ExperimentOutcome outcome;
  try {
    if (file) outcome = experiments::run_experiment_file(*file, context);
    else if (experiment != nullptr) outcome = experiment->run(context);
    else outcome = experiments::run_suite(registry_.suite(), context);
  } catch (const experiments::run_interrupted& e) {
    print_error(e.what());
    return exit_failure;
  }
  const double seconds = experiments::seconds_since(t0);

  out << "Run of " << what << " finished in " << experiments::format_seconds(seconds) << "; wrote:\n";
  for (const auto& f : outcome.files) out << "  " << f.string() << "\n";
  if (!outcome.summary.empty()) out << "Summary: " << outcome.summary << "\n";
  for (const auto& note : outcome.notes) out << "Note: " << note << "\n";
  return exit_ok;
}

}  // namespace iterop::cli
