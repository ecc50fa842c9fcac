// Result<X>: what a solve returns: solution, Status, counters, per-iteration history, reports.
// Modelled on Ceres' Summary (BriefReport / FullReport) and SUNDIALS' statistics getters.
#pragma once

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "iterop/core/norm.hpp"
#include "iterop/core/status.hpp"

namespace iterop {

inline constexpr double not_available = std::numeric_limits<double>::quiet_NaN();

/// One row of the per-iteration history. Iteration 0 is the initial guess.
struct IterationRecord {
  int iteration = 0;             ///< k: x_k has been evaluated
  long evaluations = 0;          ///< operator evaluations so far
  double residual = not_available;  ///< ||T(x_k) - x_k|| in the Stop norm
  double step = not_available;      ///< ||x_k - x_{k-1}|| in the Stop norm
  double ratio = not_available;     ///< residual_k / residual_{k-1}
  double rate = not_available;      ///< observed rate: geometric mean of the last few ratios
  double gain = not_available;      ///< Anderson gain theta_k = ||f_k - dF gamma|| / ||f_k||
  double condition = not_available; ///< Anderson: 1-norm condition number of R
  int columns = 0;               ///< Anderson: columns used in this step
  int dropped = 0;               ///< Anderson: columns dropped in this step (condition or dependence)
  bool restarted = false;        ///< Anderson: history cleared in this step
  bool rejected = false;         ///< safeguard rejected the accelerated step (fallback step taken)
  double seconds = 0.0;          ///< wall time since the solve started
};

/// Which iterate a solve returns when it did not converge.
enum class Returned {
  best,  ///< the evaluated iterate with the smallest residual (default)
  last,  ///< the last evaluated finite iterate
};

/// Everything a solve reports except the solution vector (shared by all vector types and baselines).
struct SolveSummary {
  Status status = Status::max_iterations;
  std::string message;             ///< one sentence on why the solve ended
  std::string method;              ///< method and its options, e.g. "Anderson(m=5, beta=1)"
  int iterations = 0;              ///< iterations taken (x_k for k = 1..iterations were formed)
  long evaluations = 0;            ///< operator evaluations, including safeguard re-evaluations
  double residual = not_available; ///< ||T(x) - x|| of the returned solution, in `norm`
  double initial_residual = not_available;  ///< ||T(x_0) - x_0||
  Norm norm = Norm::two;
  Returned returned = Returned::best;
  int returned_iteration = 0;      ///< which iterate `solution` is
  long drops = 0;                  ///< Anderson columns dropped in total
  long restarts = 0;               ///< Anderson restarts in total
  long rejections = 0;             ///< safeguard rejections in total
  double seconds = 0.0;
  std::vector<IterationRecord> history;
  /// Backend-specific counters (e.g. KINSOL's nni, nfe), in the order the backend reports them.
  std::vector<std::pair<std::string, double>> counters;

  bool converged() const { return status == Status::converged; }
  /// The residual test of Stop holds at the returned solution (the same as converged()). Every
  /// other status, small_step included, means the answer is not known to meet the tolerance.
  bool usable() const { return status == Status::converged; }

  /// One line: method, status, iterations, evaluations, residual, time.
  std::string brief_report() const {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s: %s after %d iterations (%ld evaluations), residual %.3e (%s), %.3g s",
                  method.c_str(), std::string(to_string(status)).c_str(), iterations, evaluations, residual,
                  std::string(to_string(norm)).c_str(), seconds);
    return buf;
  }

  /// Multi-line report: the brief line, the message, counters and the iteration history.
  std::string full_report() const {
    std::string out = brief_report();
    out += "\n  ";
    out += message;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "\n  initial residual %.3e; returned iterate %d (%s); drops %ld, restarts %ld, safeguard rejections %ld\n",
                  initial_residual, returned_iteration, returned == Returned::best ? "best" : "last", drops,
                  restarts, rejections);
    out += buf;
    for (const auto& [name, value] : counters) {
      std::snprintf(buf, sizeof buf, "  %s = %.17g\n", name.c_str(), value);
      out += buf;
    }
    out += "     k   evals     residual         step   ratio    rate    gain      cond  cols drop flags\n";
    for (const auto& r : history) {
      std::snprintf(buf, sizeof buf, "  %4d  %6ld  %11.4e  %11.4e  %6.3f  %6.3f  %6.3f  %8.2e  %4d %4d %s%s\n",
                    r.iteration, r.evaluations, r.residual, r.step, r.ratio, r.rate, r.gain, r.condition,
                    r.columns, r.dropped, r.restarted ? "R" : "", r.rejected ? "S" : "");
      out += buf;
    }
    return out;
  }
};

/// Result of a solve on states X: the solution and the summary.
template <class X>
struct Result : SolveSummary {
  X solution;
};

}  // namespace iterop
