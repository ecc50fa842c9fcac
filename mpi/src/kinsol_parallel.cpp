// KINSOL fixed point + Anderson on N_VNew_Parallel behind iterop's Result; KINSOL's reductions are
// counted by wrapping the reduction entries of the N_Vector's operation table (clones copy it).
#include "iterop/mpi/kinsol_parallel.hpp"

#include <kinsol/kinsol.h>
#include <nvector/nvector_parallel.h>
#include <sundials/sundials_context.h>

#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/diagnostics/observed_rate.hpp"
#include "iterop/fixed_point/stop_monitor.hpp"
#include "kinsol_common.hpp"  // src/baselines/src (internal include path)

namespace iterop::mpi {
namespace {

// RAII, flag names, the error log and the set-up of KINSOL: the serial baseline's (kinsol_common.hpp).
using baselines::kinsol_detail::SunContext;
using baselines::kinsol_detail::ErrorLog;
using baselines::kinsol_detail::KinsolMemory;
using baselines::kinsol_detail::NVectorPtr;

// ---- counting KINSOL's reductions --------------------------------------------------------------------

/// The solve in progress on this thread counts here (the N_Vector operation table has no user data).
thread_local long* reductions = nullptr;
struct Original {
  realtype (*dot)(N_Vector, N_Vector);
  realtype (*maxnorm)(N_Vector);
  realtype (*wrmsnorm)(N_Vector, N_Vector);
  realtype (*wl2norm)(N_Vector, N_Vector);
  realtype (*l1norm)(N_Vector);
  realtype (*min)(N_Vector);
  int (*dotmulti)(int, N_Vector, N_Vector*, realtype*);
  int (*dotmulti_allreduce)(int, N_Vector, realtype*);
} original{};
void tick() {
  if (reductions != nullptr) ++*reductions;
}
realtype counted_dot(N_Vector x, N_Vector y) { return tick(), original.dot(x, y); }
realtype counted_maxnorm(N_Vector x) { return tick(), original.maxnorm(x); }
realtype counted_wrmsnorm(N_Vector x, N_Vector w) { return tick(), original.wrmsnorm(x, w); }
realtype counted_wl2norm(N_Vector x, N_Vector w) { return tick(), original.wl2norm(x, w); }
realtype counted_l1norm(N_Vector x) { return tick(), original.l1norm(x); }
realtype counted_min(N_Vector x) { return tick(), original.min(x); }
int counted_dotmulti(int n, N_Vector x, N_Vector* y, realtype* d) { return tick(), original.dotmulti(n, x, y, d); }
int counted_dotmulti_allreduce(int n, N_Vector x, realtype* s) { return tick(), original.dotmulti_allreduce(n, x, s); }

/// Points the reductions KINSOL's fixed-point solver can call at counting wrappers.
void count_reductions(N_Vector v) {
  N_Vector_Ops o = v->ops;
  original = {o->nvdotprod, o->nvmaxnorm, o->nvwrmsnorm, o->nvwl2norm, o->nvl1norm,
              o->nvmin,     o->nvdotprodmulti, o->nvdotprodmultiallreduce};
  o->nvdotprod = counted_dot;
  o->nvmaxnorm = counted_maxnorm;
  o->nvwrmsnorm = counted_wrmsnorm;
  o->nvwl2norm = counted_wl2norm;
  o->nvl1norm = counted_l1norm;
  o->nvmin = counted_min;
  if (o->nvdotprodmulti != nullptr) o->nvdotprodmulti = counted_dotmulti;
  if (o->nvdotprodmultiallreduce != nullptr) o->nvdotprodmultiallreduce = counted_dotmulti_allreduce;
  // Operations a fixed-point solve does not reach, which would reduce uncounted: switched off.
  o->nvwrmsnormmask = nullptr;
  o->nvwrmsnormvectorarray = nullptr;
  o->nvwrmsnormmaskvectorarray = nullptr;
}

// ---- the wrapper around T ----------------------------------------------------------------------------

/// Evaluates T for KINSOL; with iterop's test also measures every iterate through the StopMonitor and
/// stops KINSOL (returning 1, a recoverable failure KINFP treats as fatal) when the monitor decides.
/// Every rank takes the same decisions: they depend only on globally reduced norms.
class Wrapper {
 public:
  using clock = std::chrono::steady_clock;
  Wrapper(const baselines::VectorOperator& op, const distributed_vector& like, const Stop& stop, bool monitor,
          long budget)
      : op_(op), monitor_(stop), monitoring_(monitor), budget_(budget), t0_(clock::now()),
        current_(like.zeros_like()), last_(like.zeros_like()), f_(like.zeros_like()) {}

  int evaluate(const double* x, double* g) {
    if (stopped_) return -1;
    if (evaluations_ >= budget_) {
      monitor_.conclude(Status::max_evaluations);
      stopped_ = true;
      return -1;
    }
    const std::size_t n = current_.local_size();
    try {
      op_(std::span<const double>(x, n), std::span<double>(g, n));
    } catch (...) {
      error_ = std::current_exception();
      stopped_ = true;
      return -1;
    }
    ++evaluations_;
    if (!monitoring_) return 0;
    return measure(x, g) ? -1 : 0;
  }

  /// Records iterate k (x, g = T(x)); returns true when the monitor ends the solve.
  bool measure(const double* x, const double* g, bool final_check = false) {
    double* cur = current_.local_vector().data();
    double* f = f_.local_vector().data();
    for (std::size_t i = 0; i < current_.local_size(); ++i) {
      cur[i] = x[i];
      f[i] = g[i] - x[i];
    }
    const double r = monitor_.residual_norm(f_, current_);
    const double step = have_last_ ? monitor_.step_norm(current_, last_) : not_available;
    monitor_.record(current_, r, step);
    IterationRecord rec;
    rec.iteration = monitor_.iteration();
    rec.evaluations = evaluations_;
    rec.residual = r;
    rec.step = step;
    if (rec.iteration > 0) {
      rec.ratio = r / monitor_.residuals()[static_cast<std::size_t>(rec.iteration - 1)];
      rec.rate = observed_rate(monitor_.residuals(), 5);
    }
    rec.seconds = seconds();
    history_.push_back(rec);
    if (std::isfinite(r)) {
      std::swap(current_, last_);
      have_last_ = true;
    }
    if (final_check) return false;
    if (!monitor_.check(evaluations_)) return false;
    if (monitor_.status() == Status::max_iterations) return false;  // KINSOL's mxiter stops it
    stopped_ = true;
    return true;
  }

  double seconds() const { return std::chrono::duration<double>(clock::now() - t0_).count(); }
  bool stopped() const { return stopped_; }
  std::exception_ptr error() const { return error_; }
  long evaluations() const { return evaluations_; }
  StopMonitor<distributed_vector>& monitor() { return monitor_; }
  std::vector<IterationRecord>& history() { return history_; }
  distributed_vector& last_finite() { return last_; }

 private:
  const baselines::VectorOperator& op_;
  StopMonitor<distributed_vector> monitor_;
  bool monitoring_;
  long budget_;
  clock::time_point t0_;
  long evaluations_ = 0;
  std::vector<IterationRecord> history_;
  distributed_vector current_, last_, f_;
  bool have_last_ = false, stopped_ = false;
  std::exception_ptr error_;
};

int system_function(N_Vector u, N_Vector g, void* data) {
  return static_cast<Wrapper*>(data)->evaluate(N_VGetArrayPointer(u), N_VGetArrayPointer(g));
}

}  // namespace

Result<distributed_vector> kinsol_solve_parallel(const baselines::VectorOperator& op, const distributed_vector& x0,
                                                 const KinsolParallel& options, const Stop& stop) {
  const baselines::KinsolAnderson& aa = options.anderson;
  aa.validate();
  stop.validate();
  require(static_cast<bool>(op), "kinsol_solve_parallel: op", std::string("an empty std::function"),
          "a callable operator");
  require(x0.comm() != nullptr && x0.global_size() >= 1, "kinsol_solve_parallel: x0.global_size()",
          x0.global_size(), ">= 1 on a communicator");
  const bool iterop_test = aa.test == baselines::KinsolAnderson::Test::iterop;
  const communicator& comm = *x0.comm();
  const long monitor_before = comm.count().reductions;

  Result<distributed_vector> res;
  res.method = aa.describe() + " on N_VNew_Parallel(" + std::to_string(comm.size()) + " ranks)";
  res.norm = stop.norm;
  res.returned = iterop_test ? stop.returned : Returned::last;
  Stop monitored = stop;
  if (!iterop_test) monitored.returned = Returned::last;
  Wrapper w(op, x0, monitored, iterop_test, iterop_test ? stop.max_evaluations : stop.max_evaluations - 1);
  ErrorLog log;

  SunContext context;
  MPI_Comm mpi_comm = comm.comm();
  if (SUNContext_Create(&mpi_comm, &context.ctx) != 0 || context.ctx == nullptr)
    throw backend_error("KINSOL", "SUNContext_Create failed.");
  distributed_vector x = x0;  // receives KINSOL's returned iterate
  NVectorPtr u(N_VMake_Parallel(mpi_comm, static_cast<sunindextype>(x.local_size()),
                                static_cast<sunindextype>(x.global_size()), x.local_vector().data(), context.ctx));
  if (!u) throw backend_error("KINSOL", "N_VMake_Parallel failed.");
  if (options.fused_ops && N_VEnableFusedOps_Parallel(u.get(), SUNTRUE) != 0)
    throw backend_error("KINSOL", "N_VEnableFusedOps_Parallel failed.");
  long kinsol_reductions = 0;
  count_reductions(u.get());
  NVectorPtr scale(N_VClone(u.get()));
  if (!scale) throw backend_error("KINSOL", "N_VClone failed.");
  N_VConst(1.0, scale.get());

  KinsolMemory kin;
  const long mxiter = baselines::kinsol_detail::configure_anderson(kin, context.ctx, aa, &system_function, u.get(), &w, log,
                                                                   stop);

  int flag = KIN_MAXITER_REACHED;
  long nni = 0, nfe = 0;
  double fnorm = not_available, kinsol_seconds = 0;
  if (mxiter >= 1) {
    reductions = &kinsol_reductions;
    const double t0 = MPI_Wtime();
    flag = KINSol(kin.mem, u.get(), KIN_FP, scale.get(), scale.get());
    kinsol_seconds = MPI_Wtime() - t0;
    reductions = nullptr;
    KINGetNumNonlinSolvIters(kin.mem, &nni);
    KINGetNumFuncEvals(kin.mem, &nfe);
    KINGetFuncNorm(kin.mem, &fnorm);
  }
  if (w.error()) std::rethrow_exception(w.error());
  const bool stopped_by_wrapper = flag == KIN_SYSFUNC_FAIL && w.stopped();
  if (mxiter >= 1 && !stopped_by_wrapper && flag < 0 && flag != KIN_MAXITER_REACHED)
    throw backend_error("KINSOL", "KINSol returned " + std::to_string(flag) + (log.text.empty() ? "" : ": ") + log.text);
  const std::string kinsol_said = " KINSOL returned flag " + std::to_string(flag) + " after " + std::to_string(nni) +
                                  " iterations (its fnorm " + format_value(fnorm) + ").";

  StopMonitor<distributed_vector>& mon = w.monitor();
  res.solution = x0;
  if (iterop_test) {
    if (stopped_by_wrapper) {
      res.status = mon.status();
      res.message = mon.message() + " iterop's test stopped KINSOL at iterate " + std::to_string(mon.iteration()) + ".";
    } else if (flag == KIN_SUCCESS) {
      res.status = Status::small_step;
      res.message = "KINSOL's step test fired (x_{k+1} == x_k) before iterop's residual test was met.";
    } else {
      if (!(mon.decided() && mon.status() == Status::max_iterations)) mon.conclude(Status::max_iterations);
      res.status = Status::max_iterations;
      res.message = mon.message();
    }
    res.iterations = mon.iteration();
    const ReturnedIterate ret = mon.returned_iterate(stop.returned);
    if (mon.have_finite()) res.solution = ret.best ? mon.take_best() : std::move(w.last_finite());
    res.returned_iteration = ret.iteration;
    res.residual = ret.residual;
  } else {
    // KINSOL alone: its returned vector x_nni judged by the true residual, x0's measured for the tolerance.
    distributed_vector g = x0.zeros_like();
    op(x0.local(), g.local());
    w.measure(x0.local().data(), g.local().data(), true);
    op(x.local(), g.local());
    w.measure(x.local().data(), g.local().data(), true);
    const double r = mon.residuals().back();
    const double tol = mon.tolerance();
    res.iterations = static_cast<int>(nni);
    res.returned_iteration = res.iterations;
    res.residual = r;
    res.solution = std::move(x);
    const std::string true_r = "true residual " + format_value(r) + " against iterop's tolerance " + format_value(tol);
    if (!std::isfinite(r)) {
      res.status = Status::non_finite;
      res.message = "KINSOL's returned iterate has a non-finite " + true_r + ".";
    } else if (w.stopped()) {
      res.status = Status::max_evaluations;
      res.message = mon.message_for(Status::max_evaluations) + " " + true_r + ".";
    } else if (flag == KIN_SUCCESS) {
      res.status = r <= tol ? Status::converged : Status::small_step;
      res.message = "KINSOL's test was met; " + true_r + (r <= tol ? " (met)." : " (not met).");
    } else {
      res.status = r <= tol ? Status::converged : Status::max_iterations;
      res.message = "Reached Stop::max_iterations = " + std::to_string(stop.max_iterations) + "; " + true_r +
                    (r <= tol ? " (met)." : " (not met).");
    }
  }
  res.message += kinsol_said;
  if (!log.text.empty() && !stopped_by_wrapper) res.message += " KINSOL messages: " + log.text;
  res.counters = {{"kinsol_nni", static_cast<double>(nni)},
                  {"kinsol_nfe", static_cast<double>(nfe)},
                  {"kinsol_fnorm", fnorm},
                  {"kinsol_flag", static_cast<double>(flag)},
                  {"kinsol_reductions", static_cast<double>(kinsol_reductions)},
                  {"kinsol_seconds", kinsol_seconds},
                  {"monitor_reductions", static_cast<double>(comm.count().reductions - monitor_before)}};
  res.evaluations = w.evaluations();
  res.initial_residual = mon.initial_residual();
  res.history = std::move(w.history());
  res.seconds = w.seconds();
  return res;
}

}  // namespace iterop::mpi
