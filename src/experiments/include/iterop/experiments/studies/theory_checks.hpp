// The "theory-checks" experiment: every check of iterop::theory::all_checks() run once, with a report
// folder (report.md with the table of verdicts, results.json, results.csv, config.json).
#pragma once

#include "iterop/experiments/runner/experiment_registry.hpp"
#include "iterop/experiments/runner/records.hpp"
#include "iterop/theory_checks/check.hpp"

namespace iterop::experiments {

/// Every field of a check's result as a record (NaN as null): the study's record and `iterop check --format json`.
Record check_record(const theory::CheckResult& r);

/// The registry entry: name "theory-checks"; its outcome's summary counts the verdicts (a failing check is a
/// verdict in the report, not an exception).
Experiment theory_checks_experiment();

}  // namespace iterop::experiments
