// The PIGN studies through the runner: pign-sbm's records and derived means over seeds through the CLI,
// and the search, which selects on validation and reads test accuracy only for the selection.
#include <gtest/gtest.h>

#if defined(ITEROP_HAVE_OPERATORS)

#include <cmath>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/studies/pign.hpp"
#include "test_support.hpp"

namespace ex = iterop::experiments;
using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;
using json = nlohmann::json;

TEST(PignStudy, SbmExperimentWritesItsReport) {
  ScratchFolder dir;
  const auto out = dir.path() / "pign-sbm";
  const auto r = run_iterop({"run", "pign-sbm", "--out", out.string(), "--seed", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"report.md", "results.csv", "results.json", "config.json", "accuracy_vs_iterations.dat",
                           "mad_vs_iterations.dat"})
    EXPECT_TRUE(std::filesystem::exists(out / name)) << name;
  const auto res = json::parse(read_file(out / "results.json"));
  EXPECT_EQ(res["experiment"], "pign-sbm");
  ASSERT_EQ(res["results"].size(), 4u);  // p = 0, 0.5 x 2 seeds
  EXPECT_EQ(res["results"][0]["seed"], 3);
  EXPECT_EQ(res["results"][1]["seed"], 4);
  for (const auto& c : res["results"]) {
    EXPECT_EQ(c["pign_test_acc_per_iteration"].size(), 19u);  // k = 0..18
    EXPECT_EQ(c["pign_test_acc_last_iteration"], c["pign_test_acc_per_iteration"][18]);
    EXPECT_EQ(c["contraction_iterations"], 200);
  }
  ASSERT_EQ(res["derived"].size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& s = res["derived"][i];
    EXPECT_EQ(s["n"], 2);
    const auto& a = res["results"][2 * i];
    const auto& b = res["results"][2 * i + 1];
    EXPECT_DOUBLE_EQ(s["gcn_test_acc_mean"].get<double>(), (a["gcn_test_acc"].get<double>() + b["gcn_test_acc"].get<double>()) / 2);
    EXPECT_NEAR(s["pign_test_acc_std"].get<double>(),
                std::abs(a["pign_test_acc"].get<double>() - b["pign_test_acc"].get<double>()) / std::sqrt(2.0), 1e-15);
    EXPECT_GT(s["gcn_test_acc_mean"].get<double>(), 0.25);  // chance is 0.25 (4 classes)
    // The trivial baseline beside them: the test nodes' majority class (4 balanced SBM classes: near 1/4).
    EXPECT_GE(s["majority_test_acc_mean"].get<double>(), 0.25);
    EXPECT_LT(s["majority_test_acc_mean"].get<double>(), 0.5);
    EXPECT_GT(s["gcn_test_acc_mean"].get<double>(), s["majority_test_acc_mean"].get<double>());
    EXPECT_EQ(s["pign_mad_per_iteration"].size(), 19u);
  }
  EXPECT_NE(read_file(out / "report.md").find("majority class % (test)"), std::string::npos);
  const auto cfg = json::parse(read_file(out / "config.json"));
  EXPECT_EQ(cfg["seed"], 3);
  EXPECT_EQ(cfg["config"]["pign"]["iterations"], 9);
}

TEST(PignStudy, SearchSelectsOnValidationAndReportsTestOnlyForTheSelection) {
  ScratchFolder dir;
  ex::ExperimentContext context;
  context.output_folder = dir.path() / "search";
  context.seed = 5;
  ex::PignSearch s{.name = "pign-search-test", .data_folder = {}, .noise_levels = {0.0}, .trials = 3, .epochs = 10,
                   .final_seeds = 2};
  s.gcn_trials = 2;
  s.gcn.epochs = 10;
  (void)ex::run_study(ex::pign_search_study(s, context), context);
  const auto res = json::parse(read_file(context.output_folder / "results.json"));
  ASSERT_EQ(res["results"].size(), 7u);  // 3 PIGN trials, 2 GCN trials, 2 final seeds
  auto best_of = [&](int first, int count, const char* kind) {
    double best = -1;
    int best_trial = 0;
    for (int t = 0; t < count; ++t) {
      const auto& trial = res["results"][first + t];
      EXPECT_EQ(trial["kind"], kind);
      EXPECT_FALSE(trial.contains("pign_test_acc"));  // the search never reads test accuracy
      EXPECT_FALSE(trial.contains("gcn_test_acc"));
      if (trial["val_acc"].get<double>() > best) {
        best = trial["val_acc"].get<double>();
        best_trial = t;
      }
    }
    return std::pair{best_trial, best};
  };
  const auto [best_trial, best] = best_of(0, 3, "trial");
  const auto [best_gcn, best_gcn_val] = best_of(3, 2, "gcn_trial");
  EXPECT_EQ(res["results"][0]["mode"], "equilibrium");  // trial 0: the fixed equilibrium setting
  EXPECT_EQ(res["results"][0]["spectral_norm_bound"], 0.9);
  EXPECT_EQ(res["results"][3]["hidden"], 16);  // GCN trial 0: Kipf and Welling
  for (int i = 5; i < 7; ++i) {
    const auto& f = res["results"][i];
    EXPECT_EQ(f["kind"], "final");
    EXPECT_EQ(f["selected_trial"], best_trial);
    EXPECT_EQ(f["selected_gcn_trial"], best_gcn);
    EXPECT_TRUE(f.contains("pign_test_acc"));
    EXPECT_LT(f["jacobian_spectral_radius"].get<double>(), 1.0);  // every equilibrium configuration is a contraction
    EXPECT_EQ(f["pign_test_acc_per_iteration"].size(), std::size_t(4 * f["k_train"].get<int>() + 1));
    EXPECT_GE(f["pign_best_test_acc_along"].get<double>(), f["pign_test_acc_last_iteration"].get<double>());
    EXPECT_TRUE(f["fixed_point_converged"].get<bool>());
  }
  EXPECT_EQ(res["derived"][0]["selected_trial"], best_trial);
  EXPECT_EQ(res["derived"][0]["selected_val_acc"], best);
  EXPECT_EQ(res["derived"][0]["selected_gcn_val_acc"], best_gcn_val);
  // Same seed, same search: the trial configurations and scores repeat; a rerun into the same folder reads
  // every cell back and selects the same trials.
  ScratchFolder dir2;
  context.output_folder = dir2.path() / "search";
  (void)ex::run_study(ex::pign_search_study(s, context), context);
  const auto again = json::parse(read_file(context.output_folder / "results.json"));
  EXPECT_EQ(again["results"][2]["configuration"], res["results"][2]["configuration"]);
  EXPECT_EQ(again["results"][2]["val_acc"], res["results"][2]["val_acc"]);
  (void)ex::run_study(ex::pign_search_study(s, context), context);
  const auto cached = json::parse(read_file(context.output_folder / "results.json"));
  EXPECT_EQ(cached["results"][6]["cached"], true);
  EXPECT_EQ(cached["derived"], again["derived"]);
  // The unrolled space is still there.
  s.mode = "unrolled";
  s.name = "pign-search-unrolled";
  ScratchFolder dir3;
  context.output_folder = dir3.path() / "search";
  (void)ex::run_study(ex::pign_search_study(s, context), context);
  const auto unrolled = json::parse(read_file(context.output_folder / "results.json"));
  EXPECT_EQ(unrolled["results"][0]["iterations"], 9);
  EXPECT_FALSE(unrolled["results"][0].contains("mode"));
  s.mode = "deep";
  EXPECT_THROW((void)ex::pign_search_study(s, context), iterop::invalid_option);
}

#endif
