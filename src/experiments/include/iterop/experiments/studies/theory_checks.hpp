// The "theory-checks" experiment: every check of iterop::theory::all_checks() run once, with a report
// folder (report.md with the table of verdicts, results.json, results.csv, config.json).
#pragma once

#include "iterop/experiments/runner/experiment_registry.hpp"
#include "iterop/experiments/runner/records.hpp"
#include "iterop/theory_checks/check.hpp"

namespace iterop::experiments {

/// Runs every theory check and writes report.md, results.json, results.csv and config.json into
/// context.output_folder. The outcome's summary counts the verdicts. Throws io_error when a file
/// cannot be written; a failing check is a verdict in the report, not an exception.
ExperimentOutcome run_theory_checks_experiment(const ExperimentContext& context);

/// Every field of a check's result as a record (NaN as null): the study's record and `iterop check --format json`.
Record check_record(const theory::CheckResult& r);

/// The registry entry: name "theory-checks".
Experiment theory_checks_experiment();

}  // namespace iterop::experiments
