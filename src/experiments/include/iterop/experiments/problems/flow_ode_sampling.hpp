// Sampling a flow by integrating dz/dt = v(z, t) from t = 0 to 1 for a batch of starting points:
// fixed-step Euler (in-house), and the ODE baselines (Odeint rk4/dopri5, CVODE BDF/Adams), counting evaluations.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "iterop/core/status.hpp"
#include "iterop/distributions/sample_set.hpp"

namespace iterop::experiments {

/// A velocity field on a batch of plain data: writes v(x_r, t) for rows r < rows of x (row-major,
/// rows x dim) into out (rows x dim). ConditionalFlowMatching::velocity has this form:
///   VelocityFn v = [&m](const double* x, std::size_t n, double t, double* o) { m.velocity(x, n, t, o); };
using VelocityFn = std::function<void(const double* x, std::size_t rows, double t, double* out)>;

/// The integrators.
enum class FlowOdeMethod {
  euler,        ///< explicit Euler, `steps` equal steps (the CFM paper's sampler: 100 steps); in-house
  rk4,          ///< classical Runge-Kutta, `steps` equal steps (Boost.Odeint runge_kutta4 via iterop::baselines)
  dopri5,       ///< Dormand-Prince 5(4) with error control rtol/atol (Boost.Odeint via iterop::baselines)
  cvode_bdf,    ///< CVODE BDF + Newton with difference-quotient dense Jacobian (iterop::baselines): dim + 1
                ///< velocity calls per Jacobian per system, so per-sample BDF suits low dimensions (flows are not stiff)
  cvode_adams,  ///< CVODE Adams-Moulton + fixed-point iteration, no Jacobian (iterop::baselines)
};
/// Every FlowOdeMethod in declaration order.
std::vector<FlowOdeMethod> flow_ode_methods();
/// "euler", "rk4", "dopri5", "cvode_bdf", "cvode_adams".
std::string to_string(FlowOdeMethod m);
/// Parses a name of to_string; throws iterop::invalid_option for an unknown one.
FlowOdeMethod parse_flow_ode_method(const std::string& name);
/// Whether this build can run the method (all but euler need the ODE baselines, i.e. SUNDIALS found).
bool flow_ode_method_available(FlowOdeMethod m);

/// How the batch is handed to the integrator.
enum class FlowOdeGrouping {
  automatic,   ///< per_sample for cvode_bdf (its dense Newton matrix would be (rows dim)^2), batch otherwise
  batch,       ///< one ODE system of dimension rows * dim: every rhs call is ONE batched call of v (cheap
               ///< per sample for a network), but adaptive step control sees all samples at once
               ///< (dopri5's max norm: the worst sample decides; CVODE's RMS norm: an average, looser per sample)
  per_sample,  ///< rows separate ODE systems of dimension dim, each with its own step control and tolerance;
               ///< every rhs call evaluates v on one row
};
/// "automatic", "batch", "per_sample".
std::string to_string(FlowOdeGrouping g);
/// Parses a name of to_string; throws iterop::invalid_option for an unknown one.
FlowOdeGrouping parse_flow_ode_grouping(const std::string& name);

/// Options of sample_flow_ode.
struct FlowOdeOptions {
  FlowOdeMethod method = FlowOdeMethod::euler;      ///< the integrator
  int steps = 100;                                   ///< euler/rk4: equal steps on [0, 1] (>= 1); ignored by adaptive methods
  double rtol = 1e-5;                                ///< dopri5/cvode: relative tolerance, 0 < rtol < 1
  double atol = 1e-5;                                ///< dopri5/cvode: absolute tolerance, > 0
  long max_steps = 100000;                           ///< dopri5/cvode: accepted-step budget per ODE system (>= 1)
  FlowOdeGrouping grouping = FlowOdeGrouping::automatic;  ///< batch or per-sample systems
  /// Extra times in (0, 1) at which to record the states (strictly increasing); for euler/rk4 each must
  /// lie on the grid k / steps (to 1e-9 / steps). t = 1 is always the result and need not be listed.
  std::vector<double> record_times{};

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
  /// e.g. "euler(steps=100)", "dopri5(rtol=1e-05, atol=1e-05, batch)".
  std::string describe() const;
};

/// What sample_flow_ode returns.
struct FlowSampleReport {
  distributions::SampleSet samples;              ///< z(1) per starting point (rows and dim of x0). On failure the rows
                                                 ///< that finished hold z(1); the others hold, for euler, the last finite
                                                 ///< state, for the baselines the state at the last output time reached
                                                 ///< (a record time, else x0)
  std::vector<distributions::SampleSet> trajectory;  ///< z(record_times[k]) per k (only when every system reached it)
  /// converged: every system reached t = 1; non_finite: v returned NaN/Inf (or the integrator met one);
  /// max_iterations: the step budget ran out; diverged / stagnated: the integrator failed otherwise.
  Status status = Status::converged;
  std::string message;                           ///< one sentence; the integrator's own messages included
  long batch_evaluations = 0;                    ///< calls of the VelocityFn
  long sample_evaluations = 0;                   ///< rows evaluated over all calls (per-sample rhs evaluations)
  long steps = 0;                                ///< accepted steps (summed over systems when per_sample)
  long failed_systems = 0;                       ///< per_sample: systems that did not reach t = 1 (batch: 0 or 1)
  double seconds = 0;                            ///< wall time
  std::string method;                            ///< FlowOdeOptions::describe() with the grouping used resolved
  std::vector<std::pair<std::string, double>> counters;  ///< the integrator's statistics (summed when per_sample)

  /// Whether every system reached t = 1.
  bool usable() const { return status == Status::converged; }
};

/// Integrates dz/dt = v(z, t), z(0) = x0 row by row, from t = 0 to 1 and returns z(1) for every row, with
/// the evaluations counted. CVODE may evaluate v a little past t = 1 (it steps past the last output time and
/// interpolates back, see iterop::baselines::solve_ode); Euler, rk4 and dopri5 never leave [0, 1]. Invalid options or an empty x0 throw iterop::invalid_option before any
/// work (a method this build lacks too); integrator failures and non-finite velocities are statuses;
/// an exception thrown by v propagates.
FlowSampleReport sample_flow_ode(const VelocityFn& v, const distributions::SampleSet& x0, const FlowOdeOptions& o);

}  // namespace iterop::experiments
