// `iterop run`: experiment look-up, the context (output folder, seed, progress to stderr, gnuplot
// program from ITEROP_GNUPLOT), and the summary of what was written.
#include "run_command.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "cli_support.hpp"
#include "iterop/experiments/table.hpp"

namespace iterop::cli {

RunCommand::RunCommand(CLI::App& app, const experiments::ExperimentRegistry& registry) : registry_(registry) {
  app_ = app.add_subcommand("run", "Run an experiment and write its report folder (default: " +
                                       (registry.list().empty() ? std::string("none") : registry.default_experiment().name) +
                                       ")");
  app_->add_option("name", name_, "Experiment to run: " + registry.names())->type_name("NAME");
  app_->add_flag("--list", list_, "List the experiments and exit");
  app_->add_option("--out", out_, "Report folder (default iterop-report/NAME under the current folder)")
      ->type_name("DIR");
  app_->add_option("--seed", seed_, "Seed for the experiment's random choices, >= 0 (default 1)")->type_name("INT");
  std::string footer = "Experiments:\n";
  for (const auto& e : registry.list()) footer += "  " + e.name + ": " + e.description + "\n";
  footer +=
      "The report folder receives report.md, results.csv, results.json, config.json and PNG plots (drawn by\n"
      "gnuplot; set ITEROP_GNUPLOT to use another gnuplot program; without gnuplot the plot is skipped and\n"
      "everything else is written). Every file is written atomically. Progress goes to stderr.\n"
      "Exit status: 0 the experiment ran and its report was written; 2 bad usage; 3 a file could not be written.\n";
  app_->footer(footer);
}

int RunCommand::execute(std::ostream& out, std::ostream& progress) const {
  if (list_) {
    std::size_t width = 0;
    for (const auto& e : registry_.list()) width = std::max(width, e.name.size());
    for (const auto& e : registry_.list())
      out << e.name << std::string(width + 2 - e.name.size(), ' ') << e.description << "\n";
    return exit_ok;
  }
  const experiments::Experiment* experiment =
      name_.empty() ? &registry_.default_experiment() : registry_.find(name_);
  require_usage(experiment != nullptr, "experiment", name_, "one of " + registry_.names() + " (see iterop run --list)");

  experiments::ExperimentContext context;
  context.seed = static_cast<std::uint64_t>(parse_integer("--seed", seed_, 0, std::numeric_limits<long long>::max()));
  context.output_folder = out_.empty() ? std::filesystem::path("iterop-report") / experiment->name
                                       : std::filesystem::path(out_);
  context.progress = [&progress](std::string_view line) { progress << line << std::endl; };
  if (const char* gnuplot = std::getenv("ITEROP_GNUPLOT"); gnuplot != nullptr && *gnuplot != '\0')
    context.gnuplot = gnuplot;

  progress << "iterop run " << experiment->name << ": writing to " << context.output_folder.string() << std::endl;
  const auto t0 = std::chrono::steady_clock::now();
  const experiments::ExperimentOutcome outcome = experiment->run(context);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  out << "Experiment " << experiment->name << " finished in " << experiments::format_seconds(seconds) << "; wrote:\n";
  for (const auto& file : outcome.files) out << "  " << file.string() << "\n";
  for (const auto& note : outcome.notes) out << "Note: " << note << "\n";
  return exit_ok;
}

}  // namespace iterop::cli
