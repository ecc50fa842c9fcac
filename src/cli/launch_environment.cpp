// read_launch_environment: the only place where iterop reads the launcher's variables (see the header).
#include "launch_environment.hpp"

#include <cstdlib>
#include <filesystem>

#include "cli_support.hpp"

namespace iterop::cli {
namespace {

const char* variable(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

int integer_variable(const char* name, long long lowest, long long highest) {
  const char* v = variable(name);
  return static_cast<int>(parse_integer(name, v != nullptr ? v : "", lowest, highest));  // unset: refused as empty
}

}  // namespace

LaunchEnvironment read_launch_environment() {
  LaunchEnvironment e;
  const bool ompi = variable("OMPI_COMM_WORLD_SIZE") != nullptr;
  if (ompi || variable("PMI_SIZE") != nullptr) {
    e.size = integer_variable(ompi ? "OMPI_COMM_WORLD_SIZE" : "PMI_SIZE", 1, 1 << 20);
    e.rank = integer_variable(ompi ? "OMPI_COMM_WORLD_RANK" : "PMI_RANK", 0, e.size - 1);
    e.launched = true;
    for (const char* k : {"OMPI_MCA_ess_base_jobid", "PMIX_NAMESPACE", "PMI_JOBID"})
      if (const char* v = variable(k)) {
        e.job = v;
        break;
      }
  }
  e.dp_rank = e.rank;
  e.dp_size = e.size;
  if (variable("ITEROP_DP_RANK") != nullptr) {  // a rank started by a spawning rank 0 (DataParallel)
    e.dp_size = integer_variable("ITEROP_DP_SIZE", 1, 4096);
    e.dp_rank = integer_variable("ITEROP_DP_RANK", 0, e.dp_size - 1);
    e.launched = true;
  }
  if (const char* store = variable("ITEROP_DP_STORE")) {
    e.dp_store = store;
  } else if (e.dp_size > 1 && !e.job.empty()) {  // one machine: a file named after the job (else DataParallel refuses)
    e.dp_store = (std::filesystem::temp_directory_path() / ("iterop-dp-" + e.job)).string();
  }
  if (const char* host = variable("ITEROP_DP_HOST")) e.dp_host = host;
  return e;
}

}  // namespace iterop::cli
