// The regression net of the neural studies: denoiser-2d-quick and pign-sbm, run by the study runner at
// the suite's size with seed 1, give the numbers of the code before it (golden/old-*.results.json, that
// code's results.json with the same seed): same cells, same rows, every number compared (times aside).
#include <gtest/gtest.h>

#if defined(ITEROP_HAVE_OPERATORS)

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;
using json = nlohmann::json;

namespace {

/// Torch on the CPU with the same build, seed and order of operations gives the same bits: every number
/// is compared exactly (relative tolerance 0). Raise this only with the reason a number moved.
constexpr double tolerance = 0.0;

/// A fact: what it is (id) and its numbers, texts and arrays (values).
struct Fact {
  json id;
  json values;
};

/// `from`'s fields `names`, renamed by `as` where given ({old name, new name}).
json pick(const json& from, const std::vector<std::string>& names, const std::map<std::string, std::string>& as = {}) {
  json v = json::object();
  for (const auto& n : names) v[as.count(n) ? as.at(n) : n] = from.value(n, json());
  return v;
}

double largest_difference = 0;  ///< the largest relative difference seen, for the log

void expect_close(const json& old, const json& now, const std::string& where) {
  if (old.is_number() && now.is_number() && (old.is_number_float() || now.is_number_float())) {
    const double a = old.get<double>(), b = now.get<double>();
    const double rel = a == b ? 0.0 : std::abs(a - b) / std::max(std::abs(a), std::abs(b));
    largest_difference = std::max(largest_difference, rel);
    EXPECT_LE(rel, tolerance) << where << ": old " << a << ", new " << b;
  } else if (old.is_array() && now.is_array()) {
    ASSERT_EQ(old.size(), now.size()) << where;
    for (std::size_t i = 0; i < old.size(); ++i) expect_close(old[i], now[i], where + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(old, now) << where;
  }
}

/// Every old fact has a new one with the same id and values, and the other way round.
void expect_same_facts(const std::vector<Fact>& old, const std::vector<Fact>& now) {
  std::map<std::string, json> by_id;
  for (const auto& f : now) EXPECT_TRUE(by_id.emplace(f.id.dump(), f.values).second) << "twice: " << f.id.dump();
  EXPECT_EQ(old.size(), now.size());
  for (const auto& f : old) {
    const auto it = by_id.find(f.id.dump());
    if (it == by_id.end()) {
      ADD_FAILURE() << "no new fact for " << f.id.dump();
      continue;
    }
    for (const auto& [k, v] : f.values.items()) expect_close(v, it->second.value(k, json()), f.id.dump() + " " + k);
  }
}

json run_new(const std::string& name, const ScratchFolder& dir) {
  const auto out = dir.path() / name;
  const auto r = run_iterop({"run", name, "--out", out.string(), "--seed", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(read_file(out / "results.json"));
}

json golden(const std::string& name) {
  return json::parse(read_file(std::filesystem::path(ITEROP_GOLDEN_DIR) / ("old-" + name + ".results.json")));
}

const std::vector<std::string> quality_fields = {"status", "n", "w2", "mmd2", "energy", "gamma"};
const std::vector<std::string> parallel_fields = {"form", "status", "message", "sweeps", "network_evaluations", "windows",
                                                  "max_abs_diff"};
const std::vector<std::string> contraction_fields = {"t", "a", "radius_mean", "radius_max", "norm_mean", "norm_max",
                                                     "shifted_norm_mean", "shifted_norm_max", "radius_converged",
                                                     "picard_sweeps", "picard_error_half"};

std::vector<Fact> old_denoiser_facts(const json& old) {
  std::vector<Fact> facts;
  for (const auto& [cell, c] : old["cells"].items()) {
    const auto& t = c["train"];
    facts.push_back({{{"cell", cell}, {"part", "train"}},
                     pick(t, {"status", "message", "steps", "loss_steps", "losses", "initial_loss", "final_loss", "parameters"},
                          {{"status", "train_status"}, {"message", "train_message"}, {"steps", "train_steps"}})});
    facts.push_back({{{"cell", cell}, {"part", "reference"}}, pick(c["reference"], {"n", "w2", "mmd2", "energy", "gamma"})});
    for (const auto& q : c["quality"]) {
      json v = q["quality"].is_null() ? json::object() : q["quality"];
      v["status"] = q["status"];
      facts.push_back({{{"cell", cell}, {"part", "quality"}, {"sampler", q["sampler"]}, {"steps", q["steps"]}},
                       pick(v, quality_fields)});
    }
    for (const auto& p : c["parallel"])
      facts.push_back({{{"cell", cell}, {"part", "parallel"}, {"sampler", p["sampler"]}, {"steps", p["steps"]},
                        {"method", p["method"]}},
                       pick(p, parallel_fields)});
    const auto& k = c["contraction"];
    facts.push_back({{{"cell", cell}, {"part", "contraction"}},
                     pick(k, {"steps", "trajectories", "picard_error", "jacobian_products"},
                          {{"steps", "contraction_steps"}, {"trajectories", "contraction_trajectories"}})});
    for (const auto& row : k["rows"])
      facts.push_back({{{"cell", cell}, {"part", "contraction"}, {"k", row["k"]}}, pick(row, contraction_fields)});
  }
  return facts;
}

std::vector<Fact> new_denoiser_facts(const json& results) {
  std::vector<Fact> facts;
  for (const auto& r : results["results"]) {
    const json cell = r["label"];
    facts.push_back({{{"cell", cell}, {"part", "train"}},
                     pick(r, {"train_status", "train_message", "train_steps", "loss_steps", "losses", "initial_loss",
                              "final_loss", "parameters"})});
    facts.push_back({{{"cell", cell}, {"part", "reference"}},
                     pick(r, {"reference_n", "reference_w2", "reference_mmd2", "reference_energy", "reference_gamma"},
                          {{"reference_n", "n"}, {"reference_w2", "w2"}, {"reference_mmd2", "mmd2"},
                           {"reference_energy", "energy"}, {"reference_gamma", "gamma"}})});
    for (const auto& q : r["quality"])
      facts.push_back({{{"cell", cell}, {"part", "quality"}, {"sampler", q["sampler"]}, {"steps", q["steps"]}},
                       pick(q, quality_fields)});
    for (const auto& p : r["parallel"])
      facts.push_back({{{"cell", cell}, {"part", "parallel"}, {"sampler", p["sampler"]}, {"steps", p["steps"]},
                        {"method", p["method"]}},
                       pick(p, parallel_fields)});
    facts.push_back({{{"cell", cell}, {"part", "contraction"}},
                     pick(r, {"contraction_steps", "contraction_trajectories", "picard_error", "jacobian_products"})});
    for (const auto& row : r["contraction"])
      facts.push_back({{{"cell", cell}, {"part", "contraction"}, {"k", row["k"]}}, pick(row, contraction_fields)});
  }
  return facts;
}

const std::vector<std::string> training_fields = {"best_val_acc", "test_acc", "best_epoch", "epochs"};
const std::vector<std::string> iteration_fields = {"alpha", "train_acc", "val_acc", "test_acc", "mad", "step"};
const std::map<std::string, std::string> contraction_names = {
    {"alpha", "contraction_alpha"}, {"bound", "contraction_bound"}, {"iterations", "contraction_iterations"}};
const std::vector<std::string> pign_contraction_fields = {
    "alpha", "weight_norm", "bound", "observed_rate", "max_step_ratio", "iterations", "jacobian_spectral_radius",
    "jacobian_radius_converged", "jacobian_norm", "final_residual"};

std::vector<Fact> old_pign_facts(const json& old) {
  std::vector<Fact> facts;
  for (const auto& c : old["cells"]) {
    json v = pick(c["pign_contraction"], pign_contraction_fields, contraction_names);
    for (const char* model : {"gcn", "pign"}) {
      const json training = pick(c[model], training_fields, {{"best_val_acc", "val_acc"}});
      for (const auto& [k, x] : training.items()) v[std::string(model) + "_" + k] = x;
    }
    for (std::size_t k = 0; k < c["pign_schedule"].size(); ++k) {
      EXPECT_EQ(c["pign_schedule"][k]["iteration"], k);  // the new arrays are indexed by the iteration
      for (const auto& f : iteration_fields) v["pign_" + f + "_per_iteration"].push_back(c["pign_schedule"][k][f]);
    }
    facts.push_back({{{"noise", c["noise"]}, {"seed", c["seed"]}}, v});
  }
  for (const auto& s : old["summary"])
    facts.push_back({{{"noise", s["noise"]}, {"summary", true}},
                     pick(s, {"seeds", "gcn_test_mean", "gcn_test_std", "pign_test_mean", "pign_test_std", "pign_wins",
                              "pign_test_acc_per_iteration", "pign_mad_per_iteration"},
                          {{"seeds", "n"}, {"gcn_test_mean", "gcn_test_acc_mean"}, {"gcn_test_std", "gcn_test_acc_std"},
                           {"pign_test_mean", "pign_test_acc_mean"}, {"pign_test_std", "pign_test_acc_std"}})});
  return facts;
}

std::vector<Fact> new_pign_facts(const json& results) {
  std::vector<Fact> facts;
  std::vector<std::string> cell_fields;
  for (const auto& [old, now] : contraction_names) cell_fields.push_back(now);
  for (const auto& f : pign_contraction_fields)
    if (!contraction_names.count(f)) cell_fields.push_back(f);
  for (const char* model : {"gcn_", "pign_"})
    for (const char* f : {"val_acc", "test_acc", "best_epoch", "epochs"}) cell_fields.push_back(model + std::string(f));
  for (const auto& f : iteration_fields) cell_fields.push_back("pign_" + f + "_per_iteration");
  for (const auto& r : results["results"]) facts.push_back({{{"noise", r["noise"]}, {"seed", r["seed"]}}, pick(r, cell_fields)});
  for (const auto& d : results["derived"])
    facts.push_back({{{"noise", d["noise"]}, {"summary", true}},
                     pick(d, {"n", "gcn_test_acc_mean", "gcn_test_acc_std", "pign_test_acc_mean", "pign_test_acc_std",
                              "pign_wins", "pign_test_acc_per_iteration", "pign_mad_per_iteration"})});
  return facts;
}

}  // namespace

TEST(Regression, Denoiser2dQuickMatchesTheOldExperiment) {
  ScratchFolder dir;
  largest_difference = 0;
  const json now = run_new("denoiser-2d-quick", dir);
  const auto old = old_denoiser_facts(golden("denoiser-2d-quick")), fresh = new_denoiser_facts(now);
  EXPECT_EQ(old.size(), 1u + 1 + 8 + 10 + 1 + 10);  // train, reference, 8 quality rows, 10 parallel, contraction + 10 steps
  expect_same_facts(old, fresh);
  RecordProperty("largest_relative_difference", std::to_string(largest_difference));
  std::cout << "denoiser-2d-quick: largest relative difference " << largest_difference << "\n";
}

TEST(Regression, PignSbmMatchesTheOldExperiment) {
  ScratchFolder dir;
  largest_difference = 0;
  const json now = run_new("pign-sbm", dir);
  const auto old = old_pign_facts(golden("pign-sbm")), fresh = new_pign_facts(now);
  EXPECT_EQ(old.size(), 4u + 2);  // 2 noise levels x 2 seeds, 2 summaries
  expect_same_facts(old, fresh);
  std::cout << "pign-sbm: largest relative difference " << largest_difference << "\n";
}

#endif
