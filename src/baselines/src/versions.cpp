// backend_versions(): the SUNDIALS and Ceres versions iterop::baselines was compiled against.
// Only the backends enabled at configure time are listed.
#include "iterop/baselines/versions.hpp"

#if defined(ITEROP_HAVE_KINSOL)
#include <sundials/sundials_config.h>
#endif
#if defined(ITEROP_HAVE_CERES)
#include <ceres/version.h>
#endif

namespace iterop::baselines {

std::vector<std::pair<std::string, std::string>> backend_versions() {
  std::vector<std::pair<std::string, std::string>> v;
#if defined(ITEROP_HAVE_KINSOL)
  v.emplace_back("SUNDIALS", SUNDIALS_VERSION);
#endif
#if defined(ITEROP_HAVE_CERES)
  v.emplace_back("Ceres", CERES_VERSION_STRING);
#endif
  return v;
}

}  // namespace iterop::baselines
