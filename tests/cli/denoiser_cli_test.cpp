// Runs `iterop train denoiser` (built with the LibTorch operators only): a tiny run's JSON and model
// file, bad options as one-line usage errors (exit 2); the study's own tests are in
// tests/experiments/denoiser_study_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/core/errors.hpp"
#include "test_support.hpp"

using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;

#if defined(ITEROP_HAVE_OPERATORS)

TEST(DenoiserCli, TinyTrainingRunPrintsQualityAndSavesTheModel) {
  ScratchFolder dir;
  const auto model = dir.path() / "moons.pt";
  const auto r = run_iterop({"train", "denoiser", "--dataset", "8gaussians", "--steps", "200", "--seed", "4",
                             "--ode-steps", "10", "--diffusion-steps", "50", "--samples", "100", "--model",
                             model.string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"], "denoiser");
  EXPECT_EQ(j["dataset"], "8gaussians");
  EXPECT_EQ(j["steps"], 200);
  EXPECT_EQ(j["ode_steps"], 10);
  EXPECT_EQ(j["seed"], 4);
  EXPECT_EQ(j["model_file"], model.string());
  EXPECT_EQ(j["train_status"], "completed");
  EXPECT_LT(j["final_loss"].get<double>(), j["initial_loss"].get<double>());
  for (const char* sampler : {"ddpm", "ddim"}) {
    ASSERT_TRUE(j["quality"].contains(sampler)) << sampler;
    for (const char* key : {"w2", "mmd2", "energy"}) EXPECT_GT(j["quality"][sampler][key].get<double>(), 0.0) << key;
    EXPECT_EQ(j["quality"][sampler]["n"], 100);
  }
  EXPECT_GT(j["reference"]["w2"].get<double>(), 0.0);
  EXPECT_TRUE(std::filesystem::exists(model));
  EXPECT_GT(std::filesystem::file_size(model), 1000u);

  const auto t = run_iterop({"train", "denoiser", "--steps", "50", "--ode-steps", "5", "--samples", "50"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("DDIM (eta 0)"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("fresh data (floor)"), std::string::npos) << t.out;
}

TEST(DenoiserCli, BadOptionsAreOneLineAndExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--dataset", "circles"}, "--dataset = circles"},
      {{"--steps", "-5"}, "--steps = -5"},
      {{"--steps", "many"}, "--steps = many"},
      {{"--steps", "1.5"}, "--steps = 1.5"},
      {{"--lr", "0"}, "--lr = 0"},
      {{"--lr", "nan"}, "--lr = nan"},
      {{"--seed", "-1"}, "--seed = -1"},
      {{"--ode-steps", "101"}, "--ode-steps = 101"},
      {{"--ode-steps", "0"}, "--ode-steps = 0"},
      {{"--diffusion-steps", "1"}, "--diffusion-steps = 1"},
      {{"--samples", "1"}, "--samples = 1"},
      {{"--format", "xml"}, "--format = xml"},
      {{"--dim", "1"}, "--dim = 1"},
      {{"--dim", "10"}, "--dim = 10"},  // moons is 2-D
      {{"--model", "/no/such/folder/model.pt"}, "--model = /no/such/folder/model.pt"},
      // Old spellings name the new option.
      {{"--data", "moons"}, "--data = moons. Violated constraint: renamed: --dataset NAME"},
      {{"--out", "model.pt"}, "--out = model.pt. Violated constraint: renamed: --model FILE"},
      {{"--sample-steps", "5"}, "--sample-steps = 5. Violated constraint: renamed: --ode-steps"},
  };
  for (const auto& [extra, expected] : cases) {
    std::vector<std::string> args = {"train", "denoiser", "--steps", "1"};
    if (extra[0] == "--steps") args = {"train", "denoiser"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_iterop(args);
    EXPECT_EQ(r.exit_code, 2) << expected << ": " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Violated constraint"), std::string::npos) << r.err;
    EXPECT_EQ(iterop::cli_test::count_lines(r.err), 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// An absurd learning rate drives the loss to NaN or infinity within a few steps: exit 3, as in every trainer,
// with the status printed.
TEST(DenoiserCli, NonFiniteLossExitsThree) {
  const auto r = run_iterop({"train", "denoiser", "--steps", "50", "--lr", "1e30", "--ode-steps", "2",
                             "--diffusion-steps", "10", "--samples", "20", "--format", "json"});
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["train_status"], "non_finite_loss") << r.out;
}

TEST(DenoiserCli, HighDimensionalTrainingRun) {
  const auto r = run_iterop({"train", "denoiser", "--dataset", "4blobs", "--dim", "10", "--steps", "100", "--seed", "1",
                             "--ode-steps", "10", "--diffusion-steps", "20", "--samples", "60", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["dim"], 10);
  EXPECT_EQ(j["train_status"], "completed");
  for (const char* sampler : {"ddpm", "ddim"}) {
    EXPECT_EQ(j["quality"][sampler]["n"], 60);
    EXPECT_DOUBLE_EQ(j["quality"][sampler]["gamma"].get<double>(), 0.1);  // 1 / D
    EXPECT_GT(j["quality"][sampler]["w2"].get<double>(), 0.0);
  }
}

#endif
