// ODE forms of the Volterra reference problems that are ODE systems in disguise (L2, L3, N1, N3, N4,
// S1, D2 of PROBLEMS.md): rhs, analytic Jacobian, initial state, map back to y, exact solution.
#pragma once

#include <cmath>
#include <cstddef>
#include <functional>
#include <numbers>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iterop/core/errors.hpp"

namespace iterop::quadrature {

/// Right-hand side of z' = F(t, z): writes F(t, z) into dz (both of the ODE dimension).
using OdeRhsFn = std::function<void(double t, std::span<const double> z, std::span<double> dz)>;
/// Dense Jacobian dF/dz at (t, z), row-major n x n: jac[i * n + j] = dF_i / dz_j.
using OdeJacobianFn = std::function<void(double t, std::span<const double> z, std::span<double> jac)>;
/// Map from the ODE state z(t) to the Volterra solution y(t) (y of the VIE's dimension).
using OdeToVieFn = std::function<void(double t, std::span<const double> z, std::span<double> y)>;
/// An exact function of time, written into y.
using ExactFn = std::function<void(double t, std::span<double> y)>;

/// A Volterra integral equation rewritten as an ODE system z' = F(t, z), z(t0) = z0 on [t0, t_end],
/// with y(t) = to_vie(t, z(t)). Everything an ODE integrator and an error measurement need.
struct OdeForm {
  std::string id;           ///< the id of PROBLEMS.md ("L2", "L3", ...)
  std::string reduction;    ///< the ODE system and what its state means, in one line
  int dimension = 0;        ///< n, the dimension of the ODE state z
  OdeRhsFn rhs;             ///< F(t, z)
  OdeJacobianFn jacobian;   ///< dF/dz, analytic, row-major n x n
  std::vector<double> z0;   ///< z(t0)
  double t0 = 0;            ///< start of the interval (0 for every reference problem)
  double t_end = 0;         ///< T of PROBLEMS.md: the VIE is posed on [0, T]
  OdeToVieFn to_vie;        ///< y(t) = to_vie(t, z(t))
  int vie_dimension = 1;    ///< dimension of y: 1, or 2 for the system S1
  ExactFn exact;            ///< the exact VIE solution y(t)
  ExactFn exact_state;      ///< the exact ODE state z(t) (so y and the auxiliary states can be checked)
  bool stiff = false;       ///< |eigenvalue of dF/dz| * (t_end - t0) >= 100 somewhere on the solution
};

/// Parameters of the parametrised forms. L3: y = 1 - lambda int_0^t exp(-mu (t - s)) y(s) ds; the
/// default (10, 1000) is the stiff case of PROBLEMS.md.
struct OdeFormParameters {
  double lambda = 10;  ///< L3's lambda, finite
  double mu = 1000;    ///< L3's mu, finite, lambda + mu > 0

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const {
    require(std::isfinite(lambda), "OdeFormParameters::lambda", lambda, "lambda finite");
    require(std::isfinite(mu), "OdeFormParameters::mu", mu, "mu finite");
    require(lambda + mu > 0, "OdeFormParameters::lambda + mu", lambda + mu, "lambda + mu > 0");
  }
};

/// L2: y = 1 - int_0^t (t - s) y(s) ds, y = cos t on [0, 2 pi]. Differentiating twice: y'' = -y,
/// y(0) = 1, y'(0) = 0; state z = (y, y').
inline OdeForm l2_ode_form() {
  OdeForm f;
  f.id = "L2";
  f.reduction = "z = (y, y'): y'' = -y, y(0) = 1, y'(0) = 0";
  f.dimension = 2;
  f.rhs = [](double, std::span<const double> z, std::span<double> dz) {
    dz[0] = z[1];
    dz[1] = -z[0];
  };
  f.jacobian = [](double, std::span<const double>, std::span<double> j) {
    j[0] = 0, j[1] = 1;
    j[2] = -1, j[3] = 0;
  };
  f.z0 = {1.0, 0.0};
  f.t_end = 2 * std::numbers::pi;
  f.to_vie = [](double, std::span<const double> z, std::span<double> y) { y[0] = z[0]; };
  f.exact = [](double t, std::span<double> y) { y[0] = std::cos(t); };
  f.exact_state = [](double t, std::span<double> z) {
    z[0] = std::cos(t);
    z[1] = -std::sin(t);
  };
  return f;
}

/// L3: y = 1 - lambda w with w(t) = int_0^t exp(-mu (t - s)) y(s) ds, on [0, 1]. w' = y - mu w =
/// 1 - (lambda + mu) w, w(0) = 0; state z = (w). Exact y = (mu + lambda exp(-(lambda + mu) t)) /
/// (lambda + mu). Stiff when (lambda + mu) T >= 100 (the default 10, 1000).
inline OdeForm l3_ode_form(const OdeFormParameters& p = {}) {
  p.validate();
  const double lambda = p.lambda, mu = p.mu, s = lambda + mu;
  OdeForm f;
  f.id = "L3";
  f.reduction = "z = (w), w = int_0^t exp(-mu (t - s)) y(s) ds: w' = 1 - (lambda + mu) w, w(0) = 0, y = 1 - lambda w";
  f.dimension = 1;
  f.rhs = [s](double, std::span<const double> z, std::span<double> dz) { dz[0] = 1 - s * z[0]; };
  f.jacobian = [s](double, std::span<const double>, std::span<double> j) { j[0] = -s; };
  f.z0 = {0.0};
  f.t_end = 1;
  f.to_vie = [lambda](double, std::span<const double> z, std::span<double> y) { y[0] = 1 - lambda * z[0]; };
  f.exact = [lambda, mu, s](double t, std::span<double> y) { y[0] = (mu + lambda * std::exp(-s * t)) / s; };
  f.exact_state = [s](double t, std::span<double> z) { z[0] = -std::expm1(-s * t) / s; };
  f.stiff = s * (f.t_end - f.t0) >= 100;
  return f;
}

/// N1: y = f + int_0^t (t - s) y(s)^2 ds, f = sin t + (sin^2 t - t^2) / 4, y = sin t on [0, 1].
/// y'' = f'' + y^2 with f'' = -sin t + (cos 2t - 1) / 2, y(0) = f(0) = 0, y'(0) = f'(0) = 1;
/// state z = (y, y').
inline OdeForm n1_ode_form() {
  OdeForm f;
  f.id = "N1";
  f.reduction = "z = (y, y'): y'' = f''(t) + y^2, f'' = -sin t + (cos 2t - 1)/2, y(0) = 0, y'(0) = 1";
  f.dimension = 2;
  f.rhs = [](double t, std::span<const double> z, std::span<double> dz) {
    dz[0] = z[1];
    dz[1] = -std::sin(t) + 0.5 * (std::cos(2 * t) - 1) + z[0] * z[0];
  };
  f.jacobian = [](double, std::span<const double> z, std::span<double> j) {
    j[0] = 0, j[1] = 1;
    j[2] = 2 * z[0], j[3] = 0;
  };
  f.z0 = {0.0, 1.0};
  f.t_end = 1;
  f.to_vie = [](double, std::span<const double> z, std::span<double> y) { y[0] = z[0]; };
  f.exact = [](double t, std::span<double> y) { y[0] = std::sin(t); };
  f.exact_state = [](double t, std::span<double> z) {
    z[0] = std::sin(t);
    z[1] = std::cos(t);
  };
  return f;
}

/// N3: y = exp(-2t) + w, w(t) = int_0^t exp(-(t - s)) y(s)^2 ds, y = exp(-t) on [0, 2].
/// w' = y^2 - w = (exp(-2t) + w)^2 - w, w(0) = 0; state z = (w), exact w = exp(-t) - exp(-2t).
inline OdeForm n3_ode_form() {
  OdeForm f;
  f.id = "N3";
  f.reduction = "z = (w), w = int_0^t exp(-(t - s)) y(s)^2 ds: w' = (exp(-2t) + w)^2 - w, w(0) = 0, y = exp(-2t) + w";
  f.dimension = 1;
  f.rhs = [](double t, std::span<const double> z, std::span<double> dz) {
    const double y = std::exp(-2 * t) + z[0];
    dz[0] = y * y - z[0];
  };
  f.jacobian = [](double t, std::span<const double> z, std::span<double> j) {
    j[0] = 2 * (std::exp(-2 * t) + z[0]) - 1;
  };
  f.z0 = {0.0};
  f.t_end = 2;
  f.to_vie = [](double t, std::span<const double> z, std::span<double> y) { y[0] = std::exp(-2 * t) + z[0]; };
  f.exact = [](double t, std::span<double> y) { y[0] = std::exp(-t); };
  f.exact_state = [](double t, std::span<double> z) { z[0] = std::exp(-t) - std::exp(-2 * t); };
  return f;
}

/// N4: y = 1 + int_0^t y(s)^2 ds, y = 1 / (1 - t) on [0, 0.9] (blows up at t = 1). y' = y^2,
/// y(0) = 1; state z = (y).
inline OdeForm n4_ode_form() {
  OdeForm f;
  f.id = "N4";
  f.reduction = "z = (y): y' = y^2, y(0) = 1 (blow-up at t = 1)";
  f.dimension = 1;
  f.rhs = [](double, std::span<const double> z, std::span<double> dz) { dz[0] = z[0] * z[0]; };
  f.jacobian = [](double, std::span<const double> z, std::span<double> j) { j[0] = 2 * z[0]; };
  f.z0 = {1.0};
  f.t_end = 0.9;
  f.to_vie = [](double, std::span<const double> z, std::span<double> y) { y[0] = z[0]; };
  f.exact = [](double t, std::span<double> y) { y[0] = 1 / (1 - t); };
  f.exact_state = [](double t, std::span<double> z) { z[0] = 1 / (1 - t); };
  return f;
}

/// S1: u = f1 + int_0^t (t - s) v(s) ds, v = f2 + int_0^t (t - s) u(s) ds, f1 = e^t - e^-t - t + 1,
/// f2 = e^-t - e^t + t + 1, (u, v) = (e^t, e^-t) on [0, 1]. u'' = f1'' + v, v'' = f2'' + u with
/// f1'' = e^t - e^-t = -f2'', u(0) = 1, u'(0) = 1, v(0) = 1, v'(0) = -1; state z = (u, u', v, v').
inline OdeForm s1_ode_form() {
  OdeForm f;
  f.id = "S1";
  f.reduction = "z = (u, u', v, v'): u'' = f1'' + v, v'' = f2'' + u, f1'' = e^t - e^-t = -f2'', z(0) = (1, 1, 1, -1)";
  f.dimension = 4;
  f.rhs = [](double t, std::span<const double> z, std::span<double> dz) {
    const double f1pp = std::exp(t) - std::exp(-t);
    dz[0] = z[1];
    dz[1] = f1pp + z[2];
    dz[2] = z[3];
    dz[3] = -f1pp + z[0];
  };
  f.jacobian = [](double, std::span<const double>, std::span<double> j) {
    for (std::size_t i = 0; i < 16; ++i) j[i] = 0;
    j[0 * 4 + 1] = 1;
    j[1 * 4 + 2] = 1;
    j[2 * 4 + 3] = 1;
    j[3 * 4 + 0] = 1;
  };
  f.z0 = {1.0, 1.0, 1.0, -1.0};
  f.t_end = 1;
  f.to_vie = [](double, std::span<const double> z, std::span<double> y) {
    y[0] = z[0];
    y[1] = z[2];
  };
  f.vie_dimension = 2;
  f.exact = [](double t, std::span<double> y) {
    y[0] = std::exp(t);
    y[1] = std::exp(-t);
  };
  f.exact_state = [](double t, std::span<double> z) {
    z[0] = std::exp(t);
    z[1] = std::exp(t);
    z[2] = std::exp(-t);
    z[3] = -std::exp(-t);
  };
  return f;
}

/// D2: y' + y = int_0^t exp(-(t - s)) y(s) ds, y(0) = 1, y = exp(-t) cosh t on [0, 5]. With
/// w = the integral: y' = -y + w, w' = y - w, w(0) = 0; state z = (y, w), exact w = (1 - e^-2t) / 2.
inline OdeForm d2_ode_form() {
  OdeForm f;
  f.id = "D2";
  f.reduction = "z = (y, w), w = int_0^t exp(-(t - s)) y(s) ds: y' = -y + w, w' = y - w, z(0) = (1, 0)";
  f.dimension = 2;
  f.rhs = [](double, std::span<const double> z, std::span<double> dz) {
    dz[0] = -z[0] + z[1];
    dz[1] = z[0] - z[1];
  };
  f.jacobian = [](double, std::span<const double>, std::span<double> j) {
    j[0] = -1, j[1] = 1;
    j[2] = 1, j[3] = -1;
  };
  f.z0 = {1.0, 0.0};
  f.t_end = 5;
  f.to_vie = [](double, std::span<const double> z, std::span<double> y) { y[0] = z[0]; };
  f.exact = [](double t, std::span<double> y) { y[0] = std::exp(-t) * std::cosh(t); };
  f.exact_state = [](double t, std::span<double> z) {
    z[0] = 0.5 * (1 + std::exp(-2 * t));
    z[1] = -0.5 * std::expm1(-2 * t);
  };
  return f;
}

/// The ids of the Volterra reference problems that have an ODE form, in PROBLEMS.md's order.
inline std::vector<std::string_view> ode_form_ids() { return {"L2", "L3", "N1", "N3", "N4", "S1", "D2"}; }

/// The ODE form of a reference problem by id (case-sensitive, as in PROBLEMS.md); `p` is used by L3
/// only. Throws iterop::invalid_option for an id without an ODE form (A2, F2, unknown).
inline OdeForm ode_form(std::string_view id, const OdeFormParameters& p = {}) {
  if (id == "L2") return l2_ode_form();
  if (id == "L3") return l3_ode_form(p);
  if (id == "N1") return n1_ode_form();
  if (id == "N3") return n3_ode_form();
  if (id == "N4") return n4_ode_form();
  if (id == "S1") return s1_ode_form();
  if (id == "D2") return d2_ode_form();
  require(false, "ode_form: id", std::string(id), "one of L2, L3, N1, N3, N4, S1, D2 (the problems with an ODE form)");
  return {};  // unreachable
}

}  // namespace iterop::quadrature
