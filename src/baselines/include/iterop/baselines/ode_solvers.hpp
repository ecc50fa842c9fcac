// ODE integrators as baselines (SUNDIALS CVODE and ARKODE 6.4, Boost.Odeint) behind plain data:
// z' = F(t, z) solved to given output times by dense output, with every evaluation counted.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "iterop/core/status.hpp"

namespace iterop::baselines {

/// Right-hand side of z' = F(t, z): writes F(t, z) into dz. The same type as
/// iterop::quadrature::OdeRhsFn, so an OdeForm's members can be copied in.
using OdeRhs = std::function<void(double t, std::span<const double> z, std::span<double> dz)>;
/// Dense Jacobian dF/dz at (t, z), row-major n x n: jac[i * n + j] = dF_i / dz_j.
using OdeJacobian = std::function<void(double t, std::span<const double> z, std::span<double> jac)>;

/// An initial value problem z' = F(t, z), z(t0) = z0, z in R^dimension.
struct OdeProblem {
  int dimension = 0;        ///< n >= 1
  OdeRhs rhs;               ///< F, required
  OdeJacobian jacobian;     ///< optional analytic dF/dz (empty: the integrator uses difference quotients)
  std::vector<double> z0;   ///< z(t0), size n, finite
  double t0 = 0;            ///< initial time, finite

  /// Throws iterop::invalid_option naming the field, the value and the rule (a size mismatch names both sizes).
  void validate() const;
};

/// The integrators. Implicit ones use the analytic Jacobian when the problem has one.
enum class OdeMethod {
  cvode_bdf,           ///< CVODE BDF (orders 1-5), Newton with the dense direct solver (SUNDenseMatrix + SUNLinSol_Dense)
  cvode_adams,         ///< CVODE Adams-Moulton (orders 1-12) with the fixed-point nonlinear solver (functional iteration): for non-stiff problems
  arkode_erk,          ///< ARKODE ARKStep, explicit: its default 4th-order ERK table, Hermite dense output
  arkode_dirk,         ///< ARKODE ARKStep, implicit: its default 4th-order SDIRK table, Newton + dense solver (Newton matrix re-formed every step), Lagrange dense output
  odeint_dopri5,       ///< Boost.Odeint runge_kutta_dopri5 in make_dense_output (controlled, 5th order, 4th-order dense output)
  odeint_rk4,          ///< Boost.Odeint runge_kutta4 with the fixed step OdeOptions::fixed_step; no error control, no interpolation
  /// Boost.Odeint rosenbrock4 (controller + dense output) with the Jacobian (difference quotients when
  /// none), on the autonomous form (z, t): Boost 1.74's own dF/dt handling is only first-order accurate
  odeint_rosenbrock4,
};

/// Every OdeMethod, in declaration order.
std::vector<OdeMethod> ode_methods();
/// "cvode_bdf", "cvode_adams", "arkode_erk", "arkode_dirk", "odeint_dopri5", "odeint_rk4", "odeint_rosenbrock4".
std::string to_string(OdeMethod m);
/// Parses a name of to_string; throws iterop::invalid_option for an unknown one.
OdeMethod parse_ode_method(const std::string& name);
/// Whether the method solves linear systems with dF/dz (cvode_bdf, arkode_dirk, odeint_rosenbrock4).
bool is_implicit(OdeMethod m);

/// Options of solve_ode. Tolerances mean what each integrator makes of them (SUNDIALS: RMS norm of
/// the local error estimate with weights 1 / (rtol |z_i| + atol); Odeint dopri5: max norm with
/// weights 1 / (atol + rtol (|z_i| + h |z'_i|)); rosenbrock4: RMS norm with weights
/// 1 / (atol + rtol max(|z_i|, |z_i new|))), which is why baselines are compared at equal accuracy,
/// never at equal tolerance.
struct OdeOptions {
  OdeMethod method = OdeMethod::cvode_bdf;  ///< the integrator
  double rtol = 1e-6;         ///< relative tolerance, 0 < rtol < 1 (ignored by odeint_rk4)
  double atol = 1e-10;        ///< absolute tolerance for every component, > 0 (ignored by odeint_rk4)
  double fixed_step = 0;      ///< odeint_rk4 only: its step h > 0; must be 0 for every other method
  long max_steps = 1000000;   ///< budget of accepted steps over the whole solve, >= 1

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
  /// e.g. "cvode_bdf(rtol=1e-06, atol=1e-10)".
  std::string describe() const;
};

/// What solve_ode returns. On success `times` equals the requested output times; when the integrator
/// stops early they are the prefix it reached, and `status`/`message` say why.
struct OdeSolution {
  int dimension = 0;                 ///< n, the state dimension
  std::vector<double> times;         ///< output times reached
  std::vector<double> states;        ///< flat, times.size() x n, row i = z(times[i])
  /// converged: every output time was reached (the tolerances met as the integrator understands
  /// them); max_iterations: OdeOptions::max_steps reached; non_finite: F (or dF/dz) returned NaN or
  /// Inf and the integrator could not go on; diverged: the integrator failed otherwise (error test or
  /// Newton failures down to the smallest step, step-size control failure); stagnated: the tolerance
  /// asked for more accuracy than floating point allows (CVODE/ARKODE TOO_MUCH_ACC).
  Status status = Status::converged;
  std::string message;               ///< one or more sentences; the integrator's own messages included
  long rhs_evaluations = 0;          ///< every call of F, counted by a wrapper (difference-quotient Jacobians and initial-step estimates included)
  long jacobian_evaluations = 0;     ///< analytic dF/dz calls (wrapper), or difference-quotient Jacobians formed (integrator)
  long steps = 0;                    ///< accepted steps
  double seconds = 0;                ///< wall time of the solve
  std::vector<std::pair<std::string, double>> counters;  ///< the integrator's own statistics, by name

  /// z(times[i]), a view into `states`.
  std::span<const double> state(std::size_t i) const {
    return std::span<const double>(states).subspan(i * static_cast<std::size_t>(dimension),
                                                   static_cast<std::size_t>(dimension));
  }
  /// Whether every output time was reached.
  bool usable() const { return status == Status::converged; }
};

/// Solves z' = F(t, z), z(t0) = z0 and returns z at the output times (strictly increasing, >= t0,
/// finite) by DENSE OUTPUT: the integrator chooses its steps as if only the last output time had
/// been asked for, and each output is interpolated from the step that covers it (CVodeGetDky,
/// ARKStepGetDky, Odeint's calc_state via integrate_times). Hence the number of steps does not
/// depend on how many output times are asked for. CVODE and ARKODE may step past the last output
/// time (F is evaluated there); Odeint shortens its last step to end on it. odeint_rk4 interpolates
/// nothing: every output time must lie on its grid t0 + k h (to 1e-9 h), checked before any work.
/// Invalid input throws iterop::invalid_option before any work; integrator failures are statuses,
/// never printed and never an abort; misuse of a backend throws iterop::backend_error; an exception
/// thrown by F or by the Jacobian propagates.
OdeSolution solve_ode(const OdeProblem& problem, std::span<const double> output_times, const OdeOptions& options);

}  // namespace iterop::baselines
