// Runs `iterop run volterra` into a scratch folder and checks its report: the files, the PNG, the
// observed orders in results.json against the stated ones, and N4's blow-up past t = 1.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "iterop/experiments/volterra_experiment.hpp"
#include "test_support.hpp"

using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;

TEST(VolterraExperiment, CasesCoverEveryApplicableMethod) {
  const auto cases = iterop::experiments::volterra_cases({});
  std::set<std::string> labels;
  for (const auto& c : cases) labels.insert(c.problem + " " + c.label());
  for (const char* id : {"L2", "L3", "N1", "N3", "N4", "S1"}) {
    EXPECT_EQ(labels.count(std::string(id) + " trapezoid"), 1u) << id;
    EXPECT_EQ(labels.count(std::string(id) + " block_simpson"), 1u) << id;
  }
  EXPECT_EQ(labels.count("A2 product_trapezoid"), 1u);
  EXPECT_EQ(labels.count("A2 product_trapezoid (graded r=2)"), 1u);
  EXPECT_EQ(labels.count("F2 midpoint"), 1u);
  EXPECT_EQ(labels.count("D2 ide_trapezoid"), 1u);
  for (const auto& c : cases) {
    EXPECT_EQ(c.steps.front(), c.problem == "L3" ? 256 : 16) << c.problem;
    EXPECT_EQ(c.steps.back(), c.problem == "L3" ? 8192 : 1024) << c.problem;
  }
}

TEST(VolterraExperiment, RunWritesTheWholeReport) {
  ScratchFolder dir;
  const auto out = dir.path() / "volterra";
  const auto r = run_iterop({"run", "volterra", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"report.md", "results.csv", "results.json", "config.json", "convergence.dat", "convergence.gp"})
    EXPECT_TRUE(std::filesystem::exists(out / name)) << name;
  if (iterop::cli_test::gnuplot_available()) {
    const std::string png = read_file(out / "convergence.png");
    ASSERT_GT(png.size(), 8u);
    EXPECT_EQ(png.compare(0, 8, "\x89PNG\r\n\x1a\n"), 0);
  } else {
    EXPECT_NE(r.out.find("Plot skipped"), std::string::npos) << r.out;
  }

  const auto j = nlohmann::json::parse(read_file(out / "results.json"));
  EXPECT_EQ(j["experiment"], "volterra");
  ASSERT_EQ(j["studies"].size(), 16u);
  for (const auto& s : j["studies"]) {
    for (const char* key : {"problem", "method", "grid", "stated_order", "observed_order", "runs"})
      EXPECT_TRUE(s.contains(key)) << key;
    ASSERT_TRUE(s["observed_order"].is_number()) << s["problem"] << " " << s["label"];
    // Every method meets its stated order within 0.5 over the whole sweep, or (L3's boundary layer,
    // N4's growth) at least on its two finest grids.
    const double stated = s["stated_order"].get<double>();
    const double fitted = s["observed_order"].get<double>();
    const double finest = s["local_order_finest"].get<double>();
    EXPECT_TRUE(std::abs(fitted - stated) < 0.5 || std::abs(finest - stated) < 0.3)
        << s["problem"] << " " << s["label"] << ": " << fitted << ", finest " << finest;
    for (const auto& run : s["runs"]) EXPECT_EQ(run["status"], "converged") << s["problem"] << " " << run.dump();
  }
  const auto& beyond = j["n4_beyond_blow_up"];
  ASSERT_FALSE(beyond.empty());
  for (const auto& b : beyond) {
    EXPECT_NE(b["status"], "converged") << b.dump();
    EXPECT_GT(b["blow_up_time"].get<double>(), 0.9) << b.dump();
    EXPECT_LT(b["blow_up_time"].get<double>(), 1.05) << b.dump();
  }
  const auto config = nlohmann::json::parse(read_file(out / "config.json"));
  EXPECT_EQ(config["versions"]["iterop"], ITEROP_VERSION);
  EXPECT_EQ(config["l3_steps"]["max_power"], 13);
  const std::string report = read_file(out / "report.md");
  for (const char* heading : {"## Observed orders", "### L3", "### F2", "## N4 beyond t = 1", "stated order"})
    EXPECT_NE(report.find(heading), std::string::npos) << heading;
  for (const auto& entry : std::filesystem::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

TEST(VolterraExperiment, InterruptedRunResumesFromItsCellsWithTheSameNumbers) {
  ScratchFolder dir;
  const auto out = dir.path() / "volterra";
  const std::vector<std::string> args = {"run", "volterra", "--out", out.string()};
  const auto stopped = run_iterop(args, {"ITEROP_STOP_AFTER_CELLS=4"});
  EXPECT_EQ(stopped.exit_code, 3) << stopped.err;
  EXPECT_FALSE(std::filesystem::exists(out / "results.json"));
  std::size_t cells = 0;
  for (const auto& e : std::filesystem::directory_iterator(out / "cells")) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
    ++cells;
  }
  EXPECT_EQ(cells, 4u);

  const auto resumed = run_iterop(args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  std::size_t cached_lines = 0;
  for (std::size_t at = resumed.err.find("cached: "); at != std::string::npos; at = resumed.err.find("cached: ", at + 1))
    ++cached_lines;
  EXPECT_EQ(cached_lines, 4u) << resumed.err;

  // A fresh run into another folder computes everything; the studies read back from the cells must
  // give the same errors, orders and counters as the ones solved again.
  const auto fresh_out = dir.path() / "fresh";
  const auto fresh = run_iterop({"run", "volterra", "--out", fresh_out.string()});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  auto resumed_json = nlohmann::json::parse(read_file(out / "results.json"));
  auto fresh_json = nlohmann::json::parse(read_file(fresh_out / "results.json"));
  ASSERT_EQ(resumed_json["studies"].size(), fresh_json["studies"].size());
  for (std::size_t i = 0; i < fresh_json["studies"].size(); ++i) {
    const auto& a = resumed_json["studies"][i];
    const auto& b = fresh_json["studies"][i];
    EXPECT_EQ(a["observed_order"], b["observed_order"]) << i;
    ASSERT_EQ(a["runs"].size(), b["runs"].size()) << i;
    for (std::size_t k = 0; k < b["runs"].size(); ++k) {
      for (const char* field : {"steps", "status", "max_error", "evaluations", "iterations", "nodes", "t_end", "y_end"})
        EXPECT_EQ(a["runs"][k][field], b["runs"][k][field]) << "study " << i << " run " << k << " " << field;
    }
  }
}
