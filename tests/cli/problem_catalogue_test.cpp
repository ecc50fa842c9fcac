// Tests of the problem catalogue: built-in problems, their known answers, parameter validation
// messages, and registering a user's problem.
#include "iterop/experiments/problems/problem_catalogue.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

#include <cmath>

#include "iterop/core/errors.hpp"

namespace ie = iterop::experiments;

using iterop::cli_test::message_of;

TEST(ProblemCatalogue, HasTheBuiltInProblemsInOrder) {
  const auto names = ie::default_problem_catalogue().names();
  EXPECT_EQ(names, (std::vector<std::string>{"heq", "linear", "rotation", "diverge", "nan"}));
}

TEST(ProblemCatalogue, HEquationDefaultsAndOperator) {
  const auto p = ie::default_problem_catalogue().make("heq");
  EXPECT_EQ(p.name, "heq");
  EXPECT_EQ(p.parameters.at("c"), 0.99);
  EXPECT_EQ(p.parameters.at("n"), 512);
  ASSERT_EQ(p.x0.size(), 512u);
  EXPECT_EQ(p.x0.front(), 1.0);
  ASSERT_TRUE(p.known.rate.has_value());
  EXPECT_TRUE(p.known.rate_is_bound);
  EXPECT_NEAR(*p.known.rate, 1.0 - std::sqrt(0.01), 1e-15);
  EXPECT_NE(p.known.note.find("10, 9, 9, 10, 11, 11"), std::string::npos);
  // G(x0) > x0 = 1 componentwise for c > 0: the residual at x0 is positive.
  std::vector<double> g(512);
  p.op(p.x0, g);
  for (double v : g) EXPECT_GT(v, 1.0);
  EXPECT_GT(p.residual_norm(p.x0), 1.0);
}

TEST(ProblemCatalogue, LinearKnownSolutionIsAFixedPointAndRateIsRho) {
  const auto p = ie::default_problem_catalogue().make("linear", {{"n", 20}, {"rho", 0.7}, {"seed", 3}});
  ASSERT_TRUE(p.known.solution.has_value());
  EXPECT_LT(p.residual_norm(*p.known.solution), 1e-12);
  EXPECT_DOUBLE_EQ(*p.known.rate, 0.7);
  EXPECT_FALSE(p.known.rate_is_bound);
  // A different seed gives a different problem; the same seed the same one.
  const auto q = ie::default_problem_catalogue().make("linear", {{"n", 20}, {"rho", 0.7}, {"seed", 4}});
  const auto r = ie::default_problem_catalogue().make("linear", {{"n", 20}, {"rho", 0.7}, {"seed", 3}});
  EXPECT_NE(*p.known.solution, *q.known.solution);
  EXPECT_EQ(*p.known.solution, *r.known.solution);
}

TEST(ProblemCatalogue, RotationDivergeNan) {
  const auto rot = ie::default_problem_catalogue().make("rotation", {{"n", 4}});
  std::vector<double> y(4);
  rot.op(std::vector<double>{1, 2, 3, 4}, y);
  EXPECT_EQ(y, (std::vector<double>{-2, 1, -4, 3}));
  EXPECT_EQ(*rot.known.rate, 1.0);

  const auto div = ie::default_problem_catalogue().make("diverge");
  EXPECT_EQ(div.known.picard_status, iterop::Status::diverged);
  EXPECT_LT(div.residual_norm(*div.known.solution), 1e-15);  // -1 is a (repelling) fixed point

  const auto nan = ie::default_problem_catalogue().make("nan", {{"n", 3}});
  EXPECT_EQ(nan.known.picard_status, iterop::Status::non_finite);
  EXPECT_FALSE(nan.known.solution.has_value());
  std::vector<double> g(3);
  nan.op(std::vector<double>{-1, -1, -1}, g);
  EXPECT_TRUE(std::isnan(g[0]));
}

TEST(ProblemCatalogue, InvalidInputNamesFieldValueAndRule) {
  auto& cat = ie::default_problem_catalogue();
  EXPECT_EQ(message_of([&] { cat.make("nope"); }),
            "problem = nope. Violated constraint: one of heq, linear, rotation, diverge, nan.");
  EXPECT_EQ(message_of([&] { cat.make("heq", {{"c", 1.5}}); }),
            "heq parameter c = 1.5. Violated constraint: 0 < c <= 1.");
  EXPECT_EQ(message_of([&] { cat.make("heq", {{"n", 2.5}}); }),
            "heq parameter n = 2.5. Violated constraint: an integer.");
  EXPECT_EQ(message_of([&] { cat.make("heq", {{"rho", 0.5}}); }),
            "heq parameter rho = 0.5. Violated constraint: problem heq takes only c, n.");
  EXPECT_EQ(message_of([&] { cat.make("rotation", {{"n", 3}}); }),
            "rotation parameter n = 3. Violated constraint: 2 <= n <= 10^7 and n even.");
  EXPECT_EQ(message_of([&] { cat.make("heq", {{"c", std::nan("")}}); }),
            "heq parameter c = nan. Violated constraint: a finite number.");
}

TEST(ProblemCatalogue, ParameterSpecViolation) {
  ie::ParameterSpec spec{"k", 1, "a count", "k >= 1", [](double k) { return k >= 1; }, true};
  EXPECT_FALSE(spec.violation(3).has_value());
  EXPECT_EQ(spec.violation(0).value_or(""), "k >= 1");
  EXPECT_EQ(spec.violation(1.5).value_or(""), "an integer");
  EXPECT_EQ(spec.violation(INFINITY).value_or(""), "a finite number");
}

TEST(ProblemCatalogue, RegisterAUserProblem) {
  ie::ProblemCatalogue cat;
  ie::register_builtin_problems(cat);
  ie::ProblemEntry e;
  e.name = "halve";
  e.description = "G(x) = x / 2 + a";
  e.parameters = {ie::ParameterSpec{"a", 1.0, "offset", "any finite a", {}, false}};
  e.make = [](const ie::ParameterValues& p) {
    const double a = p.at("a");
    ie::FixedPointProblem prob;
    prob.op = [a](std::span<const double> x, std::span<double> y) {
      for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] / 2 + a;
    };
    prob.x0 = {0.0};
    prob.known.solution = std::vector<double>{2 * a};
    prob.known.rate = 0.5;
    return prob;
  };
  cat.register_problem(e);
  EXPECT_NE(cat.find("halve"), nullptr);
  const auto p = cat.make("halve", {{"a", 3}});
  EXPECT_EQ(p.name, "halve");
  EXPECT_EQ(p.parameters.at("a"), 3);
  EXPECT_LT(p.residual_norm(*p.known.solution), 1e-15);
  EXPECT_THROW(cat.register_problem(e), iterop::invalid_option);  // duplicate name
  ie::ProblemEntry nameless = e;
  nameless.name = "";
  EXPECT_THROW(cat.register_problem(nameless), iterop::invalid_option);
  ie::ProblemEntry no_factory = e;
  no_factory.name = "other";
  no_factory.make = nullptr;
  EXPECT_THROW(cat.register_problem(no_factory), iterop::invalid_option);
}
