// Tests of the one study runner on a toy study: files written straight from the records, the cell
// cache (a rerun reads every cell back, --fresh computes again), an interrupted run that resumes
// with the same records, and a study that is never cached.
#include "iterop/experiments/runner/study.hpp"

#include <gtest/gtest.h>

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
