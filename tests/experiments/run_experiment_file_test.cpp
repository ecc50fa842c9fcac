// Runs experiment files through `iterop run FILE`: both examples (report files, results.json keys, PNG),
// bad files (one line, exit 2, nothing written), the cell cache (resume after a lost cell or an interruption).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using iterop::cli_test::count_lines;
using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;

namespace {

const std::filesystem::path examples = std::filesystem::path(ITEROP_SOURCE_DIR) / "experiments";

/// Progress lines "[k/N] ..." on stderr, split into computed and cached ("[k/N] cached: ...").
struct Progress {
  std::vector<std::string> computed, cached;
};

Progress progress_of(const std::string& err) {
  Progress p;
  std::size_t at = 0;
  while (at < err.size()) {
    const std::size_t end = std::min(err.find('\n', at), err.size());
    const std::string line = err.substr(at, end - at);
    if (!line.empty() && line[0] == '[' && line.find("] ") != std::string::npos) {
      const std::string rest = line.substr(line.find("] ") + 2);
      if (rest.rfind("cached: ", 0) == 0) p.cached.push_back(rest.substr(8));
      else p.computed.push_back(rest);
    }
    at = end + 1;
  }
  return p;
}

std::size_t files_in(const std::filesystem::path& folder) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(folder)) n += e.path().extension() == ".json" ? 1 : 0;
  return n;
}

void expect_png(const std::filesystem::path& png, const std::string& out) {
  if (iterop::cli_test::gnuplot_available()) {
    const std::string bytes = read_file(png);
    ASSERT_GT(bytes.size(), 8u) << png;
    EXPECT_EQ(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n"), 0) << png;
  } else {
    EXPECT_NE(out.find("Plot skipped"), std::string::npos) << out;
  }
}

/// "problem | method" -> iterations, from a fixed-point results.json.
std::map<std::string, int> iterations_by_cell(const nlohmann::json& results) {
  std::map<std::string, int> m;
  for (const auto& c : results["results"]) m[c["problem"].get<std::string>() + " | " + c["label"].get<std::string>()] = c["iterations"];
  return m;
}

}  // namespace

TEST(RunExperimentFile, HeqExampleWritesTheReport) {
  ScratchFolder dir;
  const auto out = dir.path() / "heq";
  const auto r = run_iterop({"run", (examples / "heq-anderson-sweep.toml").string(), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"report.md", "results.csv", "results.json", "config.json"})
    EXPECT_TRUE(std::filesystem::exists(out / name)) << name;
  expect_png(out / "residual-history.png", r.out);

  const auto results = nlohmann::json::parse(read_file(out / "results.json"));
  EXPECT_EQ(results["experiment"], "heq-anderson-sweep");
  EXPECT_EQ(results["kind"], "fixed-point");
  const auto& cells = results["results"];
  ASSERT_FALSE(cells.empty());
  for (const char* key : {"cell", "problem", "c", "n", "seed", "atol", "rtol", "max_iterations", "solver", "method",
                          "label", "status", "iterations", "evaluations", "residual", "tolerance", "meets_tolerance",
                          "seconds", "residual_history", "cached"})
    EXPECT_TRUE(cells[0].contains(key)) << key;
  const auto it = iterations_by_cell(results);
  // Toth & Kelley's published count: H-equation c = 0.99, N = 512, Anderson m = 3 meets the rule in 9 iterations.
  EXPECT_EQ(it.at("heq c=0.99 n=512 | iterop anderson m=3"), 9);
  EXPECT_EQ(it.at("heq c=0.99 n=512 | iterop picard"), 73);
  EXPECT_EQ(progress_of(r.err).computed.size(), cells.size());
  EXPECT_EQ(count_lines(read_file(out / "results.csv")), static_cast<int>(cells.size()) + 1);
  EXPECT_EQ(files_in(out / "cells"), cells.size());

  const auto config = nlohmann::json::parse(read_file(out / "config.json"));
  EXPECT_EQ(config["versions"]["iterop"], ITEROP_VERSION);
  EXPECT_EQ(config["config"]["seeds"], nlohmann::json::array({1}));
  EXPECT_EQ(config["cells"].size(), cells.size());
  EXPECT_EQ(config["config"]["document"]["problem"]["name"], "heq");
}

TEST(RunExperimentFile, VolterraExampleWritesTheReport) {
  ScratchFolder dir;
  const auto out = dir.path() / "vol";
  const auto r = run_iterop({"run", (examples / "volterra-orders.toml").string(), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_png(out / "convergence.png", r.out);
  const auto results = nlohmann::json::parse(read_file(out / "results.json"));
  EXPECT_EQ(results["kind"], "volterra");
  // One record per solve; one derived record per (problem, method) with the fitted orders.
  for (const auto& record : results["results"])
    for (const char* key : {"problem", "method", "label", "grading", "steps", "h", "status", "max_error", "stated_order"})
      EXPECT_TRUE(record.contains(key)) << key;
  std::set<std::string> seen;
  for (const auto& c : results["derived"]) {
    const std::string label = c["problem"].get<std::string>() + " " + c["label"].get<std::string>();
    seen.insert(label);
    EXPECT_TRUE(c["all_converged"].get<bool>()) << label;
    if (c["problem"] != "L3") {  // L3's boundary layer: the finest grids are still pre-asymptotic for block_simpson
      EXPECT_NEAR(c["observed_order"].get<double>(), c["stated_order"].get<double>(), 0.3) << label;
    }
    std::size_t runs = 0;
    for (const auto& x : results["results"]) runs += x["problem"] == c["problem"] && x["label"] == c["label"] ? 1 : 0;
    EXPECT_EQ(runs, 6u - (c["problem"] == "L3" ? 1u : 0u)) << label;  // the file's step counts
  }
  for (const char* label : {"L2 trapezoid", "L2 block_simpson", "cos block_simpson", "F2 midpoint", "D2 ide_trapezoid",
                            "A2 product_trapezoid", "A2 product_trapezoid (graded r=2)"})
    EXPECT_EQ(seen.count(label), 1u) << label;
}

TEST(RunExperimentFile, BadFileIsOneLineExitTwoBeforeAnyWork) {
  ScratchFolder dir;
  const auto file = dir.path() / "x.toml";
  std::ofstream(file) << "[experiment]\nkind = \"fixed-point\"\n[problem]\nname = \"heq\"\n"
                         "[[method]]\nmethod = \"anderson\"\nmemory = -1\n";
  const auto out = dir.path() / "report";
  const auto r = run_iterop({"run", file.string(), "--out", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "iterop: error: " + file.string() + ":7: method.memory = -1. Violated constraint: memory >= 0.\n");
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out));  // nothing was run or written

  std::ofstream(file) << "[experiment]\nkind = \"fixed-point\"\n[problem\nname = \"heq\"\n";
  const auto s = run_iterop({"run", file.string(), "--out", out.string()});
  EXPECT_EQ(s.exit_code, 2);
  EXPECT_EQ(count_lines(s.err), 1) << s.err;
  EXPECT_EQ(s.err.rfind("iterop: error: " + file.string() + ":3: syntax error", 0), 0u) << s.err;

  const auto missing = run_iterop({"run", (dir.path() / "none.toml").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("none.toml: cannot read the experiment file"), std::string::npos) << missing.err;
}

TEST(RunExperimentFile, RerunComputesOnlyTheMissingCell) {
  ScratchFolder dir;
  const auto out = dir.path() / "heq";
  const std::vector<std::string> args = {"run", (examples / "heq-anderson-sweep.toml").string(), "--out", out.string()};
  const auto first = run_iterop(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto complete = nlohmann::json::parse(read_file(out / "results.json"));
  const std::size_t n = complete["results"].size();

  // Lose one cell and the report.
  const auto lost = complete["results"][4];
  const auto lost_file = out / "cells" / (lost["cell"].get<std::string>() + ".json");
  ASSERT_TRUE(std::filesystem::remove(lost_file));
  std::filesystem::remove(out / "report.md");
  std::filesystem::remove(out / "results.json");

  const auto second = run_iterop(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const Progress p = progress_of(second.err);
  ASSERT_EQ(p.computed.size(), 1u) << second.err;
  EXPECT_EQ(p.computed[0].rfind(lost["group"].get<std::string>() + " | " + lost["label"].get<std::string>() + ":", 0), 0u)
      << p.computed[0];
  EXPECT_EQ(p.cached.size(), n - 1);
  EXPECT_TRUE(std::filesystem::exists(lost_file));
  const auto again = nlohmann::json::parse(read_file(out / "results.json"));
  ASSERT_EQ(again["results"].size(), n);
  EXPECT_EQ(iterations_by_cell(again), iterations_by_cell(complete));
  std::size_t cached = 0;
  for (const auto& c : again["results"]) cached += c["cached"].get<bool>() ? 1 : 0;
  EXPECT_EQ(cached, n - 1);

  // --fresh computes everything again.
  auto fresh_args = args;
  fresh_args.push_back("--fresh");
  const auto fresh = run_iterop(fresh_args);
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(progress_of(fresh.err).computed.size(), n);
  EXPECT_TRUE(progress_of(fresh.err).cached.empty());
}

TEST(RunExperimentFile, InterruptedRunResumes) {
  ScratchFolder dir;
  const auto out = dir.path() / "heq";
  const std::vector<std::string> args = {"run", (examples / "heq-anderson-sweep.toml").string(), "--out", out.string()};
  const auto stopped = run_iterop(args, {"ITEROP_STOP_AFTER_CELLS=5"});
  EXPECT_EQ(stopped.exit_code, 3);
  EXPECT_NE(stopped.err.find("iterop: error: stopped after 5 computed cells"), std::string::npos) << stopped.err;
  EXPECT_EQ(progress_of(stopped.err).computed.size(), 5u);
  EXPECT_EQ(files_in(out / "cells"), 5u);
  EXPECT_FALSE(std::filesystem::exists(out / "results.json"));  // the report comes only at the end
  for (const auto& e : std::filesystem::directory_iterator(out / "cells"))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();

  const auto resumed = run_iterop(args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const Progress p = progress_of(resumed.err);
  EXPECT_EQ(p.cached.size(), 5u);
  const auto results = nlohmann::json::parse(read_file(out / "results.json"));
  EXPECT_EQ(p.computed.size(), results["results"].size() - 5);
  std::size_t cached = 0;
  for (const auto& c : results["results"]) cached += c["cached"].get<bool>() ? 1 : 0;
  EXPECT_EQ(cached, 5u);
  EXPECT_EQ(iterations_by_cell(results).at("heq c=0.99 n=512 | iterop anderson m=3"), 9);

  const auto bad = run_iterop(args, {"ITEROP_STOP_AFTER_CELLS=zero"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("ITEROP_STOP_AFTER_CELLS = zero"), std::string::npos) << bad.err;
}

TEST(RunExperimentFile, ListShowsTheFilesAndNamesRunThem) {
  const auto r = run_iterop({"run", "--list", "--experiments", examples.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("heq-anderson-sweep"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("volterra-orders"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[volterra, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[suite]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("does not load"), std::string::npos) << r.out;
  // The sources of the built-in experiments are listed as such, not as a second experiment.
  EXPECT_NE(r.out.find("(built in as fixed-point;"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(built in as volterra;"), std::string::npos) << r.out;

  ScratchFolder dir;  // a NAME found in the experiments folder runs that file
  const auto out = dir.path() / "vol";
  const auto v = run_iterop({"run", "volterra-orders", "--experiments", examples.string(), "--out", out.string()});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_TRUE(std::filesystem::exists(out / "results.json"));
}
