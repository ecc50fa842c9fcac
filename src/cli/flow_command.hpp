// `iterop train flow` (CaLMFlow, I-CFM or OT-CFM between two data sets, saved to a file) and
// `iterop sample flow` (generate from a saved model, write CSV, print sample distances to a target).
#pragma once

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

  /// Runs the selected subcommand. Every option is checked first (usage_error naming the option, the
  /// value and the rule; exit 2) before any data is drawn or any model is built. Progress goes to
  /// `progress`. Returns exit_ok; exit_failure when training ended with a non-finite loss;
  /// exit_not_converged when sampling did not finish (parallel solve outside --tol, ODE not at t = 1).
  int execute(std::ostream& out, std::ostream& progress) const;

 private:
  int train(std::ostream& out, std::ostream& progress) const;
  int sample(std::ostream& out, std::ostream& progress) const;

  CLI::App* train_flow_ = nullptr;
  CLI::App* sample_ = nullptr;
  CLI::App* sample_flow_ = nullptr;

  // train flow
  std::string model_ = "calmflow", source_ = "8gaussians", target_ = "moons", dim_ = "2", steps_ = "1000",
              seed_ = "0", out_ = "flow.model", pool_ = "10000", batch_, lr_ = "0.001", width_, layers_ = "2",
              heads_ = "2", feedforward_ = "256", time_points_ = "16", trajectories_ = "8", spatial_tokens_ = "1",
              beta_ = "0.1", depth_ = "3", activation_ = "selu", checkpoint_, checkpoint_every_ = "0", resume_,
              progress_every_, device_ = "cpu", format_ = "table";
  bool deterministic_ = false;

  // sample flow
  std::string s_model_, s_n_ = "1000", s_temperature_ = "0.5", s_seed_ = "0", s_method_, s_steps_ = "100",
              s_rtol_ = "1e-5", s_atol_ = "1e-5", s_out_, s_target_, s_source_, s_gamma_ = "2", s_prompt_,
              s_tol_ = "1e-4", s_format_ = "table";
};

}  // namespace iterop::cli
