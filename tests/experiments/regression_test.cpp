// The regression net of the study runner: each study family, run by the new runner at the suite's
// size and seed, gives the same numbers as the code before it (golden/, made by golden/make_golden.py
// from that code's results.json). Deterministic studies agree to the last digit.
#include <cmath>
#include <functional>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;
using json = nlohmann::json;

namespace {

json history_values(const json& history) {
  double sum = 0;  // left to right, as make_golden.py sums: the same doubles give the same bits
  for (const auto& x : history)
    if (x.is_number()) sum += std::abs(x.get<double>());
  return {{"history_length", history.size()}, {"history_sum", sum}};
}

/// The facts of a fixed-point study: identity (c, solver, method, memory, orth, stopping test) -> numbers.
std::vector<json> fixed_point_facts(const json& results, bool with_error) {
  std::vector<json> facts;
  for (const auto& r : results["results"]) {
    json values = {{"status", r["status"]},
                   {"iterations", r["iterations"]},
                   {"evaluations", r["evaluations"]},
                   {"residual", r["residual"]},
                   {"reported_residual", r["reported_residual"]},
                   {"initial_residual", r["initial_residual"]},
                   {"tolerance", r["tolerance"]},
                   {"meets_tolerance", r["meets_tolerance"]}};
    if (with_error) values["error"] = r["error"];
    values.update(history_values(r["residual_history"]));
    facts.push_back({{"id",
                      {{"c", r.value("c", json())},
                       {"solver", r["solver"]},
                       {"method", r["method"]},
                       {"memory", r["memory"]},
                       {"orth", r["orth"]},
                       {"stopping_test", r["stopping_test"]}}},
                     {"values", values}});
  }
  return facts;
}

/// The facts of a Volterra study: one per solve, one per fitted order. `by_reference`: problems are
/// named by their reference id and T (the built-in study); otherwise by their label.
std::vector<json> volterra_facts(const json& results, bool by_reference) {
  std::vector<json> facts;
  auto problem = [&](const json& r) { return by_reference ? r["reference"] : r["problem"]; };
  auto T = [&](const json& r) { return by_reference ? r["T"] : json(); };
  for (const auto& r : results["results"]) {
    json values = json::object();
    for (const char* k : {"status", "h", "max_error", "evaluations", "forcing_evaluations", "iterations", "nodes",
                          "t_end", "y_end", "blow_up_time"})
      values[k] = r.value(k, json());
    facts.push_back({{"id",
                      {{"problem", problem(r)},
                       {"T", T(r)},
                       {"method", r["method"]},
                       {"grading", r["grading"]},
                       {"steps", r["steps"]}}},
                     {"values", values}});
  }
  for (const auto& d : results["derived"])
    facts.push_back({{"id", {{"problem", problem(d)}, {"T", T(d)}, {"method", d["method"]}, {"grading", d["grading"]},
                             {"order", true}}},
                     {"values", {{"observed_order", d["observed_order"]}, {"local_order_finest", d["local_order_finest"]}}}});
  return facts;
}

/// How far a value may move: 0 (the last digit) unless `relative` says otherwise for (fact, field).
using Tolerance = std::function<double(const json& id, const std::string& field)>;

/// Every golden fact has a new fact with the same identity and the same values (exactly, or within the
/// relative tolerance given for it); and no new fact is left over.
void expect_same_facts(const std::vector<json>& golden, const std::vector<json>& fresh,
                       const Tolerance& relative = [](const json&, const std::string&) { return 0.0; }) {
  std::map<std::string, json> by_id;
  for (const auto& f : fresh) {
    const auto [it, inserted] = by_id.emplace(f["id"].dump(), f["values"]);
    EXPECT_TRUE(inserted) << "two new facts with the identity " << f["id"].dump();
  }
  EXPECT_EQ(golden.size(), fresh.size());
  for (const auto& g : golden) {
    const auto it = by_id.find(g["id"].dump());
    if (it == by_id.end()) {
      ADD_FAILURE() << "no new fact for " << g["id"].dump();
      continue;
    }
    for (const auto& [k, v] : g["values"].items()) {
      const json& now = it->second[k];
      if (v.is_number_float() && now.is_number()) {
        const double tol = relative(g["id"], k);
        if (tol == 0)
          EXPECT_EQ(v.get<double>(), now.get<double>()) << g["id"].dump() << " " << k;
        else
          EXPECT_NEAR(v.get<double>(), now.get<double>(), tol * std::abs(v.get<double>())) << g["id"].dump() << " " << k;
      } else {
        EXPECT_EQ(v, now) << g["id"].dump() << " " << k;
      }
    }
  }
}

json golden(const std::string& name) {
  return json::parse(read_file(std::filesystem::path(ITEROP_GOLDEN_DIR) / (name + ".json")));
}

json run_new(const std::vector<std::string>& what, const std::filesystem::path& out) {
  std::vector<std::string> args = {"run"};
  args.insert(args.end(), what.begin(), what.end());
  args.insert(args.end(), {"--out", out.string(), "--seed", "1"});
  const auto r = run_iterop(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(read_file(out / "results.json"));
}

std::string source_file(const std::string& name) {
  return (std::filesystem::path(ITEROP_SOURCE_DIR) / "experiments" / name).string();
}

}  // namespace

/// KINSOL's own records of its residual norms (initial, reported, history) are now computed by the
/// core's StopMonitor, the same code as iterop's, instead of a second implementation in the baseline;
/// that moved the last bits of some of them (4453 of the 9416 in the fixed-point study, at most 2.2e-15
/// relative). Everything
/// else, KINSOL's iterates, counts, statuses and the true residuals included, is compared exactly.
double kinsol_recorded_norms(const json& id, const std::string& field) {
  const bool recorded = field == "initial_residual" || field == "reported_residual" || field == "history_sum";
  return id["solver"] == "kinsol" && recorded ? 1e-14 : 0.0;
}

TEST(Regression, FixedPointMatchesTheOldExperimentToTheLastDigit) {
  ScratchFolder dir;
  const json g = golden("fixed-point");
  expect_same_facts(g["facts"].get<std::vector<json>>(), fixed_point_facts(run_new({"fixed-point"}, dir.path() / "fp"), false),
                    kinsol_recorded_norms);
}

TEST(Regression, VolterraMatchesTheOldExperimentToTheLastDigit) {
  ScratchFolder dir;
  const json g = golden("volterra");
  expect_same_facts(g["facts"].get<std::vector<json>>(), volterra_facts(run_new({"volterra"}, dir.path() / "v"), true));
}

TEST(Regression, HeqAndersonSweepFileMatchesTheOldRunnerToTheLastDigit) {
  ScratchFolder dir;
  const json g = golden("heq-anderson-sweep");
  expect_same_facts(g["facts"].get<std::vector<json>>(),
                    fixed_point_facts(run_new({source_file("heq-anderson-sweep.toml")}, dir.path() / "h"), true),
                    kinsol_recorded_norms);
}

TEST(Regression, VolterraOrdersFileMatchesTheOldRunnerToTheLastDigit) {
  ScratchFolder dir;
  const json g = golden("volterra-orders");
  expect_same_facts(g["facts"].get<std::vector<json>>(),
                    volterra_facts(run_new({source_file("volterra-orders.toml")}, dir.path() / "o"), false));
}

TEST(Regression, VolterraBenchCountsAndErrorsMatchTheOldBench) {
  // A timing bench: its times are measured again; every other number of every run must be the same.
  ScratchFolder dir;
  const json old = golden("old-volterra-bench.results");
  std::vector<json> before;
  for (const auto& p : old["problems"])
    for (const auto& r : p["runs"])
      before.push_back({{"id", {{"problem", p["id"]}, {"method", r["method"]}, {"steps", r.value("steps", json())},
                                {"rtol", r.value("rtol", json())}}},
                        {"values", {{"status", r["status"]}, {"max_error", r["max_error"]}, {"points", r["points"]},
                                    {"evaluations", r["evaluations"]}, {"solver_steps", r["solver_steps"]},
                                    {"repetitions", r["repetitions"]}}}});
  std::vector<json> after;
  const json fresh = run_new({"volterra-bench"}, dir.path() / "b");
  for (const auto& r : fresh["results"])
    after.push_back({{"id", {{"problem", r["problem"]}, {"method", r["method"]}, {"steps", r.value("steps", json())},
                             {"rtol", r.value("rtol", json())}}},
                     {"values", {{"status", r["status"]}, {"max_error", r["max_error"]}, {"points", r["points"]},
                                 {"evaluations", r["evaluations"]}, {"solver_steps", r["solver_steps"]},
                                 {"repetitions", r["repetitions"]}}}});
  expect_same_facts(before, after);
}

TEST(Regression, TheoryChecksMatchTheOldExperiment) {
  // Every check's verdict and numbers; the statements are prose and may be reworded.
  ScratchFolder dir;
  auto facts = [](const json& rows) {
    std::vector<json> out;
    for (const auto& r : rows) {
#if !defined(ITEROP_HAVE_OPERATORS)
      if (r["name"] == "pign.learned_contraction") continue;  // registered only in builds with LibTorch
#endif
      out.push_back({{"id", {{"name", r["name"]}}},
                     {"values", {{"verdict", r["verdict"]}, {"premise_met", r["premise_met"]}, {"measured", r["measured"]},
                                 {"bound", r["bound"]}, {"margin", r["margin"]}}}});
    }
    return out;
  };
  const json old = golden("old-theory-checks.results");
  const json fresh = run_new({"theory-checks"}, dir.path() / "t");
  // km.bound is the one exception: the relaxation convention (the weight on T(x)) runs it with r = 0.7
  // where it ran alpha = 0.3 on x, and 1 - 0.7 is not 0.3 in binary: its iterates moved in the last bit,
  // so the measured rate (0.93) agrees to 1e-12 (1.5e-13 seen) and the margin, a difference of nearly
  // equal numbers (about 1e-9), to 1e-3 of itself.
  expect_same_facts(facts(old["checks"]), facts(fresh["results"]), [](const json& id, const std::string& field) {
    if (id["name"] != "km.bound") return 0.0;
    return field == "margin" ? 1e-3 : 1e-12;
  });
}
