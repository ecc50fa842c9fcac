// `iterop train denoiser [--data NAME] [--steps n] [--seed s] [--sample-steps S] [--diffusion-steps T]
// [--samples n] [--out FILE] [--format table|json]`: trains a DDPM denoiser on a 2-D data set and
// prints its sample quality (DDPM and DDIM at S steps) against a fresh data sample.
#pragma once

#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

namespace iterop::cli {

/// The `train denoiser` subcommand (built only with the LibTorch operators), added under the
/// existing `train` subcommand of the app.
class TrainDenoiserCommand {
 public:
  /// Adds "denoiser" to the "train" subcommand of `app` (which must exist).
  explicit TrainDenoiserCommand(CLI::App& app);

  /// Whether the command line selected `train denoiser`.
  bool selected() const { return denoiser_->parsed(); }

  /// Validates the options (usage_error naming option, value and rule) before any work, trains the
  /// denoiser, samples with DDPM and DDIM (eta 0) at --sample-steps, prints W2, MMD^2 (gamma 2) and
  /// the energy distance against a fresh data sample, and saves the model to --out when given.
  /// Progress goes to `progress`. Returns exit_ok (also when the loss became non-finite: the status
  /// is printed), exit_failure when the model file cannot be written.
  int execute(std::ostream& out, std::ostream& progress) const;

 private:
  CLI::App* denoiser_;
  std::string data_ = "moons";
  std::string steps_ = "3000";
  std::string seed_ = "0";
  std::string sample_steps_ = "50";
  std::string diffusion_steps_ = "100";
  std::string samples_ = "500";
  std::string dim_ = "2";
  std::string out_file_;
  std::string format_ = "table";
};

}  // namespace iterop::cli
