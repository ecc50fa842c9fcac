// The flow-matching experiments: CaLMFlow against I-CFM and OT-CFM on 2-D and high-dimensional pairs
// (flow-2d, flow-highdim), CaLMFlow ablations (flow-ablation), and prompt conditioning with held-out
// combinations (flow-conditional); exact W2, RBF MMD and energy distance with sample size and seeds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "iterop/distributions/sample_set.hpp"
#include "iterop/experiments/experiment_registry.hpp"
#include "iterop/experiments/flow_conditional_data.hpp"
#include "iterop/experiments/flow_ode_sampling.hpp"
#include "iterop/operators/calmflow.hpp"
#include "iterop/operators/conditional_flow_matching.hpp"

namespace iterop::experiments {

/// The generative models compared.
enum class FlowModelKind { calmflow, icfm, otcfm };
/// "calmflow", "icfm", "otcfm".
std::string to_string(FlowModelKind k);
/// Parses a name of to_string; throws iterop::invalid_option naming the value otherwise.
FlowModelKind parse_flow_model_kind(const std::string& name);

/// A source -> target pair of iterop::distributions data sets in dimension dim.
struct FlowPair {
  std::string source = "8gaussians";
  std::string target = "moons";
  int dim = 2;
  /// e.g. "8gaussians -> moons" or "2gaussians -> 4blobs (D = 100)".
  std::string label() const;
};

/// How large the built-in experiments run: `small` (the default: minutes on 2 CPU cores) or `full`
/// (the paper's scale: 2000+ steps, 1000 samples, more seeds). Chosen by ITEROP_FLOW_SIZE.
enum class FlowSize { small, full };
/// ITEROP_FLOW_SIZE: unset, "" or "small" -> small, "full" -> full; anything else throws
/// iterop::invalid_option naming the variable, its value and the rule.
FlowSize flow_size_from_environment();

/// Settings every flow study shares: data, sizes, seeds, metrics.
struct FlowEvaluation {
  std::size_t samples = 500;      ///< n generated points, compared with n fresh target points (>= 2)
  std::size_t pool = 10000;       ///< training pools: pool source and pool target points per seed (>= 1)
  int seeds = 1;                  ///< seeds context.seed, context.seed + 1, ... (>= 1)
  double gamma = 2.0;             ///< RBF MMD kernel exp(-gamma ||x - y||^2) (> 0)
  double temperature = 0.5;       ///< CaLMFlow sampling temperature (>= 0)
  FlowOdeOptions ode{};           ///< how CFM models are sampled (default Euler, 100 steps)

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// flow-2d / flow-highdim: every pair x every model x every seed, one trained model per cell.
struct FlowStudy {
  std::string name = "flow-2d";                 ///< experiment name
  std::vector<FlowPair> pairs{FlowPair{}};      ///< data pairs (dim >= 1; 2-D sets need dim 2)
  std::vector<FlowModelKind> models{FlowModelKind::calmflow, FlowModelKind::icfm, FlowModelKind::otcfm};
  FlowEvaluation eval{};
  operators::CalmFlowOptions calmflow{};        ///< dim and seed are set per cell
  operators::CfmOptions cfm{};                  ///< dim, coupling and seed set per cell; steps and batch follow calmflow
  /// Choose the CFM width per pair so that its parameter count is closest to CaLMFlow's (depth kept).
  bool match_parameters = true;
  /// Also run parallel-in-time generation (Picard, Anderson) on the first parallel_rows source points.
  bool parallel_in_time = true;
  std::size_t parallel_rows = 64;               ///< >= 1
  double parallel_tol = 1e-4;                   ///< tolerance on ||x_k - x_sequential||_max (> 0)

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// flow-ablation: CaLMFlow on one pair, one option varied at a time around `base`.
struct FlowAblationStudy {
  std::string name = "flow-ablation";
  FlowPair pair{};
  FlowEvaluation eval{};
  operators::CalmFlowOptions base{};            ///< dim and seed set per cell
  std::vector<double> temperatures{0.0, 0.2, 0.5, 1.0};  ///< sampled from the base model (no retraining)
  std::vector<int> time_points{4, 8, 16};       ///< N
  std::vector<int> trajectories{1, 2, 4, 8};    ///< M (batch kept: trajectories per step)
  std::vector<int> spatial_tokens{1, 2, 4};     ///< K
  bool deterministic_head = true;               ///< also the variational = false ablation

  void validate() const;
};

/// flow-conditional: one prompt-conditioned CaLMFlow per seed on the seen combinations; metrics on
/// every seen and every held-out combination.
struct FlowConditionalStudy {
  std::string name = "flow-conditional";
  ConditionalFlowTask task{};
  std::string source = "normal";                ///< 2-D source data set
  std::size_t per_prompt = 1000;                ///< training target points per seen prompt (>= 1)
  FlowEvaluation eval{};                        ///< samples = points per prompt
  operators::CalmFlowOptions calmflow{};        ///< dim (2) and seed set per cell

  void validate() const;
};

/// Runs a study and writes report.md, results.json, results.csv, config.json and the plots into
/// context.output_folder. Each trained model is a cell (cells/, resumable, ITEROP_STOP_AFTER_CELLS).
ExperimentOutcome run_flow_study(const ExperimentContext& context, const FlowStudy& study);
ExperimentOutcome run_flow_ablation(const ExperimentContext& context, const FlowAblationStudy& study);
ExperimentOutcome run_flow_conditional(const ExperimentContext& context, const FlowConditionalStudy& study);

/// A CFM minibatch sampler over a fixed pool that draws n DISTINCT rows per step (a partial
/// Fisher-Yates shuffle with std::mt19937_64 seeded by seed and step; n <= pool rows). Distinct rows
/// keep exact ties out of OT-CFM's assignment problems: with repeated rows (operators::pool_sampler
/// draws with replacement) the network simplex on floating-point costs was seen to stall.
operators::CfmBatchSampler distinct_pool_sampler(distributions::SampleSet pool, std::uint64_t seed);

/// The CFM MLP width (depth kept) whose parameter count is closest to `parameters` in dimension dim.
int cfm_width_for_parameters(long parameters, int dim, int depth);

/// The built-in studies at a size.
FlowStudy flow_2d_study(FlowSize size);
FlowStudy flow_highdim_study(FlowSize size);
FlowAblationStudy flow_ablation_study(FlowSize size);
FlowConditionalStudy flow_conditional_study(FlowSize size);
/// A short flow-2d (8gaussians -> moons, small CaLMFlow vs I-CFM, 200 samples) for the default suite.
FlowStudy flow_quick_study();

/// Registry entries: "flow-2d", "flow-highdim", "flow-ablation", "flow-conditional" (not in the
/// suite; ITEROP_FLOW_SIZE=full for the paper's scale) and "flow-quick" (in the default suite, about 8 s).
Experiment flow_2d_experiment();
Experiment flow_highdim_experiment();
Experiment flow_ablation_experiment();
Experiment flow_conditional_experiment();
Experiment flow_quick_experiment();

}  // namespace iterop::experiments
