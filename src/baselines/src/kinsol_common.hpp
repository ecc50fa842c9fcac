// Internal to the KINSOL adapters (iterop::baselines' kinsol_fixed_point.cpp, iterop::mpi's kinsol_parallel.cpp):
// RAII for KINSOL's memory (the other SUNDIALS owners: sundials_raii.hpp), KINSOL's flag names and error log, and the one set-up of KINSOL's fixed-point
// iteration with Anderson acceleration. Header-only (inline): each adapter compiles it against its own N_Vector.
#pragma once

#include <kinsol/kinsol.h>
#include <sundials/sundials_context.h>
#include <sundials/sundials_nvector.h>

#include <cstdlib>
#include <limits>
#include <string>

#include "iterop/baselines/kinsol.hpp"
#include "iterop/core/errors.hpp"
#include "sundials_raii.hpp"

namespace iterop::baselines::kinsol_detail {

using sundials_detail::NVectorPtr;
using sundials_detail::SunContext;

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
inline std::string flag_name(long flag) {
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

inline int kinsol_orth(KinsolOrthogonalization o) {
  switch (o) {
    case KinsolOrthogonalization::mgs: return KIN_ORTH_MGS;
    case KinsolOrthogonalization::icwy: return KIN_ORTH_ICWY;
    case KinsolOrthogonalization::cgs2: return KIN_ORTH_CGS2;
    case KinsolOrthogonalization::dcgs2: return KIN_ORTH_DCGS2;
  }
  return KIN_ORTH_MGS;
}

/// Throws backend_error("KINSOL", "<what> returned <flag>: <log>") unless flag is KIN_SUCCESS.
inline void check(int flag, const char* what, const ErrorLog& log) {
  if (flag != KIN_SUCCESS)
    throw backend_error("KINSOL", std::string(what) + " returned " + flag_name(flag) + (log.text.empty() ? "" : ": ") +
                                      log.text);
}

/// KINSOL's own tolerance: Stop::abs_tol (its fnorm, the max-norm of x_{k+1} - x_k, <= fnormtol); the smallest
/// positive double stands for 0 (0 would mean KINSOL's default) and for iterop's test (KINSOL's never fires first).
inline double kinsol_fnormtol(const KinsolAnderson& aa, const Stop& stop) {
  return aa.test == KinsolAnderson::Test::iterop || stop.abs_tol == 0 ? std::numeric_limits<double>::min() : stop.abs_tol;
}

/// KINSOL's fixed-point iteration with Anderson acceleration as `aa` says, in a new kin.mem on `ctx`: messages
/// into `log`, system function f with user data, Stop::max_iterations (+1 with iterop's test: x_0..x_K are
/// evaluated in K + 1 iterations) and kinsol_fnormtol(). Returns mxiter (KINSol is run only when >= 1).
inline long configure_anderson(KinsolMemory& kin, SUNContext ctx, const KinsolAnderson& aa, KINSysFn f, N_Vector u,
                               void* user_data, ErrorLog& log, const Stop& stop) {
  kin.mem = KINCreate(ctx);
  if (kin.mem == nullptr) throw backend_error("KINSOL", "KINCreate failed.");
  check(KINSetErrHandlerFn(kin.mem, &ErrorLog::handler, &log), "KINSetErrHandlerFn", log);
  check(KINSetInfoHandlerFn(kin.mem, [](const char*, const char*, char*, void*) {}, nullptr), "KINSetInfoHandlerFn", log);
  check(KINSetPrintLevel(kin.mem, 0), "KINSetPrintLevel", log);
  // Depth and orthogonalisation must be set before KINInit, which allocates the Anderson storage.
  check(KINSetMAA(kin.mem, aa.memory), "KINSetMAA", log);
  if (aa.memory > 0) check(KINSetOrthAA(kin.mem, kinsol_orth(aa.orthogonalization)), "KINSetOrthAA", log);
  check(KINInit(kin.mem, f, u), "KINInit", log);
  check(KINSetUserData(kin.mem, user_data), "KINSetUserData", log);
  // 6.4.1 damps the first Anderson step with the plain damping: set both to beta = relaxation.
  check(KINSetDamping(kin.mem, aa.relaxation), "KINSetDamping", log);
  if (aa.memory > 0) {
    check(KINSetDampingAA(kin.mem, aa.relaxation), "KINSetDampingAA", log);
    check(KINSetDelayAA(kin.mem, aa.delay), "KINSetDelayAA", log);
  }
  check(KINSetReturnNewest(kin.mem, SUNTRUE), "KINSetReturnNewest", log);
  // KINSOL's iteration j evaluates x_{j-1} and forms x_j. iterop's test needs x_0..x_K evaluated
  // (K + 1 iterations); KINSOL's own test forms x_1..x_K, and the wrapper evaluates x_K afterwards.
  const bool iterop_test = aa.test == KinsolAnderson::Test::iterop;
  const long mxiter = iterop_test ? static_cast<long>(stop.max_iterations) + 1 : static_cast<long>(stop.max_iterations);
  check(KINSetFuncNormTol(kin.mem, kinsol_fnormtol(aa, stop)), "KINSetFuncNormTol", log);
  if (mxiter >= 1) check(KINSetNumMaxIters(kin.mem, mxiter), "KINSetNumMaxIters", log);
  return mxiter;
}

}  // namespace iterop::baselines::kinsol_detail
