// Private torch helpers shared by the GCN and PIGN translation units: the graph as tensors,
// accuracy, cross-entropy, model selection and backend-error translation. Not installed.
#pragma once

#include <algorithm>
#include <string>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/functional/loss.h>
#include <torch/types.h>

#include "iterop/core/errors.hpp"
#include "iterop/operators/normalized_adjacency.hpp"
#include "iterop/operators/planetoid.hpp"
#include "iterop/operators/training_report.hpp"

namespace iterop::operators::detail {

/// The graph on a device: features (N x F, float32; sparse COO when under 10 % of the entries are
/// non-zero, as for clean bag-of-words data, dense otherwise), A_hat (sparse COO), labels, splits.
struct GraphTensors {
  torch::Tensor x, adj, labels, train, val, test;
};

/// Dropout that keeps a sparse COO tensor sparse (on its stored values, scaled by 1 / (1 - p)).
inline torch::Tensor feature_dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p == 0.0) return x;
  if (!x.is_sparse()) return torch::dropout(x, p, true);
  auto v = x.values();
  auto keep = torch::bernoulli(torch::full_like(v, 1.0 - p));
  return torch::sparse_coo_tensor(x.indices(), v * keep / (1.0 - p), x.sizes())._coalesced_(true);
}

inline torch::Device parse_device(const std::string& s) {
  try {
    return torch::Device(s);
  } catch (const c10::Error& e) {
    throw invalid_option("device = " + s + ". Violated constraint: a torch::Device string such as cpu, cuda, cuda:0 (" +
                         e.what_without_backtrace() + ").");
  }
}

inline torch::Tensor index_tensor(const std::vector<int>& v) {
  std::vector<int64_t> w(v.begin(), v.end());
  return torch::tensor(w, torch::kLong);
}

inline GraphTensors to_tensors(const GraphData& g, bool row_normalise, torch::Device device) {
  g.validate();
  GraphTensors t;
  t.x = torch::from_blob(const_cast<float*>(g.features.data()), {g.num_nodes, g.num_features}, torch::kFloat32).clone();
  if (row_normalise) {
    auto s = t.x.sum(1, true);
    t.x = t.x / torch::where(s == 0, torch::ones_like(s), s);
  }
  const SparseCoo a = normalized_adjacency(g.num_nodes, g.edges);
  auto idx = torch::stack({torch::tensor(std::vector<int64_t>(a.rows.begin(), a.rows.end()), torch::kLong),
                           torch::tensor(std::vector<int64_t>(a.cols.begin(), a.cols.end()), torch::kLong)});
  auto val = torch::tensor(a.values, torch::kFloat64).to(torch::kFloat32);
  t.adj = torch::sparse_coo_tensor(idx, val, {g.num_nodes, g.num_nodes}).coalesce();
  if (t.x.ne(0).sum().item<int64_t>() * 10 < t.x.numel()) t.x = t.x.to_sparse().coalesce();
  t.labels = index_tensor(g.labels);
  t.train = index_tensor(g.train);
  t.val = index_tensor(g.val);
  t.test = index_tensor(g.test);
  t.x = t.x.to(device);
  t.adj = t.adj.to(device);
  t.labels = t.labels.to(device);
  t.train = t.train.to(device);
  t.val = t.val.to(device);
  t.test = t.test.to(device);
  return t;
}

/// to_tensors with the models' feature options: "none" row-normalises in to_tensors (as every earlier result),
/// "standardise" runs scale_features() (row normalisation, then z-scores; `field` named in its error) on a copy.
inline GraphTensors to_tensors(const GraphData& g, bool row_normalise, const std::string& scaling,
                               const std::string& field, torch::Device device) {
  if (scaling == "none") return to_tensors(g, row_normalise, device);
  GraphData h = g;
  scale_features(h, row_normalise, scaling, field);
  return to_tensors(h, false, device);
}

/// Fraction of nodes `idx` whose arg-max logit equals the label (0 for an empty split).
inline double accuracy(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& idx) {
  if (idx.numel() == 0) return 0.0;
  auto pred = logits.index_select(0, idx).argmax(1);
  return pred.eq(labels.index_select(0, idx)).to(torch::kFloat64).mean().item<double>();
}

inline torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& idx) {
  return torch::nn::functional::cross_entropy(logits.index_select(0, idx), labels.index_select(0, idx));
}

/// Whether epoch record e beats the current best (validation accuracy, then validation loss).
inline bool better(const EpochRecord& e, const TrainReport& r) {
  if (r.best_epoch == 0) return true;
  const EpochRecord& b = r.epochs[std::size_t(r.best_epoch - 1)];
  return e.val_acc > b.val_acc || (e.val_acc == b.val_acc && e.val_loss < b.val_loss);
}

/// Runs f, translating LibTorch's c10::Error into iterop::backend_error("LibTorch", ...).
template <class F>
auto translate_torch_errors(F&& f) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw backend_error("LibTorch", e.what_without_backtrace());
  }
}

}  // namespace iterop::operators::detail
