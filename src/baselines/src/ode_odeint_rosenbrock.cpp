// Boost.Odeint's rosenbrock4 with dense output for solve_ode. Compiled as C++17 (see CMakeLists.txt):
// Boost 1.74's uBLAS, whose vectors rosenbrock4 requires, does not compile as C++20.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ode_rosenbrock.hpp"

#if __has_include(<boost/numeric/odeint/stepper/rosenbrock4.hpp>)
#include <boost/numeric/odeint/integrate/integrate_times.hpp>
#include <boost/numeric/odeint/stepper/generation.hpp>
#include <boost/numeric/odeint/stepper/rosenbrock4.hpp>
#include <boost/numeric/odeint/stepper/rosenbrock4_controller.hpp>
#include <boost/numeric/odeint/stepper/rosenbrock4_dense_output.hpp>
#include <boost/numeric/odeint/util/odeint_error.hpp>

namespace iterop::baselines::ode_detail {

namespace {

namespace odeint = boost::numeric::odeint;
using UVec = boost::numeric::ublas::vector<double>;
using UMat = boost::numeric::ublas::matrix<double>;

struct NonFinite {};
struct StepLimit {};

/// Shared by F and the Jacobian functor: the last (t, z, F(t, z)), which rosenbrock4 evaluates right
/// before the Jacobian at the same point, reused for dF/dt.
struct Shared {
  const RosenbrockLink* link;
  std::size_t n;
  double last_t = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> last_z, last_f, shifted, rowmajor;
};

// The system is integrated in autonomous form, x = (z, tau), z' = F(tau, z), tau' = 1: Boost 1.74's
// rosenbrock4 handles an explicit time dependence through dfdt with global order 1 only (measured:
// y' = cos t with the exact dfdt, fixed steps 2/10 .. 2/80, error 9.0e-3, 4.7e-3, 2.4e-3, 1.2e-3),
// while the autonomous form has its order 4. dF/dt becomes the last column of the Jacobian.

struct System {
  Shared* s;
  void operator()(const UVec& x, UVec& dxdt, double) const {
    const std::size_t n = s->n;
    const double tau = x[n];
    if (!s->link->rhs(s->link->context, tau, &x[0], &dxdt[0])) throw NonFinite{};
    dxdt[n] = 1;
    s->last_t = tau;
    s->last_z.assign(&x[0], &x[0] + n);
    s->last_f.assign(&dxdt[0], &dxdt[0] + n);
  }
};

struct Jacobian {
  Shared* s;
  void operator()(const UVec& x, UMat& jac, double, UVec& dfdt) const {
    const std::size_t n = s->n;
    const double tau = x[n];
    s->rowmajor.resize(n * n);
    if (!s->link->jacobian(s->link->context, tau, &x[0], s->rowmajor.data())) throw NonFinite{};
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) jac(i, j) = s->rowmajor[i * n + j];
    // dF/dt by a forward difference, F(tau, z) reused from the evaluation rosenbrock4 has just made.
    const bool cached =
        s->last_t == tau && s->last_z.size() == n && std::equal(s->last_z.begin(), s->last_z.end(), &x[0]);
    if (!cached) {
      s->last_f.resize(n);
      if (!s->link->rhs(s->link->context, tau, &x[0], s->last_f.data())) throw NonFinite{};
      s->last_t = tau;
      s->last_z.assign(&x[0], &x[0] + n);
    }
    const double d0 = std::sqrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, std::abs(tau));
    const double d = (tau + d0) - tau;
    s->shifted.resize(n);
    if (!s->link->rhs(s->link->context, tau + d, &x[0], s->shifted.data())) throw NonFinite{};
    for (std::size_t i = 0; i < n; ++i) jac(i, n) = (s->shifted[i] - s->last_f[i]) / d;
    for (std::size_t j = 0; j <= n; ++j) jac(n, j) = 0;
    for (std::size_t i = 0; i <= n; ++i) dfdt[i] = 0;
  }
};

/// A budget over the whole solve (odeint's reset() at every observation is ignored).
struct StepBudget {
  long* started;
  long max_steps;
  void operator()() {
    if (*started >= max_steps) throw StepLimit{};
    ++*started;
  }
  void reset() {}
};

}  // namespace

RosenbrockResult integrate_rosenbrock4(const RosenbrockLink& link, std::size_t n, const double* z0, double t0,
                                       const double* times, std::size_t count, double dt0, double atol, double rtol,
                                       long max_steps) {
  RosenbrockResult result;
  Shared shared{&link, n, std::numeric_limits<double>::quiet_NaN(), {}, {}, {}, {}};
  UVec x(n + 1);
  std::copy(z0, z0 + n, x.begin());
  x[n] = t0;
  // integrate_times starts at the first time of the sequence: t0 in front, its observation skipped.
  std::vector<double> sequence(1, t0);
  sequence.insert(sequence.end(), times, times + count);
  bool first = true;
  auto observer = [&](const UVec& state, double) {
    if (first) {
      first = false;
      return;
    }
    link.record(link.context, &state[0]);
  };
  long started = 0;
  try {
    // The controller's error norm is an RMS over the n + 1 components and t's error estimate is zero:
    // tolerances scaled by sqrt(n / (n + 1)) keep the test on z exactly what atol and rtol ask.
    const double scale = std::sqrt(static_cast<double>(n) / static_cast<double>(n + 1));
    auto stepper = odeint::make_dense_output(atol * scale, rtol * scale, odeint::rosenbrock4<double>());
    result.steps = odeint::integrate_times(stepper, std::make_pair(System{&shared}, Jacobian{&shared}), x,
                                           sequence.begin(), sequence.end(), dt0, observer,
                                           StepBudget{&started, max_steps});
  } catch (const NonFinite&) {
    result.end = RosenbrockEnd::non_finite;
    result.steps = started > 0 ? static_cast<std::size_t>(started - 1) : 0;
  } catch (const StepLimit&) {
    result.end = RosenbrockEnd::step_limit;
    result.steps = static_cast<std::size_t>(started);
  } catch (const odeint::odeint_error& e) {
    result.end = RosenbrockEnd::odeint_failure;
    result.what = e.what();
    result.steps = started > 0 ? static_cast<std::size_t>(started - 1) : 0;
  }
  return result;
}

}  // namespace iterop::baselines::ode_detail

#else  // no Boost.Odeint headers: ode_odeint.cpp reports that before calling this

namespace iterop::baselines::ode_detail {
RosenbrockResult integrate_rosenbrock4(const RosenbrockLink&, std::size_t, const double*, double, const double*,
                                       std::size_t, double, double, double, long) {
  RosenbrockResult r;
  r.end = RosenbrockEnd::odeint_failure;
  r.what = "Boost.Odeint is not available in this build.";
  return r;
}
}  // namespace iterop::baselines::ode_detail

#endif
