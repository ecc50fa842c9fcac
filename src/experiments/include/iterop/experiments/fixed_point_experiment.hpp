// The default experiment "fixed-point": the H-equation (N = 512) for c from 0.5 to 0.9999 solved by
// Picard, Krasnoselskii-Mann, iterop's Anderson, KINSOL's Anderson (MGS, CGS2, DCGS2) and Ceres.
#pragma once

#include <string>
#include <vector>

#include "iterop/experiments/experiment_registry.hpp"
#include "iterop/experiments/fixed_point_run.hpp"

namespace iterop::experiments {

/// What the fixed-point experiment runs. Every case uses the Toth-Kelley rule
/// ||G(x) - x||_2 <= tol ||G(x0) - x0||_2 + tol and at most max_iterations iterations.
struct FixedPointExperimentConfig {
  std::vector<double> c_values = {0.5, 0.9, 0.99, 0.999, 0.9999};  ///< H-equation albedos
  int n = 512;                                                     ///< H-equation size N
  std::vector<int> memories = {1, 2, 3, 5, 10};                    ///< Anderson depths m
  double km_alpha = 0.5;                                           ///< Krasnoselskii-Mann alpha
  double tol = 1e-8;                                               ///< Toth-Kelley tolerance
  int max_iterations = 1000;
  std::vector<double> plot_c = {0.99, 0.9999};     ///< one plot panel of residual histories per value
  std::vector<double> compare_c = {0.999, 0.9999}; ///< the side-by-side section: these c ...
  int compare_memory = 10;                         ///< ... at this depth
  bool kinsol = true;                              ///< run KINSOL cases (when built with SUNDIALS)
  bool ceres = true;                               ///< run Ceres cases (when built with Ceres)
};

/// One solve of the experiment: the H-equation with albedo c, by `method`.
struct FixedPointCase {
  double c = 0.0;
  std::string label;   ///< e.g. "iterop Anderson m=3", "KINSOL MGS m=3 (own test)"
  std::string family;  ///< e.g. "iterop Anderson", "KINSOL MGS (own test)"
  int memory = -1;     ///< Anderson depth, -1 when not an Anderson method
  MethodSpec method;
};

/// Every case of `config`, c-major, in a fixed order; KINSOL and Ceres cases only where built.
std::vector<FixedPointCase> fixed_point_cases(const FixedPointExperimentConfig& config);

/// Runs the experiment and writes report.md, results.csv, results.json, config.json and
/// residual-history.png (with its .dat and .gp) into context.output_folder. Each finished case is also
/// written to cells/ (see CellCache) and read back by a later run of the same build into the same
/// folder, unless context.fresh; context.stop_after_cells stops the run (run_interrupted) for tests.
ExperimentOutcome run_fixed_point_experiment(const FixedPointExperimentConfig& config, const ExperimentContext& context);

/// The registry entry: name "fixed-point", running `config`.
Experiment fixed_point_experiment(FixedPointExperimentConfig config = {});

}  // namespace iterop::experiments
