// Problem catalogue: named fixed-point problems x = G(x) (heq, linear, rotation, diverge, nan, and
// any a user registers), each built from named numeric parameters, with x0 and its known answer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iterop/core/status.hpp"

namespace iterop::experiments {

/// y = G(x) on contiguous arrays of equal size (the same shape as iterop::baselines::VectorOperator,
/// and callable as op(x, y) with std::vector<double> arguments, so iterop::solve accepts it).
using ProblemOperator = std::function<void(std::span<const double> x, std::span<double> y)>;

/// Named numeric parameters of a problem, e.g. {"c", 0.99}, {"n", 512}. Integers are stored exactly.
using ParameterValues = std::map<std::string, double, std::less<>>;

/// One parameter a problem takes: its name, default, meaning and the rule its value must meet.
struct ParameterSpec {
  std::string name;                  ///< e.g. "c"; the command line exposes it as --c
  double default_value = 0.0;        ///< used when the parameter is not given
  std::string description;           ///< one phrase, e.g. "albedo"
  std::string rule;                  ///< the constraint in words, e.g. "0 < c <= 1"
  std::function<bool(double)> valid; ///< the constraint as code (empty: any finite value)
  bool integer = false;              ///< the value must be an integer

  /// The violated rule for `value` (integrality, finiteness, then `valid`), or nothing if it is fine.
  std::optional<std::string> violation(double value) const;
};

/// What is known about a problem's answer, so results can be checked without a reference solver.
struct KnownAnswer {
  std::optional<std::vector<double>> solution;  ///< the exact fixed point, where one exists and is known
  std::optional<double> rate;                   ///< Picard's asymptotic rate (exact) or a bound on it
  bool rate_is_bound = false;                   ///< `rate` is an upper bound rather than the exact value
  std::optional<Status> picard_status;          ///< the status Picard iteration must end with, where known
  std::string note;                             ///< published counts, behaviour of the methods, ...
};

/// A fixed-point problem built from the catalogue: operator, initial guess, and what is known.
struct FixedPointProblem {
  std::string name;            ///< catalogue name, e.g. "heq"
  std::string description;     ///< one line with the parameter values, e.g. "H-equation, c = 0.99, N = 512"
  ParameterValues parameters;  ///< every parameter, defaults filled in
  ProblemOperator op;          ///< y = G(x)
  std::vector<double> x0;      ///< initial guess
  KnownAnswer known;           ///< known answer

  /// ||G(x) - x||_2, evaluating G once.
  double residual_norm(std::span<const double> x) const;
};

/// A catalogue entry: a name, a description, the parameters, and the factory that builds the problem.
struct ProblemEntry {
  std::string name;                   ///< unique, e.g. "linear"
  std::string description;            ///< one sentence: the operator and its known answer
  std::vector<ParameterSpec> parameters;
  /// Builds the problem; receives every parameter of `parameters`, already validated, defaults filled.
  std::function<FixedPointProblem(const ParameterValues&)> make;
};

/// A registry of fixed-point problems by name. Open: register_problem() adds more.
class ProblemCatalogue {
 public:
  /// An empty catalogue.
  ProblemCatalogue() = default;

  /// Adds a problem. Throws iterop::invalid_option for an empty or duplicate name or a missing factory.
  void register_problem(ProblemEntry entry);

  /// The entry called `name`, or nullptr.
  const ProblemEntry* find(std::string_view name) const;

  /// Names in registration order.
  std::vector<std::string> names() const;

  /// Every entry, in registration order.
  const std::vector<ProblemEntry>& entries() const { return entries_; }

  /// Builds problem `name` from `given` (missing parameters take their defaults). Throws
  /// iterop::invalid_option for an unknown problem, a parameter the problem does not take, or a
  /// value that breaks its rule; each message names the field, the value and the rule.
  FixedPointProblem make(std::string_view name, const ParameterValues& given = {}) const;

 private:
  std::vector<ProblemEntry> entries_;
};

/// Adds heq, linear, rotation, diverge and nan (see PROBLEMS.md) to `catalogue`.
void register_builtin_problems(ProblemCatalogue& catalogue);

/// The process-wide catalogue used by the command line and the experiments: the built-in problems,
/// plus whatever the program registers before use (not thread-safe while registering).
ProblemCatalogue& default_problem_catalogue();

}  // namespace iterop::experiments
