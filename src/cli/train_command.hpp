// `iterop train pign [--data DIR|--dataset sbm] [--noise p] [--seed s] [--epochs n] [--lr LR] [--k K]
// [--alpha a] [--width w] [--infer N] [--spectral-norm C] [--format table|json]`: trains PIGN once and
// prints its accuracies.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

namespace iterop::cli {

/// The `train` subcommand and its `pign` subcommand (built only with the LibTorch operators).
class TrainCommand {
 public:
  /// Adds "train" (with "pign") to `app`.
  explicit TrainCommand(CLI::App& app);

  /// Whether the command line selected `train pign`.
  bool selected() const { return pign_->parsed(); }

  /// Loads the Planetoid folder --data or generates --dataset sbm, adds the feature noise, trains PIGN
  /// with model selection on validation and prints validation and test accuracy and the accuracy and
  /// MAD after every iteration of a constant-alpha inference schedule (CLI11 has checked each option;
  /// usage_error for a combination). Progress goes to `progress`. Returns exit_ok, or exit_failure
  /// (after printing) when a training loss was not finite.
  int execute(std::ostream& out, std::ostream& progress) const;

 private:
  CLI::App* train_;
  CLI::App* pign_;
  std::string data_;
  std::string dataset_ = "sbm";
  CLI::Option* dataset_option_ = nullptr;
  double noise_ = 0;
  std::uint64_t seed_ = 0;  // set to default_seed by add_seed_option
  int epochs_ = 200;
  double lr_ = 0;  // the tuned setting's, set in the constructor
  int k_ = 9;
  double alpha_ = 0.55;
  int width_ = 64;
  int infer_ = 0;  // 0: 2 K
  double spectral_norm_ = 0;
  std::string mode_ = "unrolled";
  std::string weight_bound_ = "spectral";
  double jacobian_penalty_ = 0;
  std::string feature_scaling_ = "none", step_ = "gcn";
  double teleport_ = 0.1;
  int ranks_ = 0;  // --ranks: 0 = one process, or as launched by mpirun
  std::string format_;
};

}  // namespace iterop::cli
