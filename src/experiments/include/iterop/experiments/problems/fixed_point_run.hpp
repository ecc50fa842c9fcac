// One fixed-point solve of a catalogue problem by iterop, KINSOL or Ceres, described the way the
// command line names it (method, memory, relaxation, orth), with its results as JSON and tables.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/core/result.hpp"
#include "iterop/experiments/problems/problem_catalogue.hpp"
#include "iterop/experiments/runner/table.hpp"
#include "iterop/fixed_point/stop.hpp"

namespace iterop::experiments {

/// The library that solves.
enum class Backend { iterop, kinsol, ceres };

/// "iterop", "kinsol", "ceres".
std::string to_string(Backend backend);
/// Parses a backend name; throws iterop::invalid_option ("--solver = x. Violated constraint: ...").
Backend parse_backend(const std::string& name);
/// Whether this build can run `backend` (KINSOL needs SUNDIALS, Ceres needs Ceres at configure time).
bool backend_available(Backend backend);
/// The backends this build can run, e.g. "iterop, kinsol".
std::string available_backends();

/// Which stopping test KINSOL uses (see iterop::baselines::KinsolAnderson::Test).
enum class KinsolTest { iterop, kinsol };

/// A fixed-point method as named on the command line. Unset options take the method's defaults.
/// Methods: picard, km (Krasnoselskii-Mann), anderson (Type II), anderson-type1 (safeguarded
/// Type I, iterop only), lm (Levenberg-Marquardt, the only method of the Ceres backend).
struct MethodSpec {
  std::optional<std::string> method;  ///< unset: "anderson" (iterop, kinsol) or "lm" (ceres)
  Backend solver = Backend::iterop;
  std::optional<int> memory;          ///< Anderson depth m (anderson, anderson-type1)
  /// The weight on T(x), in (0, 1] (1: no relaxation, the Picard step): Krasnoselskii-Mann's r in
  /// x+ = r T(x) + (1 - r) x (km), Anderson's beta (anderson), the Type-I averaging a (anderson-type1).
  std::optional<double> relaxation;
  /// Old names, refused by validate() with a message that names relaxation: alpha was the weight on x
  /// (relaxation = 1 - alpha), damping the weight on T(x) (relaxation = damping).
  std::optional<double> alpha;
  std::optional<double> damping;
  std::optional<std::string> orth;    ///< anderson: mgs or cgs2 (iterop); mgs, icwy, cgs2 or dcgs2 (kinsol)
  std::optional<KinsolTest> kinsol_test;  ///< kinsol only; unset: KinsolTest::iterop

  /// The method name in effect ("anderson" when unset with iterop or kinsol, "lm" with ceres).
  std::string method_name() const;
  /// Throws iterop::invalid_option naming the command-line option, its value and the rule: unknown
  /// method or orthogonalisation, an option the method does not take, a value out of range, a
  /// backend this build lacks.
  void validate() const;
};

/// The value of a method option: text (solver, method, orth, kinsol_test), an integer (memory) or a number.
using MethodOptionValue = std::variant<std::string, long long, double>;

/// One option of MethodSpec as the command line, an experiment file and method_spec_json() spell it.
struct MethodOption {
  enum Type { text, integer, number };
  std::string key;    ///< the experiment file's key and the JSON name, e.g. "kinsol_test"
  std::string flag;   ///< the command-line option, e.g. "--kinsol-test"
  std::string label;  ///< what precedes the value in a file cell's label, e.g. "test=" ("" for solver and method)
  Type type = text;
  /// Stores `value` in `spec`; throws iterop::invalid_option naming `flag` for a value it cannot hold
  /// (an unknown solver or KINSOL test, a memory past int).
  std::function<void(MethodSpec& spec, const MethodOptionValue& value)> set;
  /// The value in `spec`: always for solver and method (method_name()), nothing when an option is unset.
  std::function<std::optional<MethodOptionValue>(const MethodSpec& spec)> get;
};

/// Every option of MethodSpec: solver, method, memory, relaxation, alpha, damping, orth, kinsol_test.
const std::vector<MethodOption>& method_options();

/// A method option's value as text: a string as it is, an integer, a number by format_exact.
std::string method_option_text(const MethodOptionValue& value);

/// The options of `method` that are set (solver and method always), e.g. {"solver": "kinsol", "method":
/// "anderson", "memory": 3, "orth": "mgs"}: part of a cell's key in the cell cache.
nlohmann::json method_spec_json(const MethodSpec& method);

/// The outcome of one solve, with the true residual measured by iterop.
struct FixedPointRun {
  Backend solver = Backend::iterop;
  SolveSummary summary;                 ///< as the solver reported it (method description in summary.method)
  std::vector<double> solution;         ///< the returned iterate
  double true_residual = not_available; ///< ||G(x) - x||_2 of `solution`, one extra evaluation by iterop
  double tolerance = not_available;     ///< abs_tol + rel_tol ||G(x0) - x0||_2 (Norm::two)
  double error = not_available;         ///< ||x - x*||_2 where the problem's exact solution is known
  double wall_seconds = 0.0;            ///< wall time of the solve call

  /// true_residual <= tolerance (what "converged" means in a report, whoever stopped the solve).
  bool meets_tolerance() const { return true_residual <= tolerance; }
};

/// The Stop of the Toth-Kelley rule ||G(x) - x||_2 <= rel_tol ||G(x0) - x0||_2 + abs_tol, 2-norm,
/// at most max_iterations iterations (other Stop fields at their defaults).
Stop toth_kelley_stop(double abs_tol, double rel_tol, int max_iterations);

/// Validates `method` and solves `problem` with it. Throws iterop::invalid_option for bad options
/// and iterop::backend_error for a backend failure; numerical outcomes are in summary.status.
FixedPointRun run_fixed_point(const FixedPointProblem& problem, const MethodSpec& method, const Stop& stop);

/// The per-iteration history as a table: iteration, evaluations, residual, step, ratio, rate, gain,
/// condition, columns, dropped, restarted, rejected, seconds (run_json's "history" has the same fields).
Table history_table(const std::vector<IterationRecord>& history);

/// Everything about a run as JSON: problem (name, description, parameters, known answer), solver,
/// method (name, description, options), stop rule, status, message, iterations, evaluations,
/// residual (true ||G(x) - x||_2), reported_residual, initial_residual, tolerance, error, seconds,
/// counters, history.
nlohmann::json run_json(const FixedPointProblem& problem, const MethodSpec& method, const Stop& stop,
                        const FixedPointRun& run);

}  // namespace iterop::experiments
