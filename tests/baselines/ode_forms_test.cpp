// Tests of iterop/quadrature/ode_forms.hpp: each ODE form is checked against the Volterra equation
// itself (exact y solves the VIE by quadrature), its exact state against the ODE, its Jacobian by differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// iterop_baselines_tests links iterop::baselines and iterop::core only; until it links
// iterop::quadrature too, the header is reached through its path in the source tree.
#if __has_include(<iterop/quadrature/ode_forms.hpp>)
#include <iterop/quadrature/ode_forms.hpp>
#else
#include "../../quadrature/include/iterop/quadrature/ode_forms.hpp"
#endif

namespace {

using iterop::quadrature::OdeForm;
using iterop::quadrature::OdeFormParameters;
using iterop::quadrature::ode_form;
using iterop::quadrature::ode_form_ids;

std::vector<double> exact_y(const OdeForm& f, double t) {
  std::vector<double> y(static_cast<std::size_t>(f.vie_dimension));
  f.exact(t, y);
  return y;
}

std::vector<double> exact_z(const OdeForm& f, double t) {
  std::vector<double> z(static_cast<std::size_t>(f.dimension));
  f.exact_state(t, z);
  return z;
}

/// Composite Gauss-Legendre (5 points, 2000 panels) of g on [a, b]: error far below the 1e-9 asserted,
/// also on L3's boundary layer exp(-1000 (t - s)).
double integrate(const std::function<double(double)>& g, double a, double b) {
  static constexpr double x[5] = {-0.9061798459386640, -0.5384693101056831, 0.0, 0.5384693101056831,
                                  0.9061798459386640};
  static constexpr double w[5] = {0.2369268850561891, 0.4786286704993665, 0.5688888888888889, 0.4786286704993665,
                                  0.2369268850561891};
  const int panels = 2000;
  const double h = (b - a) / panels;
  double s = 0;
  for (int p = 0; p < panels; ++p) {
    const double c = a + (p + 0.5) * h;
    for (int i = 0; i < 5; ++i) s += w[i] * g(c + 0.5 * h * x[i]);
  }
  return 0.5 * h * s;
}

/// The Volterra equations of PROBLEMS.md, written here independently of ode_forms.hpp: the residual
/// y(t) - f(t) - int_0^t K(t, s, y(s)) ds of the exact y, component `c`.
double vie_residual(const OdeForm& form, double t, int c, const OdeFormParameters& p) {
  const std::string& id = form.id;
  std::vector<double> buf(2);
  const auto y = [&](double s, int k) {
    form.exact(s, buf);
    return buf[static_cast<std::size_t>(k)];
  };
  if (id == "L2") return y(t, 0) - 1 + integrate([&](double s) { return (t - s) * y(s, 0); }, 0, t);
  if (id == "L3")
    return y(t, 0) - 1 + p.lambda * integrate([&](double s) { return std::exp(-p.mu * (t - s)) * y(s, 0); }, 0, t);
  if (id == "N1") {
    const double f = std::sin(t) + (std::sin(t) * std::sin(t) - t * t) / 4;
    return y(t, 0) - f - integrate([&](double s) { return (t - s) * y(s, 0) * y(s, 0); }, 0, t);
  }
  if (id == "N3")
    return y(t, 0) - std::exp(-2 * t) - integrate([&](double s) { return std::exp(-(t - s)) * y(s, 0) * y(s, 0); }, 0, t);
  if (id == "N4") return y(t, 0) - 1 - integrate([&](double s) { return y(s, 0) * y(s, 0); }, 0, t);
  if (id == "S1") {
    const double e = std::exp(t), ei = std::exp(-t);
    if (c == 0) return y(t, 0) - (e - ei - t + 1) - integrate([&](double s) { return (t - s) * y(s, 1); }, 0, t);
    return y(t, 1) - (ei - e + t + 1) - integrate([&](double s) { return (t - s) * y(s, 0); }, 0, t);
  }
  if (id == "D2") {
    // y' + y = int_0^t exp(-(t - s)) y(s) ds, y' by a central difference.
    const double h = 1e-5;
    const double dy = (y(t + h, 0) - y(t - h, 0)) / (2 * h);
    return dy + y(t, 0) - integrate([&](double s) { return std::exp(-(t - s)) * y(s, 0); }, 0, t);
  }
  ADD_FAILURE() << "no VIE written for " << id;
  return 1;
}

TEST(OdeForms, IdsAndRegistry) {
  const auto ids = ode_form_ids();
  EXPECT_EQ(ids.size(), 7u);
  for (std::string_view id : ids) {
    const OdeForm f = ode_form(id);
    EXPECT_EQ(f.id, id);
    EXPECT_EQ(f.z0.size(), static_cast<std::size_t>(f.dimension));
    EXPECT_TRUE(f.rhs && f.jacobian && f.to_vie && f.exact && f.exact_state) << id;
    EXPECT_GT(f.t_end, f.t0) << id;
    EXPECT_FALSE(f.reduction.empty()) << id;
  }
  EXPECT_EQ(ode_form("S1").vie_dimension, 2);
  EXPECT_TRUE(ode_form("L3").stiff);
  EXPECT_FALSE(ode_form("L3", {.lambda = 1, .mu = 2}).stiff);
  for (std::string_view id : {"L2", "N1", "N3", "N4", "S1", "D2"}) EXPECT_FALSE(ode_form(id).stiff) << id;
}

TEST(OdeForms, UnknownIdAndBadParametersThrow) {
  try {
    (void)ode_form("A2");
    FAIL() << "no throw";
  } catch (const iterop::invalid_option& e) {
    EXPECT_EQ(std::string(e.what()),
              "ode_form: id = A2. Violated constraint: one of L2, L3, N1, N3, N4, S1, D2 (the problems with an ODE form).");
  }
  EXPECT_THROW((void)ode_form("l2"), iterop::invalid_option);
  try {
    (void)ode_form("L3", {.lambda = -5, .mu = 5});
    FAIL() << "no throw";
  } catch (const iterop::invalid_option& e) {
    EXPECT_EQ(std::string(e.what()), "OdeFormParameters::lambda + mu = 0. Violated constraint: lambda + mu > 0.");
  }
  EXPECT_THROW((void)ode_form("L3", {.lambda = NAN, .mu = 5}), iterop::invalid_option);
}

/// The exact y solves the Volterra equation (by quadrature, to 1e-9 relative), for every form and
/// for L3 at the stiff default and a mild parameter pair.
TEST(OdeForms, ExactSolutionSolvesTheVolterraEquation) {
  for (const OdeFormParameters p : {OdeFormParameters{}, OdeFormParameters{.lambda = 2, .mu = 3}}) {
    for (std::string_view idv : ode_form_ids()) {
      const std::string id(idv);
      const OdeForm f = ode_form(id, p);
      for (int k = 1; k <= 4; ++k) {
        const double t = f.t0 + (f.t_end - f.t0) * k / 4.0;
        for (int c = 0; c < f.vie_dimension; ++c) {
          const double scale = std::max(1.0, std::abs(exact_y(f, t)[static_cast<std::size_t>(c)]));
          const double tol = id == "D2" ? 1e-8 : 1e-9;  // D2's derivative is a central difference
          EXPECT_LE(std::abs(vie_residual(f, t, c, p)), tol * scale) << id << " t=" << t << " c=" << c;
        }
      }
    }
  }
}

/// The exact state satisfies z' = F(t, z) (central differences, to 1e-6 relative), starts at z0,
/// and maps to the exact y. With the VIE check above this proves each reduction.
TEST(OdeForms, ExactStateSolvesTheOde) {
  for (const OdeFormParameters p : {OdeFormParameters{}, OdeFormParameters{.lambda = 2, .mu = 3}}) {
    for (std::string_view id : ode_form_ids()) {
      const OdeForm f = ode_form(id, p);
      const auto n = static_cast<std::size_t>(f.dimension);
      const auto z0 = exact_z(f, f.t0);
      for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(z0[i], f.z0[i], 1e-15) << id << " z0[" << i << "]";
      for (int k = 0; k <= 20; ++k) {
        const double t = f.t0 + (f.t_end - f.t0) * k / 20.0;
        const auto z = exact_z(f, t);
        std::vector<double> dz(n), y(static_cast<std::size_t>(f.vie_dimension));
        f.rhs(t, z, dz);
        // L3's stiff state varies on the scale 1 / (lambda + mu) ~ 1e-3: a smaller difference step.
        const double hh = f.stiff ? 1e-7 : 1e-5;
        const auto zp = exact_z(f, t + hh), zm = exact_z(f, t - hh);
        for (std::size_t i = 0; i < n; ++i) {
          const double fd = (zp[i] - zm[i]) / (2 * hh);
          EXPECT_NEAR(fd, dz[i], 1e-6 * std::max(1.0, std::abs(dz[i]))) << id << " t=" << t << " i=" << i;
        }
        f.to_vie(t, z, y);
        const auto ye = exact_y(f, t);
        for (std::size_t c = 0; c < y.size(); ++c)
          EXPECT_NEAR(y[c], ye[c], 1e-14 * std::max(1.0, std::abs(ye[c]))) << id << " t=" << t;
      }
    }
  }
}

/// The analytic Jacobian matches central differences of F at points off the solution.
TEST(OdeForms, JacobianMatchesDifferences) {
  for (std::string_view id : ode_form_ids()) {
    const OdeForm f = ode_form(id);
    const auto n = static_cast<std::size_t>(f.dimension);
    for (int k = 0; k <= 5; ++k) {
      const double t = f.t0 + (f.t_end - f.t0) * k / 5.0;
      auto z = exact_z(f, t);
      for (std::size_t i = 0; i < n; ++i) z[i] += 0.3 * std::sin(1.0 + static_cast<double>(i + k));  // off the solution
      std::vector<double> jac(n * n), fp(n), fm(n);
      f.jacobian(t, z, jac);
      for (std::size_t j = 0; j < n; ++j) {
        auto zp = z, zm = z;
        const double h = 1e-6 * std::max(1.0, std::abs(z[j]));
        zp[j] += h;
        zm[j] -= h;
        f.rhs(t, zp, fp);
        f.rhs(t, zm, fm);
        for (std::size_t i = 0; i < n; ++i) {
          const double fd = (fp[i] - fm[i]) / (2 * h);
          EXPECT_NEAR(jac[i * n + j], fd, 1e-6 * std::max(1.0, std::abs(fd))) << id << " J[" << i << "," << j << "]";
        }
      }
    }
  }
}

TEST(OdeForms, L3ParametersReachTheForm) {
  const OdeForm f = ode_form("L3", {.lambda = 2, .mu = 3});
  std::vector<double> dz(1), jac(1);
  const std::vector<double> z{0.5};
  f.rhs(0.0, z, dz);
  f.jacobian(0.0, z, jac);
  EXPECT_DOUBLE_EQ(dz[0], 1 - 5 * 0.5);
  EXPECT_DOUBLE_EQ(jac[0], -5);
  std::vector<double> y(1);
  f.exact(1.0, y);
  EXPECT_DOUBLE_EQ(y[0], (3 + 2 * std::exp(-5.0)) / 5);
}

}  // namespace
