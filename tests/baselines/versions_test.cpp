// Tests of iterop/baselines/versions.hpp: every backend compiled in reports the version of the
// headers it was built against.
#include <gtest/gtest.h>

#include <string>

#include "iterop/baselines/versions.hpp"

namespace {

TEST(BackendVersions, ListsExactlyTheBackendsCompiledIn) {
  const auto v = iterop::baselines::backend_versions();
  std::size_t expected = 0;
#if defined(ITEROP_HAVE_KINSOL)
  ++expected;
  bool sundials = false;
  for (const auto& [name, version] : v)
    if (name == "SUNDIALS") {
      sundials = true;
      EXPECT_EQ(version.rfind("6.", 0), 0u) << version;  // Debian 12: 6.4.1
    }
  EXPECT_TRUE(sundials);
#endif
#if defined(ITEROP_HAVE_CERES)
  ++expected;
  bool ceres = false;
  for (const auto& [name, version] : v)
    if (name == "Ceres") {
      ceres = true;
      EXPECT_EQ(version.rfind("2.", 0), 0u) << version;  // Debian 12: 2.1.0
    }
  EXPECT_TRUE(ceres);
#endif
  EXPECT_EQ(v.size(), expected);
}

}  // namespace
