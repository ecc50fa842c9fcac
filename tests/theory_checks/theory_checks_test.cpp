// Every registered theory check passes (one CTest test per check, label theory), and deliberately
// broken premises give PREMISE NOT MET, never PASS.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/theory_checks/check.hpp"
#include "iterop/theory_checks/fixed_point_checks.hpp"
#include "iterop/theory_checks/volterra_checks.hpp"

namespace th = iterop::theory;

namespace {

class RegisteredCheck : public ::testing::TestWithParam<std::string> {};

TEST_P(RegisteredCheck, Passes) {
  const auto& check = th::find_check(GetParam());
  const th::CheckResult r = check.run();
  EXPECT_EQ(r.verdict, th::Verdict::pass) << r.name << ": measured " << r.measured << ", bound " << r.bound
                                          << ", margin " << r.margin << "\n  premise: " << r.premise_evidence
                                          << "\n  " << r.details;
  EXPECT_TRUE(r.premise_met);
  EXPECT_FALSE(r.statement.empty());
}

std::vector<std::string> check_names() {
  std::vector<std::string> names;
  for (const auto& c : th::all_checks()) names.push_back(c.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(All, RegisteredCheck, ::testing::ValuesIn(check_names()), [](const auto& test_info) {
  std::string n = test_info.param;
  for (char& ch : n)
    if (ch == '.') ch = '_';
  return n;
});

TEST(BrokenPremise, NonContractiveLinearMap) {
  using iterop::problems::LinearMap;
  const auto r = th::banach_bounds_linear(LinearMap(LinearMap::spaced_spectrum(-0.5, 1.2, 6), 1));
  EXPECT_EQ(r.verdict, th::Verdict::premise_not_met);
  const auto a = th::anderson_gain_predicts_rate(LinearMap(LinearMap::spaced_spectrum(0.0, 1.5, 6), 1), 3);
  EXPECT_EQ(a.verdict, th::Verdict::premise_not_met);
}

TEST(BrokenPremise, NonContractiveNonlinearMap) {
  EXPECT_EQ(th::banach_bounds_nonlinear(1.5).verdict, th::Verdict::premise_not_met);
}

TEST(BrokenPremise, KernelNotLipschitz) {
  // K = sqrt(|y|): difference quotients grow like h^(-1/2) near y = 0.
  auto p = iterop::quadrature::scalar_second_kind("sqrt", [](double t) { return std::sin(3 * t); },
                                                  [](double, double, double y) { return std::sqrt(std::abs(y)); }, 1.0);
  const auto r = th::volterra_picard_factorial(p, 1.0, 50);
  EXPECT_EQ(r.verdict, th::Verdict::premise_not_met) << r.premise_evidence;
  EXPECT_NE(r.premise_evidence.find("not Lipschitz"), std::string::npos);
}

TEST(BrokenPremise, ClaimedLipschitzConstantTooSmall) {
  auto p = iterop::quadrature::reference::L2();
  p.T = 2.0;
  EXPECT_EQ(th::volterra_picard_factorial(p, 0.5, 50).verdict, th::Verdict::premise_not_met);
}

TEST(BrokenPremise, OperatorNotCausal) {
  EXPECT_EQ(th::causal_operator_sweeps(16, false).verdict, th::Verdict::premise_not_met);
}

TEST(BrokenPremise, GcnBoundAboveOne) {
  const auto r = th::gcn_contraction(0.5, 3.0);
  EXPECT_EQ(r.verdict, th::Verdict::premise_not_met);
  EXPECT_LE(r.measured, r.bound);  // the Lipschitz bound itself still holds
}

TEST(BrokenPremise, AttentionAtSpectralRadiusOne) {
  EXPECT_EQ(th::linear_attention_neumann(1.0).verdict, th::Verdict::premise_not_met);
}

TEST(Registry, UnknownNameIsAClearError) {
  try {
    (void)th::find_check("no.such.check");
    FAIL();
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("check = no.such.check"), std::string::npos);
  }
}

}  // namespace
