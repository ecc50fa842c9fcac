// `iterop train flow` and `iterop sample flow` at tiny sizes: train -> save -> sample round trips for
// CaLMFlow (sequential and parallel in time) and CFM, checkpoint and resume, the distances printed
// for a target, and bad options (one line naming the option, the value and the rule; exit 2).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using iterop::cli_test::count_lines;
using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;

#if defined(ITEROP_HAVE_OPERATORS)

namespace {

std::vector<std::string> tiny_calmflow(const std::filesystem::path& model) {
  return {"train", "flow", "--arch", "calmflow", "--source", "8gaussians", "--target", "moons", "--steps", "12",
          "--width", "16", "--layers", "1", "--feedforward", "32", "--time-points", "4", "--trajectories", "2",
          "--batch", "16", "--pool", "200", "--seed", "3", "--model", model.string()};
}

}  // namespace

TEST(FlowCli, CalmFlowTrainSampleRoundTrip) {
  ScratchFolder dir;
  const auto model = dir.path() / "calm.model";
  auto r = run_iterop(tiny_calmflow(model));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("step 12/12"), std::string::npos) << r.err;  // progress on stderr
  ASSERT_TRUE(std::filesystem::exists(model));
  const auto desc = nlohmann::json::parse(read_file(model.string() + ".json"));
  EXPECT_EQ(desc["model"], "calmflow");
  EXPECT_EQ(desc["source"], "8gaussians");
  EXPECT_EQ(desc["training"]["steps"], 12);

  const auto csv = dir.path() / "samples.csv";
  r = run_iterop({"sample", "flow", "--model", model.string(), "--n", "40", "--seed", "5", "--target", "moons", "--csv",
                  csv.string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["method"], "sequential");
  EXPECT_EQ(j["forward_passes"], 3);
  for (const char* key : {"n", "w2", "mmd2", "gamma", "energy"}) EXPECT_TRUE(j["metrics"].contains(key)) << key;
  EXPECT_GT(j["metrics"]["w2"].get<double>(), 0.0);
  const std::string text = read_file(csv);
  EXPECT_EQ(count_lines(text), 41);  // header + 40 points
  EXPECT_EQ(text.substr(0, 6), "x1,x2\n");

  // Parallel in time: Picard reaches the sequential sample (same seed, same noise) in at most N - 1 sweeps.
  const auto csv2 = dir.path() / "picard.csv";
  r = run_iterop({"sample", "flow", "--model", model.string(), "--n", "40", "--seed", "5", "--method", "picard",
                  "--csv", csv2.string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto p = nlohmann::json::parse(r.out);
  EXPECT_EQ(p["sequential_passes"], 3);
  EXPECT_TRUE(p["solver"]["converged"].get<bool>());
  EXPECT_GE(p["solver"]["sweeps_to_tol"].get<int>(), 0);
  EXPECT_LE(p["solver"]["sweeps_to_tol"].get<int>(), 3);
  // Anderson may or may not reach the tolerance within its cap; the exit status says which (1: not reached).
  r = run_iterop({"sample", "flow", "--model", model.string(), "--n", "40", "--seed", "5", "--method", "anderson",
                  "--format", "json"});
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  const auto a = nlohmann::json::parse(r.out);
  EXPECT_EQ(r.exit_code, a["solver"]["converged"].get<bool>() ? 0 : 1) << r.out;
  EXPECT_FALSE(a.contains("metrics"));  // no --target, no distances

  // Resume: 12 steps with a checkpoint, then continue from it to 20 steps.
  const auto ckpt = dir.path() / "calm.ckpt";
  auto args = tiny_calmflow(dir.path() / "a.model");
  args.insert(args.end(), {"--checkpoint", ckpt.string(), "--checkpoint-every", "6"});
  r = run_iterop(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(ckpt));
  args = tiny_calmflow(dir.path() / "b.model");
  std::replace(args.begin(), args.end(), std::string("12"), std::string("20"));
  args.insert(args.end(), {"--resume", ckpt.string(), "--format", "json"});
  r = run_iterop(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto resumed = nlohmann::json::parse(r.out);
  EXPECT_EQ(resumed["training"]["first_step"], 12);
  EXPECT_EQ(resumed["training"]["steps"], 20);
}

TEST(FlowCli, CfmTrainSampleRoundTrip) {
  ScratchFolder dir;
  for (const char* kind : {"icfm", "otcfm"}) {
    const auto model = dir.path() / (std::string(kind) + ".model");
    auto r = run_iterop({"train", "flow", "--arch", kind, "--source", "normal", "--target", "8gaussians", "--steps",
                         "30", "--width", "32", "--batch", "32", "--pool", "200", "--model", model.string()});
    ASSERT_EQ(r.exit_code, 0) << kind << ": " << r.err;
    r = run_iterop({"sample", "flow", "--model", model.string(), "--n", "50", "--ode-steps", "10", "--target",
                    "8gaussians", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << kind << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["method"], "euler");
    EXPECT_EQ(j["sampler"]["batch_evaluations"], 10);
    EXPECT_TRUE(j["metrics"]["w2"].is_number());
  }
  const auto r = run_iterop({"sample", "flow", "--model", (dir.path() / "icfm.model").string(), "--n", "20", "--method",
                             "dopri5", "--target", "8gaussians"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("exact W2"), std::string::npos) << r.out;
}

TEST(FlowCli, BadOptionsAreOneLineAndExitTwo) {
  ScratchFolder dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> train_cases = {
      {{"--arch", "gan"}, "--arch = gan"},
      {{"--source", "unicorns"}, "--source = unicorns"},
      {{"--dim", "3"}, "--dim = 3"},
      {{"--steps", "-1"}, "--steps = -1"},
      {{"--seed", "x"}, "--seed = x"},
      {{"--lr", "-1"}, "--lr = -1"},
      {{"--batch", "12"}, "--batch = 12"},  // not a multiple of M = 8
      {{"--model", "/no/such/folder/m.model"}, "--model = /no/such/folder/m.model"},
      {{"--arch", "icfm", "--checkpoint", "c.ckpt"}, "--checkpoint = c.ckpt"},
      {{"--resume", "/no/such/ckpt"}, "--resume = /no/such/ckpt"},
      // Old spellings name the new option.
      {{"--model", "otcfm"}, "--model = otcfm. Violated constraint: a model file; the kind of model is --arch otcfm"},
      {{"--out", "m.model"}, "--out = m.model. Violated constraint: renamed: --model FILE"},
  };
  for (const auto& [extra, expected] : train_cases) {
    std::vector<std::string> args = {"train", "flow"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_iterop(args);
    EXPECT_EQ(r.exit_code, 2) << expected << ": " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Violated constraint"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }

  const auto model = dir.path() / "m.model";
  auto args = tiny_calmflow(model);
  std::replace(args.begin(), args.end(), std::string("12"), std::string("2"));
  ASSERT_EQ(run_iterop(args).exit_code, 0);
  const std::string missing = (dir.path() / "none").string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> sample_cases = {
      {{"--model", missing}, "--model = " + missing},
      {{"--model", model.string(), "--method", "euler"}, "--method = euler"},
      {{"--model", model.string(), "--n", "0"}, "--n = 0"},
      {{"--model", model.string(), "--target", "unicorns"}, "--target = unicorns"},
      {{"--model", model.string(), "--steps", "10"}, "--steps = 10. Violated constraint: renamed: --ode-steps"},
      {{"--model", model.string(), "--out", "s.csv"}, "--out = s.csv. Violated constraint: renamed: --csv FILE"},
  };
  for (const auto& [extra, expected] : sample_cases) {
    std::vector<std::string> a = {"sample", "flow"};
    a.insert(a.end(), extra.begin(), extra.end());
    const auto r = run_iterop(a);
    EXPECT_EQ(r.exit_code, 2) << expected << ": " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
}

// A non-finite training loss exits 3 for both kinds (the last finite weights are still saved).
TEST(FlowCli, NonFiniteLossExitsThree) {
  ScratchFolder dir;
  auto calm = tiny_calmflow(dir.path() / "calm.model");
  calm.insert(calm.end(), {"--lr", "1e30", "--format", "json"});
  const std::vector<std::string> cfm = {"train", "flow", "--arch", "icfm", "--steps", "30", "--width", "16", "--batch", "16",
                                        "--pool", "100", "--lr", "1e30", "--model", (dir.path() / "icfm.model").string(),
                                        "--format", "json"};
  for (const auto& args : {calm, cfm}) {
    const auto r = run_iterop(args);
    ASSERT_EQ(r.exit_code, 3) << args[3] << ": " << r.out << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["training"]["status"], "non_finite_loss") << r.out;
  }
}

TEST(FlowCli, ExperimentsAreListed) {
  const auto r = run_iterop({"run", "--list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"flow-2d", "flow-highdim", "flow-ablation", "flow-conditional", "flow-quick"})
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  // The size is an option of the run (no environment variable): --size default|full.
  const auto bad = run_iterop({"run", "flow-2d", "--out", "unused", "--size", "huge"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--size = huge. Violated constraint: one of default, full"), std::string::npos) << bad.err;
}

#endif  // ITEROP_HAVE_OPERATORS
