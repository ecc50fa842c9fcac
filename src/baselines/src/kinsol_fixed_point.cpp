// KINSOL (SUNDIALS 6.4.1) fixed-point iteration with Anderson acceleration behind iterop's Result:
// a wrapper around T counts evaluations, measures true residuals and can apply iterop's Stop rule.
#include <kinsol/kinsol.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "iterop/core/enum_names.hpp"
#include "iterop/baselines/kinsol.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/diagnostics/observed_rate.hpp"
#include "iterop/fixed_point/stop_monitor.hpp"
#include "kinsol_common.hpp"

namespace iterop::baselines {

// ---- options --------------------------------------------------------------------------------------

void KinsolAnderson::validate() const {
  require(memory >= 0, "KinsolAnderson::memory", memory, "memory >= 0");
  require(memory <= 1000, "KinsolAnderson::memory", memory, "memory <= 1000");
  if (damping)
    require(false, "KinsolAnderson::damping", *damping,
            "renamed; use relaxation = " + format_value(*damping) + " (the weight on T(x))");
  require(relaxation > 0 && relaxation <= 1, "KinsolAnderson::relaxation", relaxation, "0 < relaxation <= 1");
  require(delay >= 0, "KinsolAnderson::delay", delay, "delay >= 0");
  const int orth = static_cast<int>(orthogonalization);
  require(orth >= 0 && orth <= 3, "KinsolAnderson::orthogonalization", orth, "one of mgs, icwy, cgs2, dcgs2");
  const int t = static_cast<int>(test);
  require(t == 0 || t == 1, "KinsolAnderson::test", t, "one of iterop, kinsol");
}

std::string KinsolAnderson::describe() const {
  std::string s = "KINSOL Anderson(m=" + std::to_string(memory) + ", beta=" + format_value(relaxation);
  if (delay) s += ", delay=" + std::to_string(delay);
  s += ", " + to_string(orthogonalization);
  if (test == Test::kinsol) s += ", KINSOL's test";
  return s + ")";
}

namespace {
constexpr EnumNames<KinsolOrthogonalization, 4> orthogonalization_names{
    {{{KinsolOrthogonalization::mgs, "mgs"},
      {KinsolOrthogonalization::icwy, "icwy"},
      {KinsolOrthogonalization::cgs2, "cgs2"},
      {KinsolOrthogonalization::dcgs2, "dcgs2"}}}};
}  // namespace

std::string to_string(KinsolOrthogonalization o) { return std::string(orthogonalization_names.name(o)); }

KinsolOrthogonalization parse_kinsol_orthogonalization(const std::string& name) {
  return orthogonalization_names.parse(name, "KinsolOrthogonalization");
}

namespace {

// RAII, flag names, the error log and the set-up of KINSOL are shared with iterop::mpi (kinsol_common.hpp).
using kinsol_detail::SunContext;
using kinsol_detail::ErrorLog;
using kinsol_detail::flag_name;
using kinsol_detail::KinsolMemory;
using kinsol_detail::NVectorPtr;

// ---- the wrapper around T -------------------------------------------------------------------------

/// Why the wrapper stopped KINSOL (by returning -1 from the system function).
enum class Halt {
  none,       ///< KINSOL ended by itself
  rule,       ///< the StopMonitor decided (iterop's test, a non-finite residual, the evaluation budget)
  exception,  ///< the operator threw (rethrown after KINSOL returns)
};

/// Wraps the user's T for KINSOL: counts evaluations, keeps the history and the last finite iterate,
/// and hands every evaluated iterate to the core's StopMonitor, the very class solve() uses: the same
/// norms, the same tests in the same order, the same messages, the same best iterate. With iterop's
/// test the monitor's decision stops KINSOL; with KINSOL's own test only a non-finite residual does.
class Wrapper {
 public:
  using clock = std::chrono::steady_clock;

  Wrapper(const VectorOperator& op, std::size_t n, const Stop& stop, bool apply_stop_rule, long budget)
      : op_(op), n_(n), monitor_(stop), apply_rule_(apply_stop_rule), budget_(budget), t0_(clock::now()),
        current_(n, 0.0), last_(n, 0.0), f_(n, 0.0) {}

  /// g = T(x) for iterate k = evaluations so far. Returns 0 to let KINSOL go on, -1 to stop it.
  /// `final_check` evaluates KINSOL's returned vector: no budget, no stopping rule.
  int evaluate(const double* x, double* g, bool final_check = false) {
    if (halt_ != Halt::none && !final_check) return -1;
    if (!final_check && evaluations_ >= budget_) {
      monitor_.conclude(Status::max_evaluations);
      halt_ = Halt::rule;
      return -1;
    }
    try {
      op_(std::span<const double>(x, n_), std::span<double>(g, n_));
    } catch (...) {
      error_ = std::current_exception();
      halt_ = Halt::exception;
      return -1;
    }
    ++evaluations_;
    // x_k and f_k = T(x_k) - x_k as std::vector (one pass; g - x is what linear_sum(1, g, -1, x) gives).
    for (std::size_t i = 0; i < n_; ++i) {
      current_[i] = x[i];
      f_[i] = g[i] - x[i];
    }
    const double r = monitor_.residual_norm(f_, current_);
    const double step = have_last_ ? monitor_.step_norm(current_, last_) : not_available;
    monitor_.record(current_, r, step);
    const int k = monitor_.iteration();
    const std::vector<double>& residuals = monitor_.residuals();

    IterationRecord rec;
    rec.iteration = k;
    rec.evaluations = evaluations_;
    rec.residual = r;
    rec.step = step;
    if (k > 0) {
      rec.ratio = r / residuals[static_cast<std::size_t>(k - 1)];
      rec.rate = observed_rate(residuals, 5);
    }
    rec.seconds = seconds();
    history_.push_back(rec);

    if (std::isfinite(r)) {  // x_k becomes the last finite iterate
      std::swap(current_, last_);
      have_last_ = true;
    }
    if (final_check) return std::isfinite(r) ? 0 : -1;
    const bool end = apply_rule_ ? monitor_.check(evaluations_) : monitor_.check_finite();
    if (!end) return 0;
    // Stop::max_iterations is KINSOL's mxiter: KINSOL stops there itself with KIN_MAXITER_REACHED.
    if (monitor_.status() == Status::max_iterations) return 0;
    halt_ = Halt::rule;
    return -1;
  }

  double seconds() const { return std::chrono::duration<double>(clock::now() - t0_).count(); }

  Halt halted() const { return halt_; }
  std::exception_ptr error() const { return error_; }
  long evaluations() const { return evaluations_; }
  StopMonitor<std::vector<double>>& monitor() { return monitor_; }
  std::vector<IterationRecord>& history() { return history_; }
  std::vector<double>& last_finite() { return last_; }

 private:
  const VectorOperator& op_;
  std::size_t n_;
  StopMonitor<std::vector<double>> monitor_;
  bool apply_rule_;
  long budget_;
  clock::time_point t0_;

  long evaluations_ = 0;
  std::vector<IterationRecord> history_;
  std::vector<double> current_, last_, f_;
  bool have_last_ = false;

  Halt halt_ = Halt::none;
  std::exception_ptr error_;
};

int system_function(N_Vector u, N_Vector g, void* user_data) {
  return static_cast<Wrapper*>(user_data)->evaluate(N_VGetArrayPointer(u), N_VGetArrayPointer(g));
}

/// The iterate to return, as the StopMonitor says (the same choice as solve()); x0 stays in
/// res.solution when no evaluated iterate was finite.
void return_iterate(Result<std::vector<double>>& res, Wrapper& w, Returned policy) {
  StopMonitor<std::vector<double>>& mon = w.monitor();
  const ReturnedIterate ret = mon.returned_iterate(policy);
  if (mon.have_finite()) res.solution = ret.best ? mon.take_best() : std::move(w.last_finite());
  res.returned_iteration = ret.iteration;
  res.residual = ret.residual;
}

}  // namespace

Result<std::vector<double>> kinsol_solve(const VectorOperator& op, std::vector<double> x0,
                                         const KinsolAnderson& options, const Stop& stop) {
  options.validate();
  stop.validate();
  require(static_cast<bool>(op), "kinsol_solve: op", std::string("an empty std::function"), "a callable operator");
  require(!x0.empty(), "kinsol_solve: x0.size()", x0.size(), "x0.size() >= 1");

  const bool iterop_test = options.test == KinsolAnderson::Test::iterop;
  const std::size_t n = x0.size();
  Result<std::vector<double>> res;
  res.method = options.describe();
  res.norm = stop.norm;
  // With KINSOL's test the returned vector is KINSOL's newest iterate (KINSetReturnNewest).
  res.returned = iterop_test ? stop.returned : Returned::last;

  // KINSOL mode keeps one evaluation for the true residual of the vector KINSOL returns.
  const long budget = iterop_test ? stop.max_evaluations : stop.max_evaluations - 1;
  // With KINSOL's test the returned vector is KINSOL's newest: the monitor keeps no best iterate.
  Stop monitored = stop;
  if (!iterop_test) monitored.returned = Returned::last;
  Wrapper w(op, n, monitored, iterop_test, budget);
  ErrorLog log;

  SunContext context;
  if (SUNContext_Create(nullptr, &context.ctx) != 0 || context.ctx == nullptr)
    throw backend_error("KINSOL", "SUNContext_Create failed.");

  // x is the caller's x0 and receives KINSOL's returned iterate (N_VMake_Serial does not own it).
  std::vector<double> x = x0;
  NVectorPtr u(N_VMake_Serial(static_cast<sunindextype>(n), x.data(), context.ctx));
  NVectorPtr scale(N_VNew_Serial(static_cast<sunindextype>(n), context.ctx));
  if (!u || !scale) throw backend_error("KINSOL", "N_VMake_Serial / N_VNew_Serial failed.");
  N_VConst(1.0, scale.get());

  KinsolMemory kin;
  const long mxiter =
      kinsol_detail::configure_anderson(kin, context.ctx, options, &system_function, u.get(), &w, log, stop);
  const double fnormtol = kinsol_detail::kinsol_fnormtol(options, stop);

  int flag = KIN_MAXITER_REACHED;
  bool ran = false;
  if (mxiter >= 1) {
    flag = KINSol(kin.mem, u.get(), KIN_FP, scale.get(), scale.get());
    ran = true;
  }
  if (w.halted() == Halt::exception) std::rethrow_exception(w.error());

  long nni = 0, nfe = 0;
  double fnorm = not_available;
  if (ran) {
    KINGetNumNonlinSolvIters(kin.mem, &nni);
    KINGetNumFuncEvals(kin.mem, &nfe);
    KINGetFuncNorm(kin.mem, &fnorm);
  }
  const std::string fname = ran ? flag_name(flag) : std::string("not run (Stop::max_iterations = 0)");
  res.counters = {{"kinsol_nni", static_cast<double>(nni)},
                  {"kinsol_nfe", static_cast<double>(nfe)},
                  {"kinsol_fnorm", fnorm},
                  {"kinsol_flag", static_cast<double>(flag)}};
  const std::string kinsol_said = " KINSOL returned " + fname + " after " + std::to_string(nni) +
                                  " iterations (its fnorm = step max-norm " + format_value(fnorm) + ").";

  const Halt h = w.halted();
  const bool stopped_by_wrapper = ran && flag == KIN_SYSFUNC_FAIL && h != Halt::none;
  if (ran && !stopped_by_wrapper && flag < 0 && flag != KIN_MAXITER_REACHED)
    throw backend_error("KINSOL", "KINSol returned " + fname + (log.text.empty() ? "" : ": ") + log.text);

  StopMonitor<std::vector<double>>& mon = w.monitor();
  res.solution = x0;
  if (iterop_test) {
    // The monitor's decision and message, word for word those of solve(); then what KINSOL said.
    if (h == Halt::rule) {
      res.status = mon.status();
      res.message = mon.message() + " iterop's test stopped KINSOL at iterate " + std::to_string(mon.iteration()) + ".";
    } else if (flag == KIN_SUCCESS) {
      res.status = Status::small_step;
      res.message = "KINSOL's step test fired (x_{k+1} == x_k) before iterop's residual test was met.";
    } else {  // KIN_MAXITER_REACHED: the monitor's max_iterations (mxiter = Stop::max_iterations + 1)
      if (!(mon.decided() && mon.status() == Status::max_iterations)) mon.conclude(Status::max_iterations);
      res.status = Status::max_iterations;
      res.message = mon.message();
    }
    res.message += kinsol_said;
    res.iterations = mon.iteration();
    return_iterate(res, w, stop.returned);
    // The false-success audit (Stop::verify), as in solve(): T once more at the returned x.
    if (stop.verify && res.status == Status::converged) {
      std::vector<double> g(n), f(n);
      op(std::span<const double>(res.solution), std::span<double>(g));
      for (std::size_t i = 0; i < n; ++i) f[i] = g[i] - res.solution[i];
      const double checked = mon.residual_norm(f, res.solution);
      res.counters.emplace_back("verified_residual", checked);
      if (!mon.verify(checked)) {
        res.status = mon.status();
        res.message = mon.message() + kinsol_said;
        res.residual = checked;
      }
    }
  } else if (h == Halt::rule && mon.status() == Status::non_finite) {
    // KINSOL decided, but a non-finite residual stopped it.
    res.status = Status::non_finite;
    res.message = mon.message() + kinsol_said;
    res.iterations = mon.iteration();
    return_iterate(res, w, Returned::last);
  } else {
    // KINSOL decided. Its returned vector (the newest iterate) is judged by its true residual, measured
    // and tested by the same monitor.
    std::vector<double> g(n);
    w.evaluate(x.data(), g.data(), /*final_check=*/true);
    if (w.halted() == Halt::exception) std::rethrow_exception(w.error());
    const double r = mon.residuals().back();
    const double tol = mon.tolerance();
    const std::string true_r = "true residual ||T(x) - x|| = " + format_value(r) + " (" +
                               std::string(iterop::to_string(stop.norm)) + "), iterop's tolerance " +
                               format_value(tol);
    res.iterations = mon.iteration();
    res.returned_iteration = mon.iteration();
    res.residual = r;
    res.solution = std::move(x);
    if (!std::isfinite(r)) {
      res.status = Status::non_finite;
      res.message = "KINSOL's returned iterate has a non-finite " + true_r + "." + kinsol_said;
    } else if (h == Halt::rule) {  // the evaluation budget (the only other reason in this mode)
      res.status = Status::max_evaluations;
      res.message = mon.message_for(Status::max_evaluations) + " " + true_r + "." + kinsol_said;
    } else if (flag == KIN_SUCCESS && r <= tol) {
      res.status = Status::converged;
      res.message = "KINSOL's test was met and the " + true_r + " is met too." + kinsol_said;
    } else if (flag == KIN_SUCCESS) {
      // KINSOL's own success is audited by the same monitor: the true residual decides (never converged).
      mon.verify(r, "KINSOL returned KIN_SUCCESS (its step max-norm " + format_value(fnorm) + " <= fnormtol " +
                        format_value(fnormtol) + ")");
      res.status = mon.status();
      res.message = mon.message() + kinsol_said;
    } else {
      res.status = Status::max_iterations;
      res.message = "Reached Stop::max_iterations = " + std::to_string(stop.max_iterations) + "; " + true_r +
                    (r <= tol ? " (met)." : " (not met).") + kinsol_said;
    }
  }
  // When the wrapper stopped KINSOL, its "system function failed" message is expected noise.
  if (!log.text.empty() && !stopped_by_wrapper) res.message += " KINSOL messages: " + log.text;
  res.evaluations = w.evaluations();
  res.initial_residual = mon.initial_residual();
  res.history = std::move(w.history());
  res.seconds = w.seconds();
  return res;
}

}  // namespace iterop::baselines
