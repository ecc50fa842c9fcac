// Runs the built `iterop` program: `solve fixed-point` results, exit codes, output formats, and a
// one-line error with exit code 2 for each kind of bad input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using iterop::cli_test::count_lines;
using iterop::cli_test::run_iterop;

namespace {

std::vector<std::string> solve(std::vector<std::string> args) {
  args.insert(args.begin(), {"solve", "fixed-point"});
  return args;
}

}  // namespace

TEST(CliSolve, HEquationAndersonM3TakesNineIterations) {
  const auto r = run_iterop(solve({"--problem", "heq", "--c", "0.99", "--n", "512", "--method", "anderson", "--memory",
                                   "3", "--tol", "1e-8", "--format", "json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "converged");
  EXPECT_EQ(j["iterations"], 9);
  EXPECT_EQ(j["evaluations"], 10);
  EXPECT_LE(j["residual"].get<double>(), j["stop"]["tolerance"].get<double>());
  EXPECT_EQ(j["stop"]["atol"], 1e-8);
  EXPECT_EQ(j["stop"]["rtol"], 1e-8);
  EXPECT_EQ(j["method"]["options"]["memory"], 3);
  EXPECT_EQ(j["problem"]["parameters"]["c"], 0.99);
  ASSERT_EQ(j["history"].size(), 10u);
  for (const char* key : {"residual", "step", "rate", "gain", "condition", "columns"})
    EXPECT_TRUE(j["history"][3].contains(key)) << key;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(CliSolve, AtolAndRtolSetTheTwoPartsApart) {
  const auto loose = run_iterop(solve({"--atol", "1e-3", "--rtol", "0", "--format", "json"}));
  const auto tight = run_iterop(solve({"--atol", "1e-12", "--rtol", "0", "--format", "json"}));
  ASSERT_EQ(loose.exit_code, 0) << loose.err;
  ASSERT_EQ(tight.exit_code, 0) << tight.err;
  const auto jl = nlohmann::json::parse(loose.out), jt = nlohmann::json::parse(tight.out);
  EXPECT_DOUBLE_EQ(jl["stop"]["tolerance"].get<double>(), 1e-3);
  EXPECT_LT(jl["iterations"].get<int>(), jt["iterations"].get<int>());
  EXPECT_LE(jt["residual"].get<double>(), 1e-12);
}

TEST(CliSolve, PicardOnRotationDoesNotConvergeAndExitsOne) {
  const auto r = run_iterop(solve({"--problem", "rotation", "--method", "picard", "--format", "json"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["status"], "converged");
  EXPECT_TRUE(j["status"] == "stagnated" || j["status"] == "max_iterations") << j["status"];
  EXPECT_NEAR(j["residual"].get<double>(), 2.0, 1e-12);  // ||R x - x|| = sqrt(2) ||x|| = 2 for x = (1, 1)
}

TEST(CliSolve, KrasnoselskiiMannOnRotationConverges) {
  const auto r =
      run_iterop(solve({"--problem", "rotation", "--method", "km", "--relaxation", "0.5", "--format", "json"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["status"], "converged");
  EXPECT_EQ(nlohmann::json::parse(r.out)["method"]["options"]["relaxation"], 0.5);
}

TEST(CliSolve, DivergeAndNanReportTheirStatusesWithExitOne) {
  const auto d = run_iterop(solve({"--problem", "diverge", "--method", "picard", "--format", "json"}));
  EXPECT_EQ(d.exit_code, 1) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out)["status"], "diverged");
  const auto n = run_iterop(solve({"--problem", "nan", "--method", "picard", "--format", "json"}));
  EXPECT_EQ(n.exit_code, 1) << n.err;
  const auto j = nlohmann::json::parse(n.out);
  EXPECT_EQ(j["status"], "non_finite");
  EXPECT_TRUE(j["history"].back()["residual"].is_null());  // the NaN residual, as JSON null
}

TEST(CliSolve, LinearProblemReportsTheErrorAgainstTheExactSolution) {
  const auto r = run_iterop(solve({"--problem", "linear", "--n", "40", "--rho", "0.8", "--seed", "7", "--method",
                                   "picard", "--format", "json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_LT(j["error"].get<double>(), 1e-6);
  EXPECT_EQ(j["problem"]["known"]["rate"], 0.8);
}

TEST(CliSolve, TableAndCsvFormats) {
  const auto t = run_iterop(solve({"--memory", "3"}));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("status"), std::string::npos);
  EXPECT_NE(t.out.find("converged"), std::string::npos);
  EXPECT_NE(t.out.find("iteration  evaluations"), std::string::npos);
  const auto c = run_iterop(solve({"--memory", "3", "--format", "csv"}));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out.rfind("iteration,evaluations,residual,step,", 0), 0u) << c.out;
  EXPECT_EQ(count_lines(c.out), 11);  // header + iterations 0..9
}

struct BadInput {
  std::vector<std::string> args;
  std::string expected;  // the whole stderr line after "iterop: error: "
};

/// Shows the arguments when a case fails (instead of the parameter's bytes).
void PrintTo(const BadInput& b, std::ostream* os) {
  for (const auto& a : b.args) *os << a << ' ';
}

class CliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInput, IsOneLineNamingOptionValueAndRuleWithExitTwo) {
  const auto r = run_iterop(solve(GetParam().args));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err, "iterop: error: " + GetParam().expected + "\n");
}

INSTANTIATE_TEST_SUITE_P(
    Messages, CliBadInput,
    ::testing::Values(
        BadInput{{"--problem", "nope"},
                 "--problem = nope. Violated constraint: one of heq, linear, rotation, diverge, nan."},
        BadInput{{"--memory", "-1"}, "--memory = -1. Violated constraint: memory >= 0 and <= 1000."},
        BadInput{{"--memory", "1.5"}, "--memory = 1.5. Violated constraint: an integer."},
        BadInput{{"--c", "abc"}, "--c = abc. Violated constraint: a decimal number such as 0.99 or 1e-8."},
        BadInput{{"--c", "1.5"}, "--c = 1.5. Violated constraint: 0 < c <= 1 (problem heq)."},
        BadInput{{"--c", "0"}, "--c = 0. Violated constraint: 0 < c <= 1 (problem heq)."},
        BadInput{{"--n", "0"}, "--n = 0. Violated constraint: 1 <= n <= 10000 (problem heq)."},
        BadInput{{"--method", "newton"},
                 "--method = newton. Violated constraint: one of picard, km, anderson, anderson-type1, lm."},
        BadInput{{"--tol", "1e-8", "--atol", "1e-6"},
                 "--tol = 1e-8. Violated constraint: give either --tol or --atol/--rtol, not both."},
        BadInput{{"--orth", "icwy"},
                 "--orth = icwy. Violated constraint: mgs or cgs2 with --solver iterop (icwy and dcgs2 are KINSOL's: "
                 "add --solver kinsol)."},
        BadInput{{"--problem", "linear", "--c", "0.5"},
                 "--c = 0.5. Violated constraint: problem linear takes only --n, --rho, --seed."},
        BadInput{{"--method", "lm"}, "--method = lm. Violated constraint: --method lm needs --solver ceres."},
        BadInput{{"--method", "picard", "--relaxation", "0.5"},
                 "--relaxation = 0.5. Violated constraint: --relaxation is taken only by --method km, anderson and "
                 "anderson-type1 (here: --method picard with --solver iterop)."},
        BadInput{{"--method", "km", "--relaxation", "0"},
                 "--relaxation = 0. Violated constraint: 0 < relaxation <= 1 (the weight on T(x); 1 is the Picard step)."},
        // The old names are refused with the new one.
        BadInput{{"--method", "km", "--alpha", "0.25"},
                 "--alpha = 0.25. Violated constraint: renamed to relaxation, the weight on T(x) = 1 - alpha: give "
                 "--relaxation 0.75 (relaxation = 0.75 in an experiment file)."},
        BadInput{{"--method", "anderson", "--damping", "0.5"},
                 "--damping = 0.5. Violated constraint: renamed to relaxation, the weight on T(x), the same value: give "
                 "--relaxation 0.5 (relaxation = 0.5 in an experiment file)."},
        BadInput{{"--format", "xml"}, "--format = xml. Violated constraint: one of table, csv, json."},
        BadInput{{"--tol", "-1"}, "--tol = -1. Violated constraint: a tolerance >= 0."},
        BadInput{{"--max-iterations", "-1"}, "--max-iterations = -1. Violated constraint: max-iterations >= 0 and <= 2147483647."},
        BadInput{{"--max-iterations", "ten"}, "--max-iterations = ten. Violated constraint: an integer."},
        BadInput{{"--solver", "petsc"}, "--solver = petsc. Violated constraint: one of iterop, kinsol, ceres."},
        BadInput{{"--no-such-option"},
                 "The following argument was not expected: --no-such-option (run with --help for usage)"},
        BadInput{{"--c"}, "--c: 1 required NUMBER missing (run with --help for usage)"}));

TEST(CliSolve, KinsolSolverFollowsTheBuild) {
  const auto r = run_iterop(solve({"--solver", "kinsol", "--memory", "3", "--format", "json"}));
#if defined(ITEROP_HAVE_KINSOL)
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["iterations"], 9);
  EXPECT_EQ(j["method"]["options"]["orth"], "mgs");
  const auto d = run_iterop(solve({"--solver", "kinsol", "--orth", "dcgs2", "--kinsol-test", "kinsol", "--format", "json"}));
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out)["method"]["options"]["kinsol_test"], "kinsol");
#else
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--solver = kinsol"), std::string::npos) << r.err;
#endif
}

TEST(CliTopLevel, VersionHelpAndMissingCommand) {
  const auto v = run_iterop({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind(std::string("iterop ") + ITEROP_VERSION + "\n", 0), 0u) << v.out;
  const auto h = run_iterop({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("solve"), std::string::npos);
  EXPECT_NE(h.out.find("run"), std::string::npos);
  const auto sh = run_iterop({"solve", "fixed-point", "--help"});
  EXPECT_EQ(sh.exit_code, 0);
  EXPECT_NE(sh.out.find("Exit 1: the solve finished without converging"), std::string::npos);
  for (const char* option : {"--problem", "--c", "--n", "--rho", "--seed", "--method", "--memory", "--relaxation",
                             "--alpha", "--damping", "--solver", "--orth", "--kinsol-test", "--tol", "--atol", "--rtol",
                             "--max-iterations", "--format"})
    EXPECT_NE(sh.out.find(option), std::string::npos) << option;
  const auto none = run_iterop({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(count_lines(none.err), 1) << none.err;
}

// One exit-status table: `iterop --help` and every command's help print the same text.
TEST(CliTopLevel, EveryHelpPrintsTheOneExitStatusTable) {
  const auto top = run_iterop({"--help"});
  ASSERT_EQ(top.exit_code, 0);
  const auto at = top.out.find("Exit status (every command):");
  ASSERT_NE(at, std::string::npos) << top.out;
  const std::string table = top.out.substr(at);
  EXPECT_NE(table.find("  3  a failure while running: a non-finite training loss"), std::string::npos) << table;
  std::vector<std::vector<std::string>> commands = {{"solve", "fixed-point"}, {"solve", "volterra"}, {"run"},
                                                    {"bench", "volterra"}, {"check"}};
#if defined(ITEROP_HAVE_OPERATORS)
  commands.insert(commands.end(), {{"train", "pign"}, {"train", "denoiser"}, {"train", "flow"}, {"sample", "flow"}});
#endif
  for (auto args : commands) {
    args.push_back("--help");
    const auto h = run_iterop(args);
    EXPECT_EQ(h.exit_code, 0) << args[0];
    EXPECT_NE(h.out.find(table), std::string::npos) << args[0] << " " << args[1] << ":\n" << h.out;
    // One default seed, shown by CLI11 (S=1) and not repeated in the description.
    if (args[0] != "solve" && args[0] != "check" && args[0] != "bench") {
      EXPECT_NE(h.out.find("--seed S=1 "), std::string::npos) << args[0] << ":\n" << h.out;
    }
  }
}
