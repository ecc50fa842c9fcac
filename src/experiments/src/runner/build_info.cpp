// Build information: version from the ITEROP_VERSION compile definition, compiler macros, and the
// backend versions reported by iterop::baselines when it is linked.
#include "iterop/experiments/runner/build_info.hpp"

#if defined(ITEROP_HAVE_KINSOL) || defined(ITEROP_HAVE_CERES)
#if __has_include("iterop/baselines/versions.hpp")
#include "iterop/baselines/versions.hpp"
#define ITEROP_EXPERIMENTS_HAVE_BACKEND_VERSIONS 1
#endif
#endif

#ifndef ITEROP_VERSION
#error "ITEROP_VERSION must be defined by the build (the CMake project version)"
#endif

namespace iterop::experiments {

std::string iterop_version() { return ITEROP_VERSION; }

std::string compiler_description() {
#if defined(__clang__)
  return std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#elif defined(_MSC_VER)
  return "MSVC " + std::to_string(_MSC_VER);
#else
  return "unknown compiler";
#endif
}

std::vector<std::pair<std::string, std::string>> backend_versions() {
#if defined(ITEROP_EXPERIMENTS_HAVE_BACKEND_VERSIONS)
  return iterop::baselines::backend_versions();
#else
  return {};
#endif
}

nlohmann::json build_info_json() {
  nlohmann::json backends = nlohmann::json::object();
  for (const auto& [name, version] : backend_versions()) backends[name] = version;
  return {{"iterop", iterop_version()},
          {"compiler", compiler_description()},
          {"cxx_standard", static_cast<long>(__cplusplus)},
          {"backends", backends}};
}

}  // namespace iterop::experiments
