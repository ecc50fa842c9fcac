// CVODE (SUNDIALS 6.4) behind solve_ode: BDF with Newton and the dense direct solver (analytic
// Jacobian when given), or Adams-Moulton with fixed-point iteration; one step at a time, dense output.
#include <cvode/cvode.h>
#include <cvode/cvode_ls.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>
#include <sunnonlinsol/sunnonlinsol_fixedpoint.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>

#include "iterop/core/errors.hpp"
#include "ode_common.hpp"
#include "ode_sundials.hpp"

namespace iterop::baselines::ode_detail {

namespace {

struct CvodeMemory {
  void* mem = nullptr;
  CvodeMemory() = default;
  CvodeMemory(const CvodeMemory&) = delete;
  CvodeMemory& operator=(const CvodeMemory&) = delete;
  ~CvodeMemory() {
    if (mem != nullptr) CVodeFree(&mem);
  }
};

std::string flag_name(int flag) {
  char* name = CVodeGetReturnFlagName(flag);
  if (name == nullptr) return "CV flag " + std::to_string(flag);
  std::string s(name);
  std::free(name);
  return s;
}

}  // namespace

void run_cvode(Run& run) {
  const bool bdf = run.options.method == OdeMethod::cvode_bdf;
  const auto n = static_cast<sunindextype>(run.problem.dimension);
  OdeSolution& sol = run.solution;
  MessageLog log;

  SunContext context;
  if (SUNContext_Create(nullptr, &context.ctx) != 0 || context.ctx == nullptr)
    throw backend_error("CVODE", "SUNContext_Create failed.");
  NVectorPtr y(N_VNew_Serial(n, context.ctx));
  NVectorPtr dky(N_VNew_Serial(n, context.ctx));
  if (!y || !dky) throw backend_error("CVODE", "N_VNew_Serial failed.");
  std::copy(run.problem.z0.begin(), run.problem.z0.end(), N_VGetArrayPointer(y.get()));

  // Declared before the CVODE memory so that they outlive it.
  MatrixPtr matrix;
  LinSolPtr linear_solver;
  NonlinSolPtr nonlinear_solver;
  CvodeMemory cv;
  cv.mem = CVodeCreate(bdf ? CV_BDF : CV_ADAMS, context.ctx);
  if (cv.mem == nullptr) throw backend_error("CVODE", "CVodeCreate failed.");
  auto check = [&](int flag, const char* what) {
    if (flag != CV_SUCCESS)
      throw backend_error("CVODE", std::string(what) + " returned " + flag_name(flag) +
                                       (log.text.empty() ? "" : ": " + log.text));
  };
  check(CVodeSetErrHandlerFn(cv.mem, &MessageLog::handler, &log), "CVodeSetErrHandlerFn");
  check(CVodeInit(cv.mem, &rhs_callback, run.problem.t0, y.get()), "CVodeInit");
  check(CVodeSetUserData(cv.mem, &run), "CVodeSetUserData");
  check(CVodeSStolerances(cv.mem, run.options.rtol, run.options.atol), "CVodeSStolerances");
  if (bdf) {
    matrix.reset(SUNDenseMatrix(n, n, context.ctx));
    if (!matrix) throw backend_error("CVODE", "SUNDenseMatrix failed.");
    linear_solver.reset(SUNLinSol_Dense(y.get(), matrix.get(), context.ctx));
    if (!linear_solver) throw backend_error("CVODE", "SUNLinSol_Dense failed.");
    check(CVodeSetLinearSolver(cv.mem, linear_solver.get(), matrix.get()), "CVodeSetLinearSolver");
    if (run.eval.has_jacobian()) {
      run.jac_buffer.assign(static_cast<std::size_t>(n * n), 0.0);
      check(CVodeSetJacFn(cv.mem, &jacobian_callback), "CVodeSetJacFn");
    }
  } else {
    nonlinear_solver.reset(SUNNonlinSol_FixedPoint(y.get(), 0, context.ctx));
    if (!nonlinear_solver) throw backend_error("CVODE", "SUNNonlinSol_FixedPoint failed.");
    check(CVodeSetNonlinearSolver(cv.mem, nonlinear_solver.get()), "CVodeSetNonlinearSolver");
  }

  // One step per call (CV_ONE_STEP), towards the last output time, so that the steps do not depend on
  // the output times; every output time the step passed is interpolated (CVodeGetDky).
  const double t_final = run.t_final();
  double t_reached = run.problem.t0, t_reached_before = run.problem.t0;
  int flag = CV_SUCCESS;
  bool step_limit = false;
  // A step that leaves t unchanged (h below the resolution of t: "t + h = t") makes no progress;
  // the integrator would go on until max_steps. Stop after a few.
  constexpr int max_stalled_steps = 10;
  int stalled = 0;
  while (!run.done()) {
    if (sol.steps >= run.options.max_steps) {
      step_limit = true;
      break;
    }
    flag = CVode(cv.mem, t_final, y.get(), &t_reached, CV_ONE_STEP);
    if (run.error) std::rethrow_exception(run.error);
    if (flag < 0) break;
    ++sol.steps;
    const double t_before = t_reached_before;
    t_reached_before = t_reached;
    stalled = t_reached > t_before ? 0 : stalled + 1;
    if (stalled >= max_stalled_steps) break;
    while (!run.done() && run.times[run.next] <= t_reached) {
      check(CVodeGetDky(cv.mem, run.times[run.next], 0, dky.get()), "CVodeGetDky");
      run.record(N_VGetArrayPointer(dky.get()));
    }
  }

  long nst = 0, nfe = 0, netf = 0, nni = 0, nncf = 0, nsetups = 0, nje = 0, nfeLS = 0;
  int qlast = 0;
  double hlast = 0;
  CVodeGetNumSteps(cv.mem, &nst);
  CVodeGetNumRhsEvals(cv.mem, &nfe);
  CVodeGetNumErrTestFails(cv.mem, &netf);
  CVodeGetNumNonlinSolvIters(cv.mem, &nni);
  CVodeGetNumNonlinSolvConvFails(cv.mem, &nncf);
  CVodeGetLastOrder(cv.mem, &qlast);
  CVodeGetLastStep(cv.mem, &hlast);
  sol.counters = {{"cvode_steps", static_cast<double>(nst)},
                  {"cvode_rhs_evals", static_cast<double>(nfe)},
                  {"cvode_err_test_fails", static_cast<double>(netf)},
                  {"cvode_nonlin_iters", static_cast<double>(nni)},
                  {"cvode_nonlin_conv_fails", static_cast<double>(nncf)},
                  {"cvode_last_order", static_cast<double>(qlast)},
                  {"cvode_last_step", hlast}};
  if (bdf) {
    CVodeGetNumLinSolvSetups(cv.mem, &nsetups);
    CVodeGetNumJacEvals(cv.mem, &nje);
    CVodeGetNumLinRhsEvals(cv.mem, &nfeLS);
    sol.counters.emplace_back("cvode_lin_setups", static_cast<double>(nsetups));
    sol.counters.emplace_back("cvode_jac_evals", static_cast<double>(nje));
    sol.counters.emplace_back("cvode_lin_rhs_evals", static_cast<double>(nfeLS));
    sol.jacobian_evaluations = nje;
  }
  sol.steps = nst;

  const std::string call = "CVode returned " + flag_name(flag) + ". ";
  if (conclude_common(sol, run, "CVODE", call, log.text, t_final, nst, step_limit, stalled, max_stalled_steps, t_reached))
    return;
  switch (flag) {
    case CV_TOO_MUCH_WORK:
      sol.status = Status::max_iterations;
      break;
    case CV_TOO_MUCH_ACC:
      sol.status = Status::stagnated;
      break;
    case CV_ERR_FAILURE:
    case CV_CONV_FAILURE:
    case CV_LSETUP_FAIL:
    case CV_LSOLVE_FAIL:
    case CV_NLS_FAIL:
    case CV_REPTD_RHSFUNC_ERR:
    case CV_FIRST_RHSFUNC_ERR:
    case CV_RHSFUNC_FAIL:
    case CV_UNREC_RHSFUNC_ERR:
      sol.status = Status::diverged;
      break;
    default:
      throw backend_error("CVODE", "CVode returned " + flag_name(flag) + (log.text.empty() ? "" : ": " + log.text));
  }
}

}  // namespace iterop::baselines::ode_detail
