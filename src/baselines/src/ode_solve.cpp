// solve_ode: validation of the problem, options and output times, the counting wrapper around F,
// and the dispatch to CVODE, ARKODE or Boost.Odeint (ode_cvode.cpp, ode_arkode.cpp, ode_odeint.cpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "iterop/baselines/ode_solvers.hpp"
#include "iterop/core/enum_names.hpp"
#include "iterop/core/errors.hpp"
#include "ode_common.hpp"

namespace iterop::baselines {

// ---- names and options ------------------------------------------------------------------------------

namespace {
constexpr EnumNames<OdeMethod, 7> ode_method_names{{{{OdeMethod::cvode_bdf, "cvode_bdf"},
                                                     {OdeMethod::cvode_adams, "cvode_adams"},
                                                     {OdeMethod::arkode_erk, "arkode_erk"},
                                                     {OdeMethod::arkode_dirk, "arkode_dirk"},
                                                     {OdeMethod::odeint_dopri5, "odeint_dopri5"},
                                                     {OdeMethod::odeint_rk4, "odeint_rk4"},
                                                     {OdeMethod::odeint_rosenbrock4, "odeint_rosenbrock4"}}}};
}  // namespace

std::vector<OdeMethod> ode_methods() { return ode_method_names.values(); }

std::string to_string(OdeMethod m) { return std::string(ode_method_names.name(m)); }

OdeMethod parse_ode_method(const std::string& name) { return ode_method_names.parse(name, "OdeMethod"); }

bool is_implicit(OdeMethod m) {
  return m == OdeMethod::cvode_bdf || m == OdeMethod::arkode_dirk || m == OdeMethod::odeint_rosenbrock4;
}

void OdeProblem::validate() const {
  require(dimension >= 1, "OdeProblem::dimension", dimension, "dimension >= 1");
  require(static_cast<bool>(rhs), "OdeProblem::rhs", std::string("an empty std::function"), "a callable F(t, z, dz)");
  require(z0.size() == static_cast<std::size_t>(dimension), "OdeProblem::z0.size()", z0.size(),
          "z0.size() == dimension = " + std::to_string(dimension));
  for (std::size_t i = 0; i < z0.size(); ++i)
    require(std::isfinite(z0[i]), "OdeProblem::z0[" + std::to_string(i) + "]", z0[i], "finite");
  require(std::isfinite(t0), "OdeProblem::t0", t0, "finite");
}

void OdeOptions::validate() const {
  const int m = static_cast<int>(method);
  require(m >= 0 && m <= static_cast<int>(OdeMethod::odeint_rosenbrock4), "OdeOptions::method", m,
          "one of the OdeMethod enumerators");
  require(std::isfinite(rtol) && rtol > 0 && rtol < 1, "OdeOptions::rtol", rtol, "0 < rtol < 1");
  require(std::isfinite(atol) && atol > 0, "OdeOptions::atol", atol, "atol > 0 and finite");
  require(max_steps >= 1, "OdeOptions::max_steps", max_steps, "max_steps >= 1");
  if (method == OdeMethod::odeint_rk4)
    require(std::isfinite(fixed_step) && fixed_step > 0, "OdeOptions::fixed_step", fixed_step,
            "fixed_step > 0 for odeint_rk4");
  else
    require(fixed_step == 0, "OdeOptions::fixed_step", fixed_step, "fixed_step == 0 unless method is odeint_rk4");
}

std::string OdeOptions::describe() const {
  if (method == OdeMethod::odeint_rk4) return to_string(method) + "(h=" + format_value(fixed_step) + ")";
  return to_string(method) + "(rtol=" + format_value(rtol) + ", atol=" + format_value(atol) + ")";
}

namespace ode_detail {

// ---- the wrapper around F and dF/dz -----------------------------------------------------------------

namespace {
bool all_finite(const double* v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i])) return false;
  return true;
}
}  // namespace

void Evaluator::note_non_finite(double t, const char* what) {
  if (non_finite_calls_ == 0) {
    first_non_finite_t_ = t;
    first_non_finite_what_ = what;
  }
  ++non_finite_calls_;
}

bool Evaluator::rhs(double t, const double* z, double* dz) {
  ++rhs_calls_;
  problem_.rhs(t, std::span<const double>(z, n_), std::span<double>(dz, n_));
  if (!all_finite(z, n_)) {
    note_non_finite(t, "the state z passed to F");
    return false;
  }
  if (!all_finite(dz, n_)) {
    note_non_finite(t, "F(t, z)");
    return false;
  }
  return true;
}

bool Evaluator::jacobian(double t, const double* z, double* jac) {
  ++jacobian_calls_;
  problem_.jacobian(t, std::span<const double>(z, n_), std::span<double>(jac, n_ * n_));
  if (!all_finite(jac, n_ * n_)) {
    note_non_finite(t, "dF/dz(t, z)");
    return false;
  }
  return true;
}

bool Evaluator::jacobian_by_differences(double t, const double* z, double* jac) {
  ++difference_jacobians_;
  work_.resize(3 * n_);
  double* f0 = work_.data();
  double* zp = f0 + n_;
  double* fp = zp + n_;
  if (!rhs(t, z, f0)) return false;
  std::copy(z, z + n_, zp);
  const double root_eps = std::sqrt(std::numeric_limits<double>::epsilon());
  for (std::size_t j = 0; j < n_; ++j) {
    const double d = root_eps * std::max(1.0, std::abs(z[j]));
    zp[j] = z[j] + d;
    const double dj = zp[j] - z[j];  // the increment actually represented
    if (!rhs(t, zp, fp)) return false;
    for (std::size_t i = 0; i < n_; ++i) jac[i * n_ + j] = (fp[i] - f0[i]) / dj;
    zp[j] = z[j];
  }
  return true;
}

std::string Evaluator::non_finite_note() const {
  if (non_finite_calls_ == 0) return {};
  return first_non_finite_what_ + " had a NaN or Inf entry at t = " + format_value(first_non_finite_t_) + " (" +
         std::to_string(non_finite_calls_) + " such evaluation" + (non_finite_calls_ == 1 ? "" : "s") + ").";
}

void Run::record(const double* z) {
  solution.times.push_back(times[next]);
  solution.states.insert(solution.states.end(), z, z + eval.n());
  ++next;
}

double initial_step(Evaluator& eval, double t0, std::span<const double> z0, double t_end, double rtol, double atol,
                    int order) {
  const std::size_t n = z0.size();
  std::vector<double> f0(n), z1(n), f1(n);
  if (!eval.rhs(t0, z0.data(), f0.data())) throw NonFiniteStop{};
  auto rms = [&](auto&& component) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = component(i) / (atol + rtol * std::abs(z0[i]));
      s += v * v;
    }
    return std::sqrt(s / static_cast<double>(n));
  };
  const double span = t_end - t0;
  const double d0 = rms([&](std::size_t i) { return z0[i]; });
  const double d1 = rms([&](std::size_t i) { return f0[i]; });
  double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  h0 = std::min(h0, span);
  for (std::size_t i = 0; i < n; ++i) z1[i] = z0[i] + h0 * f0[i];
  if (!eval.rhs(t0 + h0, z1.data(), f1.data())) throw NonFiniteStop{};
  const double d2 = rms([&](std::size_t i) { return f1[i] - f0[i]; }) / h0;
  const double dmax = std::max(d1, d2);
  const double h1 = dmax <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / dmax, 1.0 / (order + 1));
  return std::min({100 * h0, h1, span});
}

void MessageLog::handler(int code, const char* module, const char* function, char* msg, void* data) {
  auto* log = static_cast<MessageLog*>(data);
  if (!log->text.empty()) log->text += " | ";
  log->text += std::string("[") + (module ? module : "?") + " " + (function ? function : "?") + ", code " +
               std::to_string(code) + "] " + (msg ? msg : "");
}

std::string progress_note(const Run& run, double t) {
  return "Stopped at t = " + format_value(t) + " after " + std::to_string(run.solution.steps) + " steps, with " +
         std::to_string(run.next) + " of " + std::to_string(run.times.size()) + " output times reached.";
}

std::string progress_note(const Run& run) {
  std::string s = "Stopped after " + std::to_string(run.solution.steps) + " steps, with " + std::to_string(run.next) +
                  " of " + std::to_string(run.times.size()) + " output times reached";
  if (run.next > 0) s += " (the last at t = " + format_value(run.times[run.next - 1]) + ")";
  return s + ".";
}

}  // namespace ode_detail

// ---- solve_ode --------------------------------------------------------------------------------------

OdeSolution solve_ode(const OdeProblem& problem, std::span<const double> output_times, const OdeOptions& options) {
  problem.validate();
  options.validate();
  require(!output_times.empty(), "solve_ode: output_times.size()", output_times.size(), "at least one output time");
  for (std::size_t i = 0; i < output_times.size(); ++i) {
    const std::string field = "solve_ode: output_times[" + std::to_string(i) + "]";
    require(std::isfinite(output_times[i]), field, output_times[i], "finite");
    if (i == 0)
      require(output_times[0] >= problem.t0, field, output_times[0],
              "output_times[0] >= t0 = " + format_value(problem.t0));
    else
      require(output_times[i] > output_times[i - 1], field, output_times[i],
              "strictly increasing: output_times[" + std::to_string(i) + "] > output_times[" + std::to_string(i - 1) +
                  "] = " + format_value(output_times[i - 1]));
  }
  if (options.method == OdeMethod::odeint_rk4) {
    const double h = options.fixed_step;
    for (std::size_t i = 0; i < output_times.size(); ++i) {
      const double t = output_times[i];
      const double k = std::round((t - problem.t0) / h);
      const double slack = std::max(1e-9 * h, 8 * std::numeric_limits<double>::epsilon() * std::abs(t));
      require(std::abs(t - (problem.t0 + k * h)) <= slack, "solve_ode: output_times[" + std::to_string(i) + "]", t,
              "on odeint_rk4's grid t0 + k * fixed_step (t0 = " + format_value(problem.t0) +
                  ", fixed_step = " + format_value(h) + "): odeint_rk4 interpolates nothing");
    }
  }

  const auto start = std::chrono::steady_clock::now();
  OdeSolution sol;
  sol.dimension = problem.dimension;
  sol.times.reserve(output_times.size());
  sol.states.reserve(output_times.size() * static_cast<std::size_t>(problem.dimension));
  ode_detail::Run run(problem, output_times, options, sol);

  // Output times at t0 (or closer to it than a step could resolve) are z0 itself.
  const double eps = std::numeric_limits<double>::epsilon();
  while (!run.done() && run.times[run.next] - problem.t0 <=
                            4 * eps * std::max(std::abs(problem.t0), std::abs(run.times[run.next])))
    run.record(problem.z0.data());

  if (run.done()) {
    sol.status = Status::converged;
    sol.message = "Every output time equals t0: z0 returned, no step taken.";
  } else {
    switch (options.method) {
      case OdeMethod::cvode_bdf:
      case OdeMethod::cvode_adams: ode_detail::run_cvode(run); break;
      case OdeMethod::arkode_erk:
      case OdeMethod::arkode_dirk: ode_detail::run_arkode(run); break;
      case OdeMethod::odeint_dopri5:
      case OdeMethod::odeint_rk4:
      case OdeMethod::odeint_rosenbrock4: ode_detail::run_odeint(run); break;
    }
  }

  const ode_detail::Evaluator& ev = run.eval;
  sol.rhs_evaluations = ev.rhs_calls();
  if (ev.has_jacobian())
    sol.jacobian_evaluations = ev.jacobian_calls();
  else if (sol.jacobian_evaluations == 0)
    sol.jacobian_evaluations = ev.difference_jacobians();
  if (ev.non_finite_calls() > 0 && sol.status == Status::converged)
    sol.message += " Recovered from non-finite values: " + ev.non_finite_note();
  sol.counters.emplace_back("non_finite_evaluations", static_cast<double>(ev.non_finite_calls()));
  sol.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return sol;
}

}  // namespace iterop::baselines
