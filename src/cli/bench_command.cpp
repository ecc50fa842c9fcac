// `iterop bench volterra`: the context (output folder, progress to stderr, gnuplot from ITEROP_GNUPLOT),
// the full or --quick configuration, and the summary of what was written.
#include "bench_command.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "cli_support.hpp"
#include "iterop/experiments/runner/run_time.hpp"
#include "iterop/experiments/runner/table.hpp"
#include "iterop/experiments/studies/volterra_bench.hpp"

namespace iterop::cli {

BenchCommand::BenchCommand(CLI::App& app) {
  bench_ = app.add_subcommand("bench", "Run a benchmark and write its report folder (see: iterop bench volterra --help)");
  bench_->require_subcommand(1);
  volterra_ = bench_->add_subcommand(
      "volterra", "Work-precision bench: iterop's VIE methods against ODE integrators on L3 (stiff) and N3");
  volterra_->add_option("--out", out_, "Report folder")->type_name("DIR")->default_str("iterop-report/bench-volterra");
  volterra_->add_flag("--quick", quick_, "Short sweeps (N = 2^6 .. 2^10, rtol = 1e-3 .. 1e-6, one timing) for tests");
  const experiments::VolterraBenchConfig c;
  std::string footer =
      "Problems: L3 (y = 1 - 10 int exp(-1000 (t - s)) y ds, stiff) and N3 (y = exp(-2t) + int exp(-(t - s)) y^2 ds),\n"
      "each with an exact solution and an ODE form. VIE methods trapezoid and block_simpson over N = 2^4 .. 2^14;\n"
      "ODE integrators ";
  for (std::size_t i = 0; i < c.ode_methods.size(); ++i) footer += (i ? ", " : "") + c.ode_methods[i];
  footer +=
      "\nover rtol = 1e-3 .. 1e-10 with atol = 1e-3 rtol (dense output). Error: max over 65 points t_k = k T / 64.\n"
      "Wall time: best of 3 for runs under 1 s. The report gives, per method, the time to reach max errors 1e-4,\n"
      "1e-6, 1e-9 (interpolated along its curve) with ratios to the fastest method, and the time to 1e-8\n"
      "relative to iterop's best VIE method. Files: report.md, results.json, results.csv, config.json and two\n"
      "PNG plots per problem (gnuplot; set ITEROP_GNUPLOT to use another program). Progress goes to stderr.\n";
  footer += exit_status_text();
  volterra_->footer(footer);
}

int BenchCommand::execute(std::ostream& out, std::ostream& progress) const {
  const experiments::VolterraBenchConfig config =
      quick_ ? experiments::quick_volterra_bench_config() : experiments::VolterraBenchConfig{};
  experiments::ExperimentContext context;
  context.output_folder = out_.empty() ? std::filesystem::path("iterop-report") / "bench-volterra"
                                       : std::filesystem::path(out_);
  context.progress = [&progress](std::string_view line) { progress << line << std::endl; };
  if (const char* gnuplot = std::getenv("ITEROP_GNUPLOT"); gnuplot != nullptr && *gnuplot != '\0')
    context.gnuplot = gnuplot;
  progress << "iterop bench volterra" << (quick_ ? " --quick" : "") << ": writing to "
           << context.output_folder.string() << std::endl;
  const auto t0 = std::chrono::steady_clock::now();
  const experiments::ExperimentOutcome outcome = experiments::run_volterra_bench(config, context);
  const double seconds = experiments::seconds_since(t0);
  out << "Bench volterra finished in " << experiments::format_seconds(seconds) << "; wrote:\n";
  for (const auto& file : outcome.files) out << "  " << file.string() << "\n";
  for (const auto& note : outcome.notes) out << "Note: " << note << "\n";
  return exit_ok;
}

}  // namespace iterop::cli
