// Tests of EnumNames: one table gives the name of each value, the value of each name, the list for
// messages, and the one-line error for an unknown name.
#include "iterop/core/enum_names.hpp"

#include <gtest/gtest.h>

namespace {
enum class Shade { light, dark, none };
constexpr iterop::EnumNames<Shade, 2> shade_names{{{{Shade::light, "light"}, {Shade::dark, "dark"}}}};
}  // namespace

TEST(EnumNames, NamesAndValuesComeFromTheSameTable) {
  static_assert(shade_names.name(Shade::dark) == "dark");
  EXPECT_EQ(shade_names.name(Shade::none), "unknown");
  EXPECT_EQ(shade_names.parse("light", "--shade"), Shade::light);
  EXPECT_EQ(shade_names.values(), (std::vector<Shade>{Shade::light, Shade::dark}));
  EXPECT_EQ(shade_names.list(), "light, dark");
  EXPECT_EQ(shade_names.list(" or "), "light or dark");
  for (Shade s : shade_names.values()) EXPECT_EQ(shade_names.parse(shade_names.name(s), "x"), s);
}

TEST(EnumNames, UnknownNameIsOneLineNamingFieldValueAndChoices) {
  try {
    (void)shade_names.parse("grey", "--shade");
    FAIL() << "no exception";
  } catch (const iterop::invalid_option& e) {
    EXPECT_STREQ(e.what(), "--shade = grey. Violated constraint: one of light, dark.");
  }
}
