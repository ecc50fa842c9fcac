// Data-parallel training over processes (torch's ProcessGroupGloo): every rank holds the whole model and
// draws the same batch from the same generator; rank r of R computes the loss of its rows of that batch,
// and the gradients (with the loss) are summed over the ranks after backward, in one all-reduce per step,
// so that R ranks with batch b take the steps of one process with batch b, to float rounding. Model files
// and checkpoints are written by rank 0 only; the generator state in a checkpoint is that of every rank,
// so a run resumes on any number of ranks.
//
// Launching: DataParallel{{.ranks = R}} in a process that was not launched as a rank spawns R - 1 copies of
// this process's command line (or Options::command) with ITEROP_DP_RANK/ITEROP_DP_SIZE/ITEROP_DP_STORE set in
// their environment, and the spawned ranks join through a FileStore (a temporary file). The library reads no
// environment variable: the program that runs as a rank passes what its launcher told it in Options::launch
// (the iterop command reads mpirun's OMPI_COMM_WORLD_RANK/SIZE or PMI_RANK/SIZE, the ITEROP_DP_* variables
// above, ITEROP_DP_STORE/ITEROP_DP_HOST for several machines: src/cli/launch_environment.hpp).
#pragma once

#include <string>
#include <vector>

namespace iterop::operators {

/// How this process was launched, as its launcher says (filled by the application).
struct DataParallelLaunch {
  int rank = 0;  ///< this process's rank in the group (0 <= rank < size)
  int size = 0;  ///< ranks of the group; 0: not launched as a rank (DataParallel spawns the others itself)
  std::string store;               ///< FileStore path shared by the ranks (required when size > 1)
  std::string host = "127.0.0.1";  ///< this machine's address for Gloo's device
};

struct DataParallelOptions {
  /// Ranks wanted: 0 = as launched (mpirun or a spawning parent; else 1); R >= 1 = R ranks (spawned here
  /// when this process was not launched as a rank; under a launcher R must equal its size).
  int ranks = 0;
  /// Command line of the spawned ranks; empty = this process's own (/proc/self/cmdline).
  std::vector<std::string> command;
  /// Seconds a rank waits for the others (rendezvous and each all-reduce).
  double timeout_seconds = 300;
  /// Set when this process was started as a rank (by mpirun or by a spawning rank 0).
  DataParallelLaunch launch{};
};

/// The process group of this process while the object lives (one at a time per process). Training
/// loops of DiffusionDenoiser, ConditionalFlowMatching and CalmFlow use it when size() > 1.
class DataParallel {
 public:
  explicit DataParallel(const DataParallelOptions& options = {});
  ~DataParallel();  ///< leaves the group; a spawning rank 0 waits for its ranks (see finish())
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const;
  int size() const;
  bool writes_files() const { return rank() == 0; }  ///< rank 0 writes models, checkpoints and reports
  /// Leaves the group and waits for the spawned ranks: 0 when all exited with 0, else the first other
  /// exit status (128 + signal for a killed rank). 0 on a rank that spawned nothing.
  int finish();

 private:
  bool finished_ = false;
  int status_ = 0;
};

}  // namespace iterop::operators
