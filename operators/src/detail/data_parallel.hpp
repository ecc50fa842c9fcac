// The training loops' side of DataParallel (iterop/operators/data_parallel.hpp): which rows of a batch
// this rank computes, and the one all-reduce per step of the gradients and the loss.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace iterop::operators::detail {

/// Rows [lo, hi) of a batch of `batch` rows computed here; weight = (hi - lo) / batch scales this rank's mean
/// loss so that the sum over ranks is the mean over the whole batch. One rank: {0, batch, 1}.
struct BatchShare {
  int64_t lo = 0;
  int64_t hi = 0;
  double weight = 1;
};

bool data_parallel_active();  ///< a DataParallel of size > 1 lives in this process
int data_parallel_rank();     ///< 0 without a group
BatchShare batch_share(int64_t batch);

/// After backward of this rank's weighted loss: sums the gradients of `params` and the loss over the ranks
/// (one all-reduce of one flat buffer) and returns the whole batch's loss. Each of `means` (scalar tensors of
/// other terms, reported only, weighted like the loss) is replaced by its sum over the ranks in the same
/// all-reduce. Without a group: loss.item(), `means` untouched.
double reduce_gradients(const std::vector<torch::Tensor>& params, const torch::Tensor& loss,
                        const std::vector<torch::Tensor*>& means = {});

}  // namespace iterop::operators::detail
