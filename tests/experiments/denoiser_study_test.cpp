// The denoiser studies through the runner: a tiny high-dimensional study (one record per D, quality rows
// with n and gamma / D, parallel-in-time reaching the sequential chain, step diagnostics, every cell read
// back by a second run), the suite's denoiser-2d-quick through the CLI, and the settings' validation.
#include <gtest/gtest.h>

#if defined(ITEROP_HAVE_OPERATORS)

#include <algorithm>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/studies/denoiser.hpp"
#include "test_support.hpp"

namespace ex = iterop::experiments;
using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;
using json = nlohmann::json;

TEST(DenoiserStudy, TinyHighDimensionalStudyHasOneRecordPerDimension) {
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
  ex::run_study(ex::denoiser_study(s, ctx), ctx);
  const auto res = json::parse(read_file(ctx.output_folder / "results.json"));
  ASSERT_EQ(res["results"].size(), 2u);
  for (const auto& [i, label, d] : {std::tuple<std::size_t, std::string, int>{0, "4blobs D=5", 5}, {1, "4blobs D=12", 12}}) {
    const auto& c = res["results"][i];
    EXPECT_EQ(c["label"], label);
    EXPECT_EQ(c["dim"], d);
    ASSERT_EQ(c["quality"].size(), 4u);  // DDPM, DDIM x S = 1, 20
    for (const auto& row : c["quality"]) {
      EXPECT_EQ(row["n"], 40);
      EXPECT_DOUBLE_EQ(row["gamma"].get<double>(), 1.0 / d);
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
    ASSERT_EQ(c["contraction"].size(), 5u);
    for (const auto& row : c["contraction"]) {
      EXPECT_GT(row["radius_max"].get<double>(), 0.0);
      EXPECT_LE(row["radius_max"].get<double>(), row["norm_max"].get<double>() * (1 + 1e-9));
      EXPECT_LE(row["picard_sweeps"].get<int>(), row["k"].get<int>() + 1);
    }
  }
  ASSERT_EQ(res["derived"].size(), 4u);  // best W2 per cell and sampler
  EXPECT_EQ(json::parse(read_file(ctx.output_folder / "config.json"))["config"]["dims"], json({5, 12}));

  lines.clear();
  ex::run_study(ex::denoiser_study(s, ctx), ctx);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.find("cached: ") != std::string::npos; }),
            2);
  EXPECT_EQ(json::parse(read_file(ctx.output_folder / "results.json"))["results"][1]["quality"],
            res["results"][1]["quality"]);
}

TEST(DenoiserStudy, QuickExperimentWritesItsReport) {
  ScratchFolder dir;
  const auto out = dir.path() / "denoiser-2d-quick";
  const auto r = run_iterop({"run", "denoiser-2d-quick", "--out", out.string(), "--seed", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"report.md", "results.csv", "quality.csv", "parallel.csv", "results.json", "config.json",
                           "samples.dat", "quality_vs_steps.dat", "sweeps_vs_steps.dat"})
    EXPECT_TRUE(std::filesystem::exists(out / name)) << name;
  const auto res = json::parse(read_file(out / "results.json"));
  EXPECT_EQ(res["experiment"], "denoiser-2d-quick");
  ASSERT_EQ(res["results"].size(), 1u);
  const auto& cell = res["results"][0];
  EXPECT_EQ(cell["label"], "moons");
  ASSERT_EQ(cell["quality"].size(), 8u);  // DDPM and DDIM at S = 1, 5, 20, 100
  // More denoising steps help: W2 at S = 100 below W2 at S = 1, for both samplers.
  for (const std::size_t first : {0u, 4u})
    EXPECT_LT(cell["quality"][first + 3]["w2"].get<double>(), cell["quality"][first]["w2"].get<double>());
  // 2 samplers x (S = 20: Picard, Anderson, Picard on the step form; S = 100: Picard, Anderson)
  ASSERT_EQ(cell["parallel"].size(), 10u);
  for (const auto& row : cell["parallel"]) {
    EXPECT_EQ(row["status"], "converged") << row.dump();
    EXPECT_LE(row["sweeps"].get<int>(), row["steps"].get<int>()) << row.dump();
    EXPECT_LT(row["max_abs_diff"].get<double>(), 1e-1) << row.dump();
  }
  EXPECT_EQ(read_file(out / "parallel.csv").substr(0, 23), "data,sampler,steps,meth");
  const auto cfg = json::parse(read_file(out / "config.json"));
  EXPECT_EQ(cfg["seed"], 2);
  EXPECT_EQ(cfg["config"]["model"]["width"], 64);
}

TEST(DenoiserStudy, RejectsHighDimensionsForTwoDimensionalData) {
  auto s = ex::default_denoiser_study();
  s.dims = {10};
  try {
    s.validate();
    FAIL() << "no invalid_option";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("DenoiserStudy::dims"), std::string::npos) << e.what();
  }
}

#endif
