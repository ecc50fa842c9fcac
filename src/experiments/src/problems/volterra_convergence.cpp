// Volterra methods by name (generated from quadrature::volterra_rules), the checks that a method fits
// the equation and its grids, and the pieces of a convergence study (timed solves, fitted and local
// orders, JSON and table rows).
#include "iterop/experiments/problems/volterra_convergence.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <ostream>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/diagnostics/observed_order.hpp"
#include "iterop/experiments/runner/report_writer.hpp"
#include "iterop/experiments/runner/run_time.hpp"
#include "iterop/quadrature/fast_lag_sum.hpp"
#include "iterop/quadrature/volterra_rules.hpp"

namespace iterop::experiments {

namespace q = quadrature;

namespace {

using rules = q::volterra_rules;

/// The rule's row of the order table (every VolterraMethod names one).
const q::RuleInfo& info(VolterraMethod method) {
  const q::RuleInfo* r = q::find_rule<rules>(method.name());
  require(r != nullptr, "--method", std::string(method.name()), "one of " + q::rule_names_text<rules>());
  return *r;
}

q::EquationKind equation_of(VolterraKind kind) {
  switch (kind) {
    case VolterraKind::first: return q::EquationKind::first_kind;
    case VolterraKind::ide: return q::EquationKind::integro_differential;
    case VolterraKind::second: break;
  }
  return q::EquationKind::second_kind;
}

VolterraKind kind_of(q::EquationKind equation) {
  switch (equation) {
    case q::EquationKind::first_kind: return VolterraKind::first;
    case q::EquationKind::integro_differential: return VolterraKind::ide;
    case q::EquationKind::second_kind: break;
  }
  return VolterraKind::second;
}

// The default VolterraMethod is the list's first rule, and the shorthands are the rules' own names.
static_assert(VolterraMethod{}.name() == q::rule_table<rules>()[0].name);

}  // namespace

constinit const VolterraMethod VolterraMethod::trapezoid{q::Trapezoid::name};
constinit const VolterraMethod VolterraMethod::block_simpson{q::BlockBySimpson::name};
constinit const VolterraMethod VolterraMethod::product_trapezoid{q::ProductTrapezoid::name};
constinit const VolterraMethod VolterraMethod::midpoint{q::FirstKindMidpoint::name};
constinit const VolterraMethod VolterraMethod::first_kind_trapezoid{q::FirstKindTrapezoid::name};
constinit const VolterraMethod VolterraMethod::ide_trapezoid{q::IdeTrapezoid::name};

std::vector<VolterraMethod> volterra_methods() {
  std::vector<VolterraMethod> out;
  for (const q::RuleInfo& r : q::rule_table<rules>()) out.push_back(VolterraMethod(r.name));
  return out;
}

std::vector<std::string> volterra_method_names() {
  std::vector<std::string> out;
  for (std::string_view n : q::rule_names<rules>()) out.emplace_back(n);
  return out;
}

std::string volterra_method_list(std::string_view last) { return q::rule_names_text<rules>(last); }

std::string to_string(VolterraMethod method) { return std::string(method.name()); }

std::ostream& operator<<(std::ostream& out, VolterraMethod method) { return out << method.name(); }

VolterraMethod parse_volterra_method(const std::string& name) {
  const q::RuleInfo* r = q::find_rule<rules>(name);
  require(r != nullptr, "--method", name, "one of " + volterra_method_list());
  return VolterraMethod(r->name);
}

int stated_order(VolterraMethod method) { return info(method).order; }

VolterraMethod default_volterra_method(VolterraKind kind, double singular_exponent) {
  const q::RuleInfo* r = q::default_rule<rules>(equation_of(kind), singular_exponent);
  require(r != nullptr, "--kind", to_string(kind), "a kind of equation that a rule of the list solves");
  return parse_volterra_method(std::string(r->name));
}

std::string describe(VolterraMethod method) {
  const q::RuleInfo& r = info(method);
  std::string s = std::string(r.summary) + "; ";
  switch (r.equation) {
    case q::EquationKind::second_kind:
      s += r.weakly_singular ? "second kind, regular or weakly singular (t - s)^(-a) K" : "second kind, regular kernel";
      break;
    case q::EquationKind::first_kind:
      s += r.weakly_singular ? "first kind, regular or Abel (t - s)^(-a) K" : "first kind";
      break;
    case q::EquationKind::integro_differential: s += "integro-differential"; break;
  }
  s += r.grids == q::GridKind::uniform ? "; uniform grid" : "; any grid (--grading)";
  if (r.nodes_per_step == 2) s += ", even interval counts";
  if (r.nodes_per_step > 2) s += ", interval counts that are multiples of " + std::to_string(r.nodes_per_step);
  s += "; order " + std::to_string(r.order);
  const VolterraKind kind = kind_of(r.equation);
  if (default_volterra_method(kind, 0) == method)
    s += " (default for --kind " + to_string(kind) + ")";
  else if (r.equation != q::EquationKind::integro_differential && default_volterra_method(kind, 0.5) == method)
    s += " (default with --singular-exponent)";
  return s;
}

void check_volterra_method(VolterraMethod method, VolterraKind kind, double singular_exponent, double grading,
                           const std::vector<int>& steps) {
  const std::string name = to_string(method);
  const q::RuleInfo& r = info(method);
  const VolterraKind fits = kind_of(r.equation);
  require(fits == kind, "--method", name,
          "a method for --kind " + to_string(kind) + " (" +
              to_string(default_volterra_method(kind, singular_exponent)) + "); " + name + " solves the " +
              (fits == VolterraKind::ide ? std::string("integro-differential equation (--kind ide)")
                                         : to_string(fits) + " kind (--kind " + to_string(fits) + ")"));
  if (singular_exponent > 0 && !r.weakly_singular) {
    std::string singular;
    for (const q::RuleInfo& other : q::rule_table<rules>())
      if (other.fits(r.equation, singular_exponent)) singular += (singular.empty() ? "" : " or ") + std::string(other.name);
    require(false, "--method", name, singular + " for a weakly singular kernel (--singular-exponent given)");
  }
  require(std::isfinite(grading) && grading >= 1, "--grading", grading, "r >= 1 (t_j = T (j/N)^r; 1 is uniform)");
  require(r.grids != q::GridKind::uniform || grading == 1, "--grading", grading, "1 (a uniform grid) for " + name);
  if (grading != 1)
    for (int n : steps) {
      // Graded nodes (j/N)^r: with a large r the first ones underflow to 0 (or to each other).
      double previous = 0;
      for (int j = 1; j <= n; ++j) {
        const double tj = std::pow(static_cast<double>(j) / n, grading);
        if (!(tj > previous))
          require(false, "--grading", grading,
                  "a grading whose nodes stay distinct: t_j = T (j/N)^r gives t_" + std::to_string(j - 1) + " = t_" +
                      std::to_string(j) + " = " + format_value(previous) + " T for N = " + std::to_string(n) +
                      " (the nodes collapse; use a smaller r)");
        previous = tj;
      }
    }
  if (r.nodes_per_step > 1)
    for (int n : steps)
      require(n % r.nodes_per_step == 0, "--intervals", n,
              (r.nodes_per_step == 2 ? std::string("even step counts")
                                     : "step counts that are multiples of " + std::to_string(r.nodes_per_step)) +
                  " for " + name + " (blocks of " + (r.nodes_per_step == 2 ? std::string("two") : std::to_string(r.nodes_per_step)) +
                  " steps)");
}

void check_first_kind(const q::FirstKindProblem& p, const std::vector<int>& steps, double grading,
                      const std::string& kernel_text, const std::string& rhs_text) {
  const double g0 = p.rhs(0.0);
  if (!(std::abs(g0) <= 1e-12))
    throw invalid_option("--f = " + (rhs_text.empty() ? std::string("g") : "\"" + rhs_text + "\"") +
                         ". Violated constraint: g(0) = 0 for the first kind, since int_0^0 K(0, s) y(s) ds = 0 (g(0) = " +
                         format_value(g0) + ").");
  for (int n_steps : steps) {
    const q::Grid grid = volterra_grid(p.T, n_steps, grading);
    for (int n = 1; n <= n_steps; ++n) {
      const double tn = grid.t[static_cast<std::size_t>(n)];
      const double mid = 0.5 * (grid.t[static_cast<std::size_t>(n) - 1] + tn);
      const double kd = p.kernel(tn, tn), km = p.kernel(tn, mid);
      if (!(std::isfinite(kd) && std::abs(kd) > 0 && std::isfinite(km) && std::abs(km) > 0)) {
        const bool diag = !(std::isfinite(kd) && std::abs(kd) > 0);
        throw invalid_option(
            "--kernel = " + (kernel_text.empty() ? std::string("K") : "\"" + kernel_text + "\"") +
            ". Violated constraint: a first-kind kernel that does not vanish on the diagonal, K(t, t) != 0, finite "
            "(the midpoint rule divides by K(t_n, t_{n-1/2}); K(" + format_value(tn) + ", " +
            format_value(diag ? tn : mid) + ") = " + format_value(diag ? kd : km) + " on the grid with N = " +
            std::to_string(n_steps) + ").");
      }
    }
  }
}

void check_expression_values(const VolterraExpressionProblem& problem, VolterraMethod method,
                             const std::vector<int>& steps, double grading) {
  const VolterraExpressionSpec& spec = problem.spec;
  if (spec.kind == VolterraKind::second) {
    const double f0 = (*problem.f)(0.0);
    if (!std::isfinite(f0))
      throw invalid_option("--f = \"" + spec.f + "\". Violated constraint: f(0) finite (f(0) = y(0) = " +
                           format_value(f0) + ").");
  } else if (spec.kind == VolterraKind::ide) {
    const double F0 = (*problem.f)(0.0, 0.0, *spec.y0);
    if (!std::isfinite(F0))
      throw invalid_option("--f = \"" + spec.f + "\". Violated constraint: F(0, y0) finite (F(0, " +
                           format_value(*spec.y0) + ") = " + format_value(F0) + ").");
  }
  if (problem.exact) {
    const bool midpoints = method == VolterraMethod::midpoint;
    for (int n : steps) {
      const q::Grid grid = volterra_grid(spec.T, n, grading);
      int bad = 0;
      double first = 0, value = 0;
      for (int j = midpoints ? 1 : 0; j <= n; ++j) {
        const double t = midpoints ? 0.5 * (grid.t[j - 1] + grid.t[j]) : grid.t[j];
        const double v = (*problem.exact)(t);
        if (!std::isfinite(v) && bad++ == 0) {
          first = t;
          value = v;
        }
      }
      if (bad > 0)
        throw invalid_option("--exact = \"" + *spec.exact + "\". Violated constraint: a finite exact solution at every " +
                             (midpoints ? "midpoint" : "node") + " (it is not finite at " + std::to_string(bad) +
                             " of them on the grid with N = " + std::to_string(n) + ", first at t = " +
                             format_value(first) + ": " + format_value(value) +
                             "; the max error and the observed order would leave them out).");
    }
    problem.reset_evaluations();
  }
}

namespace {
template <class M>
std::string lag_sums_of(const M& m) {
  if constexpr (requires { m.lag_sums.method; })
    return q::to_string(m.lag_sums.method);
  else
    return "direct";
}
}  // namespace

std::string trapezoid_lag_sums() { return lag_sums_of(q::Trapezoid{}); }

q::Grid volterra_grid(double T, int steps, double grading) {
  return grading == 1 ? q::Grid::uniform(T, steps) : q::Grid::graded(T, steps, grading);
}

double problem_end(const AnyVolterraProblem& problem) {
  return std::visit([](const auto& p) { return p.T; }, problem);
}

q::VolterraResult solve_with(const AnyVolterraProblem& problem, const q::Grid& grid, VolterraMethod method) {
  return std::visit([&](const auto& p) { return q::solve_by_name<rules>(method.name(), p, grid, "--method"); },
                    problem);
}

ConvergenceRun run_volterra(const AnyVolterraProblem& problem, VolterraMethod method, int steps, double grading) {
  ConvergenceRun run;
  run.steps = steps;
  const q::Grid grid = volterra_grid(problem_end(problem), steps, grading);
  run.h = grid.max_step();
  const auto t0 = std::chrono::steady_clock::now();
  run.result = solve_with(problem, grid, method);
  run.wall_seconds = seconds_since(t0);
  return run;
}

nlohmann::json convergence_run_json(const ConvergenceRun& run) {
  const q::VolterraResult& r = run.result;
  nlohmann::json j = {
      {"steps", run.steps},
      {"h", run.h},
      {"status", std::string(to_string(r.status))},
      {"message", r.message},
      {"max_error", json_number(r.max_error)},
      {"evaluations", r.kernel_evaluations},
      {"forcing_evaluations", r.forcing_evaluations},
      {"iterations", r.nonlinear_iterations},
      {"seconds", run.wall_seconds},
      {"solver_seconds", r.seconds},
      {"nodes", r.nodes()},
      {"t_end", r.t.empty() ? nlohmann::json() : json_number(r.t.back())},
      {"y_end", r.y.empty() ? nlohmann::json() : json_number(r.y.back())},
      {"blow_up_time", json_number(r.blow_up_time)},
  };
  if (r.status == Status::blow_up) {
    j["blow_up_estimate"] = json_number(r.blow_up_estimate);
    j["blow_up_exponent"] = json_number(r.blow_up_exponent);
    j["last_reliable_node"] = json_number(r.last_reliable_time);
  }
  if (run.expression_evaluations >= 0) j["expression_evaluations"] = run.expression_evaluations;
  return j;
}

bool usable_run(const Record& run) {
  const double e = number_of(run, "max_error");
  return text_of(run, "status") == "converged" && std::isfinite(e) && e > 0 && number_of(run, "h") > 0;
}

double local_order(const Record& coarse, const Record& fine) {
  const double hc = number_of(coarse, "h"), hf = number_of(fine, "h");
  if (!usable_run(coarse) || !usable_run(fine) || hc == hf) return std::numeric_limits<double>::quiet_NaN();
  return std::log(number_of(coarse, "max_error") / number_of(fine, "max_error")) / std::log(hc / hf);
}

ObservedOrders observed_orders(const Records& runs) {
  std::vector<double> h, e;
  for (const auto& r : runs)
    if (usable_run(r)) {
      h.push_back(number_of(r, "h"));
      e.push_back(number_of(r, "max_error"));
    }
  ObservedOrders o;
  if (h.size() >= 2) o.fitted = observed_order(h, e);
  if (runs.size() >= 2) o.local_finest = local_order(runs[runs.size() - 2], runs[runs.size() - 1]);
  return o;
}

Table convergence_table(const Records& runs) {
  Table t{.columns = {"N", "h", "status", "max error", "local order", "kernel evals", "iterations", "time", "stopped at"},
          .align = {Align::right, Align::right, Align::left, Align::right, Align::right, Align::right, Align::right,
                    Align::right, Align::left}};
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Record& r = runs[i];
    const double lo = i > 0 ? local_order(runs[i - 1], r) : std::numeric_limits<double>::quiet_NaN();
    std::string stopped;
    if (text_of(r, "status") != "converged") {
      const double t_end = number_of(r, "t_end");
      stopped = "t = " + format_scientific(number_of(r, "blow_up_time"), 4) + " (last node " +
                (std::isfinite(t_end) ? format_scientific(t_end, 4) : std::string("none")) + ")";
    }
    t.add_row({text_of(r, "steps"), format_scientific(number_of(r, "h")), text_of(r, "status"),
               format_scientific(number_of(r, "max_error")), std::isfinite(lo) ? fmt::format("{:.2f}", lo) : "",
               text_of(r, "evaluations"), text_of(r, "iterations"), format_seconds(number_of(r, "seconds")), stopped});
  }
  return t;
}

Table error_table(const std::vector<ErrorTableRow>& rows) {
  std::vector<int> ns;
  for (const auto& r : rows)
    for (const auto& [n, text] : r.cells)
      if (std::find(ns.begin(), ns.end(), n) == ns.end()) ns.push_back(n);
  std::sort(ns.begin(), ns.end());
  Table t{.columns = {"method"}, .align = {Align::left}};
  for (int n : ns) {
    t.columns.push_back("N = " + std::to_string(n));
    t.align.push_back(Align::right);
  }
  t.columns.insert(t.columns.end(), {"observed order", "stated order"});
  t.align.insert(t.align.end(), {Align::right, Align::right});
  for (const auto& r : rows) {
    std::vector<std::string> line{r.label};
    for (int n : ns) {
      auto it = std::find_if(r.cells.begin(), r.cells.end(), [n](const auto& c) { return c.first == n; });
      line.push_back(it == r.cells.end() ? std::string() : it->second);
    }
    line.push_back(format_fixed(r.observed_order, 2));
    line.push_back(std::to_string(r.stated_order));
    t.add_row(std::move(line));
  }
  return t;
}

}  // namespace iterop::experiments
