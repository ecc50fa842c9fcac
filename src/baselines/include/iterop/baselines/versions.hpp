// Versions of the backend libraries iterop::baselines was built against (SUNDIALS, Ceres),
// for experiment reports and the command line's --version.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace iterop::baselines {

/// (backend, version) for every backend compiled in, e.g. {"SUNDIALS", "6.4.1"}, {"Ceres", "2.1.0"}.
/// Versions are those of the headers at build time (SUNDIALS_VERSION, CERES_VERSION_STRING).
std::vector<std::pair<std::string, std::string>> backend_versions();

}  // namespace iterop::baselines
