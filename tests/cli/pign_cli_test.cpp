// Runs `iterop run pign-sbm` and `iterop train pign --sbm` (built with the LibTorch operators only):
// the report files and their JSON keys, the JSON of the train command, and bad options (exit 2).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;

#if defined(ITEROP_HAVE_OPERATORS)

TEST(PignCli, SbmExperimentWritesItsReport) {
  ScratchFolder dir;
  const auto out = dir.path() / "pign-sbm";
  const auto r = run_iterop({"run", "pign-sbm", "--out", out.string(), "--seed", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"report.md", "results.csv", "results.json", "config.json", "accuracy_vs_iterations.dat",
                           "mad_vs_iterations.dat"})
    EXPECT_TRUE(std::filesystem::exists(out / name)) << name;
  const auto res = nlohmann::json::parse(read_file(out / "results.json"));
  EXPECT_EQ(res["experiment"], "pign-sbm");
  ASSERT_EQ(res["summary"].size(), 2u);  // p = 0 and p = 0.5
  for (const auto& s : res["summary"]) {
    for (const char* key : {"noise", "seeds", "gcn_test_mean", "gcn_test_std", "pign_test_mean", "pign_test_std"})
      EXPECT_TRUE(s.contains(key)) << key;
    EXPECT_EQ(s["seeds"], 2);
    EXPECT_GT(s["gcn_test_mean"].get<double>(), 0.25);  // chance is 0.25 (4 classes)
    EXPECT_EQ(s["pign_test_acc_per_iteration"].size(), 19u);
    EXPECT_EQ(s["pign_mad_per_iteration"].size(), 19u);
  }
  ASSERT_EQ(res["cells"].size(), 4u);
  EXPECT_EQ(res["cells"][0]["seed"], 3);
  EXPECT_EQ(res["cells"][1]["seed"], 4);
  const auto cfg = nlohmann::json::parse(read_file(out / "config.json"));
  EXPECT_EQ(cfg["seed"], 3);
  EXPECT_TRUE(cfg.contains("versions"));
  EXPECT_TRUE(cfg.contains("pign"));
  EXPECT_EQ(cfg["pign"]["iterations"], 9);
  EXPECT_NE(read_file(out / "report.md").find("PIGN test % (mean ± std)"), std::string::npos);
}

TEST(PignCli, TrainOnSbmPrintsAccuracies) {
  const auto r = run_iterop({"train", "pign", "--sbm", "--epochs", "30", "--k", "4", "--seed", "2", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"val_acc", "test_acc", "best_epoch", "iterations"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_GE(j["test_acc"].get<double>(), 0.0);
  EXPECT_LE(j["test_acc"].get<double>(), 1.0);
  ASSERT_EQ(j["iterations"].size(), 9u);  // k = 0..2K
  EXPECT_TRUE(j["iterations"][8].contains("test_acc"));
  EXPECT_TRUE(j["iterations"][8].contains("mad"));
  EXPECT_EQ(j["k"], 4);
}

TEST(PignCli, BadOptionsAreOneLineAndExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--noise", "1.5"}, "--noise = 1.5"},
      {{"--alpha", "1"}, "--alpha = 1"},
      {{"--k", "0"}, "--k = 0"},
      {{"--epochs", "ten"}, "--epochs = ten"},
      {{"--width", "0"}, "--width = 0"},
      {{"--format", "xml"}, "--format = xml"},
      {{"--data", "/no/such/folder"}, "--data = /no/such/folder"},
  };
  for (const auto& [extra, expected] : cases) {
    std::vector<std::string> args = {"train", "pign"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (extra[0] != "--data") args.push_back("--sbm");
    const auto r = run_iterop(args);
    EXPECT_EQ(r.exit_code, 2) << expected << ": " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Violated constraint"), std::string::npos) << r.err;
    EXPECT_EQ(iterop::cli_test::count_lines(r.err), 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  const auto both = run_iterop({"train", "pign", "--sbm", "--data", "/tmp"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("at most one of --data and --sbm"), std::string::npos) << both.err;
}

#else

TEST(PignCli, TrainWithoutLibTorchSaysWhy) {
  const auto r = run_iterop({"train", "pign", "--sbm"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(iterop::cli_test::count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("a build with LibTorch"), std::string::npos) << r.err;
}

#endif
