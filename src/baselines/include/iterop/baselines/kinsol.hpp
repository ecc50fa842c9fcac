// KINSOL (SUNDIALS 6.4.1) fixed-point iteration with Anderson acceleration, as a baseline that
// returns iterop's Result: same operator, depth, relaxation, delay; KINSOL's orthogonalisation choice.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "iterop/baselines/vector_operator.hpp"
#include "iterop/core/result.hpp"
#include "iterop/fixed_point/stop.hpp"

namespace iterop::baselines {

/// KINSOL's QR update for Anderson acceleration (KINSetOrthAA).
enum class KinsolOrthogonalization { mgs, icwy, cgs2, dcgs2 };

/// Options of KINSOL's fixed-point solver (KIN_FP) with Anderson acceleration.
struct KinsolAnderson {
  int memory = 5;          ///< KINSetMAA, >= 0
  /// beta in (0, 1], the weight on T(x) as in iterop::Anderson (KINSOL calls it damping): KINSetDampingAA
  /// and KINSetDamping (6.4.1 damps the first step with the latter).
  double relaxation = 1.0;
  int delay = 0;           ///< KINSetDelayAA, >= 0
  KinsolOrthogonalization orthogonalization = KinsolOrthogonalization::mgs;  ///< KINSetOrthAA
  /// Stopping test. iterop: iterop's Stop applied to every iterate KINSOL evaluates (KINSOL is
  /// stopped when an iterate passes); kinsol: KINSOL's own test (its scaled step norm <= fnormtol,
  /// fnormtol = Stop::abs_tol), the true residual computed afterwards.
  enum class Test { iterop, kinsol } test = Test::iterop;
  /// The old name of relaxation (the same value), kept only so that old code gets invalid_option with
  /// the name to use instead (validate() refuses any value) rather than a silent default.
  std::optional<double> damping{};

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
  /// e.g. "KINSOL Anderson(m=5, beta=1, mgs)".
  std::string describe() const;
};

/// Solves x = T(x) with KINSOL. Every evaluated iterate goes through iterop::StopMonitor, the class
/// solve() uses: the same norms, tests, messages and returned iterate. Result::residual is the true ||T(x) - x|| of the returned x in
/// Stop::norm, computed by iterop (not KINSOL's step norm); Result::counters holds KINSOL's own
/// counters (nni, nfe, and KINSOL's final fnorm) and its return flag. Iterations and evaluations
/// are counted by iterop's wrapper around T. Backend failures that are numerical outcomes
/// (KIN_MAXITER_REACHED, ...) become statuses; misuse of SUNDIALS becomes iterop::backend_error.
Result<std::vector<double>> kinsol_solve(const VectorOperator& op, std::vector<double> x0,
                                         const KinsolAnderson& options, const Stop& stop = {});

/// The names used by the command line: "mgs", "icwy", "cgs2", "dcgs2".
std::string to_string(KinsolOrthogonalization o);
/// Parses a name; throws iterop::invalid_option for an unknown one.
KinsolOrthogonalization parse_kinsol_orthogonalization(const std::string& name);

}  // namespace iterop::baselines
