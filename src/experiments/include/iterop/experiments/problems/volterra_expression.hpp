// Volterra problems from expressions: a muparser expression in some of t, s, y compiled once and
// evaluated by address-bound variables, and the second-kind, first-kind and IDE problems built from them.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "iterop/quadrature/volterra_problem.hpp"

namespace iterop::experiments {

/// A scalar expression f(t, s, y) (muparser syntax: + - * / ^, sin, cos, exp, log, sqrt, abs, ...,
/// constants pi, _pi, _e) in a chosen subset of the variables t, s, y. Compiled once; every call is
/// counted. Not thread-safe (one object per thread); copies share nothing.
class VolterraExpression {
 public:
  /// Compiles `text`, given for `option` (e.g. "--kernel"), accepting only `variables` (a subset of
  /// "t", "s", "y"). Throws iterop::invalid_option, one line: "<option> = <text>. Violated
  /// constraint: ..." naming the position of a syntax error (0-based, with the expression marked) or
  /// the unknown variable or function and the variables allowed.
  VolterraExpression(std::string option, std::string text, std::vector<std::string> variables);
  ~VolterraExpression();
  VolterraExpression(VolterraExpression&&) noexcept;
  VolterraExpression& operator=(VolterraExpression&&) noexcept;
  VolterraExpression(const VolterraExpression&) = delete;
  VolterraExpression& operator=(const VolterraExpression&) = delete;

  /// The value at (t, s, y); variables the expression does not use are ignored. Counted.
  double operator()(double t, double s = 0, double y = 0);

  /// Calls of operator() so far.
  long evaluations() const { return evaluations_; }
  /// Sets the counter back to 0.
  void reset_evaluations() { evaluations_ = 0; }
  /// Whether the expression uses variable `name` ("t", "s" or "y").
  bool uses(std::string_view name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  long evaluations_ = 0;
};

/// The three kinds of Volterra equation the command line accepts (scalar, d = 1).
enum class VolterraKind {
  second,  ///< y(t) = f(t) + int_0^t (t - s)^(-a) K(t, s, y(s)) ds
  first,   ///< int_0^t K(t, s) y(s) ds = g(t)
  ide,     ///< y'(t) = F(t, y) + int_0^t K(t, s, y(s)) ds, y(0) = y0
};

/// "second", "first", "ide".
std::string to_string(VolterraKind kind);
/// Parses a kind name; throws iterop::invalid_option ("--kind = x. Violated constraint: ...").
VolterraKind parse_volterra_kind(const std::string& name);

/// A scalar Volterra equation given by expressions, as on the command line.
struct VolterraExpressionSpec {
  VolterraKind kind = VolterraKind::second;
  std::string f;                           ///< second: f(t); first: g(t); ide: F(t, y)
  std::string kernel;                      ///< second, ide: K(t, s, y); first: K(t, s)
  double T = 1;                            ///< end of the interval [0, T], > 0
  std::optional<double> y0;                ///< ide only, required there
  std::optional<double> singular_exponent; ///< second kind only: a in (0, 1)
  std::optional<std::string> exact;        ///< exact solution y(t), optional
};

/// Any of the quadrature component's problem types.
using AnyVolterraProblem =
    std::variant<quadrature::SecondKindProblem, quadrature::FirstKindProblem, quadrature::IntegroDifferentialProblem>;

/// A problem built from expressions, together with the expressions (for their evaluation counts).
struct VolterraExpressionProblem {
  VolterraExpressionSpec spec;
  AnyVolterraProblem problem;                   ///< its closures share the expressions below
  std::shared_ptr<VolterraExpression> f;        ///< f, g or F
  std::shared_ptr<VolterraExpression> kernel;   ///< K
  std::shared_ptr<VolterraExpression> exact;    ///< null without an exact solution

  /// Evaluations of f and K since the last reset (the exact solution is not counted).
  long expression_evaluations() const { return f->evaluations() + kernel->evaluations(); }
  /// Resets the counters of f, K and the exact solution.
  void reset_evaluations() const;
};

/// Compiles the expressions of `spec` and builds the problem. Throws iterop::invalid_option naming
/// the option (--f, --kernel, --exact, --T, --y0, --singular-exponent, --kind), its value and the
/// rule: syntax errors with their position, unknown variables, T <= 0, a missing or superfluous
/// --y0, a singular exponent outside (0, 1) or with a kind other than second.
VolterraExpressionProblem make_expression_problem(const VolterraExpressionSpec& spec);

}  // namespace iterop::experiments
