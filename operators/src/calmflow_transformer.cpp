// The causal transformer behind CaLMFlow (private, detail/causal_transformer.hpp): pre-LayerNorm
// blocks, causal multi-head self-attention with a key/value cache, rotary or learned positions.
#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/nn/functional/activation.h>

#include "detail/causal_transformer.hpp"

namespace iterop::operators::detail {
namespace {

/// Rotary embedding on [batch, heads, length, head_width], on the first r = 2 cos.size(-1)
/// dimensions: pairs (x_j, x_{j + r/2}) rotated by the angle position * 10000^(-2j / r); the
/// other dimensions pass unchanged (GPT-NeoX's partial rotary).
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = cos.size(-1);
  auto x1 = x.narrow(-1, 0, half);
  auto x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, -1);
  if (2 * half == x.size(-1)) return rotated;
  return torch::cat({rotated, x.narrow(-1, 2 * half, x.size(-1) - 2 * half)}, -1);
}

}  // namespace

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const CausalTransformerOptions& o)
    : width(o.width), heads(o.heads), head_width(o.width / o.heads), rotary(o.rotary) {
  qkv = register_module("qkv", torch::nn::Linear(width, 3 * width));
  out = register_module("out", torch::nn::Linear(width, width));
  if (rotary) {
    rotated = std::max<int64_t>(2, 2 * int64_t(std::floor(double(head_width) * o.rotary_fraction / 2.0)));
    const int64_t half = rotated / 2;
    auto j = torch::arange(half, torch::kFloat64);
    auto inv_freq = torch::pow(10000.0, -2.0 * j / double(rotated));
    auto pos = torch::arange(o.max_positions, torch::kFloat64);
    auto angle = torch::outer(pos, inv_freq);
    cos_table = register_buffer("cos_table", torch::cos(angle).to(torch::kFloat32));
    sin_table = register_buffer("sin_table", torch::sin(angle).to(torch::kFloat32));
  }
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, int64_t offset, torch::Tensor* cache_k,
                                               torch::Tensor* cache_v) {
  const int64_t b = x.size(0), len = x.size(1);
  auto parts = qkv->forward(x).chunk(3, -1);
  auto shape = [&](const torch::Tensor& t) { return t.reshape({b, len, heads, head_width}).transpose(1, 2); };
  auto q = shape(parts[0]);
  auto k = shape(parts[1]);
  auto v = shape(parts[2]);
  if (rotary) {
    auto cos = cos_table.narrow(0, offset, len);
    auto sin = sin_table.narrow(0, offset, len);
    q = rotate(q, cos, sin);
    k = rotate(k, cos, sin);
  }
  if (cache_k != nullptr) {
    if (cache_k->defined()) {
      k = torch::cat({*cache_k, k}, 2);
      v = torch::cat({*cache_v, v}, 2);
    }
    *cache_k = k;
    *cache_v = v;
  }
  const int64_t keys = k.size(2);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(head_width));
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  auto key_pos = torch::arange(keys, opts).unsqueeze(0);
  auto query_pos = (torch::arange(len, opts) + offset).unsqueeze(1);
  scores = scores.masked_fill(key_pos > query_pos, -std::numeric_limits<double>::infinity());
  auto att = torch::softmax(scores, -1);
  auto y = torch::matmul(att, v).transpose(1, 2).reshape({b, len, width});
  return out->forward(y);
}

TransformerBlockImpl::TransformerBlockImpl(const CausalTransformerOptions& o) : parallel(o.parallel_residual) {
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.width})));
  attn = register_module("attn", CausalSelfAttention(o));
  ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.width})));
  ff1 = register_module("ff1", torch::nn::Linear(o.width, o.feedforward));
  ff2 = register_module("ff2", torch::nn::Linear(o.feedforward, o.width));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, int64_t offset, torch::Tensor* cache_k,
                                            torch::Tensor* cache_v) {
  auto a = attn->forward(ln1->forward(x), offset, cache_k, cache_v);
  if (parallel) return x + a + ff2->forward(torch::gelu(ff1->forward(ln2->forward(x))));
  auto h = x + a;
  return h + ff2->forward(torch::gelu(ff1->forward(ln2->forward(h))));
}

CausalTransformerImpl::CausalTransformerImpl(const CausalTransformerOptions& o)
    : max_positions(o.max_positions), rotary(o.rotary) {
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t l = 0; l < o.layers; ++l) blocks->push_back(TransformerBlock(o));
  ln_f = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.width})));
  if (!rotary) position_table = register_parameter("position_table", torch::randn({max_positions, o.width}) * 0.02);
}

torch::Tensor CausalTransformerImpl::forward(const torch::Tensor& x, int64_t offset, KvCache* cache) {
  TORCH_CHECK(offset + x.size(1) <= max_positions, "sequence of ", offset + x.size(1),
              " positions exceeds the model's ", max_positions);
  TORCH_CHECK(cache != nullptr ? offset == cache->length : offset == 0, "position offset ", offset,
              " does not match the key/value cache");
  auto h = x;
  if (!rotary) h = h + position_table.narrow(0, offset, x.size(1)).unsqueeze(0);
  if (cache != nullptr && cache->keys.empty()) {
    cache->keys.resize(blocks->size());
    cache->values.resize(blocks->size());
  }
  for (std::size_t l = 0; l < blocks->size(); ++l) {
    auto block = blocks->ptr<TransformerBlockImpl>(l);
    h = block->forward(h, offset, cache ? &cache->keys[l] : nullptr, cache ? &cache->values[l] : nullptr);
  }
  if (cache != nullptr) cache->length += x.size(1);
  return ln_f->forward(h);
}

}  // namespace iterop::operators::detail
