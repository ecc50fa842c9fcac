// Runs `iterop train denoiser` (built with the LibTorch operators only): a tiny run's JSON and model
// file, bad options as one-line usage errors (exit 2), and `iterop run denoiser-2d-quick`'s report.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/core/errors.hpp"
#include "test_support.hpp"

#if defined(ITEROP_HAVE_OPERATORS)
#include "iterop/experiments/denoiser_experiment.hpp"
#endif

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

TEST(DenoiserCli, QuickExperimentWritesItsReport) {
  ScratchFolder dir;
  const auto out = dir.path() / "denoiser-2d-quick";
  const auto r = run_iterop({"run", "denoiser-2d-quick", "--out", out.string(), "--seed", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"report.md", "results.csv", "parallel.csv", "results.json", "config.json", "samples.dat",
                           "quality_vs_steps.dat", "sweeps_vs_steps.dat"})
    EXPECT_TRUE(std::filesystem::exists(out / name)) << name;
  const auto res = nlohmann::json::parse(read_file(out / "results.json"));
  EXPECT_EQ(res["experiment"], "denoiser-2d-quick");
  const auto& cell = res["cells"]["moons"];
  ASSERT_EQ(cell["quality"].size(), 8u);  // DDPM and DDIM at S = 1, 5, 20, 100
  // More denoising steps help: W2 at S = 100 below W2 at S = 1, for both samplers.
  for (const std::size_t first : {0u, 4u})
    EXPECT_LT(cell["quality"][first + 3]["quality"]["w2"].get<double>(),
              cell["quality"][first]["quality"]["w2"].get<double>());
  // 2 samplers x (S = 20: Picard, Anderson, Picard on the step form; S = 100: Picard, Anderson)
  ASSERT_EQ(cell["parallel"].size(), 10u);
  for (const auto& row : cell["parallel"]) {
    EXPECT_EQ(row["status"], "converged") << row.dump();
    EXPECT_LE(row["sweeps"].get<int>(), row["steps"].get<int>()) << row.dump();
    EXPECT_LT(row["max_abs_diff"].get<double>(), 1e-1) << row.dump();
  }
  const auto cfg = nlohmann::json::parse(read_file(out / "config.json"));
  EXPECT_EQ(cfg["seed"], 2);
  EXPECT_TRUE(cfg.contains("versions"));
  EXPECT_EQ(cfg["study"]["model"]["width"], 64);
  EXPECT_NE(read_file(out / "report.md").find("| data | sampler | S | method | sweeps |"), std::string::npos);
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

// A tiny high-dimensional study through the experiment code: one cell per D, the quality rows carry n and
// gamma = gamma / D, parallel-in-time reaches the sequential chain, the step diagnostics are reported,
// and a second run reads every cell back.
TEST(DenoiserCli, TinyHighDimensionalStudyWritesCellsPerDimension) {
  namespace ex = iterop::experiments;
  ScratchFolder dir;
  ex::DenoiserStudy s = ex::highdim_denoiser_study();
  s.name = "denoiser-highdim-test";
  s.dims = {5, 12};
  s.train_samples = 500;
  s.eval_samples = 40;
  s.model.width = 32;
  s.model.depth = 2;
  s.model.time_embedding = 8;
  s.model.diffusion_steps = 20;
  s.model.training_steps = 60;
  s.model.batch = 64;
  s.quality_steps = {1, 20};
  s.parallel_steps = {10};
  s.parallel_samples = 8;
  s.step_form_max_steps = 0;
  s.contraction_steps = 5;
  s.contraction_trajectories = 1;
  ex::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "r";
  ctx.seed = 3;
  std::vector<std::string> lines;
  ctx.progress = [&](std::string_view l) { lines.emplace_back(l); };
  ex::run_denoiser_study(ctx, s);
  const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  ASSERT_EQ(res["cells"].size(), 2u);
  for (const auto& [label, d] : {std::pair<std::string, int>{"4blobs D=5", 5}, {"4blobs D=12", 12}}) {
    ASSERT_TRUE(res["cells"].contains(label)) << res["cells"].dump();
    const auto& c = res["cells"][label];
    ASSERT_EQ(c["quality"].size(), 4u);
    for (const auto& row : c["quality"]) {
      EXPECT_EQ(row["quality"]["n"], 40);
      EXPECT_DOUBLE_EQ(row["quality"]["gamma"].get<double>(), 1.0 / d);
    }
    ASSERT_EQ(c["parallel"].size(), 4u);  // DDPM, DDIM x Picard, Anderson
    for (const auto& row : c["parallel"]) {
      EXPECT_EQ(row["status"], "converged") << row.dump();
      EXPECT_LT(row["max_abs_diff"].get<double>(), 1e-1) << row.dump();
      // Picard's bound is causal (S sweeps); Anderson has none (it can take more on an undertrained model).
      if (row["method"] == "picard") {
        EXPECT_LE(row["sweeps"].get<int>(), 10) << row.dump();
      }
    }
    ASSERT_EQ(c["contraction"]["rows"].size(), 5u);
    for (const auto& row : c["contraction"]["rows"]) {
      EXPECT_GT(row["radius_max"].get<double>(), 0.0);
      EXPECT_LE(row["radius_max"].get<double>(), row["norm_max"].get<double>() * (1 + 1e-9));
      EXPECT_LE(row["picard_sweeps"].get<int>(), row["k"].get<int>() + 1);
    }
  }
  const std::string md = read_file(ctx.output_folder / "report.md");
  EXPECT_NE(md.find("gamma = 1 / D"), std::string::npos);
  EXPECT_NE(md.find("## Contraction diagnostics of the learned sampling step"), std::string::npos);
  const auto cfg = nlohmann::json::parse(read_file(ctx.output_folder / "config.json"));
  EXPECT_EQ(cfg["study"]["dims"], nlohmann::json({5, 12}));

  lines.clear();
  ex::run_denoiser_study(ctx, s);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.find("cached") != std::string::npos; }),
            2);
}

TEST(DenoiserCli, StudyRejectsHighDimensionsForTwoDimensionalData) {
  auto s = iterop::experiments::default_denoiser_study();
  s.dims = {10};
  try {
    s.validate();
    FAIL() << "no invalid_option";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("DenoiserStudy::dims"), std::string::npos) << e.what();
  }
}

#endif
