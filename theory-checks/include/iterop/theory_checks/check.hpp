// Theory checks: each theorem the library relies on, stated, with its premise, an experiment, the
// measured quantity, the bound, the margin and a verdict (PASS, FAIL, or PREMISE NOT MET).
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace iterop::theory {

/// The outcome of a check. A check never reports PASS when its premise fails.
enum class Verdict { pass, fail, premise_not_met };

/// "PASS", "FAIL", "PREMISE NOT MET".
constexpr std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::pass: return "PASS";
    case Verdict::fail: return "FAIL";
    case Verdict::premise_not_met: return "PREMISE NOT MET";
  }
  return "?";
}

/// What a check measured and concluded.
struct CheckResult {
  std::string name;
  std::string statement;     ///< the theorem, in words with its formula
  std::string premise;       ///< e.g. "T is a contraction with factor q < 1"
  bool premise_met = false;
  std::string premise_evidence;  ///< how the premise was established (or why it fails)
  std::string experiment;    ///< what was run
  std::string quantity;      ///< what `measured` is
  double measured = std::numeric_limits<double>::quiet_NaN();
  double bound = std::numeric_limits<double>::quiet_NaN();
  /// bound - measured for "measured <= bound" checks, |bound| - |measured - target| for "near" checks;
  /// a negative margin is a failure.
  double margin = std::numeric_limits<double>::quiet_NaN();
  Verdict verdict = Verdict::fail;
  std::string details;       ///< anything else worth reading
};

/// A registered check: its name, statement and premise, and the experiment that decides it.
struct TheoryCheck {
  std::string name;
  std::string statement;
  std::string premise;
  std::function<CheckResult()> run;
};

/// Every built-in check, in a stable order, followed by the checks added with register_check().
const std::vector<TheoryCheck>& all_checks();
/// Adds a check defined outside this component (e.g. the learned-operator checks that need LibTorch,
/// registered by the iterop command when it is built with them). A name already present is ignored.
/// Call before running checks: references from all_checks() may be invalidated.
void register_check(TheoryCheck check);
/// The check with this name; throws iterop::invalid_option naming the unknown name and the known ones.
const TheoryCheck& find_check(const std::string& name);

/// Sets premise, verdict from (premise_met, margin >= 0) and returns the result (helper for checks).
CheckResult conclude(CheckResult r);

}  // namespace iterop::theory
