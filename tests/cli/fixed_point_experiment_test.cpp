// Tests of the fixed-point experiment on a reduced configuration: the cases it runs, the files it
// writes, and a report that says what the results say (including when gnuplot is missing).
#include "iterop/experiments/fixed_point_experiment.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace ie = iterop::experiments;
using iterop::cli_test::read_file;
using iterop::cli_test::ScratchFolder;

namespace {
ie::FixedPointExperimentConfig small_config() {
  ie::FixedPointExperimentConfig config;
  config.c_values = {0.5, 0.9};
  config.n = 64;
  config.memories = {1, 10};
  config.plot_c = {0.9};
  config.compare_c = {0.9};
  config.ceres = false;  // Ceres is the slow case; the full experiment is run by the CLI test
  return config;
}
}  // namespace

TEST(FixedPointExperiment, CasesCoverEveryMethodForEveryC) {
  ie::FixedPointExperimentConfig config;
  const auto cases = ie::fixed_point_cases(config);
  std::size_t per_c = 2 + config.memories.size();
  if (ie::backend_available(ie::Backend::kinsol)) per_c += 4 * config.memories.size();
  if (ie::backend_available(ie::Backend::ceres)) per_c += 1;
  EXPECT_EQ(cases.size(), per_c * config.c_values.size());
  int default_anderson_m10 = 0;
  for (const auto& k : cases)
    if (k.label == "iterop Anderson m=10") {
      ++default_anderson_m10;
      EXPECT_EQ(k.method.method_name(), "anderson");
      EXPECT_FALSE(k.method.orth.has_value());  // iterop's default options
      EXPECT_FALSE(k.method.damping.has_value());
    }
  EXPECT_EQ(default_anderson_m10, 5);
}

TEST(FixedPointExperiment, WritesTheReportWithoutGnuplot) {
  ScratchFolder dir;
  ie::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "fp";
  ctx.gnuplot = (dir.path() / "missing-gnuplot").string();
  std::vector<std::string> progress;
  ctx.progress = [&](std::string_view line) { progress.emplace_back(line); };
  const auto config = small_config();
  const auto outcome = ie::run_fixed_point_experiment(config, ctx);

  const auto cases = ie::fixed_point_cases(config);
  int case_lines = 0;
  for (const auto& line : progress) case_lines += line.rfind("[", 0) == 0;
  EXPECT_EQ(case_lines, static_cast<int>(cases.size()));

  for (const char* name : {"report.md", "results.csv", "results.json", "config.json", "residual-history.dat",
                           "residual-history.gp"})
    EXPECT_TRUE(std::filesystem::exists(ctx.output_folder / name)) << name;
  EXPECT_FALSE(std::filesystem::exists(ctx.output_folder / "residual-history.png"));
  ASSERT_FALSE(outcome.notes.empty());
  EXPECT_NE(outcome.notes.back().find("Plot skipped"), std::string::npos);

  const auto results = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  ASSERT_EQ(results["results"].size(), cases.size());
  for (const auto& row : results["results"]) {
    for (const char* key : {"c", "label", "status", "iterations", "evaluations", "residual", "seconds"})
      EXPECT_TRUE(row.contains(key)) << key;
    if (row["solver"] == "iterop" && row["method"] == "anderson") {
      EXPECT_EQ(row["status"], "converged");
    }
  }
  const std::string csv = read_file(ctx.output_folder / "results.csv");
  EXPECT_EQ(iterop::cli_test::count_lines(csv), static_cast<int>(cases.size()) + 1);

  const std::string report = read_file(ctx.output_folder / "report.md");
  EXPECT_NE(report.find("| iterop Anderson m=1 |"), std::string::npos);
  EXPECT_NE(report.find("Plot skipped"), std::string::npos);
  EXPECT_NE(report.find("### c = 0.9"), std::string::npos);
  EXPECT_NE(report.find("- **iterop Anderson m=10**: converged"), std::string::npos);

  const auto config_json = nlohmann::json::parse(read_file(ctx.output_folder / "config.json"));
  EXPECT_EQ(config_json["versions"]["iterop"], ITEROP_VERSION);
  EXPECT_EQ(config_json["problem"]["n"], 64);
  EXPECT_EQ(config_json["stop"]["tol"], 1e-8);
}
