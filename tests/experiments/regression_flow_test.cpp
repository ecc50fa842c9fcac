// The regression net of the flow studies: flow-quick, run by the study runner at the suite's size and
// seed 1, gives the numbers of the code before it (golden/old-flow-quick.results.json, that code's own
// results.json) to the last digit. The same cells compute the same things in the same order from the
// same seeds, and torch on the CPU repeats itself bit for bit for a build and seed (the old code, rerun
// here, reproduced its golden file exactly), so no tolerance is needed. Timings are left out.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

#if defined(ITEROP_HAVE_OPERATORS)

using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;
using json = nlohmann::json;

namespace {

/// The first record whose fields equal `match`, or null.
json find(const json& records, const json& match) {
  for (const auto& r : records) {
    bool all = true;
    for (const auto& [k, v] : match.items()) all = all && r.contains(k) && r[k] == v;
    if (all) return r;
  }
  return nullptr;
}

/// Every old value equals the new record's field of the mapped name (exactly: json compares numbers by value).
void expect_fields(const json& old, const json& now, const std::string& prefix, const std::string& what) {
  for (const auto& [k, v] : old.items()) {
    if (k == "seconds" || k == "steps_per_second" || k == "sample_seconds" || k == "assignment_seconds" ||
        k == "train_seconds_mean" || k == "dim" || k == "seed")
      continue;  // timings; dim and seed are the record's identity
    std::string field = prefix + k;
    if (prefix == "train_" && (k == "steps" || k == "final_loss")) field = k;
    if (prefix == "options_") field = k == "steps" ? "steps_planned" : k;
    if (prefix == "parallel_") field = k == "rows" ? "parallel_rows" : k == "sequential_passes" ? k : "";
    if (v.is_object()) {
      expect_fields(v, now, k + "_", what);  // parallel.picard -> picard_*
      continue;
    }
    ASSERT_TRUE(now.contains(field)) << what << ": no field " << field << " for " << prefix << k;
    EXPECT_EQ(v, now[field]) << what << ": " << field;
  }
}

}  // namespace

TEST(RegressionFlow, FlowQuickMatchesTheOldExperimentToTheLastDigit) {
  ScratchFolder dir;
  const auto run = run_iterop({"run", "flow-quick", "--out", (dir.path() / "fq").string(), "--seed", "1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json now = json::parse(read_file(dir.path() / "fq" / "results.json"));
  const json old = json::parse(read_file(std::filesystem::path(ITEROP_GOLDEN_DIR) / "old-flow-quick.results.json"));
  EXPECT_EQ(now["experiment"], old["experiment"]);
  EXPECT_EQ(now["seed"], old["first_seed"]);
  for (const char* k : {"samples", "seeds", "gamma", "w2"}) EXPECT_EQ(now[k], old[k]) << k;

  // One record per old cell (pair, model, seed), and one floor record per pair and seed.
  ASSERT_EQ(now["results"].size(), old["cells"].size() + old["floor"].size());
  for (const auto& c : old["cells"]) {
    const std::string what = c["pair"].get<std::string>() + " " + c["model"].get<std::string>();
    const json r = find(now["results"], {{"pair", c["pair"]}, {"model", c["model"]}, {"seed", c["seed"]}});
    ASSERT_FALSE(r.is_null()) << "no record for " << what;
    EXPECT_EQ(r["parameters"], c["parameters"]) << what;
    expect_fields(c["train"], r, "train_", what);
    expect_fields(c["metrics"][0], r, "", what);
    expect_fields(c["options"], r, "options_", what);
    if (c.contains("parallel")) expect_fields(c["parallel"], r, "parallel_", what);
  }
  for (const auto& p : old["parallel"]) {
    const json r = find(now["results"], {{"pair", p["pair"]}, {"model", "calmflow"}, {"seed", p["seed"]}});
    EXPECT_EQ(r["picard_sweeps_to_tol"], p["picard_sweeps_to_tol"]);
    EXPECT_EQ(r["anderson_sweeps_to_tol"], p["anderson_sweeps_to_tol"]);
  }

  // The means over seeds: the summary rows and the floor rows.
  ASSERT_EQ(now["derived"].size(), old["summary"].size() + old["floor"].size());
  for (const auto& s : old["summary"]) {
    const json d = find(now["derived"], {{"pair", s["pair"]}, {"model", s["model"]}});
    ASSERT_FALSE(d.is_null()) << s["pair"] << " " << s["model"];
    expect_fields(s, d, "", "summary of " + s["model"].get<std::string>());
  }
  for (const auto& f : old["floor"]) {
    const json d = find(now["derived"], {{"pair", f["pair"]}, {"model", "floor"}});
    ASSERT_FALSE(d.is_null()) << f["pair"];
    expect_fields(f, d, "", "floor");
  }
}

#endif  // ITEROP_HAVE_OPERATORS
