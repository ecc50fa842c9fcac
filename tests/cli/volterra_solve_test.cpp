// Runs the built `iterop solve volterra`: observed orders of each method on equations given as
// expressions, blow-up reported with its time, and a one-line error with exit code 2 for bad input.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using iterop::cli_test::count_lines;
using iterop::cli_test::run_iterop;

namespace {

std::vector<std::string> volterra(std::vector<std::string> args) {
  args.insert(args.begin(), {"solve", "volterra"});
  return args;
}

/// Runs, expects exit 0 and JSON, and checks every run converged.
nlohmann::json solved(const std::vector<std::string>& args) {
  const auto r = run_iterop(volterra(args));
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& run : j["runs"]) EXPECT_EQ(run["status"], "converged") << run.dump();
  return j;
}

/// Runs and expects exit 2 with one error line; returns that line.
std::string usage_error(const std::vector<std::string>& args) {
  const auto r = run_iterop(volterra(args));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("iterop: error: ", 0), 0u) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;  // nothing was solved
  return r.err;
}

const std::vector<std::string> l2 = {"--f", "1", "--kernel", "-(t-s)*y", "--T", "6.283185307179586", "--intervals",
                                     "64,128,256,512", "--exact", "cos(t)", "--format", "json"};

}  // namespace

TEST(CliSolveVolterra, TrapezoidOnL2HasOrderTwo) {
  const auto j = solved(l2);
  EXPECT_EQ(j["method"], "trapezoid");
  EXPECT_EQ(j["stated_order"], 2);
  ASSERT_TRUE(j["observed_order"].is_number());
  EXPECT_NEAR(j["observed_order"].get<double>(), 2.0, 0.3);
  ASSERT_EQ(j["runs"].size(), 4u);
  double previous = 1e300;
  for (const auto& run : j["runs"]) {
    for (const char* key : {"steps", "max_error", "status", "evaluations", "iterations", "seconds"})
      EXPECT_TRUE(run.contains(key)) << key;
    EXPECT_LT(run["max_error"].get<double>(), previous);
    previous = run["max_error"].get<double>();
    // A general (non-convolution) kernel: every kernel call of the rule is one muparser evaluation of K.
    EXPECT_GT(run["evaluations"].get<long>(), 0);
    EXPECT_GE(run["expression_evaluations"].get<long>(), run["evaluations"].get<long>());
    EXPECT_GE(run["iterations"].get<long>(), run["steps"].get<long>());
  }
  EXPECT_EQ(j["runs"][0]["steps"], 64);
  EXPECT_LT(j["runs"][3]["max_error"].get<double>(), 1e-4);
}

TEST(CliSolveVolterra, BlockSimpsonOnL2HasOrderFour) {
  auto args = l2;
  args.insert(args.end(), {"--method", "block_simpson"});
  const auto j = solved(args);
  EXPECT_EQ(j["method"], "block_simpson");
  EXPECT_EQ(j["stated_order"], 4);
  EXPECT_NEAR(j["observed_order"].get<double>(), 4.0, 0.3);
}

TEST(CliSolveVolterra, FirstKindMidpointHasOrderTwo) {
  const auto j = solved({"--kind", "first", "--f", "t", "--kernel", "1+exp(-(t-s))", "--T", "5", "--exact",
                         "1-exp(-t/2)/2", "--method", "midpoint", "--intervals", "32,64,128,256,512", "--format", "json"});
  EXPECT_EQ(j["method"], "midpoint");
  EXPECT_NEAR(j["observed_order"].get<double>(), 2.0, 0.3);
}

TEST(CliSolveVolterra, FirstKindDefaultsToMidpoint) {
  const auto j = solved({"--kind", "first", "--f", "t", "--kernel", "1+exp(-(t-s))", "--T", "5", "--intervals", "016,32",
                         "--format", "json"});
  EXPECT_EQ(j["method"], "midpoint");
  EXPECT_EQ(j["runs"][0]["steps"], 16);  // integers are decimal: 016 is 16 (not octal 14)
  EXPECT_TRUE(j["observed_order"].is_null());  // no --exact: no errors, no order
  EXPECT_TRUE(j["runs"][0]["max_error"].is_null());
}

TEST(CliSolveVolterra, IntegroDifferentialD2HasOrderTwo) {
  const auto j = solved({"--kind", "ide", "--f", "-y", "--kernel", "exp(-(t-s))*y", "--y0", "1", "--T", "5", "--exact",
                         "exp(-t)*cosh(t)", "--intervals", "32,64,128,256,512", "--format", "json"});
  EXPECT_EQ(j["method"], "ide_trapezoid");
  EXPECT_NEAR(j["observed_order"].get<double>(), 2.0, 0.3);
  EXPECT_EQ(j["equation"]["y0"], 1.0);
}

TEST(CliSolveVolterra, WeaklySingularA2DefaultsToProductTrapezoidOrderTwo) {
  for (const char* grading : {"1", "2"}) {
    const auto j = solved({"--f", "t^2 + 16/15*t^2.5", "--kernel", "-y", "--singular-exponent", "0.5", "--T", "1",
                           "--exact", "t^2", "--intervals", "32,64,128,256,512", "--grading", grading, "--format", "json"});
    EXPECT_EQ(j["method"], "product_trapezoid");
    EXPECT_NEAR(j["observed_order"].get<double>(), 2.0, 0.3) << "grading " << grading;
    EXPECT_EQ(j["grid"]["grading"], std::stod(grading));
  }
}

TEST(CliSolveVolterra, BlowUpIsReportedWithItsTimeAndExitOne) {
  const auto r = run_iterop(volterra({"--f", "1", "--kernel", "y^2", "--T", "1.5", "--intervals", "64,256,1024", "--format", "json"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["all_converged"].get<bool>());
  for (const auto& run : j["runs"]) {
    EXPECT_NE(run["status"], "converged") << run.dump();
    ASSERT_TRUE(run["blow_up_time"].is_number()) << run.dump();
    const double t = run["blow_up_time"].get<double>();
    EXPECT_GT(t, 0.9);   // y = 1 / (1 - t): the discrete solution leaves near t = 1 ...
    EXPECT_LT(t, 1.05);  // ... and is not carried on to T = 1.5
    EXPECT_LT(run["t_end"].get<double>(), 1.0);
    EXPECT_GT(run["y_end"].get<double>(), 10.0);
  }
  // Finer grids follow the solution closer to t = 1.
  EXPECT_GT(j["runs"][2]["blow_up_time"].get<double>(), j["runs"][0]["blow_up_time"].get<double>());
}

TEST(CliSolveVolterra, BlowUpInTheTableNamesStatusAndTime) {
  const auto r = run_iterop(volterra({"--f", "1", "--kernel", "y^2", "--T", "1.5", "--intervals", "256"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("N = 256: blow_up, estimated blow-up time t* = 9.98"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stopped at t = 9.96094e-01"), std::string::npos) << r.out;
}

TEST(CliSolveVolterra, BlowUpOnZeroToOnePointTwoEstimatesTStarWithinOnePercent) {
  const auto r = run_iterop(volterra({"--f", "1", "--kernel", "y^2", "--T", "1.2", "--intervals", "256", "--format", "json"}));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto run = nlohmann::json::parse(r.out)["runs"][0];
  EXPECT_EQ(run["status"], "blow_up");
  EXPECT_NEAR(run["blow_up_estimate"].get<double>(), 1.0, 1e-2);
  EXPECT_LT(run["last_reliable_node"].get<double>(), run["blow_up_estimate"].get<double>());
}

TEST(CliSolveVolterra, AbelFirstKindReachesTheStatedOrders) {
  // int_0^t (t - s)^(-1/2) y ds = g: y = t^2 with g = 16/15 t^(5/2); y = sqrt(t) with g = pi t / 2.
  const auto smooth = solved({"--kind", "first", "--singular-exponent", "0.5", "--f", "16/15*t^2.5", "--kernel", "1",
                              "--T", "1", "--intervals", "32,64,128,256", "--exact", "t^2", "--format", "json"});
  EXPECT_EQ(smooth["method"], "first_kind_trapezoid");
  EXPECT_NEAR(smooth["observed_order"].get<double>(), 2.0, 0.3);
  const auto root = solved({"--kind", "first", "--singular-exponent", "0.5", "--f", "pi/2*t", "--kernel", "1", "--T", "1",
                            "--intervals", "32,64,128,256", "--exact", "sqrt(t)", "--grading", "4", "--format", "json"});
  EXPECT_NEAR(root["observed_order"].get<double>(), 2.0, 0.3);  // min(2, r beta) = min(2, 4 / 2)
  const auto uniform = solved({"--kind", "first", "--singular-exponent", "0.5", "--f", "pi/2*t", "--kernel", "1", "--T",
                               "1", "--intervals", "32,64,128,256", "--exact", "sqrt(t)", "--format", "json"});
  EXPECT_NEAR(uniform["observed_order"].get<double>(), 0.5, 0.3);  // min(2, 1 / 2)
}

TEST(CliSolveVolterra, ProbeFindingsOfIssue13AreRefusedWithOneLine) {
  // 4: an exact solution that is NaN at some nodes is refused, naming how many and where.
  EXPECT_NE(usage_error({"--f", "1", "--kernel", "-y", "--T", "1", "--exact", "sqrt(t-0.5)"}).find("not finite at"),
            std::string::npos);
  // 5: a grading whose nodes collapse.
  EXPECT_NE(usage_error({"--f", "1", "--kernel", "-y", "--T", "1", "--grading", "1000"}).find("the nodes collapse"),
            std::string::npos);
  // 9: one size limit, the experiment files' 1048576.
  EXPECT_NE(usage_error({"--f", "1", "--kernel", "-y", "--T", "1", "--intervals", "100000000"}).find("1048576"),
            std::string::npos);
  // 13: overflowing numbers, f(0) not finite, assignments.
  EXPECT_NE(usage_error({"--f", "1e999", "--kernel", "-y", "--T", "1"}).find("overflows a double"), std::string::npos);
  EXPECT_NE(usage_error({"--f", "1/0", "--kernel", "-y", "--T", "1"}).find("f(0) finite"), std::string::npos);
  EXPECT_NE(usage_error({"--f", "t=1", "--kernel", "-y", "--T", "1"}).find("not an assignment"), std::string::npos);
}

TEST(CliSolveVolterra, TableOutputShowsTheObservedOrder) {
  const auto r = run_iterop(volterra({"--f", "1", "--kernel", "-(t-s)*y", "--T", "6.283185307179586", "--intervals",
                                      "64,128,256", "--exact", "cos(t)"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("observed order  2.0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("trapezoid (stated order 2)"), std::string::npos) << r.out;
}

TEST(CliSolveVolterra, SyntaxErrorNamesThePosition) {
  const std::string e = usage_error({"--f", "1", "--kernel", "-(t-s)*y)", "--T", "1"});
  EXPECT_NE(e.find("--kernel"), std::string::npos) << e;
  EXPECT_NE(e.find("position 8"), std::string::npos) << e;
  EXPECT_NE(e.find("-(t-s)*y[)]"), std::string::npos) << e;  // the expression with the spot marked
  const std::string end = usage_error({"--f", "2*", "--kernel", "y", "--T", "1"});
  EXPECT_NE(end.find("--f"), std::string::npos) << end;
  EXPECT_NE(end.find("position 2"), std::string::npos) << end;
}

TEST(CliSolveVolterra, UnknownVariableIsNamed) {
  const std::string e = usage_error({"--f", "1", "--kernel", "-(t-s)*x", "--T", "1"});
  EXPECT_NE(e.find("unknown variable \"x\""), std::string::npos) << e;
  EXPECT_NE(e.find("t, s, y"), std::string::npos) << e;
  // y is a variable of the kernel, not of f(t).
  const std::string f = usage_error({"--f", "y+1", "--kernel", "y", "--T", "1"});
  EXPECT_NE(f.find("unknown variable \"y\""), std::string::npos) << f;
  EXPECT_NE(f.find("--f"), std::string::npos) << f;
  const std::string fn = usage_error({"--f", "1", "--kernel", "foo(t)*y", "--T", "1"});
  EXPECT_NE(fn.find("unknown function \"foo\""), std::string::npos) << fn;
}

TEST(CliSolveVolterra, EachBadOptionIsOneLineAndExitTwo) {
  const std::vector<std::string> base = {"--f", "1", "--kernel", "y", "--T", "1"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"--f", "1", "--kernel", "y", "--T", "0"}, "--T = 0"},
      {{"--f", "1", "--kernel", "y", "--T", "-2"}, "--T = -2"},
      {{"--f", "1", "--kernel", "y", "--T", "abc"}, "--T = abc"},
      {with({"--intervals", "1,8"}), "--intervals = 1. Violated constraint: N >= 2"},
      {with({"--intervals", "64,32"}), "--intervals = 64,32. Violated constraint: strictly increasing"},
      {with({"--intervals", "64,64"}), "strictly increasing"},
      {with({"--intervals", "64,1e2"}), "--intervals = 1e2. Violated constraint: an integer"},
      {with({"--intervals", "16,x"}), "--intervals = x. Violated constraint: an integer"},
      {with({"--steps", "16,32"}), "--steps = 16,32. Violated constraint: renamed: --intervals"},
      {with({"--singular-exponent", "1"}), "0 < a < 1"},
      {with({"--singular-exponent", "-0.5"}), "0 < a < 1"},
      {with({"--method", "midpoint"}), "--method = midpoint"},
      {with({"--method", "simpson"}), "--method = simpson"},
      {with({"--singular-exponent", "0.5", "--method", "trapezoid"}), "product_trapezoid"},
      {with({"--method", "block_simpson", "--intervals", "16,33"}), "even"},
      {with({"--method", "block_simpson", "--grading", "2"}), "--grading = 2"},
      {with({"--grading", "0.5"}), "--grading = 0.5"},
      {with({"--y0", "1"}), "--y0"},
      {with({"--kind", "nth"}), "--kind = nth"},
      {with({"--format", "xml"}), "--format = xml"},
      {{"--kind", "ide", "--f", "-y", "--kernel", "y", "--T", "1"}, "--y0"},
      {{"--kind", "first", "--f", "t", "--kernel", "t-s", "--T", "1"}, "vanish on the diagonal"},
      {{"--kind", "first", "--f", "t", "--kernel", "(t-s)*exp(t)", "--T", "1"}, "\"(t-s)*exp(t)\""},
      {{"--kind", "first", "--f", "1+t", "--kernel", "1", "--T", "1"}, "g(0) = 0"},
      {{"--kind", "first", "--f", "t", "--kernel", "y", "--T", "1"}, "unknown variable \"y\""},
  };
  for (const auto& c : cases) {
    const std::string e = usage_error(c.args);
    EXPECT_NE(e.find(c.needle), std::string::npos) << "expected \"" << c.needle << "\" in: " << e;
  }
}
