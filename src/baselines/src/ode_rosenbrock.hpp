// Private to iterop::baselines: the C++17 link to Boost.Odeint's rosenbrock4, which is compiled as
// C++17 in ode_odeint_rosenbrock.cpp (Boost 1.74's uBLAS calls std::allocator::construct, gone in C++20).
#pragma once

#include <cstddef>
#include <string>

namespace iterop::baselines::ode_detail {

/// What the rosenbrock4 translation unit needs from solve_ode: F and dF/dz through the counting
/// wrapper (false on a NaN or Inf), and where outputs go. Exceptions of F pass through unchanged.
struct RosenbrockLink {
  void* context = nullptr;
  bool (*rhs)(void* context, double t, const double* z, double* dz) = nullptr;
  /// dF/dz, row-major (analytic or by differences, as the caller decides).
  bool (*jacobian)(void* context, double t, const double* z, double* jac) = nullptr;
  /// Receives z at the next output time.
  void (*record)(void* context, const double* z) = nullptr;
};

/// How integrate_rosenbrock4 ended.
enum class RosenbrockEnd { done, non_finite, step_limit, odeint_failure };

struct RosenbrockResult {
  RosenbrockEnd end = RosenbrockEnd::done;
  std::size_t steps = 0;  ///< completed steps
  std::string what;       ///< Odeint's message on odeint_failure
};

/// rosenbrock4 (controller + dense output, make_dense_output(atol, rtol, rosenbrock4<double>())) from
/// (t0, z0) through integrate_times with the first step dt0, recording z at each of `times`
/// (count > 0, all > t0, increasing); at most max_steps steps. Integrated in autonomous form (z, t)
/// (Boost 1.74's own treatment of dF/dt is only first-order accurate); dF/dt is a forward difference
/// in t (F at the step's start reused), exactly 0 for an autonomous F.
RosenbrockResult integrate_rosenbrock4(const RosenbrockLink& link, std::size_t n, const double* z0, double t0,
                                       const double* times, std::size_t count, double dt0, double atol, double rtol,
                                       long max_steps);

}  // namespace iterop::baselines::ode_detail
