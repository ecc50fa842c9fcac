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

#include "iterop/baselines/kinsol.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/diagnostics/observed_rate.hpp"

namespace iterop::baselines {

// ---- options --------------------------------------------------------------------------------------

void KinsolAnderson::validate() const {
  require(memory >= 0, "KinsolAnderson::memory", memory, "memory >= 0");
  require(memory <= 1000, "KinsolAnderson::memory", memory, "memory <= 1000");
  require(damping > 0 && damping <= 1, "KinsolAnderson::damping", damping, "0 < damping <= 1");
  require(delay >= 0, "KinsolAnderson::delay", delay, "delay >= 0");
  const int orth = static_cast<int>(orthogonalization);
  require(orth >= 0 && orth <= 3, "KinsolAnderson::orthogonalization", orth, "one of mgs, icwy, cgs2, dcgs2");
  const int t = static_cast<int>(test);
  require(t == 0 || t == 1, "KinsolAnderson::test", t, "one of iterop, kinsol");
}

std::string KinsolAnderson::describe() const {
  std::string s = "KINSOL Anderson(m=" + std::to_string(memory) + ", beta=" + format_value(damping);
  if (delay) s += ", delay=" + std::to_string(delay);
  s += ", " + to_string(orthogonalization);
  if (test == Test::kinsol) s += ", KINSOL's test";
  return s + ")";
}

std::string to_string(KinsolOrthogonalization o) {
  switch (o) {
    case KinsolOrthogonalization::mgs: return "mgs";
    case KinsolOrthogonalization::icwy: return "icwy";
    case KinsolOrthogonalization::cgs2: return "cgs2";
    case KinsolOrthogonalization::dcgs2: return "dcgs2";
  }
  return "unknown";
}

KinsolOrthogonalization parse_kinsol_orthogonalization(const std::string& name) {
  if (name == "mgs") return KinsolOrthogonalization::mgs;
  if (name == "icwy") return KinsolOrthogonalization::icwy;
  if (name == "cgs2") return KinsolOrthogonalization::cgs2;
  if (name == "dcgs2") return KinsolOrthogonalization::dcgs2;
  require(false, "KinsolOrthogonalization", name, "one of mgs, icwy, cgs2, dcgs2");
  return KinsolOrthogonalization::mgs;  // unreachable
}

namespace {

// ---- RAII for SUNDIALS objects --------------------------------------------------------------------

struct Context {
  SUNContext ctx = nullptr;
  Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() {
    if (ctx != nullptr) SUNContext_Free(&ctx);
  }
};

struct NVectorDeleter {
  void operator()(N_Vector v) const { N_VDestroy(v); }
};
using NVectorPtr = std::unique_ptr<std::remove_pointer_t<N_Vector>, NVectorDeleter>;

struct KinsolMemory {
  void* mem = nullptr;
  KinsolMemory() = default;
  KinsolMemory(const KinsolMemory&) = delete;
  KinsolMemory& operator=(const KinsolMemory&) = delete;
  ~KinsolMemory() {
    if (mem != nullptr) KINFree(&mem);
  }
};

/// The name of a KINSOL return flag. 6.4.1's KINGetReturnFlagName answers "NONE" for some flags
/// (KIN_SYSFUNC_FAIL among them), so the common ones are named here; it also returns malloc'd storage.
std::string flag_name(long flag) {
  switch (flag) {
    case KIN_SUCCESS: return "KIN_SUCCESS";
    case KIN_INITIAL_GUESS_OK: return "KIN_INITIAL_GUESS_OK";
    case KIN_STEP_LT_STPTOL: return "KIN_STEP_LT_STPTOL";
    case KIN_WARNING: return "KIN_WARNING";
    case KIN_MEM_NULL: return "KIN_MEM_NULL";
    case KIN_ILL_INPUT: return "KIN_ILL_INPUT";
    case KIN_NO_MALLOC: return "KIN_NO_MALLOC";
    case KIN_MEM_FAIL: return "KIN_MEM_FAIL";
    case KIN_MAXITER_REACHED: return "KIN_MAXITER_REACHED";
    case KIN_SYSFUNC_FAIL: return "KIN_SYSFUNC_FAIL";
    case KIN_FIRST_SYSFUNC_ERR: return "KIN_FIRST_SYSFUNC_ERR";
    case KIN_REPTD_SYSFUNC_ERR: return "KIN_REPTD_SYSFUNC_ERR";
    case KIN_VECTOROP_ERR: return "KIN_VECTOROP_ERR";
    case KIN_CONTEXT_ERR: return "KIN_CONTEXT_ERR";
    default: break;
  }
  char* name = KINGetReturnFlagName(flag);
  if (name == nullptr) return "KIN flag " + std::to_string(flag);
  std::string s(name);
  std::free(name);
  return s;
}

/// Collects KINSOL's error and warning messages instead of letting it print them.
struct ErrorLog {
  std::string text;
  static void handler(int code, const char* module, const char* function, char* msg, void* data) {
    auto* log = static_cast<ErrorLog*>(data);
    if (!log->text.empty()) log->text += " | ";
    log->text += std::string("[") + (module ? module : "?") + " " + (function ? function : "?") + ", " +
                 flag_name(code) + "] " + (msg ? msg : "");
  }
};

// ---- fused residual / step measurement ------------------------------------------------------------

struct Measured {
  double residual;
  double step;
};

/// One pass over x, g = T(x) and the previous iterate: ||g - x||, ||x - prev|| in the Stop norm, and
/// out = x. prev may be null (no step). Max-norms propagate NaN.
Measured measure_and_copy(Norm norm, const double* x, const double* g, const double* prev, double* out,
                          std::size_t n, double rel_tol, double abs_tol) {
  double sr = 0, ss = 0;
  switch (norm) {
    case Norm::two:
      if (prev != nullptr) {
        for (std::size_t i = 0; i < n; ++i) {
          const double d = g[i] - x[i], e = x[i] - prev[i];
          sr += d * d;
          ss += e * e;
          out[i] = x[i];
        }
      } else {
        for (std::size_t i = 0; i < n; ++i) {
          const double d = g[i] - x[i];
          sr += d * d;
          out[i] = x[i];
        }
      }
      return {std::sqrt(sr), prev != nullptr ? std::sqrt(ss) : not_available};
    case Norm::max:
      for (std::size_t i = 0; i < n; ++i) {
        const double d = std::abs(g[i] - x[i]);
        if (!(d <= sr)) sr = d;
        if (prev != nullptr) {
          const double e = std::abs(x[i] - prev[i]);
          if (!(e <= ss)) ss = e;
        }
        out[i] = x[i];
      }
      return {sr, prev != nullptr ? ss : not_available};
    case Norm::wrms:
      for (std::size_t i = 0; i < n; ++i) {
        const double w = 1.0 / (rel_tol * std::abs(x[i]) + abs_tol);
        const double d = (g[i] - x[i]) * w;
        sr += d * d;
        if (prev != nullptr) {
          const double e = (x[i] - prev[i]) * w;
          ss += e * e;
        }
        out[i] = x[i];
      }
      if (n == 0) return {0.0, prev != nullptr ? 0.0 : not_available};
      return {std::sqrt(sr / static_cast<double>(n)),
              prev != nullptr ? std::sqrt(ss / static_cast<double>(n)) : not_available};
  }
  return {not_available, not_available};
}

// ---- the wrapper around T -------------------------------------------------------------------------

/// Why the wrapper stopped KINSOL (by returning -1 from the system function).
enum class Halt { none, converged, small_step, max_evaluations, diverged, stagnated, non_finite, exception };

/// Wraps the user's T for KINSOL: counts evaluations, measures each evaluated iterate's true residual
/// and step, keeps the history, the last finite and the best iterate (three rotating buffers, no
/// extra copies), and, when asked, applies iterop's Stop rule to every iterate.
class Monitor {
 public:
  using clock = std::chrono::steady_clock;

  Monitor(const VectorOperator& op, std::size_t n, const Stop& stop, bool apply_stop_rule, long budget)
      : op_(op), n_(n), stop_(stop), apply_rule_(apply_stop_rule), budget_(budget), t0_(clock::now()) {
    for (auto& b : buf_) b.assign(n, 0.0);
  }

  /// g = T(x) for iterate k = evaluations so far. Returns 0 to let KINSOL go on, -1 to stop it.
  /// `final_check` evaluates KINSOL's returned vector: no budget, no stopping rule.
  int evaluate(const double* x, double* g, bool final_check = false) {
    if (halt_ != Halt::none && !final_check) return -1;
    if (!final_check && evaluations_ >= budget_) {
      halt_ = Halt::max_evaluations;
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
    const int k = ++k_;
    const double* prev = have_last_ ? buf_[last_].data() : nullptr;
    const Measured m = measure_and_copy(stop_.norm, x, g, prev, buf_[spare_].data(), n_, stop_.rel_tol, stop_.abs_tol);
    const double r = m.residual;
    if (k == 0) {
      r0_ = r;
      tol_ = stop_.norm == Norm::wrms ? 1.0 : stop_.abs_tol + stop_.rel_tol * r0_;
    }
    residuals_.push_back(r);

    IterationRecord rec;
    rec.iteration = k;
    rec.evaluations = evaluations_;
    rec.residual = r;
    rec.step = m.step;
    if (k > 0) {
      rec.ratio = r / residuals_[static_cast<std::size_t>(k - 1)];
      rec.rate = observed_rate(residuals_, 5);
    }
    rec.seconds = seconds();
    history_.push_back(rec);

    if (!std::isfinite(r)) {
      if (!final_check) halt_ = Halt::non_finite;
      return -1;
    }
    accept(k, r);
    if (!apply_rule_ || final_check) return 0;

    // iterop's tests, in the order solve() applies them. Stop::max_iterations is KINSOL's mxiter.
    if (r <= tol_) return halt(Halt::converged);
    if (stop_.step_tol > 0 && k > 0 && m.step <= stop_.step_tol) return halt(Halt::small_step);
    if (k >= stop_.max_iterations) return 0;  // KINSOL stops with KIN_MAXITER_REACHED
    if (evaluations_ >= stop_.max_evaluations) return halt(Halt::max_evaluations);
    if (r > stop_.divergence_factor * r0_) return halt(Halt::diverged);
    const int w = stop_.stagnation_window;
    if (w > 0 && k >= w &&
        !(best_so_far_[static_cast<std::size_t>(k)] <
          stop_.stagnation_factor * best_so_far_[static_cast<std::size_t>(k - w)]))
      return halt(Halt::stagnated);
    return 0;
  }

  double seconds() const { return std::chrono::duration<double>(clock::now() - t0_).count(); }

  Halt halted() const { return halt_; }
  std::exception_ptr error() const { return error_; }
  long evaluations() const { return evaluations_; }
  int last_index() const { return k_; }
  double r0() const { return r0_; }
  double tol() const { return tol_; }
  const std::vector<double>& residuals() const { return residuals_; }
  std::vector<IterationRecord>& history() { return history_; }

  bool have_finite() const { return have_last_; }
  int last_finite_k() const { return last_k_; }
  double last_finite_r() const { return last_r_; }
  int best_k() const { return best_k_; }
  double best_r() const { return best_r_; }
  std::vector<double>& last_finite() { return buf_[last_]; }
  std::vector<double>& best() { return best_is_last_ ? buf_[last_] : buf_[best_]; }

 private:
  int halt(Halt h) {
    halt_ = h;
    return -1;
  }

  /// The finite iterate x_k just copied into the spare buffer becomes the last one; the best one is
  /// kept by rotating buffers (the previous last becomes the best when x_k does not improve on it).
  void accept(int k, double r) {
    const bool improved = r < best_r_ || !std::isfinite(best_r_);
    if (improved || !best_is_last_) {
      std::swap(last_, spare_);
    } else {  // previous last is the best: keep it
      const int old_best = best_;
      best_ = last_;
      last_ = spare_;
      spare_ = old_best;
    }
    if (improved) {
      best_r_ = r;
      best_k_ = k;
      best_is_last_ = true;
    } else {
      best_is_last_ = false;
    }
    have_last_ = true;
    last_k_ = k;
    last_r_ = r;
    best_so_far_.push_back(best_r_);
  }

  const VectorOperator& op_;
  std::size_t n_;
  const Stop& stop_;
  bool apply_rule_;
  long budget_;
  clock::time_point t0_;

  long evaluations_ = 0;
  int k_ = -1;
  double r0_ = not_available, tol_ = not_available;
  std::vector<double> residuals_, best_so_far_;
  std::vector<IterationRecord> history_;

  std::vector<double> buf_[3];
  int last_ = 0, best_ = 1, spare_ = 2;
  bool have_last_ = false, best_is_last_ = false;
  int last_k_ = -1, best_k_ = -1;
  double last_r_ = not_available, best_r_ = not_available;

  Halt halt_ = Halt::none;
  std::exception_ptr error_;
};

int system_function(N_Vector u, N_Vector g, void* user_data) {
  return static_cast<Monitor*>(user_data)->evaluate(N_VGetArrayPointer(u), N_VGetArrayPointer(g));
}

int kinsol_orth(KinsolOrthogonalization o) {
  switch (o) {
    case KinsolOrthogonalization::mgs: return KIN_ORTH_MGS;
    case KinsolOrthogonalization::icwy: return KIN_ORTH_ICWY;
    case KinsolOrthogonalization::cgs2: return KIN_ORTH_CGS2;
    case KinsolOrthogonalization::dcgs2: return KIN_ORTH_DCGS2;
  }
  return KIN_ORTH_MGS;
}

std::string halt_message(Halt h, const Monitor& mon, const Stop& stop) {
  const std::string k = std::to_string(mon.last_index());
  const std::string r = format_value(mon.residuals().empty() ? not_available : mon.residuals().back());
  switch (h) {
    case Halt::converged:
      return "Residual " + r + " <= tolerance " + format_value(mon.tol()) + " at iterate " + k +
             " (iterop's test; KINSOL was stopped there).";
    case Halt::small_step:
      return "Step <= Stop::step_tol " + format_value(stop.step_tol) + " at iterate " + k + " while the residual " + r +
             " is above the tolerance " + format_value(mon.tol()) + ".";
    case Halt::max_evaluations:
      return "Reached Stop::max_evaluations = " + std::to_string(stop.max_evaluations) + ".";
    case Halt::diverged:
      return "Residual " + r + " exceeds Stop::divergence_factor (" + format_value(stop.divergence_factor) +
             ") times the initial residual " + format_value(mon.r0()) + ".";
    case Halt::stagnated:
      return "The best residual fell by less than a factor " + format_value(stop.stagnation_factor) +
             " over the last " + std::to_string(stop.stagnation_window) + " iterations (best " +
             format_value(mon.best_r()) + ").";
    case Halt::non_finite:
      return mon.last_index() == 0 ? "T(x0) - x0 is not finite (NaN or Inf)."
                                   : "The residual became non-finite (NaN or Inf) at iterate " + k + ".";
    case Halt::exception:
    case Halt::none: break;
  }
  return {};
}

/// Which evaluated iterate to return when not converged, as solve() does.
void return_iterate(Result<std::vector<double>>& res, Monitor& mon, Returned returned, bool converged) {
  if (!mon.have_finite()) {  // T(x0) was not finite: return x0 (kept by the caller) with its residual
    res.returned_iteration = 0;
    res.residual = mon.residuals().empty() ? not_available : mon.residuals().front();
    return;
  }
  if (returned == Returned::best && !converged && std::isfinite(mon.best_r()) &&
      mon.best_k() != mon.last_finite_k()) {
    res.solution = std::move(mon.best());
    res.returned_iteration = mon.best_k();
    res.residual = mon.best_r();
  } else {
    res.solution = std::move(mon.last_finite());
    res.returned_iteration = mon.last_finite_k();
    res.residual = mon.last_finite_r();
  }
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
  Monitor mon(op, n, stop, iterop_test, budget);
  ErrorLog log;

  Context context;
  if (SUNContext_Create(nullptr, &context.ctx) != 0 || context.ctx == nullptr)
    throw backend_error("KINSOL", "SUNContext_Create failed.");

  // x is the caller's x0 and receives KINSOL's returned iterate (N_VMake_Serial does not own it).
  std::vector<double> x = x0;
  NVectorPtr u(N_VMake_Serial(static_cast<sunindextype>(n), x.data(), context.ctx));
  NVectorPtr scale(N_VNew_Serial(static_cast<sunindextype>(n), context.ctx));
  if (!u || !scale) throw backend_error("KINSOL", "N_VMake_Serial / N_VNew_Serial failed.");
  N_VConst(1.0, scale.get());

  KinsolMemory kin;
  kin.mem = KINCreate(context.ctx);
  if (kin.mem == nullptr) throw backend_error("KINSOL", "KINCreate failed.");
  auto check = [&](int flag, const char* what) {
    if (flag != KIN_SUCCESS)
      throw backend_error("KINSOL", std::string(what) + " returned " + flag_name(flag) + (log.text.empty() ? "" : ": ") +
                                        log.text);
  };
  check(KINSetErrHandlerFn(kin.mem, &ErrorLog::handler, &log), "KINSetErrHandlerFn");
  check(KINSetInfoHandlerFn(kin.mem, [](const char*, const char*, char*, void*) {}, nullptr), "KINSetInfoHandlerFn");
  check(KINSetPrintLevel(kin.mem, 0), "KINSetPrintLevel");
  // Depth and orthogonalisation must be set before KINInit, which allocates the Anderson storage.
  check(KINSetMAA(kin.mem, options.memory), "KINSetMAA");
  if (options.memory > 0) check(KINSetOrthAA(kin.mem, kinsol_orth(options.orthogonalization)), "KINSetOrthAA");
  check(KINInit(kin.mem, &system_function, u.get()), "KINInit");
  check(KINSetUserData(kin.mem, &mon), "KINSetUserData");
  // 6.4.1 damps the first Anderson step with the plain damping: set both to beta.
  check(KINSetDamping(kin.mem, options.damping), "KINSetDamping");
  if (options.memory > 0) {
    check(KINSetDampingAA(kin.mem, options.damping), "KINSetDampingAA");
    check(KINSetDelayAA(kin.mem, options.delay), "KINSetDelayAA");
  }
  check(KINSetReturnNewest(kin.mem, SUNTRUE), "KINSetReturnNewest");
  // KINSOL's iteration j evaluates x_{j-1} and forms x_j. iterop's test needs x_0..x_K evaluated
  // (K + 1 iterations); KINSOL's own test forms x_1..x_K, and the wrapper evaluates x_K afterwards.
  const long mxiter = iterop_test ? static_cast<long>(stop.max_iterations) + 1 : static_cast<long>(stop.max_iterations);
  // KINSOL's test: its fnorm (max-norm of x_{k+1} - x_k) <= fnormtol; 0 would mean KINSOL's default,
  // so the smallest positive double stands for 0. With iterop's test KINSOL's own never fires first.
  const double fnormtol =
      iterop_test || stop.abs_tol == 0 ? std::numeric_limits<double>::min() : stop.abs_tol;
  check(KINSetFuncNormTol(kin.mem, fnormtol), "KINSetFuncNormTol");

  int flag = KIN_MAXITER_REACHED;
  bool ran = false;
  if (mxiter >= 1) {
    check(KINSetNumMaxIters(kin.mem, mxiter), "KINSetNumMaxIters");
    flag = KINSol(kin.mem, u.get(), KIN_FP, scale.get(), scale.get());
    ran = true;
  }
  if (mon.halted() == Halt::exception) std::rethrow_exception(mon.error());

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

  const Halt h = mon.halted();
  const bool stopped_by_wrapper = ran && flag == KIN_SYSFUNC_FAIL && h != Halt::none;
  if (ran && !stopped_by_wrapper && flag < 0 && flag != KIN_MAXITER_REACHED)
    throw backend_error("KINSOL", "KINSol returned " + fname + (log.text.empty() ? "" : ": ") + log.text);

  if (iterop_test) {
    Status status = Status::max_iterations;
    std::string message;
    switch (h) {
      case Halt::converged: status = Status::converged; break;
      case Halt::small_step: status = Status::small_step; break;
      case Halt::max_evaluations: status = Status::max_evaluations; break;
      case Halt::diverged: status = Status::diverged; break;
      case Halt::stagnated: status = Status::stagnated; break;
      case Halt::non_finite: status = Status::non_finite; break;
      case Halt::exception: break;  // rethrown above
      case Halt::none:
        if (flag == KIN_SUCCESS) {
          status = Status::small_step;
          message = "KINSOL's step test fired (x_{k+1} == x_k) before iterop's residual test was met.";
        } else {
          status = Status::max_iterations;
          message = "Reached Stop::max_iterations = " + std::to_string(stop.max_iterations) + " with residual " +
                    format_value(mon.last_finite_r()) + " above the tolerance " + format_value(mon.tol()) + ".";
        }
        break;
    }
    if (message.empty()) message = halt_message(h, mon, stop);
    res.status = status;
    res.message = message + kinsol_said;
    res.iterations = mon.last_index();
    res.solution = x0;
    return_iterate(res, mon, stop.returned, status == Status::converged);
  } else {
    // KINSOL decided. Its returned vector (the newest iterate) is judged by its true residual.
    if (h == Halt::non_finite) {
      res.status = Status::non_finite;
      res.message = halt_message(h, mon, stop) + kinsol_said;
      res.iterations = mon.last_index();
      res.solution = x0;
      return_iterate(res, mon, Returned::last, false);
    } else {
      std::vector<double> g(n);
      mon.evaluate(x.data(), g.data(), /*final_check=*/true);
      if (mon.halted() == Halt::exception) std::rethrow_exception(mon.error());
      const double r = mon.residuals().back();
      const double tol = mon.tol();
      const std::string true_r = "true residual ||T(x) - x|| = " + format_value(r) + " (" +
                                 std::string(iterop::to_string(stop.norm)) + "), iterop's tolerance " +
                                 format_value(tol);
      res.iterations = mon.last_index();
      res.returned_iteration = mon.last_index();
      res.residual = r;
      res.solution = std::move(x);
      if (!std::isfinite(r)) {
        res.status = Status::non_finite;
        res.message = "KINSOL's returned iterate has a non-finite " + true_r + "." + kinsol_said;
      } else if (h == Halt::max_evaluations) {
        res.status = Status::max_evaluations;
        res.message = halt_message(h, mon, stop) + " " + true_r + "." + kinsol_said;
      } else if (flag == KIN_SUCCESS && r <= tol) {
        res.status = Status::converged;
        res.message = "KINSOL's test was met and the " + true_r + " is met too." + kinsol_said;
      } else if (flag == KIN_SUCCESS) {
        res.status = Status::small_step;
        res.message = "KINSOL claimed success (its step max-norm <= fnormtol " + format_value(fnormtol) +
                      ") but the " + true_r + " is not met." + kinsol_said;
      } else {
        res.status = Status::max_iterations;
        res.message = "Reached Stop::max_iterations = " + std::to_string(stop.max_iterations) + "; " + true_r +
                      (r <= tol ? " (met)." : " (not met).") + kinsol_said;
      }
    }
  }
  // When the wrapper stopped KINSOL, its "system function failed" message is expected noise.
  if (!log.text.empty() && !stopped_by_wrapper) res.message += " KINSOL messages: " + log.text;
  res.evaluations = mon.evaluations();
  res.initial_residual = mon.r0();
  res.history = std::move(mon.history());
  res.seconds = mon.seconds();
  return res;
}

}  // namespace iterop::baselines
