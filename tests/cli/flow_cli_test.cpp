// `iterop train flow` and `iterop sample flow` at tiny sizes: train -> save -> sample round trips for
// CaLMFlow (sequential and parallel in time) and CFM, checkpoint and resume, the distances printed
// for a target, and bad options (one line naming the option, the value and the rule; exit 2).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
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
  EXPECT_EQ(desc["training"]["head"], "gaussian");  // the default head and paths are recorded
  EXPECT_EQ(desc["training"]["paths"], "bridge");
  EXPECT_EQ(desc["training"]["head_reads_state"], false);

  // The authors' preset: its settings, with the options given on the command line overriding it.
  const auto paper = dir.path() / "paper.model";
  auto paper_args = tiny_calmflow(paper);
  paper_args.insert(paper_args.end(), {"--preset", "paper-2d"});
  r = run_iterop(paper_args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto pd = nlohmann::json::parse(read_file(paper.string() + ".json"));
  EXPECT_EQ(pd["training"]["preset"], "paper-2d");
  EXPECT_EQ(pd["training"]["head"], "variational");
  EXPECT_EQ(pd["training"]["paths"], "variance-exploding");
  EXPECT_EQ(pd["training"]["increment"], false);
  EXPECT_EQ(pd["training"]["steps"], 12);  // --steps 12 overrides the preset's 10,000

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
      {{"--deterministic"}, "renamed: --head deterministic"},
      {{"--head", "mixture"}, "--head = mixture"},
      {{"--paths", "brownian"}, "--paths = brownian"},
      {{"--path-sigma", "-1"}, "--path-sigma = -1"},
      {{"--preset", "paper-3d"}, "--preset = paper-3d"},
      {{"--arch", "icfm", "--head", "flow"}, "--head = flow"},  // CaLMFlow options only with --arch calmflow
      {{"--head", "variational", "--head-reads-state"}, "head_reads_state = true with head variational"},
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

namespace {

/// Writes `content` to dir/name and returns the path as text.
std::string write_text(const std::filesystem::path& dir, const std::string& name, const std::string& content) {
  std::ofstream(dir / name, std::ios::binary) << content;
  return (dir / name).string();
}

/// `rows` points in dimension `dim` as CSV (a header when `header`): a ring of radius `radius`
/// in the first two coordinates, small values in the others.
std::string points_csv(int rows, int dim, double radius, bool header) {
  std::string text;
  for (int j = 0; header && j < dim; ++j) {
    text += j ? ",x" : "x";
    text += std::to_string(j + 1);
    text += j + 1 == dim ? "\n" : "";
  }
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < dim; ++j) {
      const double v = j == 0 ? radius * std::cos(0.7 * i) : j == 1 ? radius * std::sin(0.7 * i) : 0.01 * ((i + j) % 7);
      text += j ? "," : "";
      text += std::to_string(v);
    }
    text += i % 10 == 9 ? "\n\n" : "\n";  // blank lines are ignored
  }
  return text;
}

}  // namespace

// Your own data: --source / --target FILE.csv (one point per row); D from the file; sample flow draws
// the training file's rows as its default source and compares with a target file's rows.
TEST(FlowCli, TrainsAndSamplesFromPointsFiles) {
  ScratchFolder dir;
  const std::string source = write_text(dir.path(), "source.csv", points_csv(60, 2, 1.0, true));
  const std::string target = write_text(dir.path(), "target.csv", points_csv(40, 2, 3.0, false));

  // I-CFM between two files (batch 16 <= 40 rows).
  const auto icfm = dir.path() / "icfm.model";
  auto r = run_iterop({"train", "flow", "--arch", "icfm", "--source", source, "--target", target, "--steps", "5",
                       "--width", "16", "--batch", "16", "--model", icfm.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(source + " (60 points) -> " + target + " (40 points)"), std::string::npos) << r.out;
  auto desc = nlohmann::json::parse(read_file(icfm.string() + ".json"));
  EXPECT_EQ(desc["source"], source);
  EXPECT_EQ(desc["source_kind"], "file");
  EXPECT_EQ(desc["source_rows"], 60);
  EXPECT_EQ(desc["target_kind"], "file");
  EXPECT_EQ(desc["target_rows"], 40);
  EXPECT_EQ(desc["dim"], 2);
  EXPECT_TRUE(desc["pool"].is_null());

  // CaLMFlow between the same files; sampling draws the source file's rows, writes CSV, compares with
  // all 40 target rows when --n is larger (against the first 40 generated points).
  const auto calm = dir.path() / "calm.model";
  auto args = tiny_calmflow(calm);
  args[5] = source;
  args[7] = target;
  args.erase(args.end() - 6, args.end() - 2);  // no --pool with two files (and keep --model FILE)
  r = run_iterop(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  desc = nlohmann::json::parse(read_file(calm.string() + ".json"));
  EXPECT_EQ(desc["model"], "calmflow");
  EXPECT_EQ(desc["source_kind"], "file");
  const auto csv = dir.path() / "samples.csv";
  r = run_iterop({"sample", "flow", "--model", calm.string(), "--n", "50", "--seed", "4", "--target", target, "--csv",
                  csv.string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["source"], source);
  EXPECT_EQ(j["source_kind"], "file");
  EXPECT_EQ(j["target_kind"], "file");
  EXPECT_EQ(j["metrics"]["n"], 40);
  EXPECT_TRUE(j["metrics"]["w2"].is_number());
  const std::string text = read_file(csv);
  EXPECT_EQ(count_lines(text), 51);  // header + 50 points
  EXPECT_EQ(text.substr(0, 6), "x1,x2\n");
  // The written CSV is itself a points file: train from it (one file and one data set: --pool for the set).
  r = run_iterop({"train", "flow", "--arch", "otcfm", "--source", csv.string(), "--target", "8gaussians", "--steps",
                  "3", "--width", "16", "--batch", "16", "--pool", "100", "--model", (dir.path() / "o.model").string(),
                  "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["source_rows"], 50);
  EXPECT_EQ(j["target_kind"], "dataset");
  EXPECT_EQ(j["target_rows"], 100);
  EXPECT_EQ(j["pool"], 100);
  // Fewer points than the target file: n distinct rows of it; the text names the file.
  r = run_iterop({"sample", "flow", "--model", icfm.string(), "--n", "20", "--ode-steps", "4", "--target", target});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Against 20 points of " + target), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model from " + source), std::string::npos) << r.out;

  // D comes from the file: 3-D points to a data set of any dimension.
  const std::string source3 = write_text(dir.path(), "three.csv", points_csv(30, 3, 1.0, true));
  r = run_iterop({"train", "flow", "--arch", "icfm", "--source", source3, "--target", "2gaussians", "--steps", "3",
                  "--width", "16", "--batch", "16", "--pool", "50", "--model", (dir.path() / "d3.model").string(),
                  "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["dim"], 3);
}

// A bad points file, or a points file that does not fit the other options: one line, exit 2, before
// any training (no model written). (Every reason of the reader: tests/distributions/points_csv_test.cpp.)
TEST(FlowCli, BadPointsFilesAreOneLineNamingFileAndLine) {
  ScratchFolder dir;
  const std::string good = write_text(dir.path(), "good.csv", points_csv(20, 2, 1.0, true));
  const std::string good3 = write_text(dir.path(), "good3.csv", points_csv(20, 3, 1.0, false));
  const std::string ragged = write_text(dir.path(), "ragged.csv", "x1,x2\n1,2\n\n3,4,5\n");
  const std::string word = write_text(dir.path(), "word.csv", "1,2\n3,abc\n");
  const std::string missing = (dir.path() / "missing.csv").string();
  const std::string model = (dir.path() / "m.model").string();
  const std::vector<std::pair<std::vector<std::string>, std::string>> train_cases = {
      {{"--source", ragged}, "--source " + ragged + " line 4: 3 values, expected 2 (the header has 2)"},
      {{"--target", word}, "--target " + word + " line 2: 'abc' is not a number"},
      {{"--source", missing}, "--source " + missing + ": cannot open (No such file or directory)"},
      {{"--source", good, "--target", good3}, "--target = " + good3 + ". Violated constraint: points of dimension 2"},
      {{"--source", good, "--dim", "3"}, "--dim = 3. Violated constraint: 2 (the points of --source " + good},
      {{"--source", good3, "--target", "moons"}, "--target = moons. Violated constraint: a data set of dimension 3"},
      {{"--source", good, "--target", good, "--pool", "100"}, "--pool = 100. Violated constraint: not with two points files"},
      {{"--arch", "icfm", "--source", good, "--batch", "32"},
       "--batch = 32. Violated constraint: at most the 20 rows of --source " + good},
  };
  for (const auto& [extra, expected] : train_cases) {
    std::vector<std::string> args = {"train", "flow", "--steps", "2", "--model", model};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_iterop(args);
    EXPECT_EQ(r.exit_code, 2) << expected << ": " << r.err;
    EXPECT_NE(r.err.find("iterop: error: " + expected), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(model)) << expected;
  }

  // sample flow: the target and source files are checked the same way, against the model's dimension.
  auto args = tiny_calmflow(model);
  std::replace(args.begin(), args.end(), std::string("12"), std::string("2"));
  args[5] = good;
  ASSERT_EQ(run_iterop(args).exit_code, 0);
  const std::vector<std::pair<std::vector<std::string>, std::string>> sample_cases = {
      {{"--target", ragged}, "--target " + ragged + " line 4: 3 values, expected 2 (the header has 2)"},
      {{"--source", good3}, "--source = " + good3 + ". Violated constraint: points of dimension 2 (the dimension of the model"},
  };
  for (const auto& [extra, expected] : sample_cases) {
    std::vector<std::string> a = {"sample", "flow", "--model", model, "--n", "10"};
    a.insert(a.end(), extra.begin(), extra.end());
    const auto r = run_iterop(a);
    EXPECT_EQ(r.exit_code, 2) << expected << ": " << r.err;
    EXPECT_NE(r.err.find("iterop: error: " + expected), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
  }
  // The training source file is gone: sampling names it and says how to go on.
  std::filesystem::remove(good);
  const auto r = run_iterop({"sample", "flow", "--model", model, "--n", "10"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("its training source " + good), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(run_iterop({"sample", "flow", "--model", model, "--n", "10", "--source", "8gaussians"}).exit_code, 0);
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
