// Regression tests of the bad-input probe (issue 13): each finding tried again as a new user would, and
// the numbers-out-of-range rules (integers as integers, empty names, memory estimates before allocating).
// Every refusal is one line on stderr naming the option or file, the value and the rule, exit 2.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/experiments/runner/atomic_file.hpp"
#include "test_support.hpp"

using iterop::cli_test::count_lines;
using iterop::cli_test::ProcessResult;
using iterop::cli_test::read_file;
using iterop::cli_test::run_iterop;
using iterop::cli_test::ScratchFolder;

namespace {

/// A usage error: exit 2, one line on stderr containing each of `expected`, nothing on stdout.
void expect_usage_error(const ProcessResult& r, const std::vector<std::string>& expected) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  for (const auto& e : expected) EXPECT_NE(r.err.find(e), std::string::npos) << "missing '" << e << "' in: " << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("iterop: error: ", 0), 0u) << r.err;
}

/// Exit status of `iterop ARGS > /dev/full` run by the shell.
int exit_status_to_full_device(const std::string& args) {
  const std::string command = std::string("'") + ITEROP_CLI_PATH + "' " + args + " > /dev/full 2> /dev/null";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

// Finding 13: an unknown command names the word and lists the valid ones.
TEST(BadInputProbe, UnknownCommandNamesTheWordAndTheChoices) {
  expect_usage_error(run_iterop({"bogus"}), {"command = bogus", "one of", "solve", "run", "check"});
  expect_usage_error(run_iterop({"bench", "bogus"}), {"bench = bogus", "one of volterra"});
  expect_usage_error(run_iterop({"solve", "bogus"}), {"solve = bogus", "fixed-point", "volterra"});
}

// Finding 6: output lost on a full device is exit 3 (the help promises it), for every printing command.
TEST(BadInputProbe, OutputToAFullDeviceExitsThree) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  EXPECT_EQ(exit_status_to_full_device("solve fixed-point --problem heq --c 0.5 --n 16"), 3);
  EXPECT_EQ(exit_status_to_full_device("check --list"), 3);
  EXPECT_EQ(exit_status_to_full_device("run --list"), 3);
  // The same command to a working stream exits 0.
  EXPECT_EQ(run_iterop({"solve", "fixed-point", "--problem", "heq", "--c", "0.5", "--n", "16"}).exit_code, 0);
}

// Finding 12: integers are parsed as integers; one past 2^53 is not rounded into range.
TEST(BadInputProbe, IntegersAreParsedAsIntegers) {
  expect_usage_error(run_iterop({"solve", "fixed-point", "--problem", "linear", "--seed", "9007199254740993"}),
                     {"--seed = 9007199254740993", "0 <= seed <= 2^53"});
  expect_usage_error(run_iterop({"solve", "fixed-point", "--problem", "heq", "--n", "9223372036854775807"}),
                     {"--n = 9223372036854775807", "1 <= n <= 10000"});
  expect_usage_error(run_iterop({"solve", "fixed-point", "--problem", "heq", "--n", "9223372036854775808"}),
                     {"--n = 9223372036854775808", "64-bit integer"});
  // 2^53 itself is exact and in the rule.
  const auto ok = run_iterop({"solve", "fixed-point", "--problem", "linear", "--n", "4", "--seed", "9007199254740992"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // NaN, infinities, overflow of the type and negative sizes, each by the shared validators.
  for (const std::string bad : {"nan", "1e309"})
    expect_usage_error(run_iterop({"solve", "fixed-point", "--problem", "heq", "--tol", bad}), {"--tol = " + bad});
  expect_usage_error(run_iterop({"solve", "fixed-point", "--max-iterations", "2147483648"}),
                     {"--max-iterations = 2147483648"});
}

// Finding 16: an empty --out is refused, not taken as the default folder.
TEST(BadInputProbe, EmptyOutIsRefused) {
  expect_usage_error(run_iterop({"run", "--out", ""}), {"--out = \"\"", "a folder name"});
}

// Finding 11: a huge value is clipped in the error line, and control bytes are escaped.
TEST(BadInputProbe, ErrorLinesAreClippedAndEscaped) {
  const std::string huge(100000, 'x');
  const auto r = run_iterop({"run", huge});
  expect_usage_error(r, {"experiment = xxxx", "more characters", "Violated constraint"});
  EXPECT_LT(r.err.size(), 3000u) << r.err.size();
  const auto e = run_iterop({"solve", "fixed-point", "--problem", "\x1b[31mred\x07"});
  expect_usage_error(e, {"\\x1b[31mred\\x07"});
  EXPECT_EQ(e.err.find('\x1b'), std::string::npos);
  EXPECT_EQ(e.err.find('\x07'), std::string::npos);
}

// Finding 1: a sweep of 100 x 100 x 100 x 100 cells is refused at once with the count, and --list
// reports it as a file that does not load (no cell is built to count them).
TEST(BadInputProbe, HugeSweepIsCountedAndRefusedBeforeAnyCellIsBuilt) {
  ScratchFolder dir;
  std::string hundred = "[";
  for (int i = 1; i <= 100; ++i) hundred += (i > 1 ? ", " : "") + std::to_string(0.5 + i * 0.004);
  hundred += "]";
  std::string memories = "[";
  for (int i = 0; i < 100; ++i) memories += (i > 0 ? ", " : "") + std::to_string(i);
  memories += "]";
  std::string sizes = "[";
  for (int i = 1; i <= 100; ++i) sizes += (i > 1 ? ", " : "") + std::to_string(i);
  sizes += "]";
  const auto file = dir.path() / "huge.toml";
  std::ofstream(file) << "[experiment]\nname = \"huge\"\nkind = \"fixed-point\"\n\n[problem]\nname = \"heq\"\n"
                      << "parameters = { c = " << hundred << ", n = " << sizes << " }\n\n[[method]]\n"
                      << "solver = \"iterop\"\nmethod = \"anderson\"\nmemory = " << memories
                      << "\nrelaxation = " << hundred << "\n";
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_iterop({"run", file.string(), "--out", (dir.path() / "out").string()});
  expect_usage_error(r, {"huge.toml", "100000000 cells", "10000 problems x 10000 methods", "at most 100000 cells"});
  const auto l = run_iterop({"run", "--list", "--experiments", dir.path().string()});
  EXPECT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find("does not load"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("100000000 cells"), std::string::npos) << l.out;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 20.0);
  // One list too long on its own is refused with its own count.
  std::string many = "[";
  for (int i = 0; i < 100001; ++i) many += (i > 0 ? "," : "") + std::to_string(0.5);
  many += "]";
  std::ofstream(dir.path() / "long.toml") << "[experiment]\nname = \"long\"\nkind = \"fixed-point\"\n\n[problem]\n"
                                          << "name = \"heq\"\nparameters = { c = " << many
                                          << " }\n\n[[method]]\nsolver = \"iterop\"\nmethod = \"picard\"\n";
  expect_usage_error(run_iterop({"run", (dir.path() / "long.toml").string()}),
                     {"long.toml:", "100001 cells", "100001 problem.parameters.c"});
}

// Finding 15: temporaries of an interrupted run (dead process) are removed; a live process's are kept.
TEST(BadInputProbe, StaleTemporariesOfADeadProcessAreRemoved) {
  ScratchFolder dir;
  const auto stale = dir.path() / ".gnuplot-stderr.tmp-2147483646-3";  // above any pid_max: no such process
  const auto stale_png = dir.path() / ".plot.png.tmp-2147483646-4";
  const auto live = iterop::experiments::temporary_sibling(dir.path() / "report.md");  // this process
  const auto other = dir.path() / ".notes.tmp-x";
  for (const auto& p : {stale, stale_png, live, other}) std::ofstream(p) << "x";
  EXPECT_EQ(iterop::experiments::remove_stale_temporaries(dir.path()), 2u);
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_FALSE(std::filesystem::exists(stale_png));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
}

#if defined(ITEROP_HAVE_OPERATORS)

namespace {

/// A well-formed 6-node Planetoid folder; `features`, `labels` replace the two files when given.
std::filesystem::path planetoid(const std::filesystem::path& d, const std::string& features = "",
                                const std::string& labels = "") {
  std::filesystem::create_directories(d);
  std::ofstream(d / "features.tsv") << (features.empty() ? "# nodes 6 features 2\n0 0 1\n1 1 1\n2 0 0.5\n3 1 1\n4 0 1\n5 1 1\n"
                                                         : features);
  std::ofstream(d / "labels.tsv") << (labels.empty() ? "0 0\n1 1\n2 0\n3 1\n4 0\n5 1\n" : labels);
  std::ofstream(d / "edges.tsv") << "0 1\n1 2\n2 3\n3 4\n4 5\n";
  std::ofstream(d / "split.tsv") << "0 train\n1 train\n2 val\n3 val\n4 test\n5 test\n";
  return d;
}

ProcessResult train_pign(const std::filesystem::path& data) {
  return run_iterop({"train", "pign", "--data", data.string(), "--epochs", "2", "--k", "2"});
}

}  // namespace

// Findings 2, 10, 11: non-finite data values, class ids without bound, binary bytes, a folder in the
// place of a file: each one line naming the file and the line.
TEST(BadInputProbe, PlanetoidDataIsCheckedWithFileAndLine) {
  ScratchFolder dir;
  ASSERT_EQ(train_pign(planetoid(dir.path() / "good")).exit_code, 0);
  const std::string head = "# nodes 6 features 2\n0 0 1\n1 1 1\n";
  for (const std::string value : {"nan", "-inf", "1e39"}) {
    const auto r = train_pign(planetoid(dir.path() / ("v" + value), head + "2 0 " + value + "\n"));
    expect_usage_error(r, {"features.tsv:4", "value '" + value + "'"});
  }
  for (const std::string cls : {"2147483647", "2147483648", "6"}) {
    const auto r = train_pign(planetoid(dir.path() / ("c" + cls), "", "0 0\n1 " + cls + "\n2 0\n3 1\n4 0\n5 1\n"));
    expect_usage_error(r, {"labels.tsv:2", "class " + cls + " is outside -1..5"});
  }
  const auto binary = train_pign(planetoid(dir.path() / "binary", head + "2 0 \x1b[2J\x01\xff\n"));
  expect_usage_error(binary, {"features.tsv:4", "\\x1b[2J\\x01\\xff", "is not a number"});
  EXPECT_EQ(binary.err.find('\x1b'), std::string::npos);
  const auto folder = dir.path() / "folder";
  planetoid(folder);
  std::filesystem::remove(folder / "features.tsv");
  std::filesystem::create_directory(folder / "features.tsv");
  expect_usage_error(train_pign(folder), {"features.tsv: is a folder, not a file"});
}

namespace {

std::vector<std::string> tiny_calmflow(const std::filesystem::path& model, int steps) {
  return {"train", "flow", "--arch", "calmflow", "--source", "8gaussians", "--target", "moons", "--steps",
          std::to_string(steps), "--width", "16", "--layers", "1", "--feedforward", "32", "--time-points", "4",
          "--trajectories", "2", "--batch", "16", "--pool", "200", "--seed", "3", "--model", model.string()};
}

}  // namespace

// Findings 3, 14, 7, 8, 9: a tiny CaLMFlow model sampled at an absurd temperature, resumed past its
// steps, and the files and sizes refused before any training.
TEST(BadInputProbe, FlowRefusesBeforeTrainingAndFailsOnNonFiniteSamples) {
  ScratchFolder dir;
  const auto model = dir.path() / "m.model", ckpt = dir.path() / "m.ckpt";
  auto args = tiny_calmflow(model, 6);
  args.insert(args.end(), {"--checkpoint", ckpt.string()});
  auto r = run_iterop(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // 14: resuming a step-6 checkpoint with --steps 3 does not claim "trained to step 3".
  auto resume = tiny_calmflow(dir.path() / "r.model", 3);
  resume.insert(resume.end(), {"--resume", ckpt.string()});
  r = run_iterop(resume);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("trained to step 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing to train: the checkpoint " + ckpt.string() + " is at step 6, at or past --steps 3"),
            std::string::npos)
      << r.err;

  // 3: non-finite samples are a failure and no CSV of NaN is written; distances that overflow too.
  const auto csv = dir.path() / "s.csv";
  r = run_iterop({"sample", "flow", "--model", model.string(), "--n", "20", "--temperature", "1e200", "--csv",
                  csv.string(), "--target", "moons"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("NaN or Inf"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(csv));
  r = run_iterop({"sample", "flow", "--model", model.string(), "--n", "20", "--temperature", "0.5", "--csv",
                  csv.string(), "--target", "moons"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(csv));

  // 8: descriptions of the wrong shape are usage errors naming --model.
  const auto fake = dir.path() / "fake.model";
  std::ofstream(fake) << "x";
  for (const std::string json : {"[1,2,3]", R"({"format": "iterop-flow-model 1", "model": "icfm", "dim": "two", "source": "moons"})"}) {
    std::ofstream(fake.string() + ".json") << json;
    r = run_iterop({"sample", "flow", "--model", fake.string()});
    expect_usage_error(r, {"--model = " + fake.string(), "fake.model.json"});
    EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
  }

  // 7: --model that is a folder or cannot be written: exit 2 before training, the same for every trainer.
  const auto t0 = std::chrono::steady_clock::now();
  expect_usage_error(run_iterop(tiny_calmflow(dir.path(), 100000)), {"--model = " + dir.path().string(), "not a folder"});
  auto icfm = std::vector<std::string>{"train", "flow", "--arch", "icfm", "--steps", "100000", "--model", "/proc/iterop-probe.model"};
  expect_usage_error(run_iterop(icfm), {"--model = /proc/iterop-probe.model", "a folder this user can write"});
  expect_usage_error(run_iterop({"train", "denoiser", "--steps", "100000", "--model", dir.path().string()}),
                     {"--model = " + dir.path().string(), "not a folder"});
  expect_usage_error(run_iterop({"train", "denoiser", "--steps", "100000", "--model", "/proc/iterop-probe.model"}),
                     {"--model = /proc/iterop-probe.model"});
  // Sizes whose memory would exceed the machine are refused with the estimate.
  expect_usage_error(run_iterop({"train", "flow", "--arch", "icfm", "--source", "normal", "--target", "normal", "--dim",
                                 "100000", "--pool", "100000000", "--model", (dir.path() / "big.model").string()}),
                     {"--pool = 100000000", "needs about", "TiB (estimate), more than this machine's"});
  expect_usage_error(run_iterop({"train", "denoiser", "--dataset", "normal", "--dim", "100000", "--samples", "100000"}),
                     {"--samples = 100000", "needs about", "GiB (estimate)"});
  expect_usage_error(run_iterop({"sample", "flow", "--model", model.string(), "--n", "10000000", "--target", "moons"}),
                     {"--n = 10000000", "needs about", "PiB (estimate)"});
  // 9: the sampler's step count has the experiment files' limit.
  expect_usage_error(run_iterop({"sample", "flow", "--model", model.string(), "--ode-steps", "100000000"}),
                     {"--ode-steps = 100000000", "1048576"});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

#endif  // ITEROP_HAVE_OPERATORS
