// What a Volterra quadrature rule states as data (name, order, the equations, kernels and grids it
// accepts) and, for a second-kind rule, the weights of one step as the marching loop asks for them.
#pragma once

#include <concepts>
#include <string_view>
#include <vector>

#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/volterra_problem.hpp"

namespace iterop::quadrature {

/// The equation a rule solves: second kind (SecondKindProblem), first kind (FirstKindProblem) or
/// integro-differential (IntegroDifferentialProblem).
enum class EquationKind { second_kind, first_kind, integro_differential };

/// The grids a rule accepts: any (uniform or graded, Grid::graded) or only uniform ones.
enum class GridKind { any, uniform };

/// The problem type of each EquationKind: problem_of<EquationKind::second_kind>::type is SecondKindProblem.
template <EquationKind K> struct problem_of;
template <> struct problem_of<EquationKind::second_kind> { using type = SecondKindProblem; };
template <> struct problem_of<EquationKind::first_kind> { using type = FirstKindProblem; };
template <> struct problem_of<EquationKind::integro_differential> { using type = IntegroDifferentialProblem; };

/// A Volterra rule: its theory and scope as static constexpr data, read by tests, the registry
/// (volterra_rules.hpp) and the command line, never retyped.
///   R::name             the name on the command line and in reports ("trapezoid")
///   R::order            global order for smooth problems (tests fit the observed order against it)
///   R::equation         the EquationKind it solves
///   R::weakly_singular  accepts kernels (t - s)^(-a) K with 0 < a < 1 (SecondKindProblem::singular_exponent)
///   R::convolution      sums the history of a convolution kernel a(t - s) G(y) as lag sums (uniform grids)
///   R::grids            GridKind::any or GridKind::uniform
///   R::nodes_per_step   nodes solved together per step (2 for a block method; the step count must be a multiple)
///   R::summary          a few words for --help ("block-by-block Simpson")
/// and `r.validate()` throwing invalid_option for bad options.
template <class R>
concept VolterraRule = std::default_initializable<R> && requires(const R& r) {
  { R::name } -> std::convertible_to<std::string_view>;
  { R::order } -> std::convertible_to<int>;
  { R::equation } -> std::convertible_to<EquationKind>;
  { R::weakly_singular } -> std::convertible_to<bool>;
  { R::convolution } -> std::convertible_to<bool>;
  { R::grids } -> std::convertible_to<GridKind>;
  { R::nodes_per_step } -> std::convertible_to<int>;
  { R::summary } -> std::convertible_to<std::string_view>;
  r.validate();
};

/// One evaluation of the kernel inside a step, at an abscissa s that carries an unknown value:
/// weight * K(t, s, v) in the equation of node t. v is the step's unknown number `unknown`, or, when
/// `interpolation` is given, (sum_q interpolation[q] z_q) / divisor over z_0 = y at the last known
/// node and z_q = unknown q - 1 (q = 1, 2, ...), e.g. an off-grid point of a block method.
struct ImplicitPoint {
  double s = 0;                       ///< where the kernel is evaluated (second argument of K)
  double weight = 0;                  ///< its quadrature weight
  int unknown = 0;                    ///< which unknown of the step gives v (without interpolation)
  std::vector<double> interpolation{};///< coefficients over (y_last, unknown 0, unknown 1, ...), or empty
  double divisor = 1;                 ///< v = (sum ...) / divisor
  /// In the lag-sum form (convolution kernel, uniform grid): >= 0 evaluates (weight a(lag h)) G(v)
  /// instead of weight K(t, s, v) (s must then be t - lag h).
  int lag = -1;
};

/// A known node j entering the lag-sum form of a history with factor a(t - t_j) G(y_j).
struct LagTerm {
  int node = 0;             ///< j
  double factor = 0;        ///< kappa (inside the bracket) or e (outside)
  /// Evaluate G(y_j) again (counted) instead of reusing the value from node j's push. BlockBySimpson
  /// sets it, which keeps its kernel-evaluation counts those of the code before the marching loop;
  /// dropping it would save one evaluation per block (N / 2) and change no other number.
  bool reevaluate = false;
};

/// The equation of one unknown node t_n of a step:
///   y_n = f(t_n) + sum_{j < known} w_j K(t_n, t_j, y_j) + sum_points weight K(t_n, s, v).
/// In the lag-sum form (rule with `convolution`, convolution kernel, uniform grid, h = t_1 - t_0) the
/// history is instead
///   lag_scale (L_n - sum_inside kappa a(t_n - t_j) G(y_j)) + sum_outside e a(t_n - t_j) G(y_j),
///   L_n = sum_{j < known} a(t_n - t_j) sigma_j G(y_j),  sigma_j = R::lag_weight(j),
/// so that w_j = lag_scale sigma_j + end corrections; L_n is a fast lag sum (fast_lag_sum.hpp).
struct StepEquation {
  int node = 0;                       ///< n, set by the marching loop
  std::vector<double> history;        ///< w_j, j = 0..known-1 (direct form)
  double lag_scale = 0;               ///< lag-sum form: the factor of L_n
  std::vector<LagTerm> inside{};      ///< lag-sum form: kappa terms subtracted from L_n
  std::vector<LagTerm> outside{};     ///< lag-sum form: e terms added after the scaling
  std::vector<ImplicitPoint> points;  ///< the terms with unknown values
};

/// One step of a second-kind rule: nodes 0..known-1 are known; equations[i] is the equation of
/// node known + i, i < R::nodes_per_step.
struct SecondKindStep {
  int known = 1;
  bool lag_form = false;  ///< the history is summed in the lag-sum form (set by the marching loop)
  std::vector<StepEquation> equations;
};

/// A second-kind rule: a VolterraRule that supplies the weights of each step, and the options the
/// marching loop uses (march.hpp).
///   r.weights(problem, grid, step)   fills history (or lag_scale/inside/outside when step.lag_form)
///                                    and points of each of step.equations (node, known, lag_form set)
///   r.step                           StepSolver for the implicit equation of a step
///   r.blow_up_threshold              |y| > threshold max(1, |y(0)|) is reported as blow-up
/// A rule with R::convolution also has R::lag_weight(j) (sigma_j), `use_convolution` and `lag_sums`.
template <class R>
concept SecondKindRule = VolterraRule<R> && (R::equation == EquationKind::second_kind) &&
                         requires(const R& r, const SecondKindProblem& p, const Grid& g, SecondKindStep& s) {
                           r.weights(p, g, s);
                           r.step;
                           { r.blow_up_threshold } -> std::convertible_to<double>;
                         } && (!R::convolution || requires(const R& r) {
                           { R::lag_weight(0) } -> std::convertible_to<double>;
                           { r.use_convolution } -> std::convertible_to<bool>;
                           r.lag_sums;
                         });

}  // namespace iterop::quadrature
