// Private to iterop::baselines: what CVODE and ARKODE share in solve_ode (RAII owners of SUNDIALS
// objects, and the callbacks that route F and dF/dz through the counting wrapper).
#pragma once

#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sundials/sundials_linearsolver.h>
#include <sundials/sundials_matrix.h>
#include <sundials/sundials_nonlinearsolver.h>
#include <sunmatrix/sunmatrix_dense.h>

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>

#include "iterop/core/errors.hpp"
#include "ode_common.hpp"
#include "sundials_raii.hpp"

namespace iterop::baselines::ode_detail {

// RAII for SUNDIALS objects: sundials_raii.hpp (shared with the KINSOL adapters).
using sundials_detail::LinSolPtr;
using sundials_detail::MatrixPtr;
using sundials_detail::NonlinSolPtr;
using sundials_detail::NVectorPtr;
using sundials_detail::SunContext;

// ---- callbacks: F and dF/dz through the counting wrapper ---------------------------------------------
// A NaN or Inf is a recoverable failure (1): the integrator retries with a smaller step and gives up
// with a failure flag if that does not help. An exception is kept and stops the integrator (-1).

inline int rhs_callback(realtype t, N_Vector y, N_Vector ydot, void* data) {
  auto* run = static_cast<Run*>(data);
  try {
    return run->eval.rhs(t, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot)) ? 0 : 1;
  } catch (...) {
    run->error = std::current_exception();
    return -1;
  }
}

inline int jacobian_callback(realtype t, N_Vector y, N_Vector, SUNMatrix jac, void* data, N_Vector, N_Vector,
                             N_Vector) {
  auto* run = static_cast<Run*>(data);
  const std::size_t n = run->eval.n();
  try {
    double* rowmajor = run->jac_buffer.data();
    if (!run->eval.jacobian(t, N_VGetArrayPointer(y), rowmajor)) return 1;
    double* colmajor = SUNDenseMatrix_Data(jac);
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) colmajor[j * n + i] = rowmajor[i * n + j];
    return 0;
  } catch (...) {
    run->error = std::current_exception();
    return -1;
  }
}


/// How a CVODE or ARKODE run ended, in the cases both share: the last output time reached, the
/// OdeOptions::max_steps budget, a stalled step (t + h == t for max_stalled steps), or a non-finite
/// right-hand side. Sets sol.status and sol.message and returns true when one of them applies;
/// otherwise the caller maps its integrator's return flag. `call` is e.g. "CVode returned CV_X. ".
inline bool conclude_common(OdeSolution& sol, const Run& run, std::string_view backend, const std::string& call,
                            const std::string& messages, double t_final, long steps, bool step_limit, int stalled,
                            int max_stalled, double t_reached) {
  std::string said;
  if (!messages.empty()) {
    said = " ";
    said += backend;
    said += " messages: ";
    said += messages;
  }
  const std::string where = progress_note(run, t_reached);
  if (run.done()) {
    sol.status = Status::converged;
    sol.message = "Reached the last output time t = " + format_value(t_final) + " in " + std::to_string(steps) +
                  " steps (" + run.options.describe() + ")." + said;
    return true;
  }
  if (step_limit) {
    sol.status = Status::max_iterations;
    sol.message = "Reached OdeOptions::max_steps = " + std::to_string(run.options.max_steps) + ". " + where + said;
    return true;
  }
  if (stalled >= max_stalled) {
    const bool nan = run.eval.non_finite_calls() > 0;
    sol.status = nan ? Status::non_finite : Status::diverged;
    sol.message = std::string(backend);
    sol.message += "'s step size fell below the resolution of t: " + std::to_string(max_stalled) + " steps left t = " +
                   format_value(t_reached) + " unchanged (t + h == t); stopped there. ";
    if (nan) sol.message += run.eval.non_finite_note() + " ";
    sol.message += where + said;
    return true;
  }
  if (run.eval.non_finite_calls() > 0) {
    sol.status = Status::non_finite;
    sol.message = call + run.eval.non_finite_note() + " " + where + said;
    return true;
  }
  sol.message = call + where + said;  // the caller sets the status from its flag
  return false;
}

}  // namespace iterop::baselines::ode_detail
