// The Volterra work-precision bench: VIE sweeps over N and ODE sweeps over rtol on L3 and N3, errors on
// the common 65-point grid, best-of-3 wall times, time to accuracy, ratios, report files and plots.
#include "iterop/experiments/volterra_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/build_info.hpp"
#include "iterop/experiments/plot.hpp"
#include "iterop/experiments/report_writer.hpp"
#include "iterop/experiments/table.hpp"
#include "iterop/experiments/volterra_convergence.hpp"
#include "iterop/experiments/run_time.hpp"
#include "iterop/quadrature/ode_forms.hpp"
#include "iterop/quadrature/reference_problems.hpp"

#if defined(ITEROP_HAVE_ODE_BASELINES)
#include "iterop/baselines/ode_solvers.hpp"
#endif

namespace iterop::experiments {

namespace {

namespace q = quadrature;
using Clock = std::chrono::steady_clock;
constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

/// One solve of the bench.
struct BenchRun {
  std::string problem;
  std::string family;  // "vie" or "ode"
  std::string method;
  int steps = 0;       // VIE: N
  double rtol = nan_value, atol = nan_value;  // ODE
  std::string status;
  std::string message;
  double error = nan_value;  // max over the compared output points
  int points = 0;            // output points compared
  double seconds = nan_value;
  int repetitions = 0;
  long evaluations = 0;      // VIE: kernel evaluations; ODE: rhs evaluations
  long solver_steps = 0;     // ODE: accepted steps; VIE: N
  bool usable() const { return status == "converged" && std::isfinite(error); }
  std::string setting() const {
    return family == "vie" ? "N = " + std::to_string(steps) : "rtol = " + format_exact(rtol);
  }
};

std::string problem_description(const std::string& id) {
  if (id == "L3") return "y = 1 - 10 int_0^t exp(-1000 (t - s)) y(s) ds on [0, 1] (stiff: lambda = 10, mu = 1000)";
  if (id == "N3") return "y = exp(-2t) + int_0^t exp(-(t - s)) y(s)^2 ds on [0, 2]; y = exp(-t)";
  if (id == "L2") return "y = 1 - int_0^t (t - s) y(s) ds on [0, 2 pi]; y = cos t";
  if (id == "N1") return "y = sin t + (sin^2 t - t^2)/4 + int_0^t (t - s) y(s)^2 ds on [0, 1]; y = sin t";
  if (id == "N4") return "y = 1 + int_0^t y(s)^2 ds on [0, 0.9]; y = 1/(1 - t)";
  if (id == "S1") return "the 2 x 2 system S1 on [0, 1]; (u, v) = (e^t, e^-t)";
  return id;
}

/// Runs `once` (which returns its own wall seconds) until the config's repetition rule is met; the best time.
template <class F>
double best_time(const VolterraBenchConfig& c, int& repetitions, F&& once) {
  double best = once();
  repetitions = 1;
  if (best < c.repeat_below_seconds)
    for (; repetitions < c.repetitions; ++repetitions) best = std::min(best, once());
  return best;
}

BenchRun run_vie(const VolterraBenchConfig& c, const std::string& id, const std::string& method_name, int N,
                 const std::vector<double>& out_times) {
  const q::SecondKindProblem p = q::reference::second_kind(id);
  const VolterraMethod method = parse_volterra_method(method_name);
  const q::Grid grid = volterra_grid(p.T, N, 1);
  BenchRun run;
  run.problem = id;
  run.family = "vie";
  run.method = method_name;
  run.steps = N;
  run.solver_steps = N;
  q::VolterraResult result;
  run.seconds = best_time(c, run.repetitions, [&] {
    const auto t0 = Clock::now();
    result = solve_with(p, grid, method);
    return std::chrono::duration<double>(Clock::now() - t0).count();
  });
  run.status = std::string(to_string(result.status));
  run.message = result.message;
  run.evaluations = result.kernel_evaluations;
  // The output points that are nodes: every (N / (M - 1))-th node when M - 1 divides N, else every
  // node when N divides M - 1 (then all N + 1 nodes are output points).
  const int M1 = static_cast<int>(out_times.size()) - 1;
  const int stride = N % M1 == 0 ? N / M1 : 1;
  const int d = p.dimension;
  std::vector<double> e(static_cast<std::size_t>(d));
  double err = 0;
  for (int j = 0; j <= N; j += stride) {
    if (j >= result.nodes()) {
      err = nan_value;
      break;
    }
    p.exact(result.t[static_cast<std::size_t>(j)], e);
    for (int k = 0; k < d; ++k) err = std::max(err, std::abs(result.value(j, k) - e[static_cast<std::size_t>(k)]));
    ++run.points;
  }
  run.error = result.converged() ? err : nan_value;
  return run;
}

#if defined(ITEROP_HAVE_ODE_BASELINES)
BenchRun run_ode(const VolterraBenchConfig& c, const std::string& id, const std::string& method_name, double rtol,
                 const std::vector<double>& out_times) {
  const q::OdeForm form = q::ode_form(id);
  baselines::OdeProblem problem;
  problem.dimension = form.dimension;
  problem.rhs = form.rhs;
  problem.jacobian = form.jacobian;
  problem.z0 = form.z0;
  problem.t0 = form.t0;
  baselines::OdeOptions options;
  options.method = baselines::parse_ode_method(method_name);
  options.rtol = rtol;
  options.atol = c.atol_factor * rtol;
  BenchRun run;
  run.problem = id;
  run.family = "ode";
  run.method = method_name;
  run.rtol = options.rtol;
  run.atol = options.atol;
  baselines::OdeSolution sol;
  run.seconds = best_time(c, run.repetitions, [&] {
    const auto t0 = Clock::now();
    sol = baselines::solve_ode(problem, out_times, options);
    return std::chrono::duration<double>(Clock::now() - t0).count();
  });
  run.status = std::string(to_string(sol.status));
  run.message = sol.message;
  run.evaluations = sol.rhs_evaluations;
  run.solver_steps = sol.steps;
  std::vector<double> y(static_cast<std::size_t>(form.vie_dimension)), e(y.size());
  double err = 0;
  for (std::size_t i = 0; i < sol.times.size(); ++i) {
    form.to_vie(sol.times[i], sol.state(i), y);
    form.exact(sol.times[i], e);
    for (std::size_t k = 0; k < y.size(); ++k) err = std::max(err, std::abs(y[k] - e[k]));
    ++run.points;
  }
  run.error = sol.usable() && sol.times.size() == out_times.size() ? err : nan_value;
  return run;
}
#endif

std::vector<std::string> methods_of(const std::vector<BenchRun>& runs) {
  std::vector<std::string> m;
  for (const auto& r : runs)
    if (std::find(m.begin(), m.end(), r.method) == m.end()) m.push_back(r.method);
  return m;
}

std::vector<WorkPoint> curve_of(const std::vector<BenchRun>& runs, const std::string& method) {
  std::vector<WorkPoint> c;
  for (const auto& r : runs)
    if (r.method == method) c.push_back({r.seconds, r.error, r.usable()});
  return c;
}

std::string time_cell(double seconds, bool at_cheapest) {
  if (!std::isfinite(seconds)) return "not reached";
  return (at_cheapest ? "<= " : "") + format_seconds(seconds);
}

std::string ratio_cell(double r) { return std::isfinite(r) ? fmt::format("{:.3g}", r) : std::string("n/a"); }

/// Per problem: the time of each method to each target, and its ratio to the fastest method there.
struct Accuracy {
  std::string method;
  std::string family;
  std::vector<double> seconds;  // per target
  std::vector<bool> at_cheapest;
  std::vector<double> ratio;    // to the fastest method at that target
};

std::vector<Accuracy> accuracy_table(const std::vector<BenchRun>& runs, const std::vector<double>& targets) {
  std::vector<Accuracy> rows;
  for (const auto& m : methods_of(runs)) {
    Accuracy a;
    a.method = m;
    for (const auto& r : runs)
      if (r.method == m) a.family = r.family;
    const auto curve = curve_of(runs, m);
    for (double target : targets) {
      bool cheap = false;
      a.seconds.push_back(time_to_accuracy(curve, target, &cheap));
      a.at_cheapest.push_back(cheap);
    }
    rows.push_back(std::move(a));
  }
  for (std::size_t k = 0; k < targets.size(); ++k) {
    double fastest = std::numeric_limits<double>::infinity();
    for (const auto& a : rows)
      if (std::isfinite(a.seconds[k])) fastest = std::min(fastest, a.seconds[k]);
    for (auto& a : rows) a.ratio.push_back(std::isfinite(fastest) ? a.seconds[k] / fastest : nan_value);
  }
  return rows;
}

/// Time of each method to `target` and its ratio to the fastest VIE method there.
struct VieRatio {
  std::string method, family;
  double seconds = nan_value;
  bool at_cheapest = false;
  double ratio = nan_value;
};

std::vector<VieRatio> vie_ratio_table(const std::vector<BenchRun>& runs, double target, std::string* best_vie) {
  std::vector<VieRatio> rows;
  double best = std::numeric_limits<double>::infinity();
  for (const auto& m : methods_of(runs)) {
    VieRatio v;
    v.method = m;
    for (const auto& r : runs)
      if (r.method == m) v.family = r.family;
    v.seconds = time_to_accuracy(curve_of(runs, m), target, &v.at_cheapest);
    if (v.family == "vie" && std::isfinite(v.seconds) && v.seconds < best) {
      best = v.seconds;
      *best_vie = m;
    }
    rows.push_back(v);
  }
  for (auto& v : rows) v.ratio = std::isfinite(best) ? v.seconds / best : nan_value;
  return rows;
}

std::string method_colour(const std::string& m) {
  static const std::map<std::string, std::string> c = {
      {"trapezoid", "#1f77b4"},   {"block_simpson", "#d62728"},   {"cvode_bdf", "#2ca02c"},
      {"cvode_adams", "#9467bd"}, {"arkode_erk", "#8c564b"},      {"arkode_dirk", "#e377c2"},
      {"odeint_dopri5", "#7f7f7f"}, {"odeint_rosenbrock4", "#bcbd22"}, {"odeint_rk4", "#17becf"}};
  auto it = c.find(m);
  return it == c.end() ? std::string() : it->second;
}

Figure work_figure(const std::string& id, const std::vector<BenchRun>& runs, bool by_time) {
  Figure fig;
  fig.width = 1300;
  fig.height = 850;
  Panel panel;
  panel.title = id + ": max error on the 65 output points against " +
                (by_time ? std::string("wall time (log-log)") : std::string("evaluations (log-log)"));
  panel.x_label = by_time ? "wall time / s" : "evaluations (kernel for VIE, rhs for ODE)";
  panel.log_x = true;
  panel.y_label = "max error";
  for (const auto& m : methods_of(runs)) {
    Series s;
    s.label = m;
    s.color = method_colour(m);
    for (const auto& r : runs) {
      if (r.method != m) continue;
      s.dash_type = r.family == "vie" ? 1 : 2;
      if (!r.usable()) continue;
      const double x = by_time ? r.seconds : static_cast<double>(r.evaluations);
      if (!(x > 0)) continue;
      s.x.push_back(x);
      s.y.push_back(r.error);
    }
    panel.series.push_back(std::move(s));
  }
  fig.panels.push_back(std::move(panel));
  return fig;
}

Table runs_table(const std::vector<BenchRun>& runs) {
  Table t;
  t.columns = {"family", "method", "setting", "status", "max error (65 points)", "points", "wall time", "runs timed",
               "evaluations", "steps"};
  t.align = {Align::left,  Align::left,  Align::left,  Align::left,  Align::right,
             Align::right, Align::right, Align::right, Align::right, Align::right};
  for (const auto& r : runs)
    t.add_row({r.family, r.method, r.setting(), r.status, format_scientific(r.error), std::to_string(r.points),
               format_seconds(r.seconds), std::to_string(r.repetitions), std::to_string(r.evaluations),
               std::to_string(r.solver_steps)});
  return t;
}

Table csv_table(const std::vector<BenchRun>& runs) {
  Table t;
  t.columns = {"problem", "family", "method", "steps", "rtol", "atol", "status", "max_error", "points", "seconds",
               "repetitions", "evaluations", "solver_steps", "message"};
  for (const auto& r : runs)
    t.add_row({r.problem, r.family, r.method, r.family == "vie" ? std::to_string(r.steps) : "",
               r.family == "ode" ? format_exact(r.rtol) : "", r.family == "ode" ? format_exact(r.atol) : "", r.status,
               format_exact(r.error), std::to_string(r.points), format_exact(r.seconds), std::to_string(r.repetitions),
               std::to_string(r.evaluations), std::to_string(r.solver_steps), r.message});
  return t;
}

nlohmann::json run_json(const BenchRun& r) {
  nlohmann::json j = {{"family", r.family},          {"method", r.method},   {"status", r.status},
                      {"message", r.message},        {"max_error", json_number(r.error)},
                      {"points", r.points},          {"seconds", json_number(r.seconds)},
                      {"repetitions", r.repetitions}, {"evaluations", r.evaluations},
                      {"solver_steps", r.solver_steps}};
  if (r.family == "vie") j["steps"] = r.steps;
  else {
    j["rtol"] = r.rtol;
    j["atol"] = r.atol;
  }
  return j;
}

}  // namespace

bool volterra_bench_has_ode_baselines() {
#if defined(ITEROP_HAVE_ODE_BASELINES)
  return true;
#else
  return false;
#endif
}

void VolterraBenchConfig::validate() const {
  require(!problems.empty(), "VolterraBenchConfig::problems", std::string("{}"), "at least one problem");
  for (const auto& p : problems) {
    const auto ids = q::ode_form_ids();
    require(std::find(ids.begin(), ids.end(), p) != ids.end() && p != "D2", "VolterraBenchConfig::problems", p,
            "second-kind problems with an ODE form: L2, L3, N1, N3, N4, S1");
  }
  require(min_power >= 1 && min_power <= max_power && max_power <= 20, "VolterraBenchConfig::min_power", min_power,
          "1 <= min_power <= max_power <= 20");
  for (const auto& m : vie_methods)
    require(m == "trapezoid" || m == "block_simpson", "VolterraBenchConfig::vie_methods", m, "trapezoid or block_simpson");
  for (double r : rtols) require(r > 0 && r < 1, "VolterraBenchConfig::rtols", r, "0 < rtol < 1");
  require(atol_factor > 0, "VolterraBenchConfig::atol_factor", atol_factor, "atol_factor > 0");
  require(output_points >= 2, "VolterraBenchConfig::output_points", output_points, "output_points >= 2");
  require(repetitions >= 1, "VolterraBenchConfig::repetitions", repetitions, "repetitions >= 1");
  for (double t : targets) require(t > 0, "VolterraBenchConfig::targets", t, "targets > 0");
  require(ratio_target > 0, "VolterraBenchConfig::ratio_target", ratio_target, "ratio_target > 0");
  const int m1 = output_points - 1;
  for (int p = min_power; p <= max_power; ++p) {
    const int n = 1 << p;
    require(n % m1 == 0 || m1 % n == 0, "VolterraBenchConfig::output_points", output_points,
            "output_points - 1 divides every N or is divided by it (so the output points are grid nodes)");
  }
}

VolterraBenchConfig quick_volterra_bench_config() {
  VolterraBenchConfig c;
  c.min_power = 6;
  c.max_power = 10;
  c.rtols = {1e-3, 1e-4, 1e-5, 1e-6};
  c.repetitions = 1;
  return c;
}

double time_to_accuracy(const std::vector<WorkPoint>& curve, double target, bool* at_cheapest) {
  if (at_cheapest) *at_cheapest = false;
  const WorkPoint* previous = nullptr;
  for (const auto& p : curve) {
    if (!p.usable || !(p.error >= 0) || !(p.seconds > 0)) continue;
    if (p.error <= target) {
      if (previous == nullptr || !(p.error > 0)) {
        if (at_cheapest) *at_cheapest = previous == nullptr;
        return p.seconds;
      }
      const double x0 = std::log(previous->error), x1 = std::log(p.error);
      const double y0 = std::log(previous->seconds), y1 = std::log(p.seconds);
      return std::exp(y0 + (std::log(target) - x0) * (y1 - y0) / (x1 - x0));
    }
    previous = &p;
  }
  return nan_value;
}

ExperimentOutcome run_volterra_bench(const VolterraBenchConfig& config, const ExperimentContext& context) {
  config.validate();
  const auto start = Clock::now();
  const std::string started = utc_now();
  ReportFolder folder(context.output_folder);
  std::vector<std::string> notes;
  const bool ode = volterra_bench_has_ode_baselines();
  if (!ode) notes.push_back("ODE integrators skipped: this build of iterop has no ODE baselines (SUNDIALS).");
  for (const auto& n : notes) context.report(n);

  std::map<std::string, std::vector<BenchRun>> by_problem;
  std::map<std::string, std::vector<double>> out_times_of;
  std::size_t total = 0, done = 0;
  for (const auto& id : config.problems) {
    (void)id;
    total += config.vie_methods.size() * static_cast<std::size_t>(config.max_power - config.min_power + 1);
    if (ode) total += config.ode_methods.size() * config.rtols.size();
  }
  const std::size_t width = std::to_string(total).size();
  auto progress = [&](const BenchRun& r) {
    ++done;
    context.report(fmt::format("[{:>{}}/{}] {} {:<18} {:<14} {:<14} max error {}, {} (best of {}), {} evaluations",
                               done, width, total, r.problem, r.method, r.setting(), r.status,
                               format_scientific(r.error), format_seconds(r.seconds), r.repetitions, r.evaluations));
  };
  for (const auto& id : config.problems) {
    const double T = q::reference::second_kind(id).T;
    std::vector<double> out_times(static_cast<std::size_t>(config.output_points));
    for (int k = 0; k < config.output_points; ++k)
      out_times[static_cast<std::size_t>(k)] = k == config.output_points - 1 ? T : T * k / (config.output_points - 1);
    out_times_of[id] = out_times;
    auto& runs = by_problem[id];
    for (const auto& m : config.vie_methods)
      for (int p = config.min_power; p <= config.max_power; ++p) {
        runs.push_back(run_vie(config, id, m, 1 << p, out_times));
        progress(runs.back());
      }
#if defined(ITEROP_HAVE_ODE_BASELINES)
    for (const auto& m : config.ode_methods)
      for (double rtol : config.rtols) {
        runs.push_back(run_ode(config, id, m, rtol, out_times));
        progress(runs.back());
      }
#endif
  }

  // Report pieces.
  context.report("writing the report to " + folder.path().string());
  std::vector<BenchRun> all;
  for (const auto& id : config.problems) all.insert(all.end(), by_problem[id].begin(), by_problem[id].end());
  folder.write_csv("results.csv", csv_table(all));

  PlotOptions plot_options;
  plot_options.gnuplot = context.gnuplot;
  std::map<std::string, std::pair<PlotOutcome, PlotOutcome>> plots;
  for (const auto& id : config.problems) {
    plots[id].first = plot_png(folder, id + "-error-vs-time", work_figure(id, by_problem[id], true), plot_options);
    plots[id].second =
        plot_png(folder, id + "-error-vs-evaluations", work_figure(id, by_problem[id], false), plot_options);
    for (const auto* p : {&plots[id].first, &plots[id].second})
      if (!p->written) {
        notes.push_back("Plot " + p->png.filename().string() + " skipped: " + p->message + ".");
        context.report("plot skipped: " + p->message);
      }
  }

  nlohmann::json jproblems = nlohmann::json::array();
  std::string md = "# Bench volterra: work and precision of VIE methods against ODE integrators\n\n";
  md += fmt::format(
      "Each problem is solved by iterop's fixed-step Volterra methods ({}) with N = 2^{} .. 2^{} uniform steps, and "
      "its ODE form (iterop::quadrature::ode_form) by adaptive integrators ({}) with rtol = {} and atol = {} rtol "
      "for every component. The error is the max over t_k = k T / {}, k = 0 .. {} ({} points) of |y - y_exact| on "
      "the VIE's solution y: VIE values at those nodes (for N >= {} they are nodes; for N < {} the N + 1 nodes, all "
      "of them output points, are compared: the \"points\" column), ODE values by the integrator's dense output "
      "mapped back to y. Wall time is the best of {} runs for runs shorter than {} s, else one run. Evaluations: "
      "kernel evaluations for the VIE methods (the trapezoidal rule on these convolution kernels evaluates "
      "a(t - s) N + 1 times and G(y) once per node and implicit iteration, and sums the history as lag sums, "
      "here by the {} method, whose arithmetic is not counted as evaluations; block_simpson evaluates "
      "K(t, s, y) directly, O(N^2) times), right-hand-side evaluations for the ODE integrators (difference-quotient Jacobians "
      "included). Time to accuracy is interpolated linearly in (log error, log time) between the two sweep points "
      "around the target; \"<=\" marks a target already met by the cheapest setting.\n\n",
      fmt::join(config.vie_methods, ", "), config.min_power, config.max_power,
      ode ? fmt::format("{}", fmt::join(config.ode_methods, ", ")) : std::string("none in this build"),
      config.rtols.empty() ? std::string("-")
                           : format_exact(config.rtols.front()) + " .. " + format_exact(config.rtols.back()),
      format_exact(config.atol_factor), config.output_points - 1, config.output_points - 1, config.output_points,
      config.output_points - 1, config.output_points - 1, config.repetitions, format_exact(config.repeat_below_seconds),
      trapezoid_lag_sums());
  const auto info = build_info_json();
  md += "iterop " + info["iterop"].get<std::string>() + ", " + info["compiler"].get<std::string>();
  for (const auto& [name, version] : backend_versions()) md += ", " + name + " " + version;
  md += ".\n\n";
  for (const auto& n : notes) md += "> " + n + "\n";
  if (!notes.empty()) md += "\n";

  // The ratio the issue asks for, all problems side by side.
  std::map<std::string, std::vector<VieRatio>> ratios;
  std::map<std::string, std::string> best_vie;
  for (const auto& id : config.problems) ratios[id] = vie_ratio_table(by_problem[id], config.ratio_target, &best_vie[id]);
  {
    md += "## Time to max error " + format_exact(config.ratio_target) + ", relative to iterop's best VIE method\n\n";
    Table t;
    t.columns = {"method"};
    t.align = {Align::left};
    for (const auto& id : config.problems) {
      t.columns.push_back(id + " time");
      t.columns.push_back(id + " / best VIE" + (best_vie[id].empty() ? "" : " (" + best_vie[id] + ")"));
      t.align.insert(t.align.end(), {Align::right, Align::right});
    }
    for (const auto& m : methods_of(all)) {
      std::vector<std::string> row{m};
      for (const auto& id : config.problems) {
        auto it = std::find_if(ratios[id].begin(), ratios[id].end(), [&](const VieRatio& v) { return v.method == m; });
        row.push_back(it == ratios[id].end() ? "" : time_cell(it->seconds, it->at_cheapest));
        row.push_back(it == ratios[id].end() ? "" : ratio_cell(it->ratio));
      }
      t.add_row(std::move(row));
    }
    md += t.to_markdown() + "\nA ratio below 1 means the method reaches the accuracy faster than iterop's best VIE "
                            "method on that problem; n/a where either does not reach it.\n\n";
  }

  for (const auto& id : config.problems) {
    const auto& runs = by_problem[id];
    const auto acc = accuracy_table(runs, config.targets);
    md += "## " + id + "\n\n" + problem_description(id) + ".\n\n";
    const q::OdeForm form = q::ode_form(id);
    md += "ODE form: " + form.reduction + (form.stiff ? " (stiff)" : "") + ".\n\n";
    md += "### Time to accuracy\n\n";
    Table t;
    t.columns = {"method", "family"};
    t.align = {Align::left, Align::left};
    for (double target : config.targets) {
      t.columns.push_back("time to " + format_exact(target));
      t.columns.push_back("/ fastest");
      t.align.insert(t.align.end(), {Align::right, Align::right});
    }
    for (const auto& a : acc) {
      std::vector<std::string> row{a.method, a.family};
      for (std::size_t k = 0; k < config.targets.size(); ++k) {
        row.push_back(time_cell(a.seconds[k], a.at_cheapest[k]));
        row.push_back(ratio_cell(a.ratio[k]));
      }
      t.add_row(std::move(row));
    }
    md += t.to_markdown() + "\n";
    md += "### Plots\n\n";
    for (const auto* p : {&plots[id].first, &plots[id].second}) {
      if (p->written)
        md += "![" + p->png.stem().string() + "](" + p->png.filename().string() + ")\n\n";
      else
        md += "Plot skipped: " + p->message + " (data `" + p->data.filename().string() + "`, script `" +
              p->script.filename().string() + "`).\n\n";
    }
    md += "VIE methods solid, ODE integrators dashed; runs that did not reach every output time are left out.\n\n";
    md += "### Runs\n\n" + runs_table(runs).to_markdown() + "\n";

    nlohmann::json jacc = nlohmann::json::array();
    for (const auto& a : acc)
      for (std::size_t k = 0; k < config.targets.size(); ++k)
        jacc.push_back({{"method", a.method},
                        {"family", a.family},
                        {"target", config.targets[k]},
                        {"seconds", json_number(a.seconds[k])},
                        {"reached", std::isfinite(a.seconds[k])},
                        {"at_cheapest_setting", a.at_cheapest[k]},
                        {"ratio_to_fastest", json_number(a.ratio[k])}});
    nlohmann::json jratio = nlohmann::json::array();
    for (const auto& v : ratios[id])
      jratio.push_back({{"method", v.method},
                        {"family", v.family},
                        {"seconds", json_number(v.seconds)},
                        {"reached", std::isfinite(v.seconds)},
                        {"ratio_to_best_vie", json_number(v.ratio)}});
    nlohmann::json jruns = nlohmann::json::array();
    for (const auto& r : runs) jruns.push_back(run_json(r));
    jproblems.push_back({{"id", id},
                         {"description", problem_description(id)},
                         {"ode_reduction", form.reduction},
                         {"stiff", form.stiff},
                         {"T", out_times_of[id].back()},
                         {"output_times", out_times_of[id]},
                         {"runs", jruns},
                         {"time_to_accuracy", jacc},
                         {"ratio_target", config.ratio_target},
                         {"best_vie_method", best_vie[id].empty() ? nlohmann::json() : nlohmann::json(best_vie[id])},
                         {"time_to_ratio_target", jratio}});
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  md += fmt::format("Files: `results.json`, `results.csv` (every run), `config.json`. {} runs in {}.\n", all.size(),
                    format_seconds(seconds));

  folder.write_json("results.json", {{"bench", "volterra"},
                                     {"error_rule", fmt::format("max over {} output points t_k = k T / {} of |y - y_exact|",
                                                                config.output_points, config.output_points - 1)},
                                     {"atol_rule", "atol = " + format_exact(config.atol_factor) + " * rtol"},
                                     {"evaluations_rule", "kernel evaluations (VIE), rhs evaluations (ODE)"},
                                     {"ode_baselines", ode},
                                     {"problems", jproblems},
                                     {"seconds", seconds}});
  folder.write_json("config.json", {{"bench", "volterra"},
                                    {"started_utc", started},
                                    {"problems", config.problems},
                                    {"vie_methods", config.vie_methods},
                                    {"trapezoid_lag_sums", trapezoid_lag_sums()},
                                    {"steps", {{"min_power", config.min_power}, {"max_power", config.max_power}}},
                                    {"ode_methods", ode ? nlohmann::json(config.ode_methods) : nlohmann::json::array()},
                                    {"rtols", config.rtols},
                                    {"atol_factor", config.atol_factor},
                                    {"output_points", config.output_points},
                                    {"repetitions", config.repetitions},
                                    {"repeat_below_seconds", config.repeat_below_seconds},
                                    {"targets", config.targets},
                                    {"ratio_target", config.ratio_target},
                                    {"versions", build_info_json()}});
  folder.write_text("report.md", md);

  ExperimentOutcome outcome;
  outcome.files = folder.written();
  outcome.notes = notes;
  outcome.summary = fmt::format("{} runs on {} in {}", all.size(), fmt::join(config.problems, ", "),
                                format_seconds(seconds));
  for (const auto& id : config.problems)
    if (!best_vie[id].empty())
      for (const auto& v : ratios[id])
        if (v.method == best_vie[id])
          outcome.summary += fmt::format("; {}: {} reaches {} in {}", id, v.method, format_exact(config.ratio_target),
                                         format_seconds(v.seconds));
  if (!ode) outcome.summary += " (no ODE baselines in this build)";
  return outcome;
}

Experiment volterra_bench_experiment(VolterraBenchConfig config) {
  config.validate();
  Experiment e;
  e.name = "volterra-bench";
  e.description = fmt::format(
      "Work-precision bench, quick sweeps: trapezoid and block_simpson (N = 2^{} .. 2^{}) against CVODE, ARKODE and "
      "Odeint (rtol {} .. {}) on {}; the full sweeps are `iterop bench volterra`.",
      config.min_power, config.max_power, config.rtols.empty() ? "-" : format_exact(config.rtols.front()),
      config.rtols.empty() ? "-" : format_exact(config.rtols.back()), fmt::join(config.problems, " and "));
  e.run = [config = std::move(config)](const ExperimentContext& context) { return run_volterra_bench(config, context); };
  return e;
}

}  // namespace iterop::experiments
