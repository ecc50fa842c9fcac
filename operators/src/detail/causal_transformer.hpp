// A small decoder-only (causal) transformer in LibTorch's C++ frontend: pre-LayerNorm blocks,
// multi-head causal self-attention with an optional key/value cache, rotary or learned positions.
#pragma once

#include <cstdint>
#include <memory>
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

/// Shape of a causal transformer.
struct CausalTransformerOptions {
  int64_t width = 64, layers = 2, heads = 2, feedforward = 256;
  bool rotary = true;              ///< rotary positions (true) or a learned absolute table (false)
  int64_t max_positions = 1;       ///< longest sequence
  double rotary_fraction = 1.0;    ///< share of each head's dimensions rotated (rounded down to even, >= 2)
  bool parallel_residual = false;  ///< x += Attn(LN1(x)) + FF(LN2(x)) (GPT-NeoX) instead of two sequential steps
};

/// Multi-head causal self-attention. A query at absolute position p attends to the keys at
/// positions <= p (softmax with -inf on the rest, so later positions get weight exactly 0).
struct CausalSelfAttentionImpl : torch::nn::Module {
  explicit CausalSelfAttentionImpl(const CausalTransformerOptions& o);
  /// x: [batch, length, width] at absolute positions offset .. offset + length - 1. With a cache
  /// (keys/values of positions 0 .. offset - 1, offset == cached length) the new keys/values are
  /// appended to it; without one, offset must be 0.
  torch::Tensor forward(const torch::Tensor& x, int64_t offset, torch::Tensor* cache_k, torch::Tensor* cache_v);

  int64_t width, heads, head_width;
  bool rotary;
  int64_t rotated = 0;  ///< dimensions of each head that rotate (the first ones)
  torch::nn::Linear qkv{nullptr}, out{nullptr};
  torch::Tensor cos_table, sin_table;  ///< rotary tables [max_positions, rotated / 2] (buffers)
};
TORCH_MODULE(CausalSelfAttention);

/// x += Attn(LN1(x)); x += W2 GELU(W1 LN2(x)), or in parallel form x += Attn(LN1(x)) + W2 GELU(W1 LN2(x)).
struct TransformerBlockImpl : torch::nn::Module {
  explicit TransformerBlockImpl(const CausalTransformerOptions& o);
  torch::Tensor forward(const torch::Tensor& x, int64_t offset, torch::Tensor* cache_k, torch::Tensor* cache_v);

  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  CausalSelfAttention attn{nullptr};
  torch::nn::Linear ff1{nullptr}, ff2{nullptr};
  bool parallel = false;
};
TORCH_MODULE(TransformerBlock);

/// Scoped cache of CPU tensor memory for training loops. While at least one guard is alive (on any
/// thread), LibTorch's CPU allocator is replaced by one that keeps freed blocks by size (up to
/// 1 GiB in all) and hands them out again, so that a training step reuses the previous step's
/// memory instead of returning it to the system and touching fresh pages again (glibc malloc trims
/// and unmaps large blocks; page faults were most of a CaLMFlow training step's CPU time). The last
/// guard to end restores the previous allocator and frees the cached blocks; blocks still in use
/// are freed normally when their tensors go. Numbers are unchanged (only where memory comes from).
/// Nothing is installed if another CPU allocator was registered with a higher priority.
class CpuMemoryCache {
 public:
  CpuMemoryCache();
  ~CpuMemoryCache();
  CpuMemoryCache(const CpuMemoryCache&) = delete;
  CpuMemoryCache& operator=(const CpuMemoryCache&) = delete;
};

/// Embedded tokens [batch, length, width] -> hidden states of the same shape (final LayerNorm
/// applied). Positions: rotary inside the attention, or a learned table added to the input.
/// In training mode (after train(true), until train(false) or destruction) it holds a CpuMemoryCache,
/// so a training loop's steps reuse each other's CPU memory.
struct CausalTransformerImpl : torch::nn::Module {
  explicit CausalTransformerImpl(const CausalTransformerOptions& o);
  void train(bool on = true) override;
  /// Tokens at positions offset .. offset + length - 1. With a cache, offset must equal
  /// cache->length and the cache grows by length; without, offset must be 0.
  torch::Tensor forward(const torch::Tensor& x, int64_t offset = 0, KvCache* cache = nullptr);

  int64_t max_positions;
  bool rotary;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};
  torch::Tensor position_table;  ///< learned positions [max_positions, width] (only when !rotary)
  std::unique_ptr<CpuMemoryCache> memory_cache;  ///< held in training mode
};
TORCH_MODULE(CausalTransformer);


}  // namespace iterop::operators::detail
