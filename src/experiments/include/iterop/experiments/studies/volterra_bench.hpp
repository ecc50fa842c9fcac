// The Volterra work-precision bench (`iterop bench volterra`): iterop's fixed-step VIE methods against
// adaptive ODE integrators on the ODE forms of L3 and N3, error on one 65-point grid, time and evaluations.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/experiments/runner/experiment_registry.hpp"

namespace iterop::experiments {

/// Whether this build has the ODE baselines (SUNDIALS CVODE/ARKODE and Boost.Odeint, ITEROP_HAVE_ODE_BASELINES).
bool volterra_bench_has_ode_baselines();

/// What the bench runs.
struct VolterraBenchConfig {
  std::vector<std::string> problems = {"L3", "N3"};  ///< reference problems with an ODE form
  int min_power = 4;                 ///< VIE sweeps: N = 2^min_power ... 2^max_power
  int max_power = 14;
  std::vector<std::string> vie_methods = {"trapezoid", "block_simpson"};
  /// The same rules with the O(N) sum-of-exponentials history (LagSumMethod::soe), run as
  /// "<rule>+soe" on the problems whose kernel gives its exponentials (L3), and "exponential_trapezoid"
  /// (product integration against those exponentials, exponential_trapezoid.hpp). Empty in --quick.
  std::vector<std::string> soe_methods = {"trapezoid", "block_simpson", "exponential_trapezoid"};
  std::vector<std::string> ode_methods = {"cvode_bdf",   "cvode_adams",   "arkode_erk",
                                          "arkode_dirk", "odeint_dopri5", "odeint_rosenbrock4"};
  std::vector<double> rtols = {1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10};  ///< ODE tolerance sweep
  double atol_factor = 1e-3;         ///< atol = atol_factor * rtol for every component
  int output_points = 65;            ///< the common output grid t_k = k T / (output_points - 1)
  int repetitions = 3;               ///< best of this many for runs whose first try is shorter than ...
  double repeat_below_seconds = 1.0; ///< ... this; longer runs are timed once
  std::vector<double> targets = {1e-4, 1e-6, 1e-9};  ///< accuracies for the time-to-accuracy table
  double ratio_target = 1e-8;        ///< the accuracy of the ratio against iterop's best VIE method
  /// Fractional relaxation y = 1 - 1 / Gamma(alpha) int (t - s)^(alpha - 1) y ds on [0, 1] (solution
  /// E_alpha(-t^alpha)) for each alpha: the product trapezoid with the direct, FFT and SOE histories on
  /// uniform grids (N = 2^fractional_min_power .. 2^fractional_uniform_max_power) and direct and SOE on the
  /// graded grids t_j = (j / N)^(2 / alpha) (up to 2^fractional_graded_max_power). Empty in --quick.
  std::vector<double> fractional_alphas = {0.3, 0.5, 0.8};
  int fractional_min_power = 5;
  int fractional_uniform_max_power = 14;
  int fractional_graded_max_power = 11;
  double fractional_target = 1e-6;   ///< the accuracy of the fractional time-to-accuracy table

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// The reduced sweeps of `--quick` (for tests): N = 2^6 .. 2^10, rtol = 1e-3 .. 1e-6, one repetition.
VolterraBenchConfig quick_volterra_bench_config();

/// A point on a work-precision curve: (time, error).
struct WorkPoint {
  double seconds = 0;
  double error = 0;
  bool usable = true;  ///< the run reached every output time with a finite error
};

/// Time needed to reach max error `target` along a curve in sweep order (cheapest first): the first
/// point with error <= target, interpolated linearly in (log error, log time) with the point before
/// it. NaN when no usable point reaches the target; `at_cheapest` is set when the first usable point
/// already does (the time is then that point's, an upper bound).
double time_to_accuracy(const std::vector<WorkPoint>& curve, double target, bool* at_cheapest = nullptr);

/// Runs the bench and writes report.md, results.json, results.csv, config.json and, per problem,
/// <id>-error-vs-time.png and <id>-error-vs-evaluations.png into context.output_folder.
ExperimentOutcome run_volterra_bench(const VolterraBenchConfig& config, const ExperimentContext& context);

/// The registry entry "volterra-bench": the bench with `config`, by default the quick sweeps of
/// quick_volterra_bench_config() (the full sweeps are `iterop bench volterra`).
Experiment volterra_bench_experiment(VolterraBenchConfig config = quick_volterra_bench_config());

}  // namespace iterop::experiments
