// The iterop command: `iterop solve fixed-point ...`, `iterop run [NAME]`, `--help`, `--version`.
// Every error is one line on stderr with a documented exit code; nothing escapes as a crash.
#include <cerrno>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "bench_command.hpp"
#include "check_command.hpp"
#include "cli_support.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/experiments/runner/atomic_file.hpp"
#include "iterop/experiments/runner/build_info.hpp"
#include "iterop/experiments/runner/experiment_registry.hpp"
#include "iterop/experiments/problems/problem_catalogue.hpp"
#include "run_command.hpp"
#include "solve_fixed_point_command.hpp"
#include "solve_volterra_command.hpp"
#if defined(ITEROP_HAVE_OPERATORS)
#include "iterop/experiments/studies/learned_operator_checks.hpp"
#include "iterop/operators/planetoid.hpp"
#include "train_command.hpp"
#include "train_denoiser_command.hpp"
#include "flow_command.hpp"
#endif

#ifndef ITEROP_VERSION
#error "ITEROP_VERSION must be defined by the build (the CMake project version)"
#endif

namespace {

std::string version_text() {
  std::string s = "iterop " ITEROP_VERSION "\n";
  s += "compiler: " + iterop::experiments::compiler_description();
  for (const auto& [name, version] : iterop::experiments::backend_versions()) s += "\n" + name + " " + version;
  return s;
}

/// For `iterop bogus` or `iterop bench bogus`: the word where a command was expected and the commands
/// there ("bench = bogus. Violated constraint: one of volterra."), or "" when the command line has none.
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  std::string where = "command";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word.front() == '-') continue;
    CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (CLI::App* sub : at->get_subcommands([](CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
      if (sub->check_name(word)) next = sub;
    }
    if (next != nullptr) {
      at = next;
      where = at->get_name();
      continue;
    }
    if (names.empty() || at->get_require_subcommand_min() == 0) return "";
    return where + " = " + word + ". Violated constraint: one of " + iterop::cli::join(names) + " (run iterop " +
           (at == &app ? std::string() : at->get_name() + " ") + "--help)";
  }
  return "";
}

int run(int argc, char** argv) {
  using namespace iterop;
  CLI::App app{"iterop " ITEROP_VERSION ": operator equations x = T(x) -- fixed-point solvers, diagnostics, baselines.",
               "iterop"};
  app.set_version_flag("--version", version_text(), "Print the version of iterop, its compiler and backends, and exit");
  app.require_subcommand(1);
  app.footer(
      "Commands:\n"
      "  iterop solve fixed-point --problem heq --c 0.99 --method anderson --memory 3 --tol 1e-8\n"
      "  iterop solve volterra --f 1 --kernel \"-(t-s)*y\" --T 6.283185307179586 --exact \"cos(t)\"\n"
      "  iterop run                 run the default suite (report index in iterop-report/index.md)\n"
      "  iterop run FILE.toml       run a declarative experiment file\n"
      "  iterop run --list          list the experiments\n"
      "  iterop bench volterra      work-precision bench: VIE methods against ODE integrators\n"
      "  iterop check --all         run the theory checks (PASS / FAIL / PREMISE NOT MET)\n"
#if defined(ITEROP_HAVE_OPERATORS)
      "  iterop train pign --dataset sbm   train PIGN (Picard-iterative graph network) and print its accuracy\n"
      "  iterop train denoiser      train a DDPM denoiser on 2-D data and print its sample quality\n"
      "  iterop train flow --arch calmflow --source 8gaussians --target moons --model flow.model   train a flow model\n"
      "  iterop sample flow --model flow.model --n 1000 --target moons   sample it, print W2/MMD/energy\n"
#endif
      "Use iterop COMMAND --help for the options of a command.\n"
      "The same words everywhere: --data DIR a data folder, --dataset NAME a built-in data set, --out DIR a\n"
      "report folder, --model FILE a model file, --steps N optimizer steps, --ode-steps N sampling steps,\n"
      "--seed S (default 1), --format table|json.\n" +
      cli::exit_status_text());

  CLI::App* solve = app.add_subcommand(
      "solve", "Solve an operator equation (see: iterop solve fixed-point --help, iterop solve volterra --help)");
  solve->require_subcommand(1);
  cli::SolveFixedPointCommand fixed_point(*solve, experiments::default_problem_catalogue());
  cli::SolveVolterraCommand volterra(*solve);
  cli::RunCommand run_command(app, experiments::default_experiment_registry());
  cli::BenchCommand bench(app);
#if defined(ITEROP_HAVE_OPERATORS)
  experiments::register_learned_operator_checks();  // pign.learned_contraction joins `iterop check` and the suite
#endif
  cli::CheckCommand check(app);
#if defined(ITEROP_HAVE_OPERATORS)
  cli::TrainCommand train(app);
  cli::TrainDenoiserCommand train_denoiser(app);  // `iterop train denoiser`
  cli::FlowCommand flow(app);  // `iterop train flow`, `iterop sample flow`
#else
  // Present in every build, so that a build without LibTorch says why it cannot train.
  CLI::App* train_unavailable =
      app.add_subcommand("train", "Train a neural operator (not in this build: it needs LibTorch)");
  train_unavailable->allow_extras();
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ValidationError& e) {
    // The validators of cli_support say "= VALUE. Violated constraint: RULE."; CLI11 puts "NAME: " before it.
    std::string message = e.what();
    if (const auto at = message.find(": = "); at != std::string::npos) message.replace(at, 4, " = ");
    cli::print_error(message);
    return cli::exit_usage;
  } catch (const CLI::ParseError& e) {
    if (const std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
      cli::print_error(unknown);
      return cli::exit_usage;
    }
    cli::print_error(std::string(e.what()) + " (run with --help for usage)");
    return cli::exit_usage;
  }

  // The command's output must reach stdout: a full device or a closed pipe is a failure (exit 3).
  const auto written = [](int rc) {
    if (cli::flushed(std::cout)) return rc;
    cli::print_error(std::string("could not write the output to stdout (") + std::strerror(errno) + ")");
    return static_cast<int>(cli::exit_failure);
  };
  if (fixed_point.selected()) return written(fixed_point.execute(std::cout));
  if (volterra.selected()) return written(volterra.execute(std::cout));
  if (run_command.selected()) return written(run_command.execute(std::cout, std::cerr));
  if (bench.selected()) return written(bench.execute(std::cout, std::cerr));
  if (check.selected()) return written(check.execute(std::cout));
#if defined(ITEROP_HAVE_OPERATORS)
  if (train.selected()) return written(train.execute(std::cout, std::cerr));
  if (train_denoiser.selected()) return written(train_denoiser.execute(std::cout, std::cerr));
  if (flow.selected()) return written(flow.execute(std::cout, std::cerr));
#else
  if (train_unavailable->parsed()) {
    cli::print_error("train = " + (train_unavailable->remaining().empty() ? std::string("(none)")
                                                                            : train_unavailable->remaining().front()) +
                     ". Violated constraint: a build with LibTorch (iterop::operators); install libtorch-dev "
                     "(scripts/setup.sh) and rebuild with ITEROP_WITH_TORCH.");
    return cli::exit_usage;
  }
#endif
  cli::print_error("no command given (run with --help for usage)");
  return cli::exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const iterop::cli::usage_error& e) {
    iterop::cli::print_error(e.message);
    return iterop::cli::exit_usage;
  } catch (const iterop::invalid_option& e) {
    iterop::cli::print_error(e.what());
    return iterop::cli::exit_usage;
  } catch (const iterop::backend_error& e) {
    iterop::cli::print_error(e.what());
    return iterop::cli::exit_failure;
  } catch (const iterop::experiments::io_error& e) {
    iterop::cli::print_error(e.what());
    return iterop::cli::exit_failure;
#if defined(ITEROP_HAVE_OPERATORS)
  } catch (const iterop::operators::data_error& e) {  // a malformed data file: bad input, named by file and line
    iterop::cli::print_error(e.what());
    return iterop::cli::exit_usage;
#endif
  } catch (const std::exception& e) {
    iterop::cli::print_error(std::string("unexpected failure: ") + e.what());
    return iterop::cli::exit_failure;
  } catch (...) {
    iterop::cli::print_error("unexpected failure of unknown type");
    return iterop::cli::exit_failure;
  }
}
