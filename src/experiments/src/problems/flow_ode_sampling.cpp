// Flow sampling by ODE integration: in-house fixed-step Euler, and the ODE baselines of iterop::baselines
// (Odeint rk4/dopri5, CVODE BDF/Adams) on a batch system or per-sample systems, with counted evaluations.
#include "iterop/experiments/problems/flow_ode_sampling.hpp"

#include "iterop/core/enum_names.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <span>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/runner/run_time.hpp"

#if defined(ITEROP_HAVE_ODE_BASELINES)
#include "iterop/baselines/ode_solvers.hpp"
#endif

namespace iterop::experiments {

using distributions::SampleSet;

namespace {
constexpr EnumNames<FlowOdeMethod, 5> method_names{{{{FlowOdeMethod::euler, "euler"},
                                                     {FlowOdeMethod::rk4, "rk4"},
                                                     {FlowOdeMethod::dopri5, "dopri5"},
                                                     {FlowOdeMethod::cvode_bdf, "cvode_bdf"},
                                                     {FlowOdeMethod::cvode_adams, "cvode_adams"}}}};
constexpr EnumNames<FlowOdeGrouping, 3> grouping_names{{{{FlowOdeGrouping::automatic, "automatic"},
                                                         {FlowOdeGrouping::batch, "batch"},
                                                         {FlowOdeGrouping::per_sample, "per_sample"}}}};
}  // namespace

std::vector<FlowOdeMethod> flow_ode_methods() { return method_names.values(); }

std::string to_string(FlowOdeMethod m) { return std::string(method_names.name(m)); }

FlowOdeMethod parse_flow_ode_method(const std::string& name) { return method_names.parse(name, "method"); }

std::string to_string(FlowOdeGrouping g) { return std::string(grouping_names.name(g)); }

FlowOdeGrouping parse_flow_ode_grouping(const std::string& name) { return grouping_names.parse(name, "grouping"); }

bool flow_ode_method_available(FlowOdeMethod m) {
#if defined(ITEROP_HAVE_ODE_BASELINES)
  (void)m;
  return true;
#else
  return m == FlowOdeMethod::euler;
#endif
}

namespace {

bool fixed_step(FlowOdeMethod m) { return m == FlowOdeMethod::euler || m == FlowOdeMethod::rk4; }

FlowOdeGrouping resolved(const FlowOdeOptions& o) {
  if (o.grouping != FlowOdeGrouping::automatic) return o.grouping;
  return o.method == FlowOdeMethod::cvode_bdf ? FlowOdeGrouping::per_sample : FlowOdeGrouping::batch;
}

std::string describe_with(const FlowOdeOptions& o, FlowOdeGrouping g) {
  std::string s = to_string(o.method) + "(";
  if (fixed_step(o.method))
    s += "steps=" + std::to_string(o.steps);
  else
    s += "rtol=" + format_value(o.rtol) + ", atol=" + format_value(o.atol);
  return s + ", " + to_string(g) + ")";
}

/// The velocity field with its calls counted.
struct CountedVelocity {
  const VelocityFn& v;
  long calls = 0;
  long rows = 0;
  void operator()(const double* x, std::size_t n, double t, double* out) {
    ++calls;
    rows += long(n);
    v(x, n, t, out);
  }
};

bool all_finite(std::span<const double> a) {
  return std::all_of(a.begin(), a.end(), [](double x) { return std::isfinite(x); });
}

/// What integrating one system (a block of rows) gave.
struct SystemResult {
  Status status = Status::converged;
  std::string message;
  std::vector<double> end;                   ///< the state at t = 1, or the last one reached
  std::vector<std::vector<double>> records;  ///< states at the record times reached
  long steps = 0;
  std::vector<std::pair<std::string, double>> counters;
};

/// Fixed-step Euler on a block of `rows` rows: z_{k+1} = z_k + h v(z_k, k h), h = 1 / steps.
SystemResult euler(CountedVelocity& v, std::span<const double> z0, std::size_t rows, const FlowOdeOptions& o) {
  SystemResult r;
  std::vector<double> z(z0.begin(), z0.end()), dz(z.size());
  const double h = 1.0 / o.steps;
  std::size_t next_record = 0;
  for (int k = 0; k < o.steps; ++k) {
    const double t = k * h;
    v(z.data(), rows, t, dz.data());
    if (!all_finite(dz)) {
      r.status = Status::non_finite;
      r.message = "Euler stopped: the velocity had a NaN or Inf entry at t = " + format_value(t) + " (step " +
                  std::to_string(k + 1) + " of " + std::to_string(o.steps) + ").";
      break;
    }
    for (std::size_t i = 0; i < z.size(); ++i) z[i] += h * dz[i];
    ++r.steps;
    const double t_new = (k + 1 == o.steps) ? 1.0 : (k + 1) * h;
    while (next_record < o.record_times.size() && std::abs(o.record_times[next_record] - t_new) <= 1e-9 * h) {
      r.records.push_back(z);
      ++next_record;
    }
  }
  if (r.status == Status::converged && !all_finite(z)) {
    r.status = Status::non_finite;
    r.message = "Euler ended with a NaN or Inf state.";
  }
  r.end = std::move(z);
  return r;
}

#if defined(ITEROP_HAVE_ODE_BASELINES)
baselines::OdeMethod baseline_method(FlowOdeMethod m) {
  switch (m) {
    case FlowOdeMethod::rk4: return baselines::OdeMethod::odeint_rk4;
    case FlowOdeMethod::dopri5: return baselines::OdeMethod::odeint_dopri5;
    case FlowOdeMethod::cvode_bdf: return baselines::OdeMethod::cvode_bdf;
    case FlowOdeMethod::cvode_adams: return baselines::OdeMethod::cvode_adams;
    case FlowOdeMethod::euler: break;
  }
  throw invalid_option("FlowOdeOptions::method = euler. Violated constraint: not a baseline integrator.");
}

SystemResult baseline(CountedVelocity& v, std::span<const double> z0, std::size_t rows, const FlowOdeOptions& o) {
  const std::size_t n = z0.size();
  baselines::OdeProblem p;
  p.dimension = int(n);
  p.z0.assign(z0.begin(), z0.end());
  p.t0 = 0;
  p.rhs = [&v, rows](double t, std::span<const double> z, std::span<double> dz) { v(z.data(), rows, t, dz.data()); };
  baselines::OdeOptions bo;
  bo.method = baseline_method(o.method);
  bo.rtol = o.rtol;
  bo.atol = o.atol;
  bo.fixed_step = o.method == FlowOdeMethod::rk4 ? 1.0 / o.steps : 0.0;
  bo.max_steps = o.method == FlowOdeMethod::rk4 ? std::max<long>(o.max_steps, o.steps) : o.max_steps;
  std::vector<double> times = o.record_times;
  times.push_back(1.0);
  const auto sol = baselines::solve_ode(p, times, bo);
  SystemResult r;
  r.status = sol.status;
  r.message = sol.message;
  r.steps = sol.steps;
  r.counters = sol.counters;
  const std::size_t reached = sol.times.size();
  for (std::size_t k = 0; k < reached && k < o.record_times.size(); ++k) {
    const auto s = sol.state(k);
    r.records.emplace_back(s.begin(), s.end());
  }
  if (reached == 0) {
    r.end.assign(z0.begin(), z0.end());
    return r;
  }
  const auto end = sol.state(reached - 1);
  r.end.assign(end.begin(), end.end());
  if (r.status == Status::converged && !(sol.usable() && reached == times.size())) {
    r.status = Status::diverged;
    r.message = "The integrator stopped before t = 1.";
  }
  return r;
}
#endif

SystemResult integrate(CountedVelocity& v, std::span<const double> z0, std::size_t rows, const FlowOdeOptions& o) {
  if (o.method == FlowOdeMethod::euler) return euler(v, z0, rows, o);
#if defined(ITEROP_HAVE_ODE_BASELINES)
  return baseline(v, z0, rows, o);
#else
  throw invalid_option("FlowOdeOptions::method = " + to_string(o.method) +
                       ". Violated constraint: a method this build has (only euler: built without the ODE baselines).");
#endif
}

}  // namespace

void FlowOdeOptions::validate() const {
  const auto methods = flow_ode_methods();
  require(std::find(methods.begin(), methods.end(), method) != methods.end(), "FlowOdeOptions::method", int(method), "one of euler, rk4, dopri5, cvode_bdf, cvode_adams");
  require(grouping == FlowOdeGrouping::automatic || grouping == FlowOdeGrouping::batch ||
              grouping == FlowOdeGrouping::per_sample,
          "FlowOdeOptions::grouping", int(grouping), "one of automatic, batch, per_sample");
  require(steps >= 1, "FlowOdeOptions::steps", steps, "steps >= 1");
  require(std::isfinite(rtol) && rtol > 0 && rtol < 1, "FlowOdeOptions::rtol", rtol, "0 < rtol < 1");
  require(std::isfinite(atol) && atol > 0, "FlowOdeOptions::atol", atol, "atol > 0 and finite");
  require(max_steps >= 1, "FlowOdeOptions::max_steps", max_steps, "max_steps >= 1");
  for (std::size_t k = 0; k < record_times.size(); ++k) {
    const std::string field = "FlowOdeOptions::record_times[" + std::to_string(k) + "]";
    const double t = record_times[k];
    require(std::isfinite(t) && t > 0 && t < 1, field, t, "0 < t < 1");
    if (k > 0) require(t > record_times[k - 1], field, t, "strictly greater than the previous record time");
    if (fixed_step(method)) {
      const double grid = t * steps;
      require(std::abs(grid - std::round(grid)) <= 1e-9, field, t,
              "on the grid k / steps (steps = " + std::to_string(steps) + ") for the fixed-step method " +
                  to_string(method));
    }
  }
}

std::string FlowOdeOptions::describe() const { return describe_with(*this, resolved(*this)); }

FlowSampleReport sample_flow_ode(const VelocityFn& v, const SampleSet& x0, const FlowOdeOptions& o) {
  o.validate();
  require(bool(v), "sample_flow_ode velocity", "empty", "a callable velocity field");
  require(x0.rows >= 1, "sample_flow_ode x0.rows", x0.rows, "rows >= 1");
  require(x0.dim >= 1, "sample_flow_ode x0.dim", x0.dim, "dim >= 1");
  require(x0.values.size() == x0.rows * x0.dim, "sample_flow_ode x0.values.size()", x0.values.size(),
          "equal to rows * dim = " + std::to_string(x0.rows * x0.dim));
  require(x0.all_finite(), "sample_flow_ode x0", "a sample with NaN or Inf", "every starting point finite");
  require(flow_ode_method_available(o.method), "FlowOdeOptions::method", to_string(o.method),
          "a method this build has (only euler: built without the ODE baselines)");

  const auto start = std::chrono::steady_clock::now();
  const FlowOdeGrouping g = resolved(o);
  FlowSampleReport rep;
  rep.method = describe_with(o, g);
  rep.samples = SampleSet(x0.rows, x0.dim);
  CountedVelocity counted{v};
  const std::size_t d = x0.dim;
  std::vector<SampleSet> traj(o.record_times.size(), SampleSet(x0.rows, x0.dim));
  bool traj_complete = true;
  std::map<std::string, double> counters;
  std::vector<std::string> counter_order;

  auto absorb = [&](SystemResult& r, std::size_t first_row) {
    std::copy(r.end.begin(), r.end.end(), rep.samples.values.begin() + std::ptrdiff_t(first_row * d));
    for (std::size_t k = 0; k < traj.size(); ++k) {
      if (k < r.records.size())
        std::copy(r.records[k].begin(), r.records[k].end(), traj[k].values.begin() + std::ptrdiff_t(first_row * d));
      else
        traj_complete = false;
    }
    rep.steps += r.steps;
    for (const auto& [name, value] : r.counters) {
      if (!counters.count(name)) counter_order.push_back(name);
      counters[name] += value;
    }
    if (r.status != Status::converged) {
      ++rep.failed_systems;
      if (rep.status == Status::converged) {
        rep.status = r.status;
        rep.message = r.message;
      }
    }
  };

  if (g == FlowOdeGrouping::batch) {
    auto r = integrate(counted, x0.values, x0.rows, o);
    absorb(r, 0);
  } else {
    for (std::size_t i = 0; i < x0.rows; ++i) {
      auto r = integrate(counted, x0.row(i), 1, o);
      if (r.status != Status::converged && rep.status == Status::converged)
        r.message = "Sample " + std::to_string(i) + ": " + r.message;
      absorb(r, i);
    }
  }
  if (traj_complete) rep.trajectory = std::move(traj);
  for (const auto& name : counter_order) rep.counters.emplace_back(name, counters[name]);
  rep.batch_evaluations = counted.calls;
  rep.sample_evaluations = counted.rows;
  rep.seconds = seconds_since(start);
  if (rep.status == Status::converged) {
    rep.message = rep.method + ": reached t = 1 with " + std::to_string(rep.batch_evaluations) +
                  " velocity calls (" + std::to_string(rep.sample_evaluations) + " per-sample evaluations).";
  } else if (g == FlowOdeGrouping::per_sample) {
    rep.message = std::to_string(rep.failed_systems) + " of " + std::to_string(x0.rows) +
                  " samples did not reach t = 1; the first: " + rep.message;
  }
  return rep;
}

}  // namespace iterop::experiments
