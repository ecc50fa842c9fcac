// A small decoder-only (causal) transformer in LibTorch's C++ frontend: pre-LayerNorm blocks,
// multi-head causal self-attention with an optional key/value cache, rotary or learned positions.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace iterop::operators::detail {

/// Keys and values of every layer for the positions fed so far ([batch, heads, length, head width]).
struct KvCache {
  std::vector<torch::Tensor> keys, values;  ///< one per layer; undefined until the first feed
  int64_t length = 0;                        ///< positions cached
};

/// Multi-head causal self-attention. A query at absolute position p attends to the keys at
/// positions <= p (softmax with -inf on the rest, so later positions get weight exactly 0).
struct CausalSelfAttentionImpl : torch::nn::Module {
  CausalSelfAttentionImpl(int64_t width, int64_t heads, bool rotary, int64_t max_positions);
  /// x: [batch, length, width] at absolute positions offset .. offset + length - 1. With a cache
  /// (keys/values of positions 0 .. offset - 1, offset == cached length) the new keys/values are
  /// appended to it; without one, offset must be 0.
  torch::Tensor forward(const torch::Tensor& x, int64_t offset, torch::Tensor* cache_k, torch::Tensor* cache_v);

  int64_t width, heads, head_width;
  bool rotary;
  torch::nn::Linear qkv{nullptr}, out{nullptr};
  torch::Tensor cos_table, sin_table;  ///< rotary tables [max_positions, head_width / 2] (buffers)
};
TORCH_MODULE(CausalSelfAttention);

/// x += Attn(LN(x)); x += W2 GELU(W1 LN(x)).
struct TransformerBlockImpl : torch::nn::Module {
  TransformerBlockImpl(int64_t width, int64_t heads, int64_t feedforward, bool rotary, int64_t max_positions);
  torch::Tensor forward(const torch::Tensor& x, int64_t offset, torch::Tensor* cache_k, torch::Tensor* cache_v);

  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  CausalSelfAttention attn{nullptr};
  torch::nn::Linear ff1{nullptr}, ff2{nullptr};
};
TORCH_MODULE(TransformerBlock);

/// Embedded tokens [batch, length, width] -> hidden states of the same shape (final LayerNorm
/// applied). Positions: rotary inside the attention, or a learned table added to the input.
struct CausalTransformerImpl : torch::nn::Module {
  CausalTransformerImpl(int64_t width, int64_t layers, int64_t heads, int64_t feedforward, bool rotary,
                        int64_t max_positions);
  /// Tokens at positions offset .. offset + length - 1. With a cache, offset must equal
  /// cache->length and the cache grows by length; without, offset must be 0.
  torch::Tensor forward(const torch::Tensor& x, int64_t offset = 0, KvCache* cache = nullptr);

  int64_t max_positions;
  bool rotary;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};
  torch::Tensor position_table;  ///< learned positions [max_positions, width] (only when !rotary)
};
TORCH_MODULE(CausalTransformer);

}  // namespace iterop::operators::detail
