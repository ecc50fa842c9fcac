// Tests of the error helpers: invalid_option messages name the field, the value and the rule.
#include "iterop/core/errors.hpp"

#include <gtest/gtest.h>

TEST(Errors, RequireMessageNamesFieldValueAndRule) {
  try {
    iterop::require(false, "Anderson::memory", -1, "memory >= 0");
    FAIL() << "require(false) did not throw";
  } catch (const iterop::invalid_option& e) {
    EXPECT_STREQ(e.what(), "Anderson::memory = -1. Violated constraint: memory >= 0.");
  }
}

TEST(Errors, FormatValueIsShortestRoundTrip) {
  EXPECT_EQ(iterop::format_value(0.1), "0.1");
  EXPECT_EQ(iterop::format_value(1e-8), "1e-08");
  EXPECT_EQ(iterop::format_value(true), "true");
  EXPECT_NO_THROW(iterop::require(true, "x", 1, "never"));
}

TEST(Errors, BackendErrorNamesBackend) {
  const iterop::backend_error e("KINSOL", "KIN_MEM_NULL");
  EXPECT_EQ(e.backend(), "KINSOL");
  EXPECT_STREQ(e.what(), "KINSOL: KIN_MEM_NULL");
}
