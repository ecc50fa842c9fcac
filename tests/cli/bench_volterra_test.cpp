// Tests of `iterop bench volterra`: time-to-accuracy interpolation on known curves, and the --quick
// bench run into a scratch folder (report, JSON keys, every method's runs, plots, ratios).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/studies/volterra_bench.hpp"
#include "test_support.hpp"

using iterop::cli_test::count_lines;
using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;
namespace ex = iterop::experiments;

TEST(BenchVolterra, TimeToAccuracyInterpolatesInLogLog) {
  // error = 1e-2 / time^2 at times 1, 10, 100: reaching 1e-5 needs time sqrt(1e3) = 31.6.
  const std::vector<ex::WorkPoint> curve = {{1, 1e-2}, {10, 1e-4}, {100, 1e-6}};
  bool cheapest = true;
  EXPECT_NEAR(ex::time_to_accuracy(curve, 1e-5, &cheapest), std::sqrt(1e3), 1e-9);
  EXPECT_FALSE(cheapest);
  EXPECT_NEAR(ex::time_to_accuracy(curve, 1e-4), 10.0, 1e-9);
  EXPECT_TRUE(std::isnan(ex::time_to_accuracy(curve, 1e-7)));  // not reached
  EXPECT_DOUBLE_EQ(ex::time_to_accuracy(curve, 1e-1, &cheapest), 1.0);
  EXPECT_TRUE(cheapest);  // met by the cheapest setting: its time, an upper bound
  // Unusable points are skipped: the curve goes from the first to the third point.
  std::vector<ex::WorkPoint> gap = curve;
  gap[1].usable = false;
  EXPECT_NEAR(ex::time_to_accuracy(gap, 1e-4), 10.0, 1e-9);
  // A non-monotone curve: the first crossing counts.
  const std::vector<ex::WorkPoint> bumpy = {{1, 1e-3}, {2, 1e-6}, {4, 1e-5}, {8, 1e-8}};
  EXPECT_NEAR(ex::time_to_accuracy(bumpy, 1e-6), 2.0, 1e-12);
}

TEST(BenchVolterra, ConfigRulesAreChecked) {
  ex::VolterraBenchConfig c;
  EXPECT_NO_THROW(c.validate());
  EXPECT_NO_THROW(ex::quick_volterra_bench_config().validate());
  c.problems = {"A2"};  // no ODE form
  EXPECT_THROW(c.validate(), iterop::invalid_option);
  c = {};
  c.output_points = 50;  // 49 does not divide 2^k
  EXPECT_THROW(c.validate(), iterop::invalid_option);
}

TEST(BenchVolterra, QuickRunWritesItsReport) {
  ScratchFolder dir;
  const auto out = dir.path() / "bench";
  const auto r = run_iterop({"bench", "volterra", "--quick", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"report.md", "results.json", "results.csv", "config.json"})
    EXPECT_TRUE(std::filesystem::exists(out / name)) << name;
  const bool gnuplot = iterop::cli_test::gnuplot_available();
  for (const char* id : {"L3", "N3"})
    for (const char* kind : {"-error-vs-time", "-error-vs-evaluations"}) {
      const auto stem = std::string(id) + kind;
      EXPECT_TRUE(std::filesystem::exists(out / (stem + ".dat"))) << stem;
      if (gnuplot) {
        const std::string png = read_file(out / (stem + ".png"));
        ASSERT_GT(png.size(), 8u) << stem;
        EXPECT_EQ(png.compare(0, 8, "\x89PNG\r\n\x1a\n"), 0) << stem;
      }
    }

  const auto j = nlohmann::json::parse(read_file(out / "results.json"));
  EXPECT_EQ(j["bench"], "volterra");
#if defined(ITEROP_HAVE_ODE_BASELINES)
  EXPECT_TRUE(j["ode_baselines"].get<bool>());
  const std::set<std::string> expected = {"trapezoid", "block_simpson", "cvode_bdf", "cvode_adams",
                                          "arkode_erk", "arkode_dirk", "odeint_dopri5", "odeint_rosenbrock4"};
#else
  EXPECT_FALSE(j["ode_baselines"].get<bool>());
  const std::set<std::string> expected = {"trapezoid", "block_simpson"};
#endif
  std::size_t rows = 0;
  for (const std::string id : {"L3", "N3"}) {
    std::set<std::string> methods;
    double coarse = -1, fine = -1;
    for (const auto& run : j["results"]) {
      if (run["problem"] != id) continue;
      methods.insert(run["method"].get<std::string>());
      for (const char* key : {"status", "max_error", "seconds", "evaluations", "points"})
        EXPECT_TRUE(run.contains(key)) << key;
      EXPECT_EQ(run["points"], 65) << run.dump();  // --quick: N >= 64, all 65 output points are nodes
      if (run["family"] == "vie") {
        EXPECT_EQ(run["status"], "converged") << run.dump();
      }
      // The finest block_simpson run is more accurate than the coarsest (order 4 on a 16-fold refinement).
      if (run["method"] == "block_simpson" && run["steps"] == 64) coarse = run["max_error"].get<double>();
      if (run["method"] == "block_simpson" && run["steps"] == 1024) fine = run["max_error"].get<double>();
      ++rows;
    }
    EXPECT_EQ(methods, expected) << id;
    EXPECT_LT(fine, coarse / 100) << id;
    // Every method has a row per target; the best VIE method has ratio 1 where it reaches the target.
    std::size_t targets = 0, ratios = 0;
    for (const auto& d : j["derived"]) {
      if (d["problem"] != id) continue;
      if (d["kind"] == "time_to_accuracy") ++targets;
      if (d["kind"] != "time_to_ratio_target") continue;
      ++ratios;
      if (d["best_vie_method"].is_string() && d["method"] == d["best_vie_method"]) {
        EXPECT_DOUBLE_EQ(d["ratio_to_best_vie"].get<double>(), 1.0);
      }
    }
    EXPECT_EQ(targets, expected.size() * 3);
    EXPECT_EQ(ratios, expected.size());
  }
  EXPECT_EQ(count_lines(read_file(out / "results.csv")), static_cast<int>(rows) + 1);
  const auto config = nlohmann::json::parse(read_file(out / "config.json"));
  EXPECT_EQ(config["config"]["steps"]["min_power"], 6);
  EXPECT_EQ(config["config"]["steps"]["max_power"], 10);
}

TEST(BenchVolterra, UnknownBenchIsAUsageError) {
  const auto r = run_iterop({"bench", "nothing"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
}
