// `iterop train flow` (--arch CaLMFlow, I-CFM or OT-CFM between two built-in data sets or points files
// FILE.csv, saved to --model FILE) and `iterop sample flow` (generate from a saved model, write --csv,
// print sample distances to a target data set or points file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>

namespace iterop::cli {

/// The `train flow` and `sample flow` subcommands (built only with the LibTorch operators).
class FlowCommand {
 public:
  /// Adds "flow" to the existing "train" subcommand of `app` (created by TrainCommand) and adds
  /// "sample" with its "flow" subcommand.
  explicit FlowCommand(CLI::App& app);

  /// Whether the command line selected `train flow` or `sample flow`.
  bool selected() const { return train_flow_->parsed() || sample_flow_->parsed(); }

  /// Runs the selected subcommand. Every option is checked first (by CLI11, then usage_error for the
  /// combinations: naming the option, the value and the rule; exit 2) before any data is drawn or any
  /// model is built. Progress goes to `progress`. Returns exit_ok; exit_failure when training ended
  /// with a non-finite loss; exit_not_converged when sampling did not finish (parallel solve outside
  /// --tol, ODE not at t = 1).
  int execute(std::ostream& out, std::ostream& progress) const;

 private:
  int train(std::ostream& out, std::ostream& progress) const;
  int sample(std::ostream& out, std::ostream& progress) const;

  CLI::App* train_flow_ = nullptr;
  CLI::App* sample_ = nullptr;
  CLI::App* sample_flow_ = nullptr;

  // train flow (the defaults shown by --help; width and batch depend on --arch when not given)
  std::string arch_ = "calmflow", source_ = "8gaussians", target_ = "moons", model_file_ = "flow.model";
  int dim_ = 2, steps_ = 1000, batch_ = 256, width_ = 0, layers_ = 2, heads_ = 2, feedforward_ = 256,
      time_points_ = 16, trajectories_ = 8, spatial_tokens_ = 1, depth_ = 3, checkpoint_every_ = 0,
      progress_every_ = 0;
  std::size_t pool_ = 10000;
  std::uint64_t seed_ = 0;  // set to default_seed by add_seed_option
  double lr_ = 0.001, beta_ = 0.1;
  std::string activation_ = "selu", checkpoint_, resume_, device_ = "cpu", format_;
  int ranks_ = 0;  // train --ranks: 0 = one process, or as launched by mpirun
  std::string preset_ = "default", head_, paths_;  // head_, paths_, path_sigma_, increment_: CalmFlowOptions{}'s
  double path_sigma_ = 0;
  bool increment_ = false, head_reads_state_ = false;
  CLI::Option *width_option_ = nullptr, *checkpoint_every_option_ = nullptr, *progress_every_option_ = nullptr;

  // sample flow
  std::string s_model_, s_method_, s_csv_, s_target_, s_source_, s_prompt_, s_format_;
  std::size_t s_n_ = 1000;
  std::uint64_t s_seed_ = 0;  // set to default_seed by add_seed_option
  int s_ode_steps_ = 100;
  double s_temperature_ = -1, s_rtol_ = 1e-5, s_atol_ = 1e-5, s_gamma_ = 2, s_tol_ = 1e-4;
};

}  // namespace iterop::cli
