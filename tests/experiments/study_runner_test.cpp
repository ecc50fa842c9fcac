// Tests of the one study runner on a toy study: files written straight from the records, the cell
// cache (a rerun reads every cell back, --fresh computes again), an interrupted run that resumes
// with the same records, and a study that is never cached.
#include "iterop/experiments/runner/study.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <thread>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/runner/cell_cache.hpp"
#include "test_support.hpp"

namespace ie = iterop::experiments;
using iterop::cli_test::read_file;
using iterop::cli_test::ScratchFolder;

namespace {

/// Five cells x -> x^2 / seed, counting how often compute runs.
ie::Study squares(int* computed, bool cache = true) {
  ie::Study s;
  s.name = "squares";
  s.description = "x squared over the seed.";
  s.config = {{"xs", {1, 2, 3, 4, 5}}};
  for (int x = 1; x <= 5; ++x) s.cells.push_back({{{"x", x}}, "x = " + std::to_string(x)});
  s.cache = cache;
  s.compute = [computed](std::size_t i) {
    ++*computed;
    const double x = static_cast<double>(i + 1);
    return ie::Record{{"x", x}, {"square", x * x}, {"series", {x, x * x}}};
  };
  s.progress = [](const ie::Record& r) { return " -> " + ie::text_of(r, "square"); };
  s.report = [](const ie::Records& records, ie::StudyReport&) {
    ie::ReportText t;
    t.markdown = records.table({ie::Column::text("x", "x"), ie::Column::text("x^2", "square")}).to_markdown();
    t.summary = std::to_string(records.size()) + " squares";
    t.derived.push_back({{"sum", records.mean_std("square").mean * static_cast<double>(records.size())}});
    return t;
  };
  return s;
}

ie::ExperimentContext context_in(const std::filesystem::path& folder, std::vector<std::string>* lines) {
  ie::ExperimentContext ctx;
  ctx.output_folder = folder;
  ctx.progress = [lines](std::string_view l) { lines->emplace_back(l); };
  return ctx;
}

}  // namespace

TEST(StudyRunner, WritesResultsCsvConfigAndReportFromTheRecords) {
  ScratchFolder dir;
  int computed = 0;
  std::vector<std::string> lines;
  const auto ctx = context_in(dir.path() / "out", &lines);
  const auto outcome = ie::run_study(squares(&computed), ctx);
  EXPECT_EQ(computed, 5);
  EXPECT_EQ(outcome.summary, "5 squares");
  const auto results = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  EXPECT_EQ(results["experiment"], "squares");
  EXPECT_EQ(results["seed"], 1);
  ASSERT_EQ(results["results"].size(), 5u);
  EXPECT_EQ(results["results"][2]["square"], 9.0);
  EXPECT_EQ(results["results"][2]["series"], nlohmann::json({3.0, 9.0}));
  EXPECT_EQ(results["results"][2]["cached"], false);
  EXPECT_TRUE(results["results"][2].contains("seconds"));
  EXPECT_EQ(results["results"][2]["cell"].get<std::string>().size(), 16u);
  EXPECT_EQ(results["derived"][0]["sum"], 55.0);
  // CSV: the scalar fields of every record, the series left out; one line per record.
  const std::string csv = read_file(ctx.output_folder / "results.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "x,square,seconds,cell,cached");
  EXPECT_EQ(iterop::cli_test::count_lines(csv), 6);
  const auto config = nlohmann::json::parse(read_file(ctx.output_folder / "config.json"));
  EXPECT_EQ(config["config"]["xs"].size(), 5u);
  EXPECT_EQ(config["cells"].size(), 5u);
  EXPECT_EQ(config["versions"]["iterop"], ITEROP_VERSION);
  const std::string report = read_file(ctx.output_folder / "report.md");
  EXPECT_NE(report.find("| 4 | 16 |"), std::string::npos) << report;
  std::size_t cell_lines = 0;
  for (const auto& l : lines) cell_lines += l.rfind("[", 0) == 0 ? 1 : 0;
  EXPECT_EQ(cell_lines, 5u);
}

TEST(StudyRunner, RerunReadsEveryCellBackAndFreshComputesAgain) {
  ScratchFolder dir;
  int computed = 0;
  std::vector<std::string> lines;
  auto ctx = context_in(dir.path() / "out", &lines);
  ie::run_study(squares(&computed), ctx);
  const auto first = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  ie::run_study(squares(&computed), ctx);
  EXPECT_EQ(computed, 5);  // nothing computed the second time
  const auto second = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(second["results"][i]["cached"], true);
    EXPECT_EQ(second["results"][i]["square"], first["results"][i]["square"]);
    EXPECT_EQ(second["results"][i]["seconds"], first["results"][i]["seconds"]);  // the time of the run that computed it
  }
  ctx.fresh = true;
  ie::run_study(squares(&computed), ctx);
  EXPECT_EQ(computed, 10);
  // Another seed is another cell.
  ctx.fresh = false;
  ctx.seed = 2;
  ie::run_study(squares(&computed), ctx);
  EXPECT_EQ(computed, 15);
}

TEST(StudyRunner, InterruptedRunStopsWithCellsOnDiskAndResumes) {
  ScratchFolder dir;
  int computed = 0;
  std::vector<std::string> lines;
  auto ctx = context_in(dir.path() / "out", &lines);
  ctx.stop_after_cells = 2;
  EXPECT_THROW(ie::run_study(squares(&computed), ctx), ie::run_interrupted);
  EXPECT_EQ(computed, 2);
  EXPECT_FALSE(std::filesystem::exists(ctx.output_folder / "results.json"));
  ctx.stop_after_cells.reset();
  ie::run_study(squares(&computed), ctx);
  EXPECT_EQ(computed, 5);  // the three missing cells only
  const auto results = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  EXPECT_EQ(results["results"][0]["cached"], true);
  EXPECT_EQ(results["results"][4]["cached"], false);
  EXPECT_EQ(results["results"][4]["square"], 25.0);
}

TEST(StudyRunner, UncachedStudyComputesEveryTimeAndBadStudiesAreRefused) {
  ScratchFolder dir;
  int computed = 0;
  std::vector<std::string> lines;
  const auto ctx = context_in(dir.path() / "out", &lines);
  ie::run_study(squares(&computed, false), ctx);
  ie::run_study(squares(&computed, false), ctx);
  EXPECT_EQ(computed, 10);
  EXPECT_FALSE(std::filesystem::exists(ctx.output_folder / "cells"));
  ie::Study nameless = squares(&computed);
  nameless.name.clear();
  EXPECT_THROW(ie::run_study(nameless, ctx), iterop::invalid_option);
  ie::Study not_a_record = squares(&computed);
  not_a_record.compute = [](std::size_t) { return ie::Record(3.0); };
  EXPECT_THROW(ie::run_study(not_a_record, ctx), iterop::invalid_option);
}

namespace {

/// Four trials x -> (x - 2.5)^2 (stage 0) and two finals (stage 1) that use the best trial begin_stage chose.
ie::Study trials_then_finals(std::vector<int>* begin_calls) {
  ie::Study s;
  s.name = "staged";
  for (int x = 1; x <= 4; ++x) s.cells.push_back({{{"trial", x}}, "trial " + std::to_string(x)});
  for (int f = 0; f < 2; ++f) s.cells.push_back({{{"final", f}}, "final " + std::to_string(f), 1});
  auto best = std::make_shared<double>(-1);
  s.begin_stage = [best, begin_calls](int stage, const ie::Records& earlier) {
    begin_calls->push_back(stage * 100 + static_cast<int>(earlier.size()));
    double lowest = 1e300;
    for (const auto& r : earlier)
      if (ie::number_of(r, "loss") < lowest) lowest = ie::number_of(r, "loss"), *best = ie::number_of(r, "x");
  };
  s.compute = [best](std::size_t i) {
    if (i < 4) {
      const double x = static_cast<double>(i + 1);
      return ie::Record{{"x", x}, {"loss", (x - 2.7) * (x - 2.7)}};
    }
    return ie::Record{{"final", static_cast<double>(i - 4)}, {"selected", *best}};
  };
  s.report = [](const ie::Records& records, ie::StudyReport&) {
    ie::ReportText t;
    t.summary = std::to_string(records.size()) + " cells";
    return t;
  };
  return s;
}

}  // namespace

// Stages: the finals see every trial (begin_stage once, with the 4 trial records); with two ranks (here two
// threads with the rank fields a launcher would give) each rank computes its share of each stage, yet both
// ranks' finals use the selection made from all trials, and rank 0's results equal one rank's.
TEST(StudyRunner, LaterStagesSeeEveryEarlierCellOnEveryRank) {
  ScratchFolder dir;
  std::vector<std::string> lines;
  std::vector<int> calls;
  const auto one = context_in(dir.path() / "one", &lines);
  ie::run_study(trials_then_finals(&calls), one);
  EXPECT_EQ(calls, (std::vector<int>{104}));  // stage 1, 4 earlier records
  const auto single = nlohmann::json::parse(read_file(one.output_folder / "results.json"))["results"];
  ASSERT_EQ(single.size(), 6u);
  EXPECT_EQ(single[4]["selected"], 3.0);
  EXPECT_EQ(single[5]["selected"], 3.0);

  std::vector<int> calls0, calls1;
  std::vector<std::string> lines0, lines1;
  auto ctx0 = context_in(dir.path() / "two", &lines0), ctx1 = context_in(dir.path() / "two", &lines1);
  ctx0.ranks = ctx1.ranks = 2;
  ctx1.rank = 1;
  ctx0.job = ctx1.job = "test-job";
  const auto s0 = trials_then_finals(&calls0), s1 = trials_then_finals(&calls1);
  std::thread other([&] { ie::run_study(s1, ctx1); });
  ie::run_study(s0, ctx0);
  other.join();
  EXPECT_EQ(calls0, (std::vector<int>{104}));
  EXPECT_EQ(calls1, (std::vector<int>{104}));
  const auto two = nlohmann::json::parse(read_file(ctx0.output_folder / "results.json"))["results"];
  ASSERT_EQ(two.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    for (const char* f : {"x", "loss", "selected", "final"})
      if (single[i].contains(f)) {
        EXPECT_EQ(two[i][f], single[i][f]) << "cell " << i << " field " << f;
      }
  }
  // Each rank computed its own cells: rank 1 the odd ones of each stage.
  std::size_t mine = 0;
  for (const auto& l : lines1) mine += l.rfind("[", 0) == 0 ? 1 : 0;
  EXPECT_EQ(mine, 3u);
  // No marker file is left behind.
  for (const auto& e : std::filesystem::directory_iterator(ctx0.output_folder / "cells"))
    EXPECT_EQ(e.path().string().find(".done"), std::string::npos) << e.path();
}
