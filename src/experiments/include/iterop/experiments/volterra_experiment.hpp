// The "volterra" experiment: every applicable iterop::quadrature method on the Volterra reference
// problems of PROBLEMS.md over halving steps; error tables, observed orders, plots, and N4 past t = 1.
#pragma once

#include <string>
#include <vector>

#include "iterop/experiments/experiment_registry.hpp"
#include "iterop/experiments/volterra_convergence.hpp"

namespace iterop::experiments {

/// What the volterra experiment runs.
struct VolterraExperimentConfig {
  int min_power = 4;             ///< N = 2^min_power ... 2^max_power for every problem but L3
  int max_power = 10;
  int l3_min_power = 8;          ///< L3 (boundary layer of width 1/(lambda + mu) = 1/1010): finer grids
  int l3_max_power = 13;
  double a2_grading = 2;         ///< A2 also on the graded grid t_j = (j/N)^r
  double n4_beyond_T = 1.5;      ///< N4 solved past its blow-up at t = 1 ...
  std::vector<int> n4_beyond_steps = {64, 256, 1024};  ///< ... with these N
};

/// One problem solved by one method on one kind of grid, over the step counts of the config.
struct VolterraStudyCase {
  std::string problem;           ///< reference id: L2, L3, N1, N3, N4, S1, A2, F2, D2
  VolterraMethod method = VolterraMethod::trapezoid;
  double grading = 1;            ///< 1: uniform
  std::vector<int> steps;

  /// e.g. "trapezoid", "product_trapezoid (graded r=2)".
  std::string label() const;
};

/// Every case of `config`, in report order.
std::vector<VolterraStudyCase> volterra_cases(const VolterraExperimentConfig& config);

/// The reference problem `id` (L2 ... D2 of PROBLEMS.md; N4 with end `T` when T > 0).
AnyVolterraProblem volterra_reference_problem(const std::string& id, double T = 0);

/// Runs the experiment and writes report.md, results.csv, results.json, config.json and
/// convergence.png (with its .dat and .gp) into context.output_folder. Throws io_error when a file
/// cannot be written and iterop::invalid_option for a bad config.
ExperimentOutcome run_volterra_experiment(const VolterraExperimentConfig& config, const ExperimentContext& context);

/// The registry entry: name "volterra", running `config`.
Experiment volterra_experiment(VolterraExperimentConfig config = {});

}  // namespace iterop::experiments
