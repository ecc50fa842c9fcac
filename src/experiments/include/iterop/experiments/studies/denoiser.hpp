// The diffusion-denoiser studies: a DDPM denoiser per data set and dimension, sample quality against the
// number of denoising steps (DDPM, DDIM), the sampling chain solved parallel-in-time (Picard, Anderson).
#pragma once

#include <string>
#include <vector>

#include "iterop/experiments/runner/study.hpp"
#include "iterop/operators/diffusion_denoiser.hpp"

namespace iterop::experiments {

/// The settings of a denoiser study: data sets and dimensions (one cell, one trained model, per pair),
/// model and training, the step counts S of the quality and parallel-in-time rows, sample sizes and the
/// parallel solver's settings.
struct DenoiserStudy {
  std::string name;                                          ///< experiment name, e.g. "denoiser-2d"
  std::vector<std::string> datasets{"moons", "8gaussians"};  ///< names of distributions::sample_dataset
  std::size_t train_samples = 10000;                         ///< training set size per cell (>= 1)
  std::size_t eval_samples = 500;                            ///< generated and target samples per quality row (>= 2)
  operators::DenoiserOptions model{};                        ///< denoiser options (dim and seed set per cell)
  std::vector<int> quality_steps{1, 2, 5, 10, 20, 50, 100};  ///< S of the quality rows (each in 1..T)
  std::vector<int> parallel_steps{10, 25, 50, 100};          ///< S of the parallel-in-time rows (each in 1..T)
  std::size_t parallel_samples = 100;                        ///< samples per parallel-in-time run (>= 1)
  double parallel_tolerance = 1e-3;                          ///< per-step tolerance relative to the noise scale
  int window = 0;                                            ///< parallel window (0: the whole chain)
  int anderson_memory = 5;                                   ///< Anderson's depth
  int step_form_max_steps = 25;                              ///< also Picard on the plain (step) chain for S <= this
  double gamma = 2.0;                                        ///< MMD kernel exp(-gamma ||x - y||^2)
  /// Data dimensions D: one cell per (data set, D). Names other than "normal", "4blobs", "2gaussians" are
  /// 2-D only; every D >= 2 (the scatter plots show the first two coordinates).
  std::vector<int> dims{2};
  bool gamma_per_dim = false;  ///< true: the MMD kernel of a cell in dimension D uses gamma / D
  /// S of the contraction diagnostics of the learned DDIM step (DiffusionDenoiser::step_contraction); 0: none.
  int contraction_steps = 0;
  std::size_t contraction_trajectories = 2;  ///< trajectories probed by the contraction diagnostics (>= 1)

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// "denoiser-2d": moons and 8gaussians, T = 100, width 128, depth 3, 3000 Adam steps, 500 samples per
/// quality row, S in {1, 2, 5, 10, 20, 50, 100}; parallel S in {10, 25, 50, 100} on 100 samples.
DenoiserStudy default_denoiser_study();
/// "denoiser-2d-quick": moons, width 64, 1500 Adam steps, 300 samples per quality row, S in {1, 5, 20,
/// 100}; parallel S in {20, 100} on 50 samples.
DenoiserStudy quick_denoiser_study();
/// "denoiser-2d-full": moons, 8gaussians, checkerboard, spirals; T = 1000, 20000 Adam steps, 50000
/// training points, 2000 samples per quality row, S up to 1000; parallel rows on 500 samples in windows of 200.
DenoiserStudy full_denoiser_study();
/// "denoiser-highdim": 4blobs in D = 10 and 100, T = 100, width 256, MMD with gamma = 1 / D.
DenoiserStudy highdim_denoiser_study();
/// "denoiser-highdim-full": the same in D = 10, 100 and 1000.
DenoiserStudy highdim_full_denoiser_study();

/// The study of `settings` (validated) for run_study: one record per (data set, D) with the training,
/// the quality rows ("quality"), the parallel-in-time rows ("parallel"), the step diagnostics
/// ("contraction") and the scatter points; the report's tables and plots samples.png,
/// quality_vs_steps.png, sweeps_vs_steps.png, with quality.csv and parallel.csv.
Study denoiser_study(const DenoiserStudy& settings, const ExperimentContext& context);

/// The registered experiments, one per preset above and named by it; denoiser-2d-quick is in the default suite.
std::vector<Experiment> denoiser_experiments();

}  // namespace iterop::experiments
