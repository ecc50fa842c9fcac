// The recycling study: a small point-set refinement network trained to improve its own output
// (operators::run_point_set_refiner), evaluated after 1, 2, 4, 8 iterations and at its fixed point.
#pragma once

#include "iterop/experiments/runner/study.hpp"
#include "iterop/operators/point_set_refiner.hpp"

namespace iterop::experiments {

/// One record per seed (context.seed, context.seed + 1, ...): the errors after k iterations (arrays
/// "k", "rmse", "curve_distance"; k = 0 is the noisy input, -1 the fixed point), the fixed-point solve
/// and the step's contraction; derived: one row per (seed, k) and the mean over seeds per k. Plots
/// error_vs_iterations.png. Kept in the report folder: the trained TorchScript files refiner_seedS.pt
/// (forward(x, y)) and the noisy points of each seed's first held-out set, noisy_seedS.csv.
Study recycling_study(const operators::RefinerOptions& options, int seeds, const ExperimentContext& context);

/// "recycling": 1 seed of the default RefinerOptions (200 Adam steps); --size full: 5 seeds, 1000 steps.
Experiment recycling_experiment();

}  // namespace iterop::experiments
