// Volterra methods by name (trapezoid, block_simpson, product_trapezoid, midpoint, ide_trapezoid),
// which kind each fits, and convergence studies: one solve per step count, errors, fitted order, JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/experiments/table.hpp"
#include "iterop/experiments/volterra_expression.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/volterra_result.hpp"

namespace iterop::experiments {

/// The Volterra methods of iterop::quadrature, as named on the command line.
enum class VolterraMethod {
  trapezoid,          ///< quadrature::Trapezoid, second kind, regular kernel, order 2
  block_simpson,      ///< quadrature::BlockBySimpson, second kind, regular kernel, uniform grid, even steps, order 4
  product_trapezoid,  ///< quadrature::ProductTrapezoid, second kind, weakly singular (t - s)^(-a), order 2
  midpoint,           ///< quadrature::FirstKindMidpoint, first kind, order 2 (at the midpoints)
  ide_trapezoid,      ///< quadrature::IdeTrapezoid, integro-differential, order 2
};

/// Every method, in the order above.
std::vector<VolterraMethod> volterra_methods();
/// "trapezoid", "block_simpson", "product_trapezoid", "midpoint", "ide_trapezoid" (the struct's `name`).
std::string to_string(VolterraMethod method);
/// Parses a method name; throws iterop::invalid_option ("--method = x. Violated constraint: one of ...").
VolterraMethod parse_volterra_method(const std::string& name);
/// The order the method states (its struct's `static constexpr int order`).
int stated_order(VolterraMethod method);
/// One line: the kind of equation, the grids and the order, for --help.
std::string describe(VolterraMethod method);
/// The natural method: trapezoid (second kind, a = 0), product_trapezoid (a > 0), midpoint (first), ide_trapezoid.
VolterraMethod default_volterra_method(VolterraKind kind, double singular_exponent);

/// Checks, before any solve, that `method` fits the equation and the grids: the kind, the singular
/// exponent (only product_trapezoid takes a > 0), block_simpson's uniform grid (grading 1) and even
/// step counts, a grading r >= 1. Throws iterop::invalid_option naming the option (--method,
/// --grading, --steps), the value and the rule.
void check_volterra_method(VolterraMethod method, VolterraKind kind, double singular_exponent, double grading,
                           const std::vector<int>& steps);

/// Checks that a first-kind kernel does not vanish where the midpoint rule divides by it: K(t_n, t_n)
/// and K(t_n, t_{n-1/2}) on every grid of `steps`, and that g(0) = 0 (|g(0)| <= 1e-12). Throws
/// iterop::invalid_option naming --kernel (or --f), the expression (`kernel_text`, `rhs_text` when
/// given), the rule and where it fails.
void check_first_kind(const quadrature::FirstKindProblem& problem, const std::vector<int>& steps, double grading,
                      const std::string& kernel_text = "", const std::string& rhs_text = "");

/// How a default quadrature::Trapezoid sums convolution histories in this build: "fft" (fast lag
/// sums, O(N log^2 N)) or "direct" (O(N^2)).
std::string trapezoid_lag_sums();

/// The grid of N steps on [0, T]: uniform for grading 1, else t_j = T (j / N)^grading.
quadrature::Grid volterra_grid(double T, int steps, double grading);
/// T of any problem.
double problem_end(const AnyVolterraProblem& problem);
/// Solves `problem` on `grid` by `method` (which must fit its kind: check_volterra_method).
quadrature::VolterraResult solve_with(const AnyVolterraProblem& problem, const quadrature::Grid& grid,
                                      VolterraMethod method);

/// One solve of a convergence study.
struct ConvergenceRun {
  int steps = 0;                      ///< N
  double h = 0;                       ///< the largest step of the grid
  quadrature::VolterraResult result;  ///< status, errors, counters, nodes reached
  double wall_seconds = 0;            ///< wall time of the solve call
  long expression_evaluations = -1;   ///< muparser evaluations of f and K, -1 when not an expression problem
};

/// Solves with N = steps on volterra_grid(T, N, grading) and times it.
ConvergenceRun run_volterra(const AnyVolterraProblem& problem, VolterraMethod method, int steps, double grading);

/// Least-squares slope of log(max error) over log(h) over the converged runs with a finite, positive
/// error (NaN with fewer than two such runs). See iterop::observed_order.
double fitted_order(const std::vector<ConvergenceRun>& runs);
/// log(e_{i-1} / e_i) / log(h_{i-1} / h_i) between run i - 1 and i (NaN where either is unusable).
double local_order(const ConvergenceRun& coarse, const ConvergenceRun& fine);

/// A run as JSON: steps, h, status, message, max_error, evaluations (kernel), forcing_evaluations,
/// iterations (of the implicit equations), seconds (wall), solver_seconds, nodes, t_end, y_end,
/// blow_up_time (null when none), and expression_evaluations when counted.
nlohmann::json convergence_run_json(const ConvergenceRun& run);

/// The runs as a table: N, h, status, max error, local order, evaluations, iterations, time, and
/// t_end / blow-up time where the solve stopped early.
Table convergence_table(const std::vector<ConvergenceRun>& runs);

/// One row of an error-by-grid table: a label, the cell text for each step count it ran, and the
/// observed (fitted) and stated orders.
struct ErrorTableRow {
  std::string label;
  std::vector<std::pair<int, std::string>> cells;  ///< (N, text): an error, or a status
  double observed_order = 0;
  int stated_order = 0;
};

/// "method | N = ... | observed order | stated order", one column per step count of any row (sorted);
/// a row without a given N leaves that cell empty. Shared by the volterra experiment and experiment files.
Table error_table(const std::vector<ErrorTableRow>& rows);

}  // namespace iterop::experiments
