// Tests of `iterop check`: every theory check passes through the command line, the JSON carries the
// verdicts, and unknown names or formats are one-line usage errors.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace {

using iterop::cli_test::count_lines;
using iterop::cli_test::run_iterop;

TEST(CliCheck, AllChecksPassAsJson) {
  const auto r = run_iterop({"check", "--all", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["all_pass"].get<bool>());
  ASSERT_GE(j["checks"].size(), 20u);
  for (const auto& c : j["checks"]) {
    EXPECT_EQ(c["verdict"], "PASS") << c["name"];
    for (const char* key : {"statement", "premise", "premise_evidence", "measured", "bound", "margin"})
      EXPECT_TRUE(c.contains(key)) << key;
  }
}

TEST(CliCheck, NamedChecksInATable) {
  const auto r = run_iterop({"check", "banach.linear", "km.rotation"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("banach.linear"), std::string::npos);
  EXPECT_NE(r.out.find("PASS"), std::string::npos);
  EXPECT_EQ(count_lines(r.out), 3);  // header + two checks
}

TEST(CliCheck, ListAndBadUsage) {
  const auto list = run_iterop({"check", "--list"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("volterra.picard_factorial"), std::string::npos);
  const auto unknown = run_iterop({"check", "no.such.check"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(count_lines(unknown.err), 1) << unknown.err;
  EXPECT_NE(unknown.err.find("no.such.check"), std::string::npos);
  const auto none = run_iterop({"check"});
  EXPECT_EQ(none.exit_code, 2);
  const auto format = run_iterop({"check", "--all", "--format", "xml"});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("--format = xml"), std::string::npos) << format.err;
}

}  // namespace
