// Blow-up as a status: y = 1 + int y^2 (t* = 1, p = 1) and y = 1 + int y^3 (t* = 1/2, p = 1/2) solved past
// t*, the estimate of t* from the last resolved nodes, and the fit itself on exact samples.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/quadrature/blow_up.hpp"
#include "iterop/quadrature/block_by_block.hpp"
#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/quadrature/trapezoid.hpp"

namespace {

namespace q = iterop::quadrature;

q::SecondKindProblem cubic(double T) {
  // y = 1 + int_0^t y^3 ds: y' = y^3, y = (1 - 2t)^(-1/2), t* = 1/2, p = 1/2.
  return q::scalar_second_kind("cubic", [](double) { return 1.0; }, [](double, double, double y) { return y * y * y; }, T);
}

TEST(BlowUp, QuadraticOnZeroToOnePointTwoIsABlowUpWithItsTimeWithinOnePercentAtN256) {
  const auto p = q::reference::N4(1.2);
  for (const auto& r : {q::solve_volterra(p, q::Grid::uniform(1.2, 256), q::Trapezoid{}),
                        q::solve_volterra(p, q::Grid::uniform(1.2, 256), q::BlockBySimpson{})}) {
    EXPECT_EQ(r.status, iterop::Status::blow_up) << r.method << ": " << r.message;
    EXPECT_NEAR(r.blow_up_estimate, 1.0, 1e-2) << r.method;
    EXPECT_NEAR(r.blow_up_exponent, 1.0, 0.05) << r.method;
    EXPECT_LT(r.last_reliable_time, r.blow_up_estimate);
    EXPECT_LE(r.last_reliable_time, r.t.back());
    EXPECT_NE(r.message.find("blows up"), std::string::npos);
  }
}

TEST(BlowUp, CubicBlowsUpAtOneHalf) {
  const auto r = q::solve_volterra(cubic(0.75), q::Grid::uniform(0.75, 256), q::Trapezoid{});
  EXPECT_EQ(r.status, iterop::Status::blow_up) << r.message;
  EXPECT_NEAR(r.blow_up_estimate, 0.5, 1e-2);
  EXPECT_NEAR(r.blow_up_exponent, 0.5, 0.05);
}

TEST(BlowUp, AMarchThatConvergesPastTheBlowUpIsNotReportedConverged) {
  // y = 1 + int y^3 on [0, 0.6] and [0, 1.2] at N = 256: every step converges, the discrete solution
  // continues past t* = 0.5 on another root of y = c + (h/2) y^3; the growth before t* gives blow_up.
  for (double T : {0.6, 1.2}) {
    const auto r = q::solve_volterra(cubic(T), q::Grid::uniform(T, 256), q::Trapezoid{});
    EXPECT_EQ(r.status, iterop::Status::blow_up) << T << ": " << r.message;
    EXPECT_NEAR(r.blow_up_estimate, 0.5, 1e-2) << T;
  }
  // At N = 64 on [0, 1.2] the grid resolves y only up to 2.2 (t = 0.4): too little growth to fit a
  // blow-up, and the march is reported converged (y(1.2) = -74.5): docs/concepts/volterra_method.md.
  const auto coarse = q::solve_volterra(cubic(1.2), q::Grid::uniform(1.2, 64), q::Trapezoid{});
  EXPECT_EQ(coarse.status, iterop::Status::converged) << coarse.message;
  EXPECT_LT(coarse.y.back(), 0);
}

TEST(BlowUp, EstimateImprovesWithTheGrid) {
  double previous = 1;
  for (int n : {64, 256, 1024}) {
    const auto r = q::solve_volterra(q::reference::N4(1.2), q::Grid::uniform(1.2, n), q::Trapezoid{});
    ASSERT_EQ(r.status, iterop::Status::blow_up);
    const double err = std::abs(r.blow_up_estimate - 1);
    EXPECT_LT(err, previous) << "N = " << n;
    previous = err;
  }
}

TEST(BlowUp, FitOnExactSamplesAndWhatIsNotABlowUp) {
  std::vector<double> t, y, flat, wave;
  for (int i = 0; i < 200; ++i) {
    t.push_back(0.9 * i / 199.0);
    y.push_back(3 * std::pow(1 - t.back(), -1.5));
    flat.push_back(1 + t.back());
    wave.push_back(std::exp(5 * t.back()));  // exponential growth: constant rate, no finite t*
  }
  const q::BlowUpEstimate b = q::estimate_blow_up(t, y, 1);
  ASSERT_TRUE(b.found);
  EXPECT_NEAR(b.time, 1, 1e-3);
  EXPECT_NEAR(b.exponent, 1.5, 1e-2);
  EXPECT_FALSE(q::estimate_blow_up(t, flat, 1).found);
  EXPECT_FALSE(q::estimate_blow_up(t, wave, 1).found);
  EXPECT_THROW((void)q::estimate_blow_up(t, y, 1, {.window = 2}), iterop::invalid_option);
  // A solve that ends normally keeps its status.
  EXPECT_EQ(q::solve_volterra(q::reference::N4(), q::Grid::uniform(0.9, 64), q::Trapezoid{}).status,
            iterop::Status::converged);
}

}  // namespace
