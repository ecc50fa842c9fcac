// The Volterra reference problems of PROBLEMS.md with their exact solutions: L2, L3, N1, N3, N4,
// A2 (weakly singular), S1 (system), as second-kind problems; F2 (first kind); D2 (integro-differential).
#pragma once

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/volterra_problem.hpp"

namespace iterop::quadrature::reference {

namespace detail {
/// A scalar convolution problem y = f + int a(t - s) G(y(s)) ds with both kernel forms set.
inline SecondKindProblem scalar_convolution(std::string id, double T, std::function<double(double)> f,
                                            std::function<double(double)> a, std::function<double(double)> G,
                                            std::function<double(double)> exact) {
  SecondKindProblem p;
  p.id = std::move(id);
  p.T = T;
  p.forcing = [f](double t, std::span<double> out) { out[0] = f(t); };
  p.kernel = [a, G](double t, double s, std::span<const double> y, std::span<double> out) { out[0] = a(t - s) * G(y[0]); };
  p.convolution.lag_kernel = a;
  p.convolution.nonlinearity = [G](std::span<const double> y, std::span<double> out) { out[0] = G(y[0]); };
  p.exact = [exact](double t, std::span<double> out) { out[0] = exact(t); };
  return p;
}
}  // namespace detail

/// L2: y = 1 - int_0^t (t - s) y(s) ds on [0, 2 pi]; y = cos t.
inline SecondKindProblem L2() {
  return detail::scalar_convolution(
      "L2", 2 * std::numbers::pi, [](double) { return 1.0; }, [](double tau) { return -tau; },
      [](double y) { return y; }, [](double t) { return std::cos(t); });
}

/// L3: y = 1 - lambda int_0^t exp(-mu (t - s)) y(s) ds on [0, 1]; stiff memory at (10, 1000).
inline SecondKindProblem L3(double lambda = 10, double mu = 1000) {
  require(lambda + mu != 0, "L3 lambda + mu", lambda + mu, "lambda + mu != 0");
  SecondKindProblem p = detail::scalar_convolution(
      "L3", 1.0, [](double) { return 1.0; }, [lambda, mu](double tau) { return -lambda * std::exp(-mu * tau); },
      [](double y) { return y; },
      [lambda, mu](double t) { return (mu + lambda * std::exp(-(lambda + mu) * t)) / (lambda + mu); });
  if (mu >= 0) p.convolution.soe = {.weights = {-lambda}, .rates = {mu}};  // a is one exponential: exact
  return p;
}

/// N1: y = sin t + (sin^2 t - t^2) / 4 + int_0^t (t - s) y(s)^2 ds on [0, 1]; y = sin t.
inline SecondKindProblem N1() {
  return detail::scalar_convolution(
      "N1", 1.0, [](double t) { return std::sin(t) + (std::sin(t) * std::sin(t) - t * t) / 4; },
      [](double tau) { return tau; }, [](double y) { return y * y; }, [](double t) { return std::sin(t); });
}

/// N3: y = exp(-2t) + int_0^t exp(-(t - s)) y(s)^2 ds on [0, 2]; y = exp(-t).
inline SecondKindProblem N3() {
  return detail::scalar_convolution(
      "N3", 2.0, [](double t) { return std::exp(-2 * t); }, [](double tau) { return std::exp(-tau); },
      [](double y) { return y * y; }, [](double t) { return std::exp(-t); });
}

/// N4: y = 1 + int_0^t y(s)^2 ds; y = 1 / (1 - t) blows up at t = 1. T = 0.9 by default; beyond 1
/// a solver must report the blow-up.
inline SecondKindProblem N4(double T = 0.9) {
  auto p = detail::scalar_convolution(
      "N4", T, [](double) { return 1.0; }, [](double) { return 1.0; }, [](double y) { return y * y; },
      [](double t) { return t < 1 ? 1 / (1 - t) : std::nan(""); });
  return p;
}

/// A2: y = t^2 + (16/15) t^(5/2) - int_0^t (t - s)^(-1/2) y(s) ds on [0, 1]; y = t^2.
inline SecondKindProblem A2() {
  SecondKindProblem p;
  p.id = "A2";
  p.T = 1.0;
  p.singular_exponent = 0.5;
  p.forcing = [](double t, std::span<double> out) { out[0] = t * t + 16.0 / 15.0 * std::pow(t, 2.5); };
  p.kernel = [](double, double, std::span<const double> y, std::span<double> out) { out[0] = -y[0]; };
  p.exact = [](double t, std::span<double> out) { out[0] = t * t; };
  return p;
}

/// S1: u = f1 + int (t - s) v, v = f2 + int (t - s) u on [0, 1], f1 = e^t - e^-t - t + 1,
/// f2 = e^-t - e^t + t + 1; (u, v) = (e^t, e^-t).
inline SecondKindProblem S1() {
  SecondKindProblem p;
  p.id = "S1";
  p.dimension = 2;
  p.T = 1.0;
  p.forcing = [](double t, std::span<double> out) {
    out[0] = std::exp(t) - std::exp(-t) - t + 1;
    out[1] = std::exp(-t) - std::exp(t) + t + 1;
  };
  p.kernel = [](double t, double s, std::span<const double> y, std::span<double> out) {
    out[0] = (t - s) * y[1];
    out[1] = (t - s) * y[0];
  };
  p.convolution.lag_kernel = [](double tau) { return tau; };
  p.convolution.nonlinearity = [](std::span<const double> y, std::span<double> out) {
    out[0] = y[1];
    out[1] = y[0];
  };
  p.exact = [](double t, std::span<double> out) {
    out[0] = std::exp(t);
    out[1] = std::exp(-t);
  };
  return p;
}

/// F2 (first kind): int_0^t (1 + exp(-(t - s))) y(s) ds = t on [0, 5]; y = 1 - exp(-t/2) / 2.
inline FirstKindProblem F2() {
  FirstKindProblem p;
  p.id = "F2";
  p.T = 5.0;
  p.kernel = [](double t, double s) { return 1 + std::exp(-(t - s)); };
  p.rhs = [](double t) { return t; };
  p.exact = [](double t) { return 1 - std::exp(-t / 2) / 2; };
  return p;
}

/// D2 (integro-differential): y' + y = int_0^t exp(-(t - s)) y(s) ds, y(0) = 1 on [0, 5];
/// y = exp(-t) cosh t.
inline IntegroDifferentialProblem D2() {
  IntegroDifferentialProblem p;
  p.id = "D2";
  p.T = 5.0;
  p.rhs = [](double, std::span<const double> y, std::span<double> out) { out[0] = -y[0]; };
  p.kernel = [](double t, double s, std::span<const double> y, std::span<double> out) {
    out[0] = std::exp(-(t - s)) * y[0];
  };
  p.y0 = {1.0};
  p.exact = [](double t, std::span<double> out) { out[0] = std::exp(-t) * std::cosh(t); };
  return p;
}

/// The ids of the second-kind reference problems (regular kernels), for sweeps.
inline std::vector<std::string> second_kind_ids() { return {"L2", "L3", "N1", "N3", "N4", "S1"}; }

/// A second-kind reference problem by id (L2, L3, N1, N3, N4, A2, S1).
inline SecondKindProblem second_kind(const std::string& id) {
  if (id == "L2") return L2();
  if (id == "L3") return L3();
  if (id == "N1") return N1();
  if (id == "N3") return N3();
  if (id == "N4") return N4();
  if (id == "A2") return A2();
  if (id == "S1") return S1();
  require(false, "reference problem", id, "one of L2, L3, N1, N3, N4, A2, S1");
  return {};
}

}  // namespace iterop::quadrature::reference
