// The causal transformer behind CaLMFlow (private, detail/causal_transformer.hpp): pre-LayerNorm
// blocks, causal multi-head self-attention with a key/value cache, rotary or learned positions.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <torch/nn/functional/activation.h>

#include "detail/causal_transformer.hpp"

namespace iterop::operators::detail {
namespace {

/// Rotary embedding of queries and keys together, x = [batch, length, 2 heads, head_width] at
/// positions offset .. offset + length - 1, on the first r = 2 cos.size(-1) dimensions of each head:
/// pairs (x_j, x_{j + r/2}) rotated by the angle position * 10000^(-2j / r), the other dimensions
/// unchanged (GPT-NeoX's partial rotary). Computed as x C + swap(x) S with C = [cos, cos, 1] and
/// S = [-sin, sin, 0] per position (two full-size temporaries, the same numbers as the textbook
/// x1 cos - x2 sin, x1 sin + x2 cos).
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = cos.size(-1), width = x.size(-1), rest = width - 2 * half;
  // split (not narrow): its backward assembles one gradient instead of zero-filled ones to add.
  auto parts = rest > 0 ? x.split_with_sizes({half, half, rest}, -1) : x.split(half, -1);
  std::vector<torch::Tensor> c{cos, cos}, s{-sin, sin}, swapped{parts[1], parts[0]};
  if (rest > 0) {
    c.push_back(torch::ones({cos.size(0), rest}, cos.options()));
    s.push_back(torch::zeros({sin.size(0), rest}, sin.options()));
    swapped.push_back(parts[2]);
  }
  auto c_full = torch::cat(c, -1).unsqueeze(1);  // [length, 1, width], broadcast over batch and heads
  auto s_full = torch::cat(s, -1).unsqueeze(1);
  auto out = x * c_full;
  out.addcmul_(torch::cat(swapped, -1), s_full);
  return out;
}

/// The allocator behind CpuMemoryCache: 64-byte aligned blocks with a 64-byte header holding the
/// block size; freed blocks are kept per size while the cache is in use.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  static constexpr std::size_t kHeader = 64, kAlignment = 64;
  static constexpr std::size_t kMaxCachedBytes = std::size_t(1) << 30;

  /// The process-wide instance (never destroyed: tensors may be freed during static destruction).
  static CachingCpuAllocator& instance() {
    static auto* a = new CachingCpuAllocator();
    return *a;
  }

  c10::DataPtr allocate(std::size_t nbytes) const override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (nbytes == 0) return {nullptr, nullptr, &release, cpu};
    const std::size_t size = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
    void* base = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (users_ > 0) {
        auto it = free_.find(size);
        if (it != free_.end() && !it->second.empty()) {
          base = it->second.back();
          it->second.pop_back();
          cached_bytes_ -= size;
        }
      }
    }
    if (base == nullptr) {
      TORCH_CHECK(posix_memalign(&base, kAlignment, size + kHeader) == 0 && base != nullptr,
                  "CPU allocator: not enough memory: you tried to allocate ", nbytes, " bytes.");
      *static_cast<std::size_t*>(base) = size;
    }
    void* data = static_cast<char*>(base) + kHeader;
    return {data, data, &release, cpu};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  static void release(void* data) {
    if (data == nullptr) return;
    void* base = static_cast<char*>(data) - kHeader;
    const std::size_t size = *static_cast<std::size_t*>(base);
    auto& a = instance();
    {
      std::lock_guard<std::mutex> lock(a.mutex_);
      if (a.users_ > 0 && a.cached_bytes_ + size <= kMaxCachedBytes) {
        a.free_[size].push_back(base);
        a.cached_bytes_ += size;
        return;
      }
    }
    std::free(base);
  }

  void acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (users_++ > 0) return;
    previous_ = c10::GetCPUAllocator();
    c10::SetCPUAllocator(this, 0);  // a no-op if a higher-priority allocator is registered
  }

  void release_use() {
    std::unordered_map<std::size_t, std::vector<void*>> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--users_ > 0) return;
      if (c10::GetCPUAllocator() == this) c10::SetCPUAllocator(previous_, 0);
      blocks.swap(free_);
      cached_bytes_ = 0;
    }
    for (auto& [size, list] : blocks)
      for (void* base : list) std::free(base);
  }

 private:
  CachingCpuAllocator() = default;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::size_t, std::vector<void*>> free_;
  mutable std::size_t cached_bytes_ = 0;
  int users_ = 0;
  c10::Allocator* previous_ = nullptr;
};

}  // namespace

CpuMemoryCache::CpuMemoryCache() { CachingCpuAllocator::instance().acquire(); }
CpuMemoryCache::~CpuMemoryCache() { CachingCpuAllocator::instance().release_use(); }

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
  auto proj = qkv->forward(x);  // [b, len, 3 width]: queries, keys, values
  // Queries and keys as [b, len, 2 heads, head_width] (a view), rotated together.
  // split (not narrow) here and below: the backward then assembles one gradient tensor.
  auto qkv_parts = proj.split_with_sizes({2 * width, width}, -1);
  auto qk = qkv_parts[0].reshape({b, len, 2 * heads, head_width});
  if (rotary) qk = rotate(qk, cos_table.narrow(0, offset, len), sin_table.narrow(0, offset, len));
  auto qk_parts = qk.split(heads, 2);
  auto q = qk_parts[0].transpose(1, 2);  // [b, heads, len, head_width] (views)
  auto k = qk_parts[1].transpose(1, 2);
  auto v = qkv_parts[1].reshape({b, len, heads, head_width}).transpose(1, 2);
  if (cache_k != nullptr) {
    if (cache_k->defined()) {
      k = torch::cat({*cache_k, k}, 2);
      v = torch::cat({*cache_v, v}, 2);
    }
    *cache_k = k;
    *cache_v = v;
  }
  const int64_t keys = k.size(2);
  // Batched over (b, heads): contiguous [b heads, positions, head_width] copies.
  auto q3 = q.reshape({b * heads, len, head_width});
  auto k3 = k.reshape({b * heads, keys, head_width});
  auto v3 = v.reshape({b * heads, keys, head_width});
  // Additive causal mask (-inf where key position > query position), fused with the 1 / sqrt(head_width)
  // scale into the score product by baddbmm. One new query sees every cached key: no mask.
  const double scale = 1.0 / std::sqrt(double(head_width));
  torch::Tensor scores;
  if (len > 1) {
    auto mask = torch::full({len, keys}, -std::numeric_limits<float>::infinity(), x.options().requires_grad(false))
                    .triu(offset + 1);
    scores = torch::baddbmm(mask.unsqueeze(0).expand({b * heads, len, keys}), q3, k3.transpose(1, 2), 1.0, scale);
  } else {
    scores = torch::bmm(q3, k3.transpose(1, 2)).mul_(scale);
  }
  auto y = torch::bmm(torch::softmax(scores, -1), v3);  // [b heads, len, head_width]
  return out->forward(y.reshape({b, heads, len, head_width}).transpose(1, 2).reshape({b, len, width}));
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

void CausalTransformerImpl::train(bool on) {
  if (on && !memory_cache) memory_cache = std::make_unique<CpuMemoryCache>();
  if (!on) memory_cache.reset();
  torch::nn::Module::train(on);
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
