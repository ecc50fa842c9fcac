// `iterop solve volterra`: option checks (all before any solve), the expression problem, one solve
// per grid (--intervals), and the table or JSON with max errors, statuses, blow-up times and the fitted order.
#include "solve_volterra_command.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "cli_support.hpp"
#include "iterop/experiments/runner/report_writer.hpp"
#include "iterop/experiments/runner/table.hpp"
#include "iterop/experiments/problems/volterra_convergence.hpp"
#include "iterop/experiments/problems/volterra_expression.hpp"

namespace iterop::cli {

namespace {

using experiments::format_exact;
using experiments::format_scientific;
using experiments::VolterraKind;
using experiments::VolterraMethod;

std::string footer() {
  std::string s =
      "Equations (scalar):\n"
      "  --kind second (default)  y(t) = f(t) + int_0^t K(t, s, y(s)) ds;  --f in t, --kernel in t, s, y\n"
      "                           with --singular-exponent a in (0, 1): the kernel is (t - s)^(-a) K(t, s, y)\n"
      "  --kind first             int_0^t K(t, s) y(s) ds = g(t);        --f is g(t) (g(0) = 0), --kernel in t, s\n"
      "                           (K(t, t) must not vanish); with --singular-exponent a in (0, 1) the kernel is\n"
      "                           (t - s)^(-a) K(t, s): an Abel equation (first_kind_trapezoid)\n"
      "  --kind ide               y'(t) = F(t, y) + int_0^t K(t, s, y(s)) ds, y(0) = --y0 (required);\n"
      "                           --f is F in t, y; --kernel in t, s, y\n"
      "Expressions: muparser syntax: + - * / ^, sin cos tan asin acos atan sinh cosh tanh exp log (= ln) log2\n"
      "  log10 sqrt abs sign rint min max; constants pi (also _pi) and _e. --exact is y(t), in t.\n"
      "Methods (--method; the default is the natural one for the kind):\n";
  for (auto m : experiments::volterra_methods())
    s += fmt::format("  {:<18}{}\n", experiments::to_string(m), experiments::describe(m));
  s += "Grids: --intervals N1,N2,... (N intervals of [0, T] each, integers >= 2, increasing; formerly --steps);\n"
       "  uniform, or graded t_j = T (j/N)^r with --grading r >= 1 (for solutions that are not smooth at t = 0).\n"
       "Output: for each N the status, the max error over the nodes against --exact, the kernel and expression\n"
       "  evaluations, iterations of the implicit equations and the time; with --exact the observed order, the\n"
       "  least-squares slope of log(max error) over log(h) over the converged runs. A solution that blows up is\n"
       "  reported with status blow_up, the time where the solve stopped (blow_up_time), the last node the grid\n"
       "  resolves and the blow-up time t* fitted there, y ~ C (t* - t)^(-p) (blow_up_estimate, blow_up_exponent).\n"
       "  --format table or json (runs[].steps, max_error, status, evaluations, iterations, seconds;\n"
       "  observed_order, null without --exact).\n"
       "Exit 1: a solve stopped before T (blow-up, non-finite values, implicit equation not solved).\n"
       "Example: iterop solve volterra --f 1 --kernel \"-(t-s)*y\" --T 6.283185307179586 --intervals 64,128,256,512 "
       "--exact \"cos(t)\"\n";
  return s + exit_status_text();
}

std::string equation_text(const experiments::VolterraExpressionSpec& s) {
  const std::string interval = "on [0, " + format_exact(s.T) + "]";
  const std::string singular =
      s.singular_exponent ? "(t - s)^(-" + format_exact(*s.singular_exponent) + ") " : std::string();
  switch (s.kind) {
    case VolterraKind::second:
      return "y(t) = f(t) + int_0^t " + singular + "K(t, s, y(s)) ds, f = " + s.f + ", K = " + s.kernel + ", " +
             interval;
    case VolterraKind::first:
      return "int_0^t " + singular + "K(t, s) y(s) ds = g(t), g = " + s.f + ", K = " + s.kernel + ", " + interval;
    case VolterraKind::ide:
      return "y'(t) = F(t, y) + int_0^t K(t, s, y(s)) ds, F = " + s.f + ", K = " + s.kernel + ", y(0) = " +
             format_exact(*s.y0) + ", " + interval;
  }
  return "";
}

}  // namespace

SolveVolterraCommand::SolveVolterraCommand(CLI::App& solve) {
  app_ = solve.add_subcommand("volterra", "Solve a scalar Volterra equation given by expressions, for several step counts");
  app_->add_option("--f", f_, "f(t) (second kind), g(t) (first kind) or F(t, y) (ide)")->type_name("EXPR")->required();
  app_->add_option("--kernel", kernel_, "K(t, s, y) (second kind, ide) or K(t, s) (first kind)")
      ->type_name("EXPR")
      ->required();
  app_->add_option("--T", T_, "end of the interval [0, T], T > 0")
      ->check(number_where([](double v) { return v > 0; }, "T > 0"))
      ->type_name("X")
      ->required();
  app_->add_option("--kind", kind_, "second, first or ide")->type_name("KIND")->capture_default_str();
  y0_opt_ = app_->add_option("--y0", y0_, "initial value y(0) (--kind ide only, required there)")
                ->check(number_where([](double) { return true; }, "a finite number"))
                ->type_name("V");
  singular_opt_ = app_->add_option("--singular-exponent", singular_exponent_,
                                   "a in (0, 1): kernel (t - s)^(-a) K (--kind second or first)")
                      ->check(number_where([](double v) { return v > 0 && v < 1; }, "0 < a < 1"))
                      ->type_name("a");
  method_opt_ = app_->add_option("--method", method_,
                                 "trapezoid, block_simpson, product_trapezoid, midpoint, first_kind_trapezoid or "
                                 "ide_trapezoid (default: the natural one for the kind)")
                    ->type_name("NAME");
  app_->add_option("--intervals", intervals_,
                   "grids: N1,N2,... intervals of [0, T] (integers 2 .. 1048576, the experiment files' limit, increasing)")
      ->delimiter(',')
      ->transform(integer_in("N", 2, experiments::max_volterra_intervals))
      ->type_name("LIST")
      ->capture_default_str();
  exact_opt_ = app_->add_option("--exact", exact_, "the exact solution y(t): errors and observed order")->type_name("EXPR");
  app_->add_option("--grading", grading_, "graded grid t_j = T (j/N)^r, r >= 1 (1: uniform)")
      ->check(number_where([](double v) { return v >= 1; }, "r >= 1 (t_j = T (j/N)^r; 1 is uniform)"))
      ->type_name("r")
      ->capture_default_str();
  add_format_option(*app_, format_, {"table", "json"});
  add_renamed_option(*app_, "--steps", "--intervals N1,N2,... (--steps counts optimizer steps)");
  app_->footer(footer());
}

int SolveVolterraCommand::execute(std::ostream& out) const {
  // Every check comes before the first solve.
  experiments::VolterraExpressionSpec spec;
  spec.kind = experiments::parse_volterra_kind(kind_);
  spec.f = f_;
  spec.kernel = kernel_;
  spec.T = T_;
  const std::vector<int>& steps = intervals_;
  for (std::size_t i = 1; i < steps.size(); ++i)
    require_usage(steps[i] > steps[i - 1], "--intervals", fmt::format("{}", fmt::join(steps, ",")),
                  "strictly increasing grids (" + std::to_string(steps[i]) + " after " + std::to_string(steps[i - 1]) + ")");
  const double grading = grading_;
  if (y0_opt_->count()) spec.y0 = y0_;
  if (singular_opt_->count()) {
    spec.singular_exponent = singular_exponent_;
    require_usage(spec.kind != VolterraKind::ide, "--singular-exponent", format_exact(singular_exponent_),
                  "only with --kind second or first (the weakly singular factor (t - s)^(-a) of an integral "
                  "equation)");
  }
  if (exact_opt_->count()) spec.exact = exact_;
  const double a = spec.singular_exponent.value_or(0.0);
  const VolterraMethod method =
      method_opt_->count() ? experiments::parse_volterra_method(method_) : experiments::default_volterra_method(spec.kind, a);
  experiments::check_volterra_method(method, spec.kind, a, grading, steps);
  const experiments::VolterraExpressionProblem problem = experiments::make_expression_problem(spec);
  if (const auto* first = std::get_if<quadrature::FirstKindProblem>(&problem.problem))
    experiments::check_first_kind(*first, steps, grading, spec.kernel, spec.f);
  experiments::check_expression_values(problem, method, steps, grading);

  std::vector<experiments::ConvergenceRun> runs;
  nlohmann::json jruns = nlohmann::json::array();
  experiments::Records records;
  bool all_converged = true;
  for (int n : steps) {
    problem.reset_evaluations();
    auto& run = runs.emplace_back(experiments::run_volterra(problem.problem, method, n, grading));
    run.expression_evaluations = problem.expression_evaluations();
    jruns.push_back(experiments::convergence_run_json(run));
    records.push_back(experiments::Record::parse(jruns.back().dump()));
    all_converged = all_converged && run.result.converged();
  }
  const double order = spec.exact ? experiments::observed_orders(records).fitted : std::numeric_limits<double>::quiet_NaN();

  if (format_ == "json") {
    nlohmann::json eq = {{"kind", experiments::to_string(spec.kind)},
                         {"description", equation_text(spec)},
                         {"f", spec.f},
                         {"kernel", spec.kernel},
                         {"T", spec.T},
                         {"y0", spec.y0 ? nlohmann::json(*spec.y0) : nlohmann::json()},
                         {"singular_exponent", spec.singular_exponent ? nlohmann::json(*spec.singular_exponent) : nlohmann::json()},
                         {"exact", spec.exact ? nlohmann::json(*spec.exact) : nlohmann::json()}};
    nlohmann::json j = {
        {"command", "solve volterra"},
        {"equation", eq},
        {"method", experiments::to_string(method)},
        {"stated_order", experiments::stated_order(method)},
        {"grid", {{"grading", grading}, {"kind", grading == 1 ? "uniform" : "graded"}}},
        {"steps", steps},
        {"runs", jruns},
        {"observed_order", experiments::json_number(order)},
        {"observed_order_rule", "least-squares slope of log(max_error) over log(h), converged runs with a finite error"},
        {"all_converged", all_converged},
    };
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::vector<std::pair<std::string, std::string>> lines = {
        {"equation", equation_text(spec)},
        {"method", experiments::to_string(method) + " (stated order " +
                       std::to_string(experiments::stated_order(method)) + ")"},
        {"grid", grading == 1 ? std::string("uniform") : "graded, t_j = T (j/N)^" + format_exact(grading)},
        {"exact", spec.exact ? *spec.exact : std::string("(not given: no errors)")},
    };
    std::size_t width = 0;
    for (const auto& l : lines) width = std::max(width, l.first.size());
    for (const auto& [key, value] : lines) out << key << std::string(width + 2 - key.size(), ' ') << value << "\n";
    out << "\n";
    experiments::Table t = experiments::convergence_table(records);
    t.columns.insert(t.columns.begin() + 6, "expression evals");
    t.align.insert(t.align.begin() + 6, experiments::Align::right);
    for (std::size_t i = 0; i < runs.size(); ++i)
      t.rows[i].insert(t.rows[i].begin() + 6, std::to_string(runs[i].expression_evaluations));
    out << t.to_text() << "\n";
    if (spec.exact)
      out << "observed order  "
          << (std::isfinite(order) ? fmt::format("{:.3f}", order) : std::string("not available (fewer than 2 usable runs)"))
          << "  (least-squares slope of log(max error) over log(h), converged runs; stated order "
          << experiments::stated_order(method) << ")\n";
    for (const auto& r : runs) {
      if (r.result.converged()) continue;
      out << "N = " << r.steps << ": " << to_string(r.result.status);
      if (r.result.status == Status::blow_up)
        out << ", estimated blow-up time t* = " << format_scientific(r.result.blow_up_estimate, 6)
            << " (y ~ C (t* - t)^(-p), p = " << format_scientific(r.result.blow_up_exponent, 3)
            << ", fitted up to the last resolved node t = " << format_scientific(r.result.last_reliable_time, 6) << ");";
      out << " stopped at t = " << format_scientific(r.result.blow_up_time, 6) << ". " << r.result.message << "\n";
    }
  }
  out.flush();
  return all_converged ? exit_ok : exit_not_converged;
}

}  // namespace iterop::cli
