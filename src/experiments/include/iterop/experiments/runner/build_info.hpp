// Build information for reports and --version: iterop's version (from the CMake project), the
// compiler, and the versions of the backends (SUNDIALS, Ceres) compiled in.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace iterop::experiments {

/// iterop's version, e.g. "0.1.0" (the CMake project version).
std::string iterop_version();

/// The compiler that built this library, e.g. "GCC 12.2.0".
std::string compiler_description();

/// (backend, version) for each backend compiled in, e.g. {"SUNDIALS", "6.4.1"}; empty without baselines.
std::vector<std::pair<std::string, std::string>> backend_versions();

/// {"iterop": ..., "compiler": ..., "cxx_standard": ..., "backends": {name: version}} for config files.
nlohmann::json build_info_json();

}  // namespace iterop::experiments
