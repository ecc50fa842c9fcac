// The false-success audit of solve() and StopMonitor (Stop::verify): a converged solve evaluates T once
// more at the returned x, and a recomputed residual that does not meet the test is
// Status::verification_failed, never converged. Driven by an operator that changes between calls and
// by the hardest H-equation case (c = 0.9999, Anderson m = 10).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "iterop/iterop.hpp"

using iterop::Anderson;
using iterop::Status;
using iterop::Stop;

namespace {

/// ||T(x) - x||_2 computed here, independently of the solver.
template <class Op>
double true_residual(const Op& op, const std::vector<double>& x) {
  std::vector<double> g(x.size());
  op(x, g);
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += (g[i] - x[i]) * (g[i] - x[i]);
  return std::sqrt(s);
}

/// T(x) = x / 2 + 1 for its first `honest_calls` calls, then x / 2 + 1 + shift: an operator that
/// changes under the solver (as a model still being trained, or one with hidden state, would).
struct DriftingOperator {
  long honest_calls = 0;
  double shift = 1e-3;
  long* calls = nullptr;
  void operator()(const std::vector<double>& x, std::vector<double>& y) const {
    const double b = ++*calls <= honest_calls ? 1.0 : 1.0 + shift;
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = 0.5 * x[i] + b;
  }
};

}  // namespace

TEST(FalseSuccessAudit, StopMonitorTurnsAnUnverifiedSuccessIntoVerificationFailed) {
  const Stop stop{.abs_tol = 1e-6, .rel_tol = 0};
  iterop::StopMonitor<std::vector<double>> m(stop);
  m.record({0.0}, 1.0);
  EXPECT_FALSE(m.check(1));
  m.record({1.0}, 1e-7, 1.0);
  ASSERT_TRUE(m.check(2));
  ASSERT_EQ(m.status(), Status::converged);
  EXPECT_TRUE(m.verify(5e-7));  // meets the tolerance: the success stands
  EXPECT_EQ(m.status(), Status::converged);
  EXPECT_FALSE(m.verify(1e-3));
  EXPECT_EQ(m.status(), Status::verification_failed);
  EXPECT_EQ(iterop::to_string(m.status()), "verification_failed");
  EXPECT_NE(m.message().find("recomputed at the returned x is 0.001, above the tolerance 1e-06: not converged"),
            std::string::npos)
      << m.message();
  // A backend's own claim is audited the same way, and a non-finite recomputation never stands.
  iterop::StopMonitor<std::vector<double>> b(stop);
  b.record({0.0}, 1.0);
  EXPECT_FALSE(b.verify(std::nan(""), "KINSOL returned KIN_SUCCESS"));
  EXPECT_EQ(b.message().rfind("KINSOL returned KIN_SUCCESS, but the true residual", 0), 0u) << b.message();
  // Nothing claimed, nothing to refute.
  iterop::StopMonitor<std::vector<double>> n(stop);
  n.record({0.0}, 1.0);
  EXPECT_TRUE(n.verify(1.0));
  EXPECT_FALSE(n.decided());
}

TEST(FalseSuccessAudit, SolveRecomputesTheResidualOfTheReturnedPoint) {
  const Stop stop{.abs_tol = 1e-10, .rel_tol = 0};
  long calls = 0;
  // First an honest run: how many evaluations the method needs.
  DriftingOperator honest{.honest_calls = 1L << 40, .calls = &calls};
  const auto r = iterop::solve(honest, std::vector<double>(4, 0.0), Anderson{.memory = 2}, stop);
  ASSERT_EQ(r.status, Status::converged) << r.full_report();
  EXPECT_EQ(calls, r.evaluations + 1) << "one more evaluation: the audit";
  ASSERT_EQ(r.counters.size(), 1u);
  EXPECT_EQ(r.counters[0].first, "verified_residual");
  EXPECT_EQ(r.counters[0].second, true_residual(honest, r.solution));
  EXPECT_LE(r.counters[0].second, 1e-10);

  // The same solve whose operator changes right after the method's last evaluation: the method's test
  // was met, the recomputed residual is about 1e-3: verification_failed, never converged.
  calls = 0;
  DriftingOperator drifting{.honest_calls = r.evaluations, .calls = &calls};
  const auto d = iterop::solve(drifting, std::vector<double>(4, 0.0), Anderson{.memory = 2}, stop);
  EXPECT_EQ(d.status, Status::verification_failed) << d.full_report();
  EXPECT_FALSE(d.converged());
  EXPECT_FALSE(d.usable());
  EXPECT_NEAR(d.residual, 2e-3, 1e-9);  // ||(shift, shift, shift, shift)||_2
  EXPECT_NE(d.message.find("The residual test was met (Residual "), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("not converged"), std::string::npos) << d.message;

  // Stop::verify = false: no extra evaluation, the method's decision stands.
  calls = 0;
  Stop unaudited = stop;
  unaudited.verify = false;
  const auto u = iterop::solve(drifting, std::vector<double>(4, 0.0), Anderson{.memory = 2}, unaudited);
  EXPECT_EQ(u.status, Status::converged);
  EXPECT_EQ(calls, u.evaluations);
  EXPECT_TRUE(u.counters.empty());
}

// The hardest H-equation case known to the project (c = 0.9999, where KINSOL's DCGS2 with m = 10
// claims success at a residual of 1e141): iterop's Anderson m = 10 either converges with a residual
// recomputed here within the tolerance, or says it did not converge.
TEST(FalseSuccessAudit, HEquationNearTheSingularAlbedo) {
  const iterop::problems::HEquation h(0.9999, 512);
  const Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8, .max_iterations = 300};
  for (const auto& orth : {iterop::Orthogonalization::mgs2, iterop::Orthogonalization::cgs2}) {
    const auto r = iterop::solve(h, h.initial_guess(), Anderson{.memory = 10, .orthogonalization = orth}, stop);
    const double checked = true_residual(h, r.solution);
    const double tol = 1e-8 + 1e-8 * r.initial_residual;
    if (r.converged()) {
      EXPECT_LE(checked, tol) << r.full_report();
    }
    if (checked > tol) {
      EXPECT_FALSE(r.converged()) << r.full_report();
    }
    EXPECT_NEAR(r.residual, checked, 1e-12 * (1 + checked)) << r.brief_report();
  }
}
