// The PIGN studies: PIGN against the stacked GCN under feature noise over seeds (pign-sbm, pign-cora),
// and a reproducible hyperparameter search for PIGN on validation followed by that comparison (pign-search).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "iterop/experiments/runner/study.hpp"
#include "iterop/operators/gcn.hpp"
#include "iterop/operators/pign.hpp"
#include "iterop/operators/planetoid.hpp"

namespace iterop::experiments {

/// One PIGN-vs-GCN comparison: data, noise levels, seeds, both models' options and the inference schedule.
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

/// A reproducible hyperparameter search for PIGN and for the GCN on the validation split only, then the
/// selected configurations against each other on test over seeds. Per noise level: `trials` PIGN
/// configurations and `gcn_trials` GCN configurations, each trained once (seed context.seed) and scored
/// by its best validation accuracy; the best of each (ties: the earlier trial) are retrained with
/// `final_seeds` seeds, and only then is test accuracy read.
/// PIGN's space (`mode`): "equilibrium" (the default: trial 0 alpha 0.5, spectral bound 0.9, width 64,
/// input + encoder dropout, lr 0.01; trials 1 and 2 the same with the propagation step (step "propagate",
/// teleport 0.1, alpha 0), on row-normalised (1) and standardised (2) features; the others from
/// std::mt19937_64(context.seed) over alpha {0, 0.3, 0.5}, bound c {0.8, 0.9, 0.95} kept by {spectral,
/// frobenius} normalisation, width {32, 64, 128}, dropout placement {encoder, encoder + loop, input + encoder},
/// row normalisation {on, off}, lr {0.005, 0.01, 0.02}, weight decay {5e-4, 5e-3}, Jacobian penalty {0, 0.1},
/// step {gcn, propagate}, teleport {0.1, 0.2}, feature scaling {none, standardise}); or "unrolled" (trial 0 is the pre-search
/// setting, tuned_pign_options() with width 32 and lr 0.01; the others over alpha {0.3, 0.55, 0.8} and its
/// schedule {constant, rising to 0.95, learned}, K {2, 4, 9}, width {16, 32, 64}, dropout placement, row
/// normalisation, spectral normalisation c {off, 0.9}, lr {0.005, 0.01, 0.02}). GCN's space: trial 0 is
/// GcnOptions{} (Kipf and Welling), trial 1 the same on standardised features, the others over width {16, 32,
/// 64}, dropout {0.5, 0.7}, lr {0.005, 0.01}, weight decay {5e-4, 5e-3}, row normalisation {on, off}, feature
/// scaling {none, standardise}. The final seeds also run PIGN for
/// k_multiple K iterations (K: training iterations, or the mean forward iterations of equilibrium
/// training) and report the accuracy there against the best along the way.
struct PignSearch {
  std::string name;                            ///< experiment name
  std::filesystem::path data_folder;           ///< Planetoid folder; empty: the SBM generator
  std::vector<double> noise_levels{0.0, 0.7};  ///< a search per noise level
  int trials = 10;                             ///< PIGN configurations per noise level (>= 1)
  int epochs = 200;                            ///< training epochs of every PIGN and GCN (>= 1)
  int final_seeds = 5;                         ///< seeds of the final comparison (>= 1)
  operators::GcnOptions gcn{};                 ///< the GCN's fixed options (epochs, device; seed overwritten)
  operators::SbmOptions sbm{};                 ///< generator options when data_folder is empty
  std::string mode = "equilibrium";            ///< PIGN's search space: "equilibrium" or "unrolled"
  int gcn_trials = 6;                          ///< GCN configurations per noise level (>= 1)
  int k_multiple = 4;                          ///< final seeds: iterate PIGN to k_multiple K (>= 1)

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// The comparison for run_study: one record per (noise level, seed) with both models' training, PIGN's
/// accuracy and MAD along the inference schedule (arrays) and the contraction of its trained step; derived:
/// mean and std over seeds per noise level. Plots accuracy_vs_iterations.png and mad_vs_iterations.png.
Study pign_study(const PignStudy& settings, const ExperimentContext& context);

/// The search for run_study: one record per trial ("kind": "trial" for PIGN, "gcn_trial" for the GCN;
/// validation only) and per final seed ("kind": "final"); derived: the selections and mean and std over
/// the final seeds per noise level.
Study pign_search_study(const PignSearch& settings, const ExperimentContext& context);

/// "pign-sbm": the SBM generator, p in {0, 0.5}, 2 seeds, 100 epochs; in the default suite.
Experiment pign_sbm_experiment();
/// "pign-cora": the Planetoid folder of --data (else ../shared/data/planetoid/cora when present, else the
/// SBM generator), p in {0, 0.5, 0.7}, 5 seeds, 200 epochs.
Experiment pign_cora_experiment();
/// "pign-search": on the SBM generator (8 trials, 100 epochs, 3 final seeds) or on the Planetoid folder
/// of --data (10 trials, 200 epochs, 5 final seeds).
Experiment pign_search_experiment();

}  // namespace iterop::experiments
