// The data-parallel options of `iterop train flow|denoiser --ranks N` (and of every rank under mpirun):
// what this process's launcher said (launch_environment.hpp) handed to iterop::operators::DataParallel.
#pragma once

#include "iterop/operators/data_parallel.hpp"
#include "launch_environment.hpp"

namespace iterop::cli {

inline operators::DataParallelOptions data_parallel_options(int ranks) {
  operators::DataParallelOptions o;
  o.ranks = ranks;
  const LaunchEnvironment e = read_launch_environment();
  if (e.launched) o.launch = {.rank = e.dp_rank, .size = e.dp_size, .store = e.dp_store, .host = e.dp_host};
  return o;
}

}  // namespace iterop::cli
