// Volterra methods by name (the rules of quadrature::volterra_rules: names, orders, the kind each
// fits, dispatch) and convergence studies: one solve per step count, errors, fitted order, JSON.
#pragma once

#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/experiments/runner/records.hpp"
#include "iterop/experiments/runner/table.hpp"
#include "iterop/experiments/problems/volterra_expression.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/volterra_result.hpp"

namespace iterop::experiments {

/// A rule of quadrature::volterra_rules (volterra_rules.hpp), by its name: everything about it
/// (order, kind, grids, dispatch) comes from that one list. Get one from parse_volterra_method,
/// volterra_methods() or the shorthands below; a value type (copy, ==, to_string).
class VolterraMethod {
 public:
  /// quadrature::Trapezoid.
  constexpr VolterraMethod() = default;
  /// The rule's name ("trapezoid"): to_string(method).
  constexpr std::string_view name() const { return name_; }
  friend constexpr bool operator==(VolterraMethod a, VolterraMethod b) { return a.name_ == b.name_; }

  /// Shorthands for the rules that studies name in code (each is the rule's own `name`):
  /// quadrature::Trapezoid, BlockBySimpson, ProductTrapezoid, FirstKindMidpoint, FirstKindTrapezoid, IdeTrapezoid.
  static const VolterraMethod trapezoid, block_simpson, product_trapezoid, midpoint, first_kind_trapezoid, ide_trapezoid;

 private:
  explicit constexpr VolterraMethod(std::string_view name) : name_(name) {}
  std::string_view name_ = "trapezoid";
  friend VolterraMethod parse_volterra_method(const std::string& name);
  friend std::vector<VolterraMethod> volterra_methods();
};

/// Every method, in the order of quadrature::volterra_rules.
std::vector<VolterraMethod> volterra_methods();
/// The names of every method, in that order: what --method and an experiment file's `method` accept.
std::vector<std::string> volterra_method_names();
/// Those names as text for messages: "trapezoid, block_simpson, ..." (last = " or ": "..., midpoint or ide_trapezoid").
std::string volterra_method_list(std::string_view last = ", ");
/// The rule's name: "trapezoid", "block_simpson", ... (its struct's `name`).
std::string to_string(VolterraMethod method);
/// Prints to_string(method) (for test messages).
std::ostream& operator<<(std::ostream& out, VolterraMethod method);
/// Parses a method name; throws iterop::invalid_option ("--method = x. Violated constraint: one of ...").
VolterraMethod parse_volterra_method(const std::string& name);
/// The order the method states (its struct's `static constexpr int order`).
int stated_order(VolterraMethod method);
/// One line generated from the rule's data: what it is, the kind of equation and kernel, the grids,
/// the order, and whether it is a default; for --help.
std::string describe(VolterraMethod method);
/// The natural method: the first of the list that solves `kind` and, for a > 0, weakly singular kernels
/// (trapezoid for the second kind, product_trapezoid with a > 0, midpoint for the first, ide_trapezoid).
VolterraMethod default_volterra_method(VolterraKind kind, double singular_exponent);

/// Checks, before any solve, that `method` fits the equation and the grids, from the rule's data: the
/// kind, the singular exponent (only weakly singular rules take a > 0), a uniform grid (grading 1) and
/// step counts that are multiples of the block (even for block_simpson), a grading r >= 1 whose nodes
/// t_j = (j/N)^r stay distinct in double precision for every N (else they collapse to 0). Throws
/// iterop::invalid_option naming the option (--method, --grading, --intervals), the value and the rule.
void check_volterra_method(VolterraMethod method, VolterraKind kind, double singular_exponent, double grading,
                           const std::vector<int>& steps);

/// The most intervals of one Volterra grid, for the command line and experiment files alike (2^20):
/// the direct histories cost O(N^2) kernel evaluations (10^12 at this limit).
inline constexpr int max_volterra_intervals = 1 << 20;

/// Checks, before any solve, the values the expressions give where the solves will use them: f(0) (y(0)
/// of the second kind) finite, and the exact solution finite at every node of every grid (at the
/// midpoints for the midpoint rule). Throws iterop::invalid_option naming --f or --exact, the expression
/// and the first node where it is not finite, with how many nodes are affected.
void check_expression_values(const VolterraExpressionProblem& problem, VolterraMethod method,
                             const std::vector<int>& steps, double grading);

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
/// Solves `problem` on `grid` by `method` with default options, dispatched by name through
/// quadrature::volterra_rules (the method must fit its kind: check_volterra_method).
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

/// A run as JSON: steps, h, status, message, max_error, evaluations (kernel), forcing_evaluations,
/// iterations (of the implicit equations), seconds (wall), solver_seconds, nodes, t_end, y_end,
/// blow_up_time (null when none), and expression_evaluations when counted.
nlohmann::json convergence_run_json(const ConvergenceRun& run);

/// A run that an order is fitted over: status converged, a finite positive max_error, h > 0 (fields of
/// convergence_run_json).
bool usable_run(const Record& run);
/// log(e_c / e_f) / log(h_c / h_f) between two runs (NaN unless both are usable with different h).
double local_order(const Record& coarse, const Record& fine);

/// The orders of a convergence study, from its runs (convergence_run_json's fields) in N order.
struct ObservedOrders {
  double fitted = std::numeric_limits<double>::quiet_NaN();        ///< least squares over the usable runs
  double local_finest = std::numeric_limits<double>::quiet_NaN();  ///< local order of the two finest runs
};
/// Least-squares slope of log(max error) over log(h) over the usable runs (NaN with fewer than two; see
/// iterop::observed_order) and the local order of the two finest runs.
ObservedOrders observed_orders(const Records& runs);

/// The runs (convergence_run_json's fields, in N order) as a table: N, h, status, max error, local order,
/// kernel evaluations, iterations, time, and the blow-up time and last node where the solve stopped early.
/// Shared by `iterop solve volterra` and the Volterra studies.
Table convergence_table(const Records& runs);

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
