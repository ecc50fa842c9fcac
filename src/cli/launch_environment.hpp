// How this process was started, read from the environment by the command line program alone (the
// libraries take it as options): the rank and size an MPI launcher gives (mpirun: OMPI_COMM_WORLD_RANK/SIZE;
// PMI launchers: PMI_RANK/SIZE) with its job id, and the data-parallel variables (ITEROP_DP_RANK/SIZE/STORE,
// set by a spawning rank 0 for the ranks it starts, see iterop/operators/data_parallel.hpp; ITEROP_DP_STORE
// and ITEROP_DP_HOST set by a user who launches on several machines).
#pragma once

#include <string>

namespace iterop::cli {

struct LaunchEnvironment {
  int rank = 0;     ///< this process's rank among the launcher's processes (0 without a launcher)
  int size = 1;     ///< the launcher's number of processes (1 without a launcher)
  std::string job;  ///< the launcher's job id (OMPI_MCA_ess_base_jobid, PMIX_NAMESPACE or PMI_JOBID); may be empty
  bool launched = false;  ///< started by mpirun/a PMI launcher or by a spawning data-parallel rank 0

  /// Data parallel: the rank and size of the group (ITEROP_DP_RANK/SIZE from a spawning rank 0, else the
  /// launcher's), the FileStore path (ITEROP_DP_STORE, else a file named after the job in the temporary
  /// folder), and this machine's address for Gloo (ITEROP_DP_HOST, else 127.0.0.1).
  int dp_rank = 0;
  int dp_size = 1;
  std::string dp_store;
  std::string dp_host = "127.0.0.1";
};

/// Reads the variables above; a malformed one (not an integer, a rank outside 0..size-1, a size without its
/// rank) is a usage error (exit 2) naming the variable, its value and the rule.
LaunchEnvironment read_launch_environment();

}  // namespace iterop::cli
