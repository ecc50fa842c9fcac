// Private to iterop::baselines: what the ODE baselines share (the counting, NaN-checking wrapper
// around F and dF/dz, output recording, the initial-step estimate, SUNDIALS message capture).
#pragma once

#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include "iterop/baselines/ode_solvers.hpp"

namespace iterop::baselines::ode_detail {

/// Thrown through Odeint to stop it when F or dF/dz returned NaN or Inf; never leaves solve_ode.
struct NonFiniteStop {};
/// Thrown through Odeint to stop it when OdeOptions::max_steps is reached; never leaves solve_ode.
struct StepLimitStop {};

/// The user's F and dF/dz behind a wrapper that counts every call and checks every value.
class Evaluator {
 public:
  explicit Evaluator(const OdeProblem& p) : problem_(p), n_(static_cast<std::size_t>(p.dimension)) {}

  /// dz = F(t, z). False when z or dz has a NaN or Inf (recorded); exceptions of F propagate.
  bool rhs(double t, const double* z, double* dz);
  /// jac = dF/dz (row-major) from the analytic Jacobian. False when it has a NaN or Inf.
  bool jacobian(double t, const double* z, double* jac);
  /// jac = dF/dz by forward differences (n + 1 calls of F, counted). False on a non-finite value.
  bool jacobian_by_differences(double t, const double* z, double* jac);

  bool has_jacobian() const { return static_cast<bool>(problem_.jacobian); }
  std::size_t n() const { return n_; }
  long rhs_calls() const { return rhs_calls_; }
  long jacobian_calls() const { return jacobian_calls_; }
  long difference_jacobians() const { return difference_jacobians_; }
  long non_finite_calls() const { return non_finite_calls_; }
  double first_non_finite_t() const { return first_non_finite_t_; }
  /// "F returned a non-finite value at t = ... (k of m calls)" or "".
  std::string non_finite_note() const;

 private:
  void note_non_finite(double t, const char* what);

  const OdeProblem& problem_;
  std::size_t n_;
  long rhs_calls_ = 0, jacobian_calls_ = 0, difference_jacobians_ = 0, non_finite_calls_ = 0;
  double first_non_finite_t_ = 0;
  std::string first_non_finite_what_;
  std::vector<double> work_;
};

/// One solve: the inputs, the wrapper, and the solution being filled.
struct Run {
  const OdeProblem& problem;
  std::span<const double> times;  ///< requested output times
  const OdeOptions& options;
  Evaluator eval;
  OdeSolution& solution;
  std::size_t next = 0;           ///< index of the next output time to fill
  std::exception_ptr error;       ///< an exception of F or dF/dz caught inside a C callback
  std::vector<double> jac_buffer; ///< row-major scratch for the Jacobian callbacks

  Run(const OdeProblem& p, std::span<const double> t, const OdeOptions& o, OdeSolution& s)
      : problem(p), times(t), options(o), eval(p), solution(s) {}

  /// Appends (times[next], z) to the solution and advances next.
  void record(const double* z);
  double t_final() const { return times.back(); }
  bool done() const { return next >= times.size(); }
};

/// Backends: each integrates from problem.t0 and fills run.solution (outputs from run.next on,
/// status, message, steps, counters); the caller fills the evaluation counts and the time.
void run_cvode(Run& run);
void run_arkode(Run& run);
void run_odeint(Run& run);

/// Hairer, Norsett & Wanner's starting step (Solving ODEs I, II.4): two evaluations of F, for a
/// method whose error estimator has order `order`, capped by t_end - t0. Throws NonFiniteStop on NaN.
double initial_step(Evaluator& eval, double t0, std::span<const double> z0, double t_end, double rtol, double atol,
                    int order);

/// Collects a SUNDIALS module's error and warning messages instead of letting it print them.
struct MessageLog {
  std::string text;
  static void handler(int code, const char* module, const char* function, char* msg, void* data);
};

/// The sentence that ends the message of a failed solve: where it stopped, after how many steps.
/// `t` is the integrator's time (SUNDIALS); Odeint's backends pass no time (only outputs are known).
std::string progress_note(const Run& run, double t);
std::string progress_note(const Run& run);

}  // namespace iterop::baselines::ode_detail
