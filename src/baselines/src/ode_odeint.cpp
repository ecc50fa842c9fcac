// Boost.Odeint behind solve_ode: dopri5 and rosenbrock4 (ode_odeint_rosenbrock.cpp) with dense output
// through integrate_times, and fixed-step rk4 through integrate_n_steps on the grid t0 + k h.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "ode_common.hpp"
#include "ode_rosenbrock.hpp"

#if __has_include(<boost/numeric/odeint/stepper/runge_kutta_dopri5.hpp>)
#define ITEROP_ODE_HAVE_ODEINT 1
#include <boost/numeric/odeint/integrate/integrate_n_steps.hpp>
#include <boost/numeric/odeint/integrate/integrate_times.hpp>
#include <boost/numeric/odeint/stepper/generation.hpp>
#include <boost/numeric/odeint/stepper/runge_kutta4.hpp>
#include <boost/numeric/odeint/stepper/runge_kutta_dopri5.hpp>
#include <boost/numeric/odeint/util/odeint_error.hpp>
#endif

namespace iterop::baselines::ode_detail {

#if defined(ITEROP_ODE_HAVE_ODEINT)

namespace {

namespace odeint = boost::numeric::odeint;
using Vec = std::vector<double>;

/// F for the explicit steppers: a NaN or Inf stops Odeint (it has no way to retry).
struct VectorSystem {
  Evaluator* eval;
  void operator()(const Vec& x, Vec& dxdt, double t) const {
    if (!eval->rhs(t, x.data(), dxdt.data())) throw NonFiniteStop{};
  }
};

/// Odeint's step-overflow checker, used as a budget over the whole solve (its reset() at every
/// observation is ignored, unlike odeint::max_step_checker's).
struct StepBudget {
  long* started;
  long max_steps;
  void operator()() {
    if (*started >= max_steps) throw StepLimitStop{};
    ++*started;
  }
  void reset() {}
};

/// Fills the outputs from run.next on through integrate_times, which starts at the first time of
/// the sequence: t0 is put in front of the remaining output times, and its observation skipped.
template <class DenseStepper, class System, class State>
std::size_t integrate_dense(Run& run, DenseStepper stepper, System system, State& x, double dt0, long& started) {
  std::vector<double> sequence;
  sequence.reserve(run.times.size() - run.next + 1);
  sequence.push_back(run.problem.t0);
  sequence.insert(sequence.end(), run.times.begin() + static_cast<std::ptrdiff_t>(run.next), run.times.end());
  bool first = true;
  auto observer = [&run, &first](const State& state, double) {
    if (first) {
      first = false;
      return;
    }
    run.record(&state[0]);
  };
  return odeint::integrate_times(stepper, system, x, sequence.begin(), sequence.end(), dt0, observer,
                                 StepBudget{&started, run.options.max_steps});
}

}  // namespace

void run_odeint(Run& run) {
  const OdeOptions& o = run.options;
  OdeSolution& sol = run.solution;
  const double t0 = run.problem.t0;
  long started = 0;        // do_step calls begun (dense output)
  std::size_t steps = 0;   // completed steps
  double dt0 = 0;
  std::string what;
  enum class End { done, non_finite, step_limit, odeint_failure } end = End::done;

  try {
    if (o.method == OdeMethod::odeint_rk4) {
      // Grid indices of the remaining output times (solve_ode checked that they lie on the grid).
      std::vector<std::size_t> index;
      for (std::size_t i = run.next; i < run.times.size(); ++i)
        index.push_back(static_cast<std::size_t>(std::llround((run.times[i] - t0) / o.fixed_step)));
      const std::size_t needed = index.back();
      const std::size_t allowed = std::min<std::size_t>(needed, static_cast<std::size_t>(o.max_steps));
      std::size_t calls = 0, k = 0;
      Vec x(run.problem.z0);
      auto observer = [&](const Vec& state, double) {
        while (k < index.size() && index[k] == calls) {
          run.record(state.data());
          ++k;
        }
        ++calls;
      };
      try {
        odeint::integrate_n_steps(odeint::runge_kutta4<Vec>(), VectorSystem{&run.eval}, x, t0, o.fixed_step, allowed,
                                  observer);
        steps = allowed;
      } catch (...) {
        steps = calls > 0 ? calls - 1 : 0;  // the observer runs before each step
        throw;
      }
      if (allowed < needed) end = End::step_limit;
    } else if (o.method == OdeMethod::odeint_dopri5) {
      dt0 = initial_step(run.eval, t0, run.problem.z0, run.t_final(), o.rtol, o.atol, 4);
      Vec x(run.problem.z0);
      auto stepper = odeint::make_dense_output(o.atol, o.rtol, odeint::runge_kutta_dopri5<Vec>());
      try {
        steps = integrate_dense(run, stepper, VectorSystem{&run.eval}, x, dt0, started);
      } catch (const StepLimitStop&) {
        steps = static_cast<std::size_t>(started);  // thrown before a new step begins
        throw;
      } catch (...) {
        steps = started > 0 ? static_cast<std::size_t>(started - 1) : 0;  // thrown inside a step
        throw;
      }
    } else {  // odeint_rosenbrock4, in its own C++17 translation unit
      dt0 = initial_step(run.eval, t0, run.problem.z0, run.t_final(), o.rtol, o.atol, 3);
      RosenbrockLink link;
      link.context = &run;
      link.rhs = [](void* c, double t, const double* z, double* dz) { return static_cast<Run*>(c)->eval.rhs(t, z, dz); };
      link.jacobian = [](void* c, double t, const double* z, double* jac) {
        Evaluator& ev = static_cast<Run*>(c)->eval;
        return ev.has_jacobian() ? ev.jacobian(t, z, jac) : ev.jacobian_by_differences(t, z, jac);
      };
      link.record = [](void* c, const double* z) { static_cast<Run*>(c)->record(z); };
      const RosenbrockResult r =
          integrate_rosenbrock4(link, run.eval.n(), run.problem.z0.data(), t0, run.times.data() + run.next,
                                run.times.size() - run.next, dt0, o.atol, o.rtol, o.max_steps);
      steps = r.steps;
      what = r.what;
      switch (r.end) {
        case RosenbrockEnd::done: end = End::done; break;
        case RosenbrockEnd::non_finite: end = End::non_finite; break;
        case RosenbrockEnd::step_limit: end = End::step_limit; break;
        case RosenbrockEnd::odeint_failure: end = End::odeint_failure; break;
      }
    }
  } catch (const NonFiniteStop&) {
    end = End::non_finite;
  } catch (const StepLimitStop&) {
    end = End::step_limit;
  } catch (const odeint::odeint_error& e) {
    end = End::odeint_failure;
    what = e.what();
  }

  sol.steps = static_cast<long>(steps);
  sol.counters = {{"odeint_steps", static_cast<double>(steps)}};
  if (o.method != OdeMethod::odeint_rk4) sol.counters.emplace_back("odeint_initial_step", dt0);

  switch (end) {
    case End::done:
      sol.status = Status::converged;
      sol.message = "Reached the last output time t = " + format_value(run.t_final()) + " in " +
                    std::to_string(steps) + " steps (" + o.describe() + ").";
      break;
    case End::step_limit:
      sol.status = Status::max_iterations;
      sol.message = "Reached OdeOptions::max_steps = " + std::to_string(o.max_steps) + ". " +
                    progress_note(run);
      break;
    case End::non_finite:
      sol.status = Status::non_finite;
      sol.message = "Odeint stopped: " + run.eval.non_finite_note() + " " + progress_note(run);
      break;
    case End::odeint_failure:
      sol.status = Status::diverged;
      sol.message = "Odeint failed: " + what + " " + progress_note(run);
      break;
  }
}

#else  // no Boost.Odeint headers at build time

void run_odeint(Run& run) {
  throw backend_error("Boost.Odeint", "not available in this build (no Boost headers found): " +
                                          to_string(run.options.method) + " cannot run.");
}

#endif

}  // namespace iterop::baselines::ode_detail
