// Fuzzes the option parsing of the iterop command (numbers, integers, lists such as --intervals 8,16,32,
// choices, renamed options) with the options of every command that has no LibTorch: solve fixed-point,
// solve volterra, run, bench, check. Input: the arguments after "iterop", separated by NUL bytes. Only the
// parse runs (and parse_number / parse_integer on each argument), no command.
#include <CLI/CLI.hpp>

#include <limits>

#include "bench_command.hpp"
#include "check_command.hpp"
#include "cli_support.hpp"
#include "fuzz_support.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/experiments/problems/problem_catalogue.hpp"
#include "iterop/experiments/runner/experiment_registry.hpp"
#include "run_command.hpp"
#include "solve_fixed_point_command.hpp"
#include "solve_volterra_command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 2048) return 0;
  auto args = iterop::fuzz::fields(iterop::fuzz::text_of(data, size), '\0', 24);
  args.insert(args.begin(), "iterop");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  iterop::fuzz::expect_documented_errors<iterop::invalid_option, CLI::Error>([&] {
    try {
      CLI::App app{"iterop", "iterop"};
      app.require_subcommand(1);
      CLI::App* solve = app.add_subcommand("solve", "solve");
      solve->require_subcommand(1);
      iterop::cli::SolveFixedPointCommand fixed_point(*solve, iterop::experiments::default_problem_catalogue());
      iterop::cli::SolveVolterraCommand volterra(*solve);
      iterop::cli::RunCommand run(app, iterop::experiments::default_experiment_registry());
      iterop::cli::BenchCommand bench(app);
      iterop::cli::CheckCommand check(app);
      app.parse(int(argv.size()), argv.data());
    } catch (const iterop::cli::usage_error&) {
    }
  });
  for (std::size_t i = 1; i < args.size(); ++i) {
    try {
      (void)iterop::cli::parse_number("--x", args[i]);
    } catch (const iterop::cli::usage_error&) {
    }
    try {
      (void)iterop::cli::parse_integer("--n", args[i], 2, 100000000);
      (void)iterop::cli::parse_integer("--seed", args[i], 0, std::numeric_limits<long long>::max());
    } catch (const iterop::cli::usage_error&) {
    }
  }
  return 0;
}
