// The stacked-GCN baseline of Kipf & Welling (ICLR 2017): two graph convolutions with ReLU and
// dropout, Adam, model selection on validation. Plain-data facade; LibTorch stays in src/gcn.cpp.
#pragma once

#include <cstdint>
#include <string>

#include "iterop/operators/planetoid.hpp"
#include "iterop/operators/training_report.hpp"

namespace iterop::operators {

/// Options of the 2-layer GCN: logits = A_hat drop(ReLU(A_hat drop(X) W1 + b1)) W2 + b2, with
/// A_hat = D^-1/2 (A + I) D^-1/2 (sparse) and X row-normalised. Defaults are Kipf & Welling's.
struct GcnOptions {
  int hidden = 16;                   ///< hidden width (>= 1)
  double dropout = 0.5;              ///< dropout probability on the input and hidden features, in [0, 1)
  double lr = 0.01;                  ///< Adam learning rate (> 0)
  double weight_decay = 5e-4;        ///< L2 penalty (Adam weight_decay, >= 0)
  bool decay_first_layer_only = true;  ///< Kipf & Welling apply weight decay to the first layer only
  int epochs = 200;                  ///< training epochs (>= 1)
  bool row_normalise = true;         ///< divide each feature row by its sum (rows of zeros stay zero)
  /// Then "none", or "standardise": each column to mean 0 and variance 1 over all nodes (see scale_features()).
  std::string feature_scaling = "none";
  std::uint64_t seed = 0;            ///< torch::manual_seed before initialisation and training
  std::string device = "cpu";        ///< torch::Device string: "cpu", "cuda", "cuda:1", ...

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// Trains the GCN on g (full batch, cross-entropy on g.train) and reports every epoch and the
/// epoch selected on validation. Deterministic for a seed on CPU. LibTorch failures are rethrown
/// as iterop::backend_error("LibTorch", ...).
TrainReport train_gcn(const GraphData& g, const GcnOptions& o = {});

}  // namespace iterop::operators
