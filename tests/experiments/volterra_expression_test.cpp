// Library-level tests of Volterra problems from expressions and of the convergence pieces: values and
// counts, error messages, method checks, and agreement with the reference problems' solutions.
#include <gtest/gtest.h>

#include "test_support.hpp"

#include <cmath>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/problems/volterra_convergence.hpp"
#include "iterop/experiments/problems/volterra_expression.hpp"
#include "iterop/quadrature/reference_problems.hpp"

namespace ex = iterop::experiments;

using iterop::cli_test::message_of;

TEST(VolterraExpression, EvaluatesAndCounts) {
  ex::VolterraExpression k("--kernel", "exp(-(t-s))*y^2 + pi", {"t", "s", "y"});
  EXPECT_DOUBLE_EQ(k(1.0, 0.5, 2.0), std::exp(-0.5) * 4 + M_PI);
  EXPECT_DOUBLE_EQ(k(0.0, 0.0, 0.0), M_PI);
  EXPECT_EQ(k.evaluations(), 2);
  EXPECT_TRUE(k.uses("s"));
  k.reset_evaluations();
  EXPECT_EQ(k.evaluations(), 0);
  ex::VolterraExpression f("--f", "2", {"t"});
  EXPECT_FALSE(f.uses("t"));
  EXPECT_EQ(f(5.0), 2.0);
  ex::VolterraExpression moved = std::move(f);  // the variables stay bound after a move
  EXPECT_EQ(moved(1.0), 2.0);
}

TEST(VolterraExpression, ErrorsNamePositionAndVariable) {
  const auto syntax = message_of([] { ex::VolterraExpression("--kernel", "-(t-s)*y)", {"t", "s", "y"}); });
  EXPECT_NE(syntax.find("position 8"), std::string::npos) << syntax;
  EXPECT_EQ(syntax.rfind("--kernel = \"-(t-s)*y)\". Violated constraint: ", 0), 0u) << syntax;
  const auto unknown = message_of([] { ex::VolterraExpression("--f", "t + z", {"t"}); });
  EXPECT_NE(unknown.find("unknown variable \"z\" at position 4"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("only the variable t"), std::string::npos) << unknown;
  const auto empty = message_of([] { ex::VolterraExpression("--f", "  ", {"t"}); });
  EXPECT_NE(empty.find("empty"), std::string::npos) << empty;
  const auto list = message_of([] { ex::VolterraExpression("--f", "1, 2", {"t"}); });
  EXPECT_NE(list.find("one value"), std::string::npos) << list;
}

TEST(VolterraExpression, ProblemMatchesReferenceN3) {
  ex::VolterraExpressionSpec spec;
  spec.f = "exp(-2*t)";
  spec.kernel = "exp(-(t-s))*y^2";
  spec.T = 2;
  spec.exact = "exp(-t)";
  const auto p = ex::make_expression_problem(spec);
  for (auto m : {ex::VolterraMethod::trapezoid, ex::VolterraMethod::block_simpson}) {
    const auto mine = ex::run_volterra(p.problem, m, 64, 1);
    const auto ref = ex::run_volterra(iterop::quadrature::reference::N3(), m, 64, 1);
    ASSERT_TRUE(mine.result.converged());
    // Same rule, same equation: the same numbers up to rounding (lag sums vs direct sums for the trapezoid).
    EXPECT_NEAR(mine.result.max_error, ref.result.max_error, 1e-12 + 1e-9 * ref.result.max_error);
    EXPECT_EQ(mine.result.nodes(), 65);
  }
}

TEST(VolterraExpression, SpecChecks) {
  ex::VolterraExpressionSpec spec;
  spec.f = "1";
  spec.kernel = "y";
  spec.T = 1;
  spec.kind = ex::VolterraKind::ide;
  EXPECT_NE(message_of([&] { ex::make_expression_problem(spec); }).find("--y0"), std::string::npos);
  spec.y0 = 1;
  EXPECT_NO_THROW(ex::make_expression_problem(spec));
  spec.singular_exponent = 0.5;
  EXPECT_NE(message_of([&] { ex::make_expression_problem(spec); }).find("only with --kind second"), std::string::npos);
  spec = {};
  spec.f = "1";
  spec.kernel = "y";
  spec.T = -1;
  EXPECT_NE(message_of([&] { ex::make_expression_problem(spec); }).find("--T = -1"), std::string::npos);
}

TEST(VolterraConvergence, MethodNamesOrdersAndFit) {
  for (auto m : ex::volterra_methods()) EXPECT_EQ(ex::parse_volterra_method(ex::to_string(m)), m);
  EXPECT_EQ(ex::stated_order(ex::VolterraMethod::block_simpson), 4);
  EXPECT_EQ(ex::default_volterra_method(ex::VolterraKind::second, 0.3), ex::VolterraMethod::product_trapezoid);
  EXPECT_EQ(ex::default_volterra_method(ex::VolterraKind::ide, 0), ex::VolterraMethod::ide_trapezoid);
  EXPECT_THROW(ex::check_volterra_method(ex::VolterraMethod::midpoint, ex::VolterraKind::ide, 0, 1, {8}),
               iterop::invalid_option);
  EXPECT_NO_THROW(ex::check_volterra_method(ex::VolterraMethod::product_trapezoid, ex::VolterraKind::second, 0.5, 2, {8}));

  // Synthetic runs with error = h^3: the fit is 3; a non-converged run is left out of it.
  ex::Records runs;
  for (int i = 0; i < 4; ++i) {
    const double h = 1.0 / (8 << i);
    runs.push_back({{"steps", 8 << i}, {"h", h}, {"status", "converged"}, {"max_error", std::pow(h, 3)}});
  }
  EXPECT_NEAR(ex::observed_orders(runs).fitted, 3.0, 1e-12);
  EXPECT_NEAR(ex::observed_orders(runs).local_finest, 3.0, 1e-12);
  EXPECT_NEAR(ex::local_order(runs[0], runs[1]), 3.0, 1e-12);
  ex::Records stopped = runs.where([](const ex::Record& r) { return ex::number_of(r, "steps") < 64; });
  stopped.push_back({{"steps", 64}, {"h", 1.0 / 64}, {"status", "diverged"}, {"max_error", 1.0}});
  EXPECT_NEAR(ex::observed_orders(stopped).fitted, 3.0, 1e-12);
  EXPECT_TRUE(std::isnan(ex::observed_orders(stopped).local_finest));  // the finest run did not converge
  EXPECT_TRUE(std::isnan(ex::observed_orders(ex::Records(std::vector<ex::Record>{runs[0]})).fitted));
}

TEST(VolterraConvergence, FirstKindChecks) {
  iterop::quadrature::FirstKindProblem p = iterop::quadrature::reference::F2();
  EXPECT_NO_THROW(ex::check_first_kind(p, {16, 32}, 1));
  p.kernel = [](double t, double s) { return t - s; };
  EXPECT_NE(message_of([&] { ex::check_first_kind(p, {16}, 1, "t-s"); }).find("--kernel = \"t-s\""),
            std::string::npos);
  p = iterop::quadrature::reference::F2();
  p.rhs = [](double t) { return 1 + t; };
  EXPECT_NE(message_of([&] { ex::check_first_kind(p, {16}, 1); }).find("g(0) = 0"), std::string::npos);
}
