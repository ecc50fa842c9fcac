// The flow-matching studies on the study runner: CaLMFlow against I-CFM and OT-CFM on 2-D and
// high-dimensional pairs (flow-2d, flow-highdim, flow-quick), CaLMFlow ablations (flow-ablation) and
// prompt conditioning with held-out combinations (flow-conditional); one trained model per cell.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "iterop/distributions/sample_set.hpp"
#include "iterop/experiments/problems/flow_conditional_data.hpp"
#include "iterop/experiments/problems/flow_ode_sampling.hpp"
#include "iterop/experiments/runner/study.hpp"
#include "iterop/operators/calmflow.hpp"
#include "iterop/operators/conditional_flow_matching.hpp"

namespace iterop::experiments {

/// A source -> target pair of iterop::distributions data sets in dimension dim.
struct FlowPair {
  std::string source = "8gaussians";
  std::string target = "moons";
  int dim = 2;
  /// e.g. "8gaussians -> moons" or "2gaussians -> 4blobs (D = 100)".
  std::string label() const;
};

/// Settings every flow study shares: data, sizes, seeds, metrics.
struct FlowEvaluation {
  std::size_t samples = 500;      ///< n generated points, compared with n fresh target points (>= 2)
  std::size_t pool = 10000;       ///< training pools: pool source and pool target points per seed (>= 1)
  int seeds = 1;                  ///< seeds context.seed, context.seed + 1, ... (>= 1)
  double gamma = 2.0;             ///< RBF MMD kernel exp(-gamma ||x - y||^2) (> 0)
  double temperature = -1;        ///< CaLMFlow sampling temperature (>= 0; negative: the head's default)
  /// CaLMFlow's temperature chosen on validation data: when not empty, each trained model samples n points
  /// from validation source points at every temperature here and keeps the one whose sample is closest (energy
  /// distance) to a validation target sample; both validation draws are independent of the test draws
  /// (seed rule in config.json). Empty: sample at `temperature`. Each >= 0 and finite.
  std::vector<double> temperatures{};
  FlowOdeOptions ode{};           ///< how CFM models are sampled (default Euler, 100 steps)

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// flow-2d / flow-highdim / flow-quick: every pair x seed x model, one trained model per cell, and two
/// baselines per pair and seed: the floor (two target samples) and the moment-matched Gaussian (the
/// target pool's mean and covariance), which a model must beat to have learned the shape.
struct FlowStudy {
  std::string name = "flow-2d";
  std::vector<FlowPair> pairs{FlowPair{}};  ///< dim >= 1; 2-D sets need dim 2
  std::vector<std::string> models{"calmflow", "icfm", "otcfm"};  ///< each one of these three
  FlowEvaluation eval{};
  operators::CalmFlowOptions calmflow{};    ///< dim and seed are set per cell
  operators::CfmOptions cfm{};              ///< dim, coupling and seed set per cell; steps and batch follow calmflow
  /// Choose the CFM width per pair so that its parameter count is closest to CaLMFlow's (depth kept).
  bool match_parameters = true;
  /// Also run parallel-in-time generation (Picard, Anderson) on the first parallel_rows source points.
  bool parallel_in_time = true;
  std::size_t parallel_rows = 64;           ///< >= 1
  double parallel_tol = 1e-4;               ///< tolerance on ||x_k - x_sequential||_max (> 0)

  void validate() const;
};

/// flow-ablation: CaLMFlow on one pair, one option varied at a time around `base`.
struct FlowAblationStudy {
  std::string name = "flow-ablation";
  FlowPair pair{};
  FlowEvaluation eval{};
  operators::CalmFlowOptions base{};                     ///< dim and seed set per cell
  std::vector<double> temperatures{0.0, 0.2, 0.5, 1.0};  ///< sampled from the base model (no retraining)
  std::vector<int> time_points{4, 8, 16};                ///< N
  std::vector<int> trajectories{1, 2, 4, 8};             ///< M (batch kept: trajectories per step)
  std::vector<int> spatial_tokens{1, 2, 4};              ///< K
  /// Heads and paths tried around the base (those equal to the base's are the base itself).
  std::vector<std::string> heads{"flow", "gaussian", "variational", "deterministic"};
  std::vector<std::string> paths{"straight", "bridge"};
  /// Also the authors' settings (calmflow_preset("paper-2d")) at the base's sizes, steps and batch.
  bool paper_preset = true;

  void validate() const;
};

/// flow-conditional: one prompt-conditioned CaLMFlow per seed on the seen combinations; metrics on
/// every seen and every held-out combination.
struct FlowConditionalStudy {
  std::string name = "flow-conditional";
  ConditionalFlowTask task{};
  std::string source = "normal";          ///< 2-D source data set
  std::size_t per_prompt = 1000;          ///< training target points per seen prompt (>= 1)
  FlowEvaluation eval{};                  ///< samples = points per prompt
  operators::CalmFlowOptions calmflow{};  ///< dim (2) and seed set per cell

  void validate() const;
};

/// The studies for run_study (validated first; throws iterop::invalid_option before any work).
/// flow: one record per (pair, seed, model) and one "floor" record per (pair, seed).
/// ablation: one record per (seed, variant, temperature); the base model's temperatures share one
/// trained model. conditional: one record per (seed, prompt combination); the prompts of a seed share
/// one trained model.
Study make_study(const FlowStudy& settings, const ExperimentContext& context);
Study make_study(const FlowAblationStudy& settings, const ExperimentContext& context);
Study make_study(const FlowConditionalStudy& settings, const ExperimentContext& context);

/// The built-in settings at a size (RunSize::full: the paper's scale).
FlowStudy flow_2d_study(RunSize size);
FlowStudy flow_highdim_study(RunSize size);
FlowAblationStudy flow_ablation_study(RunSize size);
FlowConditionalStudy flow_conditional_study(RunSize size);
/// A short flow-2d (8gaussians -> moons, small CaLMFlow vs I-CFM, 500 samples, 800 steps) for the default suite.
FlowStudy flow_quick_study();

/// Registry entries: flow-quick (in the default suite), flow-2d, flow-highdim, flow-ablation,
/// flow-conditional (not in the suite; `--size full` for the paper's scale).
std::vector<Experiment> flow_experiments();

/// A CFM minibatch sampler over a fixed pool that draws n DISTINCT rows per step (a partial
/// Fisher-Yates shuffle with std::mt19937_64 seeded by seed and step; n <= pool rows). Distinct rows
/// keep exact ties out of OT-CFM's assignment problems: with repeated rows (operators::pool_sampler
/// draws with replacement) the network simplex on floating-point costs was seen to stall.
operators::CfmBatchSampler distinct_pool_sampler(distributions::SampleSet pool, std::uint64_t seed);

/// The CFM MLP width (depth kept) whose parameter count is closest to `parameters` in dimension dim.
int cfm_width_for_parameters(long parameters, int dim, int depth);

}  // namespace iterop::experiments
