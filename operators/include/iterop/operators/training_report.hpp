// What training a node classifier reports: per-epoch loss and accuracies, and model selection on
// the validation split (test accuracy read at the epoch of best validation accuracy). Plain data.
#pragma once

#include <vector>

namespace iterop::operators {

/// One training epoch: training loss, then accuracies of the model in evaluation mode (no dropout).
struct EpochRecord {
  int epoch = 0;           ///< 1-based
  double loss = 0;         ///< cross-entropy on the training nodes (training mode, before the step)
  double train_acc = 0;    ///< accuracy on the training nodes, evaluation mode, after the step
  double val_acc = 0;      ///< accuracy on the validation nodes
  double test_acc = 0;     ///< accuracy on the test nodes (recorded; never used for selection)
  double val_loss = 0;     ///< cross-entropy on the validation nodes
};

/// Model selection on validation only: the best epoch has the highest validation accuracy (ties:
/// the lower validation loss, then the earlier epoch); its test accuracy is the reported one.
struct TrainReport {
  std::vector<EpochRecord> epochs;  ///< one record per epoch
  int best_epoch = 0;               ///< 1-based epoch selected on validation
  double best_val_acc = 0;          ///< validation accuracy at best_epoch
  double test_acc = 0;              ///< test accuracy at best_epoch
  double seconds = 0;               ///< wall-clock training time
  /// Equilibrium training only (zero otherwise): the solves of every epoch. An epoch whose forward or
  /// adjoint solve did not converge took EquilibriumOptions::on_failure (skipped: no optimizer step).
  int forward_failures = 0;             ///< epochs whose forward fixed point did not converge
  int backward_failures = 0;            ///< epochs whose adjoint fixed point did not converge
  int skipped_steps = 0;                ///< optimizer steps skipped (on_failure = "skip")
  int fallback_steps = 0;               ///< steps that used the unrolled fallback's gradient
  double mean_forward_iterations = 0;   ///< per epoch
  double mean_backward_iterations = 0;  ///< per epoch
  double max_forward_residual = 0;      ///< relative, over the epochs
};

}  // namespace iterop::operators
