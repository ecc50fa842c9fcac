// `iterop solve fixed-point`: option parsing in the command's own terms, the problem from the
// catalogue, the method spec, the Toth-Kelley stop, and the three output formats.
#include "solve_fixed_point_command.hpp"

#include <limits>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "cli_support.hpp"
#include "iterop/experiments/problems/fixed_point_run.hpp"
#include "iterop/experiments/runner/table.hpp"

namespace iterop::cli {

namespace {

using experiments::format_exact;
using experiments::format_scientific;

/// Help text of a problem parameter option: what it means for each problem that takes it.
std::string parameter_help(const experiments::ProblemCatalogue& catalogue, const std::string& name) {
  std::vector<std::string> parts;
  for (const auto& entry : catalogue.entries())
    for (const auto& spec : entry.parameters)
      if (spec.name == name)
        parts.push_back(entry.name + ": " + spec.description + " (default " + format_exact(spec.default_value) + "; " +
                        spec.rule + ")");
  return join(parts, "; ");
}

std::string footer(const experiments::ProblemCatalogue& catalogue) {
  std::string s = "Problems:\n";
  for (const auto& entry : catalogue.entries()) {
    std::vector<std::string> params;
    for (const auto& spec : entry.parameters) params.push_back("--" + spec.name);
    s += "  " + entry.name + " (" + join(params) + "): " + entry.description + "\n";
  }
  s += "Methods:\n"
       "  picard          x+ = G(x)\n"
       "  km              Krasnoselskii-Mann x+ = r G(x) + (1 - r) x; --relaxation r (default 0.5)\n"
       "  anderson        Anderson acceleration (Type II); --memory m (default 5), --relaxation beta (default 1),\n"
       "                  --orth mgs|cgs2 (iterop, default cgs2) or mgs|icwy|cgs2|dcgs2 (kinsol, default mgs)\n"
       "  anderson-type1  safeguarded Type-I Anderson (iterop only); --memory (default 5), --relaxation a (default 0.1)\n"
       "  --relaxation is the weight on G(x), in (0, 1]; 1 is the plain Picard step. (--alpha and --damping are\n"
       "  the old names: refused, with the --relaxation to give instead.)\n"
       "  lm              Levenberg-Marquardt on min ||G(x) - x||^2 (--solver ceres; its only method and default)\n"
       "Solvers: iterop (default), kinsol (SUNDIALS KINSOL fixed point + Anderson; picard, km, anderson;\n"
       "  --kinsol-test iterop applies iterop's rule to KINSOL's iterates, --kinsol-test kinsol uses KINSOL's own test),\n"
       "  ceres (Levenberg-Marquardt). Available in this build: ";
  std::vector<std::string> available;
  for (auto b : {experiments::Backend::iterop, experiments::Backend::kinsol, experiments::Backend::ceres})
    if (experiments::backend_available(b)) available.push_back(experiments::to_string(b));
  s += join(available) + ".\n";
  s += "Stopping rule: converged when ||G(x) - x||_2 <= rtol ||G(x0) - x0||_2 + atol (Toth & Kelley);\n"
       "  --tol T sets atol = rtol = T; --atol/--rtol set them apart (each defaults to 1e-8); --tol excludes both.\n"
       "Output: residual is the true ||G(x) - x||_2 at the returned x, computed by iterop for every solver.\n"
       "  --format table: summary and per-iteration history; csv: the history only; json: everything.\n"
       "Exit 1: the solve finished without converging (status max_iterations, stagnated, diverged, non_finite, ...).\n"
       "Example: iterop solve fixed-point --problem heq --c 0.99 --n 512 --method anderson --memory 3 --tol 1e-8\n";
  return s + exit_status_text();
}

std::string summary_text(const experiments::FixedPointProblem& problem, const experiments::FixedPointRun& run,
                         const Stop& stop) {
  const SolveSummary& s = run.summary;
  std::vector<std::pair<std::string, std::string>> lines = {
      {"problem", problem.name + ": " + problem.description},
      {"solver", experiments::to_string(run.solver)},
      {"method", s.method},
      {"stop", fmt::format("||G(x) - x||_2 <= {} ||G(x0) - x0||_2 + {} = {}, at most {} iterations",
                           format_exact(stop.rel_tol), format_exact(stop.abs_tol), format_scientific(run.tolerance),
                           stop.max_iterations)},
      {"status", std::string(to_string(s.status))},
      {"message", s.message},
      {"iterations", std::to_string(s.iterations)},
      {"evaluations", std::to_string(s.evaluations)},
      {"residual", format_scientific(run.true_residual, 4) + "  (true ||G(x) - x||_2 at the returned x, iterate " +
                       std::to_string(s.returned_iteration) + ")"},
      {"initial", format_scientific(s.initial_residual, 4) + "  (||G(x0) - x0||_2)"},
  };
  if (std::isfinite(run.error)) lines.push_back({"error", format_scientific(run.error, 4) + "  (||x - x*||_2, exact x* known)"});
  if (problem.known.rate)
    lines.push_back({"known rate", fmt::format("{:.6g}", *problem.known.rate) +
                                       (problem.known.rate_is_bound ? "  (upper bound on Picard's rate)" : "  (Picard's rate)")});
  if (!problem.known.note.empty()) lines.push_back({"note", problem.known.note});
  for (const auto& [name, value] : s.counters) lines.push_back({name, format_exact(value)});
  lines.push_back({"time", experiments::format_seconds(run.wall_seconds)});
  std::size_t width = 0;
  for (const auto& l : lines) width = std::max(width, l.first.size());
  std::string out;
  for (const auto& [key, value] : lines) out += key + std::string(width + 2 - key.size(), ' ') + value + "\n";
  return out;
}

}  // namespace

SolveFixedPointCommand::SolveFixedPointCommand(CLI::App& solve, const experiments::ProblemCatalogue& catalogue)
    : catalogue_(catalogue) {
  app_ = solve.add_subcommand("fixed-point", "Solve a fixed-point problem x = G(x) from the problem catalogue");
  app_->add_option("--problem", problem_, "Problem: " + join(catalogue.names()))
      ->check(one_of(catalogue.names()))
      ->type_name("NAME")
      ->capture_default_str();
  std::vector<std::string> names;
  for (const auto& entry : catalogue.entries())
    for (const auto& spec : entry.parameters)
      if (std::find(names.begin(), names.end(), spec.name) == names.end()) names.push_back(spec.name);
  for (const auto& name : names) {
    bool integer = true;
    for (const auto& entry : catalogue.entries())
      for (const auto& spec : entry.parameters)
        if (spec.name == name && !spec.integer) integer = false;
    parameter_option_[name] = app_->add_option("--" + name, parameter_text_[name], parameter_help(catalogue, name))
                                  ->type_name(integer ? "INT" : "NUMBER");
  }
  method_opt_ = app_->add_option("--method", method_, "picard, km, anderson, anderson-type1 or lm (default anderson; lm with ceres)")
                    ->type_name("NAME");
  memory_opt_ = app_->add_option("--memory", memory_, "Anderson depth m >= 0 (anderson-type1: >= 1)")
                    ->transform(integer_in("memory", 0, 1000))
                    ->type_name("INT");
  relaxation_opt_ = app_->add_option("--relaxation", relaxation_,
                                     "weight on G(x) in the plain step, 0 < r <= 1 (km, anderson, anderson-type1)")
                        ->type_name("NUMBER");
  // The old names, refused by MethodSpec::validate() with the --relaxation to give instead.
  alpha_opt_ = app_->add_option("--alpha", alpha_, "old name: use --relaxation 1-alpha")->type_name("NUMBER");
  damping_opt_ = app_->add_option("--damping", damping_, "old name: use --relaxation")->type_name("NUMBER");
  app_->add_option("--solver", solver_, "iterop, kinsol or ceres (default iterop)")->type_name("NAME");
  orth_opt_ = app_->add_option("--orth", orth_, "Anderson QR update: mgs or cgs2 (iterop); mgs, icwy, cgs2, dcgs2 (kinsol)")
                  ->type_name("NAME");
  kinsol_test_opt_ = app_->add_option("--kinsol-test", kinsol_test_, "KINSOL's stopping test: iterop (default) or kinsol")
                         ->type_name("NAME");
  const auto tolerance = number_where([](double v) { return v >= 0; }, "a tolerance >= 0");
  tol_opt_ = app_->add_option("--tol", tol_, "atol = rtol = T in ||G(x) - x||_2 <= rtol ||G(x0) - x0||_2 + atol")
                 ->check(tolerance)
                 ->type_name("T");
  atol_opt_ = app_->add_option("--atol", atol_, "absolute tolerance")->check(tolerance)->type_name("A")->default_str("1e-8");
  rtol_opt_ = app_->add_option("--rtol", rtol_, "tolerance relative to ||G(x0) - x0||_2")
                  ->check(tolerance)
                  ->type_name("R")
                  ->default_str("1e-8");
  app_->add_option("--max-iterations", max_iterations_, "at most K iterations")
      ->transform(integer_in("max-iterations", 0, std::numeric_limits<int>::max()))
      ->type_name("K")
      ->capture_default_str();
  add_format_option(*app_, format_, {"table", "csv", "json"});
  app_->footer(footer(catalogue));
}

int SolveFixedPointCommand::execute(std::ostream& out) const {
  // Problem and its parameters.
  const experiments::ProblemEntry* entry = catalogue_.find(problem_);
  require_usage(entry != nullptr, "--problem", problem_, "one of " + join(catalogue_.names()));
  experiments::ParameterValues values;
  std::vector<std::string> taken;
  for (const auto& spec : entry->parameters) taken.push_back("--" + spec.name);
  for (const auto& [name, option] : parameter_option_) {
    if (option->count() == 0) continue;
    const std::string& text = parameter_text_.at(name);
    auto spec = std::find_if(entry->parameters.begin(), entry->parameters.end(),
                             [&](const experiments::ParameterSpec& p) { return p.name == name; });
    require_usage(spec != entry->parameters.end(), "--" + name, text,
                  "problem " + entry->name + " takes only " + (taken.empty() ? std::string("no parameters") : join(taken)));
    const double v = spec->integer ? static_cast<double>(parse_integer("--" + name, text,
                                                                       std::numeric_limits<long long>::min(),
                                                                       std::numeric_limits<long long>::max()))
                                   : parse_number("--" + name, text);
    if (const auto broken = spec->violation(v)) require_usage(false, "--" + name, text, *broken + " (problem " + entry->name + ")");
    values[name] = v;
  }

  // Method and solver.
  experiments::MethodSpec method;
  method.solver = experiments::parse_backend(solver_);
  if (method_opt_->count()) method.method = method_;
  if (memory_opt_->count()) method.memory = memory_;
  if (relaxation_opt_->count()) method.relaxation = parse_number("--relaxation", relaxation_);
  if (alpha_opt_->count()) method.alpha = parse_number("--alpha", alpha_);
  if (damping_opt_->count()) method.damping = parse_number("--damping", damping_);
  if (orth_opt_->count()) method.orth = orth_;
  if (kinsol_test_opt_->count()) {
    require_usage(kinsol_test_ == "iterop" || kinsol_test_ == "kinsol", "--kinsol-test", kinsol_test_, "iterop or kinsol");
    method.kinsol_test = kinsol_test_ == "kinsol" ? experiments::KinsolTest::kinsol : experiments::KinsolTest::iterop;
  }
  method.validate();

  // Stopping rule and output format.
  if (tol_opt_->count())
    require_usage(atol_opt_->count() == 0 && rtol_opt_->count() == 0, "--tol", tol_opt_->results().front(),
                  "give either --tol or --atol/--rtol, not both");
  double atol = 1e-8, rtol = 1e-8;
  if (tol_opt_->count()) atol = rtol = tol_;
  if (atol_opt_->count()) atol = atol_;
  if (rtol_opt_->count()) rtol = rtol_;
  const int max_iterations = max_iterations_;
  const Stop stop = experiments::toth_kelley_stop(atol, rtol, max_iterations);

  const experiments::FixedPointProblem problem = catalogue_.make(entry->name, values);
  const experiments::FixedPointRun run = experiments::run_fixed_point(problem, method, stop);

  if (format_ == "json") {
    out << experiments::run_json(problem, method, stop, run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
  } else if (format_ == "csv") {
    out << experiments::history_table(run.summary.history).to_csv();
  } else {
    out << summary_text(problem, run, stop) << "\n" << experiments::history_table(run.summary.history).to_text();
  }
  out.flush();
  return run.summary.converged() ? exit_ok : exit_not_converged;
}

}  // namespace iterop::cli
