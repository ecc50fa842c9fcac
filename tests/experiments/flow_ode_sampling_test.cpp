// Tests of sample_flow_ode: analytic velocity fields integrated by every method land on the exact flow
// map to the method's accuracy; evaluation counts; batch vs per-sample systems; recorded times; statuses
// (non-finite velocity, step budget) and option validation. Built with the neural operators only.
#if defined(ITEROP_HAVE_OPERATORS)

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/problems/flow_ode_sampling.hpp"

using namespace iterop::experiments;
using iterop::Status;
using iterop::distributions::SampleSet;

namespace {

/// v_j(x, t) = (a_j + b_j t) x_j, exact flow map z_j(t) = z_j(0) exp(a_j t + b_j t^2 / 2).
constexpr double kA[3] = {0.7, -1.2, 0.3};
constexpr double kB[3] = {0.5, 0.8, -2.0};

void linear_field(const double* x, std::size_t rows, double t, double* out) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < 3; ++j) out[r * 3 + j] = (kA[j] + kB[j] * t) * x[r * 3 + j];
}

double exact(double z0, std::size_t j, double t) { return z0 * std::exp(kA[j] * t + kB[j] * t * t / 2); }

SampleSet starts(std::size_t rows) {
  SampleSet s(rows, 3);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < 3; ++j) s(r, j) = std::sin(1.0 + 3.0 * double(r) + double(j)) * 2.0;
  return s;
}

/// max over rows and components of |z - exact| / max(1, |exact|) at time t.
double max_rel_error(const SampleSet& z, const SampleSet& z0, double t) {
  double e = 0;
  for (std::size_t r = 0; r < z.rows; ++r)
    for (std::size_t j = 0; j < 3; ++j) {
      const double ex = exact(z0(r, j), j, t);
      e = std::max(e, std::abs(z(r, j) - ex) / std::max(1.0, std::abs(ex)));
    }
  return e;
}

template <class F>
void expect_invalid(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning " << parts.front();
  } catch (const iterop::invalid_option& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST(FlowOdeSampling, StraightLineFlowIsExactForEveryMethod) {
  // v(x, t) = b - a: every start moves by b - a; Euler and RK are exact, adaptive methods too.
  const double shift[3] = {3.0, -1.0, 0.5};
  VelocityFn v = [&](const double*, std::size_t rows, double, double* out) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < 3; ++j) out[r * 3 + j] = shift[j];
  };
  const SampleSet z0 = starts(5);
  for (auto m : flow_ode_methods()) {
    if (!flow_ode_method_available(m)) continue;
    const auto r = sample_flow_ode(v, z0, {.method = m, .steps = 7, .rtol = 1e-8, .atol = 1e-10});
    ASSERT_TRUE(r.usable()) << to_string(m) << ": " << r.message;
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(r.samples(i, j), z0(i, j) + shift[j], 1e-9) << to_string(m);
  }
}

TEST(FlowOdeSampling, EulerIsTheProductOfItsStepsAndCountsOneCallPerStep) {
  const SampleSet z0 = starts(4);
  const auto r = sample_flow_ode(linear_field, z0, {.method = FlowOdeMethod::euler, .steps = 100});
  ASSERT_TRUE(r.usable()) << r.message;
  EXPECT_EQ(r.batch_evaluations, 100);
  EXPECT_EQ(r.sample_evaluations, 400);
  EXPECT_EQ(r.steps, 100);
  EXPECT_EQ(r.method, "euler(steps=100, batch)");
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      double z = z0(i, j);
      for (int k = 0; k < 100; ++k) z *= 1 + 0.01 * (kA[j] + kB[j] * k * 0.01);
      EXPECT_NEAR(r.samples(i, j), z, 1e-12 * std::max(1.0, std::abs(z)));
    }
  // First order: the error at 100 steps is O(1e-2), at 200 steps about half.
  const double e100 = max_rel_error(r.samples, z0, 1.0);
  const double e200 = max_rel_error(sample_flow_ode(linear_field, z0, {.steps = 200}).samples, z0, 1.0);
  EXPECT_GT(e100, 1e-3);
  EXPECT_NEAR(e100 / e200, 2.0, 0.1);
  // Per-sample: the same numbers, one call per sample and step.
  const auto p = sample_flow_ode(linear_field, z0, {.steps = 100, .grouping = FlowOdeGrouping::per_sample});
  EXPECT_EQ(p.samples.values, r.samples.values);
  EXPECT_EQ(p.batch_evaluations, 400);
  EXPECT_EQ(p.sample_evaluations, 400);
}

TEST(FlowOdeSampling, RecordTimesGiveTheTrajectory) {
  const SampleSet z0 = starts(3);
  const auto r = sample_flow_ode(linear_field, z0, {.steps = 400, .record_times = {0.25, 0.5}});
  ASSERT_TRUE(r.usable());
  ASSERT_EQ(r.trajectory.size(), 2u);
  EXPECT_LT(max_rel_error(r.trajectory[0], z0, 0.25), 5e-3);
  EXPECT_LT(max_rel_error(r.trajectory[1], z0, 0.5), 5e-3);
  expect_invalid([&] { (void)sample_flow_ode(linear_field, z0, {.steps = 100, .record_times = {0.333}}); },
                 {"FlowOdeOptions::record_times[0]", "0.333", "grid k / steps"});
}

#if defined(ITEROP_HAVE_ODE_BASELINES)
TEST(FlowOdeSampling, BaselineIntegratorsLandOnTheExactFlowMap) {
  const SampleSet z0 = starts(6);
  // rk4 with 50 steps: fourth order, error ~ (1/50)^4 ~ 1e-7 times derivatives of order one.
  const auto rk = sample_flow_ode(linear_field, z0, {.method = FlowOdeMethod::rk4, .steps = 50});
  ASSERT_TRUE(rk.usable()) << rk.message;
  EXPECT_LT(max_rel_error(rk.samples, z0, 1.0), 1e-6);
  EXPECT_EQ(rk.batch_evaluations, 4 * 50);
  EXPECT_EQ(rk.sample_evaluations, 4 * 50 * 6);
  const double e25 = max_rel_error(sample_flow_ode(linear_field, z0, {.method = FlowOdeMethod::rk4, .steps = 25}).samples, z0, 1.0);
  const double e50 = max_rel_error(rk.samples, z0, 1.0);
  EXPECT_NEAR(std::log2(e25 / e50), 4.0, 0.3);  // observed order
  // Adaptive methods: global error within 100 x rtol (they control the local error per step).
  for (auto m : {FlowOdeMethod::dopri5, FlowOdeMethod::cvode_bdf, FlowOdeMethod::cvode_adams}) {
    for (double rtol : {1e-5, 1e-8}) {
      for (auto g : {FlowOdeGrouping::batch, FlowOdeGrouping::per_sample}) {
        const FlowOdeOptions o{.method = m, .rtol = rtol, .atol = rtol * 1e-2, .grouping = g, .record_times = {0.5}};
        const auto r = sample_flow_ode(linear_field, z0, o);
        ASSERT_TRUE(r.usable()) << o.describe() << ": " << r.message;
        EXPECT_LT(max_rel_error(r.samples, z0, 1.0), 100 * rtol) << o.describe();
        ASSERT_EQ(r.trajectory.size(), 1u);
        EXPECT_LT(max_rel_error(r.trajectory[0], z0, 0.5), 100 * rtol) << o.describe();
        EXPECT_GT(r.batch_evaluations, 0);
        EXPECT_GT(r.steps, 0);
        if (g == FlowOdeGrouping::batch)
          EXPECT_EQ(r.sample_evaluations, 6 * r.batch_evaluations) << o.describe();
        else
          EXPECT_EQ(r.sample_evaluations, r.batch_evaluations) << o.describe();
        EXPECT_EQ(r.failed_systems, 0);
      }
    }
  }
  // Automatic grouping: per-sample systems for BDF, one batch system otherwise.
  EXPECT_EQ((FlowOdeOptions{.method = FlowOdeMethod::cvode_bdf}.describe()), "cvode_bdf(rtol=1e-05, atol=1e-05, per_sample)");
  EXPECT_EQ((FlowOdeOptions{.method = FlowOdeMethod::dopri5}.describe()), "dopri5(rtol=1e-05, atol=1e-05, batch)");
}

TEST(FlowOdeSampling, StepBudgetIsAStatus) {
  const SampleSet z0 = starts(2);
  for (auto m : {FlowOdeMethod::dopri5, FlowOdeMethod::cvode_adams}) {
    const auto r = sample_flow_ode(linear_field, z0, {.method = m, .rtol = 1e-10, .atol = 1e-12, .max_steps = 3});
    EXPECT_EQ(r.status, Status::max_iterations) << to_string(m) << ": " << r.message;
    EXPECT_FALSE(r.usable());
    EXPECT_EQ(r.failed_systems, 1);
    EXPECT_TRUE(r.samples.all_finite());
    EXPECT_TRUE(r.trajectory.empty());
  }
}
#else
TEST(FlowOdeSampling, WithoutTheBaselinesOnlyEulerRuns) {
  EXPECT_FALSE(flow_ode_method_available(FlowOdeMethod::dopri5));
  expect_invalid([] { (void)sample_flow_ode(linear_field, starts(2), {.method = FlowOdeMethod::dopri5}); },
                 {"FlowOdeOptions::method", "dopri5"});
}
#endif

TEST(FlowOdeSampling, NonFiniteVelocityIsAStatus) {
  VelocityFn v = [](const double* x, std::size_t rows, double t, double* out) {
    linear_field(x, rows, t, out);
    if (t > 0.5) out[0] = std::nan("");
  };
  const SampleSet z0 = starts(3);
  for (auto m : flow_ode_methods()) {
    if (!flow_ode_method_available(m) || m == FlowOdeMethod::cvode_bdf) continue;  // BDF: per sample below
    const auto r = sample_flow_ode(v, z0, {.method = m, .steps = 10});
    EXPECT_EQ(r.status, Status::non_finite) << to_string(m) << ": " << r.message;
    EXPECT_FALSE(r.message.empty());
  }
  if (flow_ode_method_available(FlowOdeMethod::cvode_bdf)) {
    // Per sample: every 1-row call has out[0] = NaN after t = 0.5, so each of the 3 systems fails.
    const auto r = sample_flow_ode(v, z0, {.method = FlowOdeMethod::cvode_bdf});
    EXPECT_EQ(r.status, Status::non_finite) << r.message;
    EXPECT_EQ(r.failed_systems, 3);
    EXPECT_NE(r.message.find("3 of 3 samples"), std::string::npos) << r.message;
  }
}

TEST(FlowOdeSampling, InvalidInputNamesFieldValueAndRule) {
  const SampleSet z0 = starts(2);
  expect_invalid([&] { (void)sample_flow_ode(linear_field, z0, {.steps = 0}); }, {"FlowOdeOptions::steps", "= 0", "steps >= 1"});
  expect_invalid([&] { (void)sample_flow_ode(linear_field, z0, {.rtol = 0}); }, {"FlowOdeOptions::rtol", "0 < rtol < 1"});
  expect_invalid([&] { (void)sample_flow_ode(linear_field, z0, {.atol = -1}); }, {"FlowOdeOptions::atol", "= -1", "atol > 0"});
  expect_invalid([&] { (void)sample_flow_ode(linear_field, z0, {.max_steps = 0}); }, {"FlowOdeOptions::max_steps"});
  expect_invalid([&] { (void)sample_flow_ode(linear_field, z0, {.record_times = {0.5, 0.5}}); },
                 {"record_times[1]", "strictly greater"});
  expect_invalid([&] { (void)sample_flow_ode(linear_field, z0, {.record_times = {1.0}}); }, {"record_times[0]", "0 < t < 1"});
  expect_invalid([&] { (void)sample_flow_ode(linear_field, SampleSet{}, {}); }, {"x0.rows", "rows >= 1"});
  SampleSet bad = starts(2);
  bad(1, 1) = INFINITY;
  expect_invalid([&] { (void)sample_flow_ode(linear_field, bad, {}); }, {"x0", "finite"});
  expect_invalid([&] { (void)sample_flow_ode(VelocityFn{}, z0, {}); }, {"velocity", "callable"});
  expect_invalid([] { (void)parse_flow_ode_method("leapfrog"); }, {"method = leapfrog", "euler"});
  expect_invalid([] { (void)parse_flow_ode_grouping("pairs"); }, {"grouping = pairs", "per_sample"});
  for (auto m : flow_ode_methods()) EXPECT_EQ(parse_flow_ode_method(to_string(m)), m);
}

}  // namespace

#endif  // ITEROP_HAVE_OPERATORS
