// The PIGN experiments "pign-sbm" (built-in SBM generator, no data needed) and "pign-cora" (Planetoid
// Cora): PIGN vs the stacked GCN under feature noise, over seeds, with accuracy and MAD per iteration.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "iterop/experiments/experiment_registry.hpp"
#include "iterop/operators/gcn.hpp"
#include "iterop/operators/pign.hpp"

namespace iterop::experiments {

/// One PIGN-vs-GCN study: data, noise levels, seeds, both models' options and the inference schedule.
struct PignStudy {
  std::string name;                        ///< experiment name, e.g. "pign-sbm"
  std::filesystem::path data_folder;       ///< Planetoid folder; empty: the SBM generator (seed = run seed + i)
  std::vector<double> noise_levels{0.0};   ///< feature-noise fractions p (see operators::add_feature_noise)
  int seeds = 2;                           ///< seeds context.seed, context.seed + 1, ... (>= 1)
  operators::PignOptions pign{};           ///< PIGN options (seed overwritten per run)
  operators::GcnOptions gcn{};             ///< GCN options (seed overwritten per run)
  int inference_iterations = 18;           ///< length of the constant-alpha inference schedule (>= 1)
  operators::SbmOptions sbm{};             ///< generator options when data_folder is empty (seed overwritten)

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// The PIGN setting selected by pign-search on Cora validation: width 64, K = 9, alpha 0.55 (constant),
/// input dropout 0.5, dropout 0.5 after the encoder only (none inside the loop), no row normalisation,
/// Adam lr 0.005, weight decay 5e-4 (the selection at p = 0.7; second of 10 on validation at p = 0,
/// where a rising schedule alpha 0.8 -> 0.95 was first).
operators::PignOptions tuned_pign_options();

/// The Cora folder for experiments: $ITEROP_CORA_DIR when set (it must then hold features.tsv, else
/// invalid_option), else ../shared/data/planetoid/cora relative to the current folder when present,
/// else an empty path (use the SBM generator).
std::filesystem::path resolve_cora_folder();

/// Runs the study and writes report.md, results.json, results.csv, config.json and the plots
/// accuracy_vs_iterations.png and mad_vs_iterations.png into context.output_folder.
ExperimentOutcome run_pign_study(const ExperimentContext& context, const PignStudy& study);

/// "pign-sbm": the SBM generator, p in {0, 0.5}, 2 seeds, 100 epochs, with the contraction of every
/// trained step (about 13 s of CPU). In the default suite (its short neural run).
Experiment pign_sbm_experiment();

/// "pign-cora": Cora (resolve_cora_folder(); the SBM generator when absent), p in {0, 0.5, 0.7},
/// 5 seeds, 200 epochs. Not in the default suite (minutes on CPU).
Experiment pign_cora_experiment();

/// A reproducible hyperparameter search for PIGN on the validation split only, then the selected
/// configuration against the GCN on test over seeds. Per noise level: `trials` configurations (trial 0
/// is the pre-search setting (tuned_pign_options() with width 32, lr 0.01), the others drawn from std::mt19937_64(context.seed) over alpha {0.3, 0.55,
/// 0.8} and its schedule {constant, rising to 0.95, learned}, K {2, 4, 9}, width {16, 32, 64}, dropout
/// placement {encoder, encoder + loop, input + encoder}, row normalisation {on, off}, spectral
/// normalisation c {off, 0.9}, lr {0.005, 0.01, 0.02}), each trained once (seed context.seed) and scored
/// by its best validation accuracy; the best one (ties: the earlier trial) is retrained with
/// `final_seeds` seeds beside the GCN, and only then is test accuracy read.
struct PignSearch {
  std::string name;                              ///< experiment name
  std::filesystem::path data_folder;             ///< Planetoid folder; empty: the SBM generator
  std::vector<double> noise_levels{0.0, 0.7};    ///< a search per noise level
  int trials = 10;                               ///< configurations per noise level (>= 1)
  int epochs = 200;                              ///< training epochs of every PIGN and GCN (>= 1)
  int final_seeds = 5;                           ///< seeds of the final comparison (>= 1)
  operators::GcnOptions gcn{};                   ///< the baseline (seed overwritten)
  operators::SbmOptions sbm{};                   ///< generator options when data_folder is empty

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// Runs the search; writes report.md, results.json (every trial with its configuration and validation
/// accuracy, the selection, the final cells), results.csv (final cells) and config.json.
ExperimentOutcome run_pign_search(const ExperimentContext& context, const PignSearch& search);

/// "pign-search": the search on the SBM generator (quick: 8 trials, 100 epochs, 3 final seeds, p in
/// {0, 0.7}), or on the Planetoid folder of `iterop run pign-search --data DIR` (10 trials, 200 epochs,
/// 5 final seeds). Not in the default suite.
Experiment pign_search_experiment();

}  // namespace iterop::experiments
