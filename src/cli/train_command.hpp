// `iterop train pign [--data DIR|--sbm] [--noise p] [--seed s] [--epochs n] [--k K] [--alpha a]
// [--width w] [--infer N] [--spectral-norm C] [--format table|json]`: trains PIGN once and prints its accuracies.
#pragma once

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

  /// Validates the options (usage_error naming option, value and rule), loads or generates the data,
  /// adds the feature noise, trains PIGN with model selection on validation and prints validation and
  /// test accuracy and the accuracy and MAD after every iteration of a constant-alpha inference
  /// schedule. Progress goes to `progress`. Returns exit_ok.
  int execute(std::ostream& out, std::ostream& progress) const;

 private:
  CLI::App* train_;
  CLI::App* pign_;
  std::string data_;
  bool sbm_ = false;
  std::string noise_ = "0";
  std::string seed_ = "0";
  std::string epochs_ = "200";
  std::string k_ = "9";
  std::string alpha_ = "0.55";
  std::string width_ = "64";
  std::string infer_;
  std::string spectral_norm_ = "0";
  std::string format_ = "table";
};

}  // namespace iterop::cli
