// Volterra problems as plain data: second kind y = f + int_0^t K(t, s, y(s)) ds (scalar or system,
// optionally convolution or weakly singular), first kind, and integro-differential equations.
#pragma once

#include <cmath>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/sum_of_exponentials.hpp"

namespace iterop::quadrature {

/// out = f(t), out.size() == dimension.
using Forcing = std::function<void(double t, std::span<double> out)>;
/// out = K(t, s, y), y and out of size dimension.
using Kernel = std::function<void(double t, double s, std::span<const double> y, std::span<double> out)>;
/// out = y(t), the exact solution where one is known.
using Exact = std::function<void(double t, std::span<double> out)>;

/// Convolution structure K(t, s, y) = a(t - s) G(y) with a scalar lag kernel a and a map G on R^d:
/// the history sums become lag sums (fast_lag_sum.hpp), and a(t - s) is evaluated N times, not N^2/2.
struct ConvolutionKernel {
  std::function<double(double lag)> lag_kernel;                                    ///< a(tau)
  std::function<void(std::span<const double> y, std::span<double> out)> nonlinearity;  ///< G(y)
  /// Optional: a(tau) as a sum of exponentials sum_l c_l exp(-lambda_l tau) (exact, or fitted to a stated
  /// tolerance, e.g. by fit_power_law). With LagSumMethod::soe the history is carried as L states per
  /// node offset (SoeHistory): O(L) work per step, O(N L) in all, for any convolution rule.
  SumOfExponentials soe{};
};

/// y(t) = f(t) + int_0^t (t - s)^(-singular_exponent) K(t, s, y(s)) ds, y in R^dimension, t in [0, T].
struct SecondKindProblem {
  std::string id;               ///< a name for reports ("L2", "user", ...)
  int dimension = 1;
  double T = 1;
  Forcing forcing;
  Kernel kernel;                ///< K(t, s, y); for a convolution problem it must equal a(t - s) G(y)
  ConvolutionKernel convolution{};  ///< set both members to declare convolution structure
  double singular_exponent = 0; ///< a in [0, 1): weakly singular factor (t - s)^(-a), product integration
  Exact exact{};                ///< optional exact solution

  bool is_convolution() const { return convolution.lag_kernel && convolution.nonlinearity; }

  /// Throws invalid_option naming the field, the value and the rule.
  void validate() const {
    require(dimension >= 1, id + ": dimension", dimension, "dimension >= 1");
    require(T > 0 && std::isfinite(T), id + ": T", T, "0 < T < infinity");
    require(static_cast<bool>(forcing), id + ": forcing", std::string("empty"), "a function f(t) is given");
    require(static_cast<bool>(kernel), id + ": kernel", std::string("empty"), "a function K(t, s, y) is given");
    require(singular_exponent >= 0 && singular_exponent < 1, id + ": singular exponent", singular_exponent,
            "0 <= a < 1");
  }
};

/// int_0^t (t - s)^(-singular_exponent) K(t, s) y(s) ds = g(t) (scalar, linear), t in [0, T]; needs
/// K(t, t) != 0. With 0 < a < 1 it is an Abel equation (FirstKindTrapezoid).
struct FirstKindProblem {
  std::string id;
  double T = 1;
  std::function<double(double t, double s)> kernel;
  std::function<double(double t)> rhs;  ///< g(t), with g(0) = 0
  std::function<double(double t)> exact{};
  double singular_exponent = 0;         ///< a in [0, 1): weakly singular factor (t - s)^(-a)

  void validate() const {
    require(T > 0 && std::isfinite(T), id + ": T", T, "0 < T < infinity");
    require(static_cast<bool>(kernel), id + ": kernel", std::string("empty"), "a function K(t, s) is given");
    require(static_cast<bool>(rhs), id + ": rhs", std::string("empty"), "a function g(t) is given");
    require(singular_exponent >= 0 && singular_exponent < 1, id + ": singular exponent", singular_exponent,
            "0 <= a < 1");
  }
};

/// y'(t) = F(t, y) + int_0^t K(t, s, y(s)) ds, y(0) = y0, y in R^dimension, t in [0, T].
struct IntegroDifferentialProblem {
  std::string id;
  int dimension = 1;
  double T = 1;
  std::function<void(double t, std::span<const double> y, std::span<double> out)> rhs;  ///< F(t, y)
  Kernel kernel;
  std::vector<double> y0;
  Exact exact{};

  void validate() const {
    require(dimension >= 1, id + ": dimension", dimension, "dimension >= 1");
    require(T > 0 && std::isfinite(T), id + ": T", T, "0 < T < infinity");
    require(static_cast<bool>(rhs), id + ": rhs", std::string("empty"), "a function F(t, y) is given");
    require(static_cast<bool>(kernel), id + ": kernel", std::string("empty"), "a function K(t, s, y) is given");
    require(static_cast<int>(y0.size()) == dimension, id + ": y0 size", y0.size(), "y0.size() == dimension");
  }
};

/// A scalar second-kind problem from scalar functions f(t) and K(t, s, y).
inline SecondKindProblem scalar_second_kind(std::string id, std::function<double(double)> f,
                                            std::function<double(double, double, double)> K, double T) {
  SecondKindProblem p;
  p.id = std::move(id);
  p.T = T;
  p.forcing = [f](double t, std::span<double> out) { out[0] = f(t); };
  p.kernel = [K](double t, double s, std::span<const double> y, std::span<double> out) { out[0] = K(t, s, y[0]); };
  return p;
}

}  // namespace iterop::quadrature
