// Runs `iterop run` without a name: the default suite into a scratch folder (index.md, each member's
// folder, results.json keys, at least one PNG per component), resuming the fixed-point member's cells.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "iterop/experiments/runner/experiment_registry.hpp"
#include "test_support.hpp"

using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;

namespace {

bool is_png(const std::filesystem::path& p) {
  const std::string bytes = read_file(p);
  return bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// The default suite: every built component; the neural run only where LibTorch is built.
std::vector<std::string> suite_members() {
  std::vector<std::string> m{"fixed-point", "volterra", "volterra-bench", "theory-checks"};
#ifdef ITEROP_HAVE_OPERATORS
  m.push_back("pign-sbm");
  m.push_back("denoiser-2d-quick");
  m.push_back("flow-quick");
#endif
  return m;
}

}  // namespace

TEST(RunSuite, RegistryHasTheSuiteMembers) {
  const auto& reg = iterop::experiments::default_experiment_registry();
  std::vector<std::string> names;
  for (const auto* e : reg.suite()) names.push_back(e->name);
  EXPECT_EQ(names, suite_members());
}

TEST(RunSuite, DefaultSuiteWritesEveryMemberAndTheIndex) {
  ScratchFolder dir;
  const auto out = dir.path() / "iterop-report";
  // An interrupted earlier run of the fixed-point member: its 3 finished cells are reused by the suite.
  const auto interrupted = run_iterop({"run", "fixed-point", "--out", (out / "fixed-point").string()},
                                      {"ITEROP_STOP_AFTER_CELLS=3"});
  ASSERT_EQ(interrupted.exit_code, 3) << interrupted.err;

  const auto r = run_iterop({"run", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count(r.err, "] cached: H-equation c="), 3) << r.err;

  const std::string index = read_file(out / "index.md");
  for (const std::string& member : suite_members()) {
    EXPECT_NE(index.find("- [" + member + "](" + member + "/report.md): "), std::string::npos) << member;
    for (const char* file : {"report.md", "results.json", "results.csv", "config.json"})
      EXPECT_TRUE(std::filesystem::exists(out / member / file)) << member << "/" << file;
  }
  const auto fp_json = nlohmann::json::parse(read_file(out / "fixed-point" / "results.json"));
  std::size_t reused = 0;
  for (const auto& c : fp_json["results"]) reused += c["cached"].get<bool>() ? 1 : 0;
  EXPECT_EQ(reused, 3u);

  const auto idx = nlohmann::json::parse(read_file(out / "index.json"));
  ASSERT_EQ(idx["members"].size(), suite_members().size());
  for (const auto& m : idx["members"])
    for (const char* key : {"name", "folder", "report", "summary", "seconds", "files"}) EXPECT_TRUE(m.contains(key)) << key;

  // The theory checks' results: one row per check, each with a verdict.
  const auto checks = nlohmann::json::parse(read_file(out / "theory-checks" / "results.json"));
  ASSERT_FALSE(checks["results"].empty());
  for (const auto& c : checks["results"])
    for (const char* key : {"name", "verdict", "measured", "bound", "margin", "premise_met"}) EXPECT_TRUE(c.contains(key)) << key;
  const auto fp = nlohmann::json::parse(read_file(out / "fixed-point" / "results.json"));
  ASSERT_GT(fp["results"].size(), 0u);
  EXPECT_EQ(fp["results"].size() % 5u, 0u);  // every method at each of the five albedos

  if (iterop::cli_test::gnuplot_available()) {  // at least one PNG per component
    EXPECT_TRUE(is_png(out / "fixed-point" / "residual-history.png"));
    EXPECT_TRUE(is_png(out / "volterra" / "convergence.png"));
    EXPECT_TRUE(is_png(out / "volterra-bench" / "L3-error-vs-time.png"));
#ifdef ITEROP_HAVE_OPERATORS
    EXPECT_TRUE(is_png(out / "pign-sbm" / "accuracy_vs_iterations.png"));
#endif
  } else {
    EXPECT_NE(r.out.find("Plot skipped"), std::string::npos);
  }
}
