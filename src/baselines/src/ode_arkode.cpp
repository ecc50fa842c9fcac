// ARKODE ARKStep (SUNDIALS 6.4) behind solve_ode: explicit ERK or implicit SDIRK (Newton, dense
// direct solver, analytic Jacobian when given), default 4th-order tables, one step at a time, dense output.
#include <arkode/arkode.h>
#include <arkode/arkode_arkstep.h>
#include <arkode/arkode_ls.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <string>

#include "iterop/core/errors.hpp"
#include "ode_common.hpp"
#include "ode_sundials.hpp"

namespace iterop::baselines::ode_detail {

namespace {

struct ArkodeMemory {
  void* mem = nullptr;
  ArkodeMemory() = default;
  ArkodeMemory(const ArkodeMemory&) = delete;
  ArkodeMemory& operator=(const ArkodeMemory&) = delete;
  ~ArkodeMemory() {
    if (mem != nullptr) ARKStepFree(&mem);
  }
};

std::string flag_name(int flag) {
  char* name = ARKStepGetReturnFlagName(flag);
  if (name == nullptr) return "ARK flag " + std::to_string(flag);
  std::string s(name);
  std::free(name);
  return s;
}

}  // namespace

void run_arkode(Run& run) {
  const bool implicit = run.options.method == OdeMethod::arkode_dirk;
  const auto n = static_cast<sunindextype>(run.problem.dimension);
  OdeSolution& sol = run.solution;
  MessageLog log;

  SunContext context;
  if (SUNContext_Create(nullptr, &context.ctx) != 0 || context.ctx == nullptr)
    throw backend_error("ARKODE", "SUNContext_Create failed.");
  NVectorPtr y(N_VNew_Serial(n, context.ctx));
  NVectorPtr dky(N_VNew_Serial(n, context.ctx));
  if (!y || !dky) throw backend_error("ARKODE", "N_VNew_Serial failed.");
  std::copy(run.problem.z0.begin(), run.problem.z0.end(), N_VGetArrayPointer(y.get()));

  // Declared before the ARKODE memory so that they outlive it.
  MatrixPtr matrix;
  LinSolPtr linear_solver;
  ArkodeMemory ark;
  // F is the explicit part (ERK) or the implicit part (DIRK); the other part is absent.
  ark.mem = implicit ? ARKStepCreate(nullptr, &rhs_callback, run.problem.t0, y.get(), context.ctx)
                     : ARKStepCreate(&rhs_callback, nullptr, run.problem.t0, y.get(), context.ctx);
  if (ark.mem == nullptr) throw backend_error("ARKODE", "ARKStepCreate failed.");
  auto check = [&](int flag, const char* what) {
    if (flag != ARK_SUCCESS)
      throw backend_error("ARKODE", std::string(what) + " returned " + flag_name(flag) +
                                        (log.text.empty() ? "" : ": " + log.text));
  };
  check(ARKStepSetErrHandlerFn(ark.mem, &MessageLog::handler, &log), "ARKStepSetErrHandlerFn");
  check(ARKStepSetUserData(ark.mem, &run), "ARKStepSetUserData");
  check(ARKStepSStolerances(ark.mem, run.options.rtol, run.options.atol), "ARKStepSStolerances");
  // ARKODE's advice: Hermite dense output for non-stiff problems, Lagrange for stiff ones (the
  // Hermite interpolant uses F, which is large on stiff problems).
  check(ARKStepSetInterpolantType(ark.mem, implicit ? ARK_INTERP_LAGRANGE : ARK_INTERP_HERMITE),
        "ARKStepSetInterpolantType");
  if (implicit) {
    matrix.reset(SUNDenseMatrix(n, n, context.ctx));
    if (!matrix) throw backend_error("ARKODE", "SUNDenseMatrix failed.");
    linear_solver.reset(SUNLinSol_Dense(y.get(), matrix.get(), context.ctx));
    if (!linear_solver) throw backend_error("ARKODE", "SUNLinSol_Dense failed.");
    check(ARKStepSetLinearSolver(ark.mem, linear_solver.get(), matrix.get()), "ARKStepSetLinearSolver");
    if (run.eval.has_jacobian()) {
      run.jac_buffer.assign(static_cast<std::size_t>(n * n), 0.0);
      check(ARKStepSetJacFn(ark.mem, &jacobian_callback), "ARKStepSetJacFn");
    }
    // The Newton matrix I - gamma J is re-formed at every step (the Jacobian itself is still reused as
    // ARKODE decides). With 6.4.1's default (reuse over up to 20 steps) the SDIRK solution of S1 had
    // errors of 2.5e-5 at rtol = atol = 1e-8 and 6e-6 at 1e-10, also in a standalone ARKODE program;
    // re-forming it gives 2e-9 and 1e-11.
    check(ARKStepSetLSetupFrequency(ark.mem, 1), "ARKStepSetLSetupFrequency");
  }

  // One step per call (ARK_ONE_STEP) towards the last output time; outputs by ARKStepGetDky.
  const double t_final = run.t_final();
  double t_reached = run.problem.t0, t_reached_before = run.problem.t0;
  int flag = ARK_SUCCESS;
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
    flag = ARKStepEvolve(ark.mem, t_final, y.get(), &t_reached, ARK_ONE_STEP);
    if (run.error) std::rethrow_exception(run.error);
    if (flag < 0) break;
    ++sol.steps;
    const double t_before = t_reached_before;
    t_reached_before = t_reached;
    stalled = t_reached > t_before ? 0 : stalled + 1;
    if (stalled >= max_stalled_steps) break;
    while (!run.done() && run.times[run.next] <= t_reached) {
      check(ARKStepGetDky(ark.mem, run.times[run.next], 0, dky.get()), "ARKStepGetDky");
      run.record(N_VGetArrayPointer(dky.get()));
    }
  }

  long nst = 0, attempts = 0, nfe = 0, nfi = 0, netf = 0, expsteps = 0, accsteps = 0;
  double hlast = 0;
  ARKStepGetNumSteps(ark.mem, &nst);
  ARKStepGetNumStepAttempts(ark.mem, &attempts);
  ARKStepGetNumRhsEvals(ark.mem, &nfe, &nfi);
  ARKStepGetNumErrTestFails(ark.mem, &netf);
  ARKStepGetNumExpSteps(ark.mem, &expsteps);
  ARKStepGetNumAccSteps(ark.mem, &accsteps);
  ARKStepGetLastStep(ark.mem, &hlast);
  sol.counters = {{"arkode_steps", static_cast<double>(nst)},
                  {"arkode_step_attempts", static_cast<double>(attempts)},
                  {"arkode_rhs_evals_explicit", static_cast<double>(nfe)},
                  {"arkode_rhs_evals_implicit", static_cast<double>(nfi)},
                  {"arkode_err_test_fails", static_cast<double>(netf)},
                  {"arkode_stability_limited_steps", static_cast<double>(expsteps)},
                  {"arkode_accuracy_limited_steps", static_cast<double>(accsteps)},
                  {"arkode_last_step", hlast}};
  if (implicit) {
    long nni = 0, nncf = 0, nsetups = 0, nje = 0, nfeLS = 0;
    ARKStepGetNumNonlinSolvIters(ark.mem, &nni);
    ARKStepGetNumNonlinSolvConvFails(ark.mem, &nncf);
    ARKStepGetNumLinSolvSetups(ark.mem, &nsetups);
    ARKStepGetNumJacEvals(ark.mem, &nje);
    ARKStepGetNumLinRhsEvals(ark.mem, &nfeLS);
    sol.counters.emplace_back("arkode_nonlin_iters", static_cast<double>(nni));
    sol.counters.emplace_back("arkode_nonlin_conv_fails", static_cast<double>(nncf));
    sol.counters.emplace_back("arkode_lin_setups", static_cast<double>(nsetups));
    sol.counters.emplace_back("arkode_jac_evals", static_cast<double>(nje));
    sol.counters.emplace_back("arkode_lin_rhs_evals", static_cast<double>(nfeLS));
    sol.jacobian_evaluations = nje;
  }
  sol.steps = nst;

  const std::string call = "ARKStepEvolve returned " + flag_name(flag) + ". ";
  if (conclude_common(sol, run, "ARKODE", call, log.text, t_final, nst, step_limit, stalled, max_stalled_steps, t_reached))
    return;
  switch (flag) {
    case ARK_TOO_MUCH_WORK:
      sol.status = Status::max_iterations;
      break;
    case ARK_TOO_MUCH_ACC:
      sol.status = Status::stagnated;
      break;
    case ARK_ERR_FAILURE:
    case ARK_CONV_FAILURE:
    case ARK_LSETUP_FAIL:
    case ARK_LSOLVE_FAIL:
    case ARK_RHSFUNC_FAIL:
    case ARK_FIRST_RHSFUNC_ERR:
    case ARK_REPTD_RHSFUNC_ERR:
    case ARK_UNREC_RHSFUNC_ERR:
    case ARK_NLS_SETUP_RECVR:
      sol.status = Status::diverged;
      break;
    default:
      throw backend_error("ARKODE",
                          "ARKStepEvolve returned " + flag_name(flag) + (log.text.empty() ? "" : ": " + log.text));
  }
}

}  // namespace iterop::baselines::ode_detail
