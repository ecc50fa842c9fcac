// `iterop solve fixed-point`: option parsing in the command's own terms, the problem from the
// catalogue, the method spec, the Toth-Kelley stop, and the three output formats.
#include "solve_fixed_point_command.hpp"

#include <limits>
#include <vector>

#include <fmt/format.h>

#include "cli_support.hpp"
#include "iterop/experiments/problems/fixed_point_run.hpp"
#include "iterop/experiments/runner/table.hpp"
#if defined(ITEROP_HAVE_OPERATORS)
#include <memory>

#include "iterop/experiments/runner/atomic_file.hpp"
#include "iterop/experiments/studies/learned_step_check.hpp"
#include "iterop/operators/torchscript_function.hpp"
#endif

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
  s += experiments::available_backends() + ".\n";
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
  problem_opt_ = app_->add_option("--problem", problem_, "Problem: " + join(catalogue.names()))
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
  // The options of experiments::method_options(), in this order, with this help.
  const std::vector<std::pair<std::string, std::string>> method_help = {
      {"method", "picard, km, anderson, anderson-type1 or lm (default anderson; lm with ceres)"},
      {"memory", "Anderson depth m >= 0 (anderson-type1: >= 1)"},
      {"relaxation", "weight on G(x) in the plain step, 0 < r <= 1 (km, anderson, anderson-type1)"},
      // The old names, refused by MethodSpec::validate() with the --relaxation to give instead.
      {"alpha", "old name: use --relaxation 1-alpha"},
      {"damping", "old name: use --relaxation"},
      {"solver", "iterop, kinsol or ceres (default iterop)"},
      {"orth", "Anderson QR update: mgs or cgs2 (iterop); mgs, icwy, cgs2, dcgs2 (kinsol)"},
      {"kinsol_test", "KINSOL's stopping test: iterop (default) or kinsol"}};
  for (const auto& [key, help] : method_help) {
    const auto& o = *std::ranges::find(experiments::method_options(), key, &experiments::MethodOption::key);
    method_option_[key] = app_->add_option(o.flag, method_text_[key], help)
                              ->type_name(o.type == experiments::MethodOption::text      ? "NAME"
                                          : o.type == experiments::MethodOption::integer ? "INT"
                                                                                         : "NUMBER");
  }
  method_option_.at("memory")->transform(integer_in("memory", 0, 1000));
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
  torchscript_opt_ = app_->add_option("--torchscript", torchscript_,
                                      "solve x = T(x) for the forward(x) or forward(x, inputs) of a TorchScript file "
                                      "(instead of --problem)")
                         ->check(existing_file())
                         ->type_name("FILE");
  torchscript_only_ = {
      app_->add_option("--input", input_, "with --torchscript: the tensor x0 (and the inputs of forward(x, inputs)), "
                                          "a .csv file (R rows x C columns) or a torch.save / torch::save file")
          ->check(existing_file())
          ->type_name("FILE"),
      app_->add_option("--x0", x0_file_, "with --torchscript and forward(x, inputs): the starting x (default: --input)")
          ->check(existing_file())
          ->type_name("FILE"),
      app_->add_option("--dtype", dtype_, "with --torchscript: float64 (default) or float32, the module's dtype")
          ->check(one_of({"float64", "float32"}))
          ->type_name("D"),
      app_->add_option("--output", output_, "with --torchscript: write the solution as CSV to FILE")
          ->check(file_in_existing_folder())
          ->type_name("FILE")};
  app_->footer(footer(catalogue));
}

int SolveFixedPointCommand::execute(std::ostream& out) const {
  const bool torchscript = torchscript_opt_->count() > 0;
  for (const CLI::Option* option : torchscript_only_)
    require_usage(torchscript || option->count() == 0, option->get_name(), option->results().empty() ? "" : option->results().front(),
                  "given only with --torchscript FILE");
  if (torchscript) {
    require_usage(problem_opt_->count() == 0, "--problem", problem_, "either --problem or --torchscript, not both");
    for (const auto& [name, option] : parameter_option_)
      require_usage(option->count() == 0, "--" + name, parameter_text_.at(name), "problem parameters do not go with --torchscript");
    require_usage(!input_.empty(), "--input", "missing", "--torchscript needs --input FILE (the tensor x0)");
  }
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
                             [&key = name](const experiments::ParameterSpec& p) { return p.name == key; });  // clang 14: no capture of a binding
    require_usage(spec != entry->parameters.end(), "--" + name, text,
                  "problem " + entry->name + " takes only " + (taken.empty() ? std::string("no parameters") : join(taken)));
    // An integer is parsed as an integer: one the catalogue's double cannot hold exactly (|v| > 2^53)
    // breaks the parameter's own rule (every integer rule is far below 2^53), not "an integer".
    double v = 0;
    if (spec->integer) {
      const long long i = parse_integer("--" + name, text, std::numeric_limits<long long>::min(),
                                        std::numeric_limits<long long>::max());
      constexpr long long exact = 1LL << 53;
      require_usage(i >= -exact && i <= exact, "--" + name, text, spec->rule + " (problem " + entry->name + ")");
      v = static_cast<double>(i);
    } else {
      v = parse_number("--" + name, text);
    }
    if (const auto broken = spec->violation(v)) require_usage(false, "--" + name, text, *broken + " (problem " + entry->name + ")");
    values[name] = v;
  }

  // Method and solver.
  experiments::MethodSpec method;
  for (const auto& o : experiments::method_options()) {
    if (method_option_.at(o.key)->count() == 0) continue;
    const std::string& text = method_text_.at(o.key);
    // The command line's own wording for a bad --kinsol-test (the table's is the experiment file's).
    if (o.key == "kinsol_test") require_usage(text == "iterop" || text == "kinsol", o.flag, text, "iterop or kinsol");
    using Value = experiments::MethodOptionValue;
    o.set(method, o.type == experiments::MethodOption::number    ? Value(parse_number(o.flag, text))
                  : o.type == experiments::MethodOption::integer ? Value(std::stoll(text))
                                                                 : Value(text));
  }
  method.validate();

  // Stopping rule and output format.
  if (tol_opt_->count())
    require_usage(atol_opt_->count() == 0 && rtol_opt_->count() == 0, "--tol", tol_opt_->results().front(),
                  "give either --tol or --atol/--rtol, not both");
  const double tol = tol_opt_->count() ? tol_ : 1e-8;
  const Stop stop = experiments::toth_kelley_stop(atol_opt_->count() ? atol_ : tol, rtol_opt_->count() ? rtol_ : tol,
                                                  max_iterations_);

  if (torchscript) return execute_torchscript(out, method, stop);
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

#if defined(ITEROP_HAVE_OPERATORS)
int SolveFixedPointCommand::execute_torchscript(std::ostream& out, const experiments::MethodSpec& method,
                                                const Stop& stop) const {
  namespace op = operators;
  auto step = std::make_shared<op::TorchScriptFunction>(torchscript_, op::TorchScriptOptions{.dtype = dtype_});
  const op::TensorData input = op::read_tensor_file(input_);
  op::TensorData x0 = input;
  if (step->arity() == 2) {
    step->set_inputs(input);
    if (!x0_file_.empty()) x0 = op::read_tensor_file(x0_file_);
  } else {
    require_usage(x0_file_.empty(), "--x0", x0_file_, "only for forward(x, inputs); " + step->signature() + " takes x = --input");
  }
  std::string shape;
  for (auto d : x0.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
  experiments::FixedPointProblem problem;
  problem.name = "torchscript";
  problem.description = torchscript_ + ": " + step->signature() + ", x0 of shape [" + shape + "] from " +
                        (x0_file_.empty() ? input_ : x0_file_);
  problem.op = [step, dims = x0.shape](std::span<const double> x, std::span<double> y) { step->apply(dims, x, y); };
  problem.x0 = x0.values;
  const experiments::FixedPointRun run = experiments::run_fixed_point(problem, method, stop);
  // Contraction diagnostics: Picard from x0 (observed rate), the Jacobian at its last iterate.
  const op::StepContraction c = step->contraction(x0);
  const theory::CheckResult check = experiments::learned_step_check(
      "torchscript.learned_contraction", c, "Picard on the step of " + torchscript_ + " from x0");
  if (!output_.empty()) experiments::write_file_atomically(output_, op::tensor_csv_text({x0.shape, run.solution}));
  if (format_ == "json") {
    nlohmann::json j = experiments::run_json(problem, method, stop, run);
    j["torchscript"] = {{"file", torchscript_}, {"signature", step->signature()}, {"shape", x0.shape},
                        {"dtype", dtype_}, {"solution", run.solution}};
    j["diagnostics"] = {{"picard_iterations", c.iterations},
                        {"observed_rate", c.mean_ratio},
                        {"max_ratio", c.max_ratio},
                        {"picard_residual", c.final_residual},
                        {"jacobian_spectral_radius", c.jacobian_spectral_radius},
                        {"jacobian_radius_converged", c.jacobian_radius_converged},
                        {"jacobian_norm", c.jacobian_norm},
                        {"jacobian_norm_converged", c.jacobian_norm_converged}};
    j["theory_check"] = {{"name", check.name}, {"verdict", std::string(theory::to_string(check.verdict))},
                         {"measured", check.measured}, {"bound", check.bound}, {"margin", check.margin},
                         {"premise", check.premise_evidence}, {"details", check.details}};
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (format_ == "csv") {
    out << experiments::history_table(run.summary.history).to_csv();
  } else {
    out << summary_text(problem, run, stop)
        << fmt::format("rho(J)      {:.6g}  (spectral radius of T'(x_K) by JVP power iteration{}; x_K after {} Picard "
                       "steps from x0, relative residual {:.3g})\n",
                       c.jacobian_spectral_radius, c.jacobian_radius_converged ? "" : ", not settled", c.iterations,
                       c.final_residual)
        << fmt::format("||J||_2     {:.6g}  (spectral norm of T'(x_K), J^T J power iteration; < 1: a local contraction)\n",
                       c.jacobian_norm)
        << fmt::format("rate        {:.6g}  (observed Picard rate, geometric mean of the step ratios, second half)\n",
                       c.mean_ratio)
        << "check       " << check.name << ": " << theory::to_string(check.verdict) << " (" << check.details << "; "
        << check.premise_evidence << ")\n\n"
        << experiments::history_table(run.summary.history).to_text();
  }
  out.flush();
  return run.summary.converged() ? exit_ok : exit_not_converged;
}
#else
int SolveFixedPointCommand::execute_torchscript(std::ostream&, const experiments::MethodSpec&, const Stop&) const {
  require_usage(false, "--torchscript", torchscript_, "a build with LibTorch (ITEROP_WITH_TORCH); this one has none");
  return exit_usage;
}
#endif

}  // namespace iterop::cli
