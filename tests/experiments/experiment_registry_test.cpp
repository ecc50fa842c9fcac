// Tests of the experiment registry: registration rules, look-up, the default experiment, and running
// a user's experiment through its context.
#include "iterop/experiments/runner/experiment_registry.hpp"

#include <gtest/gtest.h>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/runner/report_writer.hpp"
#include "test_support.hpp"

namespace ie = iterop::experiments;

TEST(ExperimentRegistry, DefaultRegistryStartsWithFixedPoint) {
  const auto& reg = ie::default_experiment_registry();
  ASSERT_FALSE(reg.list().empty());
  EXPECT_EQ(reg.default_experiment().name, "fixed-point");
  ASSERT_NE(reg.find("fixed-point"), nullptr);
  EXPECT_FALSE(reg.find("fixed-point")->description.empty());
  EXPECT_EQ(reg.find("no-such-experiment"), nullptr);
}

TEST(ExperimentRegistry, RegistrationRules) {
  ie::ExperimentRegistry reg;
  EXPECT_THROW(reg.default_experiment(), iterop::invalid_option);
  ie::Experiment e{"one", "first", [](const ie::ExperimentContext&) { return ie::ExperimentOutcome{}; }};
  reg.add(e);
  EXPECT_THROW(reg.add(e), iterop::invalid_option);  // duplicate
  EXPECT_THROW(reg.add({"", "nameless", e.run}), iterop::invalid_option);
  EXPECT_THROW(reg.add({"two", "no function", nullptr}), iterop::invalid_option);
  reg.add({"two", "second", e.run});
  EXPECT_EQ(reg.names(), "one, two");
  EXPECT_EQ(reg.default_experiment().name, "one");
}

TEST(ExperimentRegistry, RunsAnExperimentWithItsContext) {
  iterop::cli_test::ScratchFolder dir;
  ie::ExperimentRegistry reg;
  reg.add({"echo", "writes its seed", [](const ie::ExperimentContext& ctx) {
             ie::ReportFolder folder(ctx.output_folder);
             ctx.report("working");
             folder.write_text("seed.txt", std::to_string(ctx.seed));
             return ie::ExperimentOutcome{folder.written(), {"a note"}};
           }});
  std::vector<std::string> lines;
  ie::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "echo";
  ctx.seed = 42;
  ctx.progress = [&](std::string_view line) { lines.emplace_back(line); };
  const auto outcome = reg.find("echo")->run(ctx);
  EXPECT_EQ(lines, std::vector<std::string>{"working"});
  ASSERT_EQ(outcome.files.size(), 1u);
  EXPECT_EQ(iterop::cli_test::read_file(outcome.files[0]), "42");
  EXPECT_EQ(outcome.notes, std::vector<std::string>{"a note"});
  ie::ExperimentContext silent;  // no reporter: report() does nothing
  EXPECT_NO_THROW(silent.report("ignored"));
}
