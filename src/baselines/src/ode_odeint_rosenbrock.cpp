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

/// Shared by F and the Jacobian functor: the last (t, x, F(t, x)), which rosenbrock4 evaluates right
/// before the Jacobian at the same point, reused for dF/dt.
struct Shared {
  const RosenbrockLink* link;
  std::size_t n;
  double last_t = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> last_x, last_f, shifted, rowmajor;
};

struct System {
  Shared* s;
  void operator()(const UVec& x, UVec& dxdt, double t) const {
    if (!s->link->rhs(s->link->context, t, &x[0], &dxdt[0])) throw NonFinite{};
    s->last_t = t;
    s->last_x.assign(&x[0], &x[0] + s->n);
    s->last_f.assign(&dxdt[0], &dxdt[0] + s->n);
  }
};

struct Jacobian {
  Shared* s;
  void operator()(const UVec& x, UMat& jac, double t, UVec& dfdt) const {
    const std::size_t n = s->n;
    s->rowmajor.resize(n * n);
    if (!s->link->jacobian(s->link->context, t, &x[0], s->rowmajor.data())) throw NonFinite{};
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) jac(i, j) = s->rowmajor[i * n + j];
    const bool cached = s->last_t == t && s->last_x.size() == n && std::equal(s->last_x.begin(), s->last_x.end(), &x[0]);
    if (!cached) {
      s->last_f.resize(n);
      if (!s->link->rhs(s->link->context, t, &x[0], s->last_f.data())) throw NonFinite{};
      s->last_t = t;
      s->last_x.assign(&x[0], &x[0] + n);
    }
    const double d0 = std::sqrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, std::abs(t));
    const double d = (t + d0) - t;
    s->shifted.resize(n);
    if (!s->link->rhs(s->link->context, t + d, &x[0], s->shifted.data())) throw NonFinite{};
    for (std::size_t i = 0; i < n; ++i) dfdt[i] = (s->shifted[i] - s->last_f[i]) / d;
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
  UVec x(n);
  std::copy(z0, z0 + n, x.begin());
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
    auto stepper = odeint::make_dense_output(atol, rtol, odeint::rosenbrock4<double>());
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
