// Tests of the step-by-step Volterra rules: exactness on polynomials up to each rule's degree, and
// observed orders on the PROBLEMS.md set within 0.3 of the order each rule states as data.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/diagnostics/observed_order.hpp"
#include "iterop/quadrature/block_by_block.hpp"
#include "iterop/quadrature/first_kind_midpoint.hpp"
#include "iterop/quadrature/integro_differential.hpp"
#include "iterop/quadrature/product_trapezoid.hpp"
#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/quadrature/trapezoid.hpp"

namespace q = iterop::quadrature;

namespace {

/// Max errors over N = base, 2 base, ... (count runs) and the fitted order.
template <class Problem, class Method>
double fitted_order(const Problem& p, const Method& m, int base, int count, std::vector<double>* errors = nullptr) {
  std::vector<double> h, e;
  for (int i = 0; i < count; ++i) {
    const auto grid = q::Grid::uniform(p.T, base << i);
    const auto r = q::solve_volterra(p, grid, m);
    EXPECT_TRUE(r.converged()) << p.id << " N = " << (base << i) << ": " << r.message;
    h.push_back(grid.max_step());
    e.push_back(r.max_error);
  }
  if (errors) *errors = e;
  return iterop::observed_order(h, e);
}

struct OrderCase {
  std::string problem;
  int base;
};

class TrapezoidOrder : public ::testing::TestWithParam<OrderCase> {};
TEST_P(TrapezoidOrder, WithinPointThreeOfStatedOrder) {
  const auto p = q::reference::second_kind(GetParam().problem);
  for (bool conv : {true, false}) {
    std::vector<double> e;
    const double order = fitted_order(p, q::Trapezoid{.use_convolution = conv}, GetParam().base, 5, &e);
    EXPECT_NEAR(order, q::Trapezoid::order, 0.3) << p.id << (conv ? " (lag sums)" : " (direct)");
    for (std::size_t i = 1; i < e.size(); ++i) EXPECT_LT(e[i], e[i - 1]);
  }
}
INSTANTIATE_TEST_SUITE_P(Problems, TrapezoidOrder,
                         ::testing::Values(OrderCase{"L2", 32}, OrderCase{"L3", 512}, OrderCase{"N1", 16},
                                           OrderCase{"N3", 16}, OrderCase{"N4", 64}, OrderCase{"S1", 16}),
                         [](const auto& test_info) { return test_info.param.problem; });

class SimpsonOrder : public ::testing::TestWithParam<OrderCase> {};
TEST_P(SimpsonOrder, WithinPointThreeOfStatedOrder) {
  const auto p = q::reference::second_kind(GetParam().problem);
  const double order = fitted_order(p, q::BlockBySimpson{}, GetParam().base, 5);
  EXPECT_NEAR(order, q::BlockBySimpson::order, 0.3) << p.id;
}
INSTANTIATE_TEST_SUITE_P(Problems, SimpsonOrder,
                         ::testing::Values(OrderCase{"L2", 16}, OrderCase{"L3", 1024}, OrderCase{"N1", 8},
                                           OrderCase{"N3", 8}, OrderCase{"N4", 64}, OrderCase{"S1", 8}),
                         [](const auto& test_info) { return test_info.param.problem; });

TEST(ProductTrapezoid, OrderTwoOnWeaklySingularA2) {
  const double order = fitted_order(q::reference::A2(), q::ProductTrapezoid{}, 16, 5);
  EXPECT_NEAR(order, q::ProductTrapezoid::order, 0.3);
}

TEST(FirstKindMidpoint, OrderTwoOnF2) {
  const double order = fitted_order(q::reference::F2(), q::FirstKindMidpoint{}, 16, 5);
  EXPECT_NEAR(order, q::FirstKindMidpoint::order, 0.3);
}

TEST(IdeTrapezoid, OrderTwoOnD2) {
  const double order = fitted_order(q::reference::D2(), q::IdeTrapezoid{}, 16, 5);
  EXPECT_NEAR(order, q::IdeTrapezoid::order, 0.3);
}

// ---- exactness on polynomials ---------------------------------------------------------------------

/// y = f + int_0^t y(s) ds with exact polynomial solution `poly` (coefficients c_0 + c_1 t + ...).
q::SecondKindProblem integral_of_polynomial(std::vector<double> poly) {
  auto value = [poly](double t) {
    double v = 0, p = 1;
    for (double c : poly) { v += c * p; p *= t; }
    return v;
  };
  auto integral = [poly](double t) {
    double v = 0, p = t;
    for (std::size_t i = 0; i < poly.size(); ++i) { v += poly[i] * p / (i + 1); p *= t; }
    return v;
  };
  auto p = q::scalar_second_kind("poly", [=](double t) { return value(t) - integral(t); },
                                 [](double, double, double y) { return y; }, 1.0);
  p.exact = [value](double t, std::span<double> out) { out[0] = value(t); };
  return p;
}

TEST(Exactness, TrapezoidIsExactForLinearSolutions) {
  const auto r = q::solve_volterra(integral_of_polynomial({1, 2}), q::Grid::uniform(1, 7), q::Trapezoid{});
  EXPECT_LT(r.max_error, 1e-14);
  const auto quad = q::solve_volterra(integral_of_polynomial({1, 2, 3}), q::Grid::uniform(1, 7), q::Trapezoid{});
  EXPECT_GT(quad.max_error, 1e-4);  // degree 2 is beyond the rule: the test can fail
}

TEST(Exactness, BlockSimpsonIsExactForQuadraticSolutions) {
  const auto r = q::solve_volterra(integral_of_polynomial({1, -2, 3}), q::Grid::uniform(1, 8), q::BlockBySimpson{});
  EXPECT_LT(r.max_error, 1e-13);
  const auto quartic = q::solve_volterra(integral_of_polynomial({1, 0, 0, 0, 5}), q::Grid::uniform(1, 8),
                                         q::BlockBySimpson{});
  EXPECT_GT(quartic.max_error, 1e-7);
}

TEST(Exactness, ProductTrapezoidIsExactForLinearSolutions) {
  // y = 1 + t: f = y + int (t - s)^(-1/2) y ds = 1 + t + 2 sqrt(t) + (4/3) t^(3/2); K = -y.
  q::SecondKindProblem p = q::scalar_second_kind(
      "lin", [](double t) { return 1 + t + 2 * std::sqrt(t) + 4.0 / 3.0 * std::pow(t, 1.5); },
      [](double, double, double y) { return -y; }, 1.0);
  p.singular_exponent = 0.5;
  p.exact = [](double t, std::span<double> out) { out[0] = 1 + t; };
  EXPECT_LT(q::solve_volterra(p, q::Grid::uniform(1, 9), q::ProductTrapezoid{}).max_error, 1e-13);
  EXPECT_LT(q::solve_volterra(p, q::Grid::graded(1, 9, 2.0), q::ProductTrapezoid{}).max_error, 1e-13);
}

TEST(Exactness, FirstKindMidpointIsExactForLinearSolutions) {
  q::FirstKindProblem p{"lin", 2.0, [](double, double) { return 1.0; }, [](double t) { return t + t * t / 2; },
                        [](double t) { return 1 + t; }};
  EXPECT_LT(q::solve_volterra(p, q::Grid::uniform(2, 10), q::FirstKindMidpoint{}).max_error, 1e-13);
}

// ---- statuses, counters, bad input ----------------------------------------------------------------

TEST(BlowUp, N4BeyondOneIsReportedWithItsTime) {
  for (const auto& run : {q::solve_volterra(q::reference::N4(1.5), q::Grid::uniform(1.5, 300), q::Trapezoid{}),
                          q::solve_volterra(q::reference::N4(1.5), q::Grid::uniform(1.5, 300), q::BlockBySimpson{})}) {
    EXPECT_FALSE(run.converged()) << run.brief_report();
    EXPECT_GT(run.blow_up_time, 0.9) << run.message;
    EXPECT_LT(run.blow_up_time, 1.1) << run.message;
    EXPECT_NE(run.message.find("t = "), std::string::npos);
    EXPECT_LT(run.t.back(), run.blow_up_time);  // nodes after the blow-up are not reported
  }
}

TEST(Counters, ConvolutionStructureSavesKernelEvaluations) {
  const auto grid = q::Grid::uniform(1, 256);
  const auto conv = q::solve_volterra(q::reference::N3(), grid, q::Trapezoid{});
  const auto direct = q::solve_volterra(q::reference::N3(), grid, q::Trapezoid{.use_convolution = false});
  EXPECT_NEAR(conv.max_error, direct.max_error, 1e-12);
  EXPECT_LT(conv.kernel_evaluations * 20, direct.kernel_evaluations);
  EXPECT_GT(direct.kernel_evaluations, 256L * 257 / 2);
  EXPECT_EQ(static_cast<int>(direct.step_iterations.size()), 256);
}

TEST(Counters, FftLagSumsAgreeWithDirectLagSums) {
  const auto grid = q::Grid::uniform(2, 4096);
  const auto fft = q::solve_volterra(q::reference::N3(), grid, q::Trapezoid{});
  const auto direct = q::solve_volterra(q::reference::N3(), grid,
                                        q::Trapezoid{.lag_sums = {.method = q::LagSumMethod::direct}});
  ASSERT_EQ(fft.nodes(), direct.nodes());
  for (int i = 0; i < fft.nodes(); ++i) EXPECT_NEAR(fft.value(i), direct.value(i), 1e-13) << i;
  EXPECT_EQ(fft.kernel_evaluations, direct.kernel_evaluations);
  EXPECT_LT(fft.kernel_evaluations, 6L * 4097);  // a(t - s) N + 1 times, G(y) a few times per node
}

TEST(Counters, BlockSimpsonLagSumsAgreeWithDirectKernelSums) {
  for (const char* id : {"N3", "S1", "L3"}) {
    const auto p = q::reference::second_kind(id);
    const auto grid = q::Grid::uniform(p.T, 512);
    const auto conv = q::solve_volterra(p, grid, q::BlockBySimpson{});
    const auto direct = q::solve_volterra(p, grid, q::BlockBySimpson{.use_convolution = false});
    ASSERT_EQ(conv.nodes(), direct.nodes()) << id;
    for (int i = 0; i < conv.nodes(); ++i)
      for (int c = 0; c < p.dimension; ++c) EXPECT_NEAR(conv.value(i, c), direct.value(i, c), 1e-12) << id << " " << i;
    EXPECT_LT(conv.kernel_evaluations * 20, direct.kernel_evaluations) << id;
  }
}

TEST(StepSolvers, PicardAndNewtonAgreeWithAnderson) {
  const auto grid = q::Grid::uniform(2, 128);
  const auto a = q::solve_volterra(q::reference::N3(), grid, q::Trapezoid{});
  const auto pi = q::solve_volterra(q::reference::N3(), grid, q::Trapezoid{.step = {.kind = q::StepSolver::Kind::picard}});
  const auto nw = q::solve_volterra(q::reference::N3(), grid, q::Trapezoid{.step = {.kind = q::StepSolver::Kind::newton}});
  for (int i = 0; i < a.nodes(); ++i) {
    EXPECT_NEAR(a.value(i), pi.value(i), 1e-12);
    EXPECT_NEAR(a.value(i), nw.value(i), 1e-12);
  }
}

TEST(BadInput, ClearErrorsBeforeAnyWork) {
  EXPECT_THROW(q::Grid::uniform(0.0, 10), iterop::invalid_option);
  EXPECT_THROW(q::Grid::uniform(1.0, 1), iterop::invalid_option);
  try {
    q::Grid::uniform(-1.0, 10);
  } catch (const iterop::invalid_option& e) {
    EXPECT_STREQ(e.what(), "T = -1. Violated constraint: 0 < T < infinity.");
  }
  auto a2 = q::reference::A2();
  a2.singular_exponent = 1.0;
  EXPECT_THROW(q::solve_volterra(a2, q::Grid::uniform(1, 8), q::ProductTrapezoid{}), iterop::invalid_option);
  EXPECT_THROW(q::solve_volterra(q::reference::A2(), q::Grid::uniform(1, 8), q::Trapezoid{}), iterop::invalid_option);
  EXPECT_THROW(q::solve_volterra(q::reference::L2(), q::Grid::uniform(1, 7), q::BlockBySimpson{}), iterop::invalid_option);
  q::FirstKindProblem vanishing{"v", 1.0, [](double t, double s) { return t - s; }, [](double t) { return t * t / 2; }, {}};
  try {
    (void)q::solve_volterra(vanishing, q::Grid::uniform(1, 8), q::FirstKindMidpoint{});
    FAIL();
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("K(t, t) != 0"), std::string::npos) << e.what();
  }
}

}  // namespace
