// Data-parallel training over processes (torch's ProcessGroupGloo): every rank holds the whole model and
// draws the same batch from the same generator; rank r of R computes the loss of its rows of that batch,
// and the gradients (with the loss) are summed over the ranks after backward, in one all-reduce per step,
// so that R ranks with batch b take the steps of one process with batch b, to float rounding. Model files
// and checkpoints are written by rank 0 only; the generator state in a checkpoint is that of every rank,
// so a run resumes on any number of ranks.
//
// Launching: DataParallel{{.ranks = R}} in a process that no launcher started spawns R - 1 copies of this
// process's command line (or Options::command) with ITEROP_DP_RANK/ITEROP_DP_SIZE/ITEROP_DP_STORE set, and
// the spawned ranks join through a FileStore (a temporary file); under mpirun the rank and size come from
// OMPI_COMM_WORLD_RANK/SIZE (or PMI_RANK/PMI_SIZE) and the store from ITEROP_DP_STORE, else a file named
// after the MPI job in the temporary folder (one machine) -- on several machines set ITEROP_DP_STORE to a
// path on a shared file system and ITEROP_DP_HOST to this machine's address.
#pragma once

#include <string>
#include <vector>

namespace iterop::operators {

struct DataParallelOptions {
  /// Ranks wanted: 0 = as launched (mpirun or a spawning parent; else 1); R >= 1 = R ranks (spawned here
  /// when this process was not launched as a rank; under a launcher R must equal its size).
  int ranks = 0;
  /// Command line of the spawned ranks; empty = this process's own (/proc/self/cmdline).
  std::vector<std::string> command;
  /// Seconds a rank waits for the others (rendezvous and each all-reduce).
  double timeout_seconds = 300;
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

/// True when this process was started as a rank by a launcher (mpirun or a spawning parent).
bool launched_as_rank();

}  // namespace iterop::operators
