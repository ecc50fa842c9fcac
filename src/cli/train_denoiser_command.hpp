// `iterop train denoiser [--dataset NAME] [--steps n] [--lr LR] [--seed s] [--ode-steps S]
// [--diffusion-steps T] [--samples n] [--model FILE] [--format table|json] [--ranks N]`: trains a DDPM denoiser on a
// built-in data set and prints its sample quality (DDPM and DDIM at S steps) against a fresh data sample.
#pragma once

#include <cstdint>
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

  /// Checks the combinations of options (usage_error naming option, value and rule; CLI11 has checked
  /// each) before any work, trains the denoiser, samples with DDPM and DDIM (eta 0) at --ode-steps,
  /// prints W2, MMD^2 (gamma 2) and the energy distance against a fresh data sample, and saves the
  /// model to --model when given. Progress goes to `progress`. Returns exit_ok; exit_failure when the
  /// loss became non-finite (the status and the model are still printed and saved) or the model file
  /// cannot be written.
  int execute(std::ostream& out, std::ostream& progress) const;

 private:
  CLI::App* denoiser_;
  std::string dataset_ = "moons";
  int steps_ = 3000;
  double lr_ = 0;  // DenoiserOptions' default, set in the constructor
  std::uint64_t seed_ = 0;  // set to default_seed by add_seed_option
  int ode_steps_ = 50;
  int diffusion_steps_ = 100;
  int samples_ = 500;
  int dim_ = 2;
  std::string model_file_;
  std::string format_;
  int ranks_ = 0;  // --ranks: 0 = one process, or as launched by mpirun
};

}  // namespace iterop::cli
