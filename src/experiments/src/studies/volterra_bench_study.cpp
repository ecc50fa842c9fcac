// The Volterra work-precision bench as a study: one record per run (VIE sweeps over N, ODE sweeps over rtol
// on L3 and N3, errors on the common 65-point grid, best-of-3 wall times); time to accuracy and ratios derived.
#include "iterop/experiments/studies/volterra_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/runner/run_time.hpp"
#include "iterop/experiments/runner/study.hpp"
#include "iterop/experiments/problems/volterra_convergence.hpp"
#include "iterop/quadrature/block_by_block.hpp"
#include "iterop/quadrature/exponential_trapezoid.hpp"
#include "iterop/quadrature/mittag_leffler.hpp"
#include "iterop/quadrature/ode_forms.hpp"
#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/quadrature/singular_convolution.hpp"
#include "iterop/quadrature/trapezoid.hpp"

#if defined(ITEROP_HAVE_ODE_BASELINES)
#include "iterop/baselines/ode_solvers.hpp"
#endif

namespace iterop::experiments {

namespace {

namespace q = quadrature;
constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

std::string problem_description(const std::string& id) {
  if (id == "L3") return "y = 1 - 10 int_0^t exp(-1000 (t - s)) y(s) ds on [0, 1] (stiff: lambda = 10, mu = 1000)";
  if (id == "N3") return "y = exp(-2t) + int_0^t exp(-(t - s)) y(s)^2 ds on [0, 2]; y = exp(-t)";
  if (id == "L2") return "y = 1 - int_0^t (t - s) y(s) ds on [0, 2 pi]; y = cos t";
  if (id == "N1") return "y = sin t + (sin^2 t - t^2)/4 + int_0^t (t - s) y(s)^2 ds on [0, 1]; y = sin t";
  if (id == "N4") return "y = 1 + int_0^t y(s)^2 ds on [0, 0.9]; y = 1/(1 - t)";
  if (id == "S1") return "the 2 x 2 system S1 on [0, 1]; (u, v) = (e^t, e^-t)";
  return id;
}

/// Runs `solve` (timed here) until the config's repetition rule is met: its result, the best wall time and
/// the number of runs.
template <class F>
auto best_time(const VolterraBenchConfig& c, F&& solve) {
  struct {
    decltype(solve()) result;
    double seconds = 0;
    int repetitions = 1;
  } out;
  auto once = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    out.result = solve();
    return seconds_since(t0);
  };
  out.seconds = once();
  if (out.seconds < c.repeat_below_seconds)
    for (; out.repetitions < c.repetitions; ++out.repetitions) out.seconds = std::min(out.seconds, once());
  return out;
}

/// The record of one fixed-step run (a VIE method or a fractional history) of N steps.
Record step_run_record(const std::string& problem, const std::string& family, const std::string& method, int N,
                       const q::VolterraResult& result, double max_error, int points, double seconds, int repetitions) {
  return {{"problem", problem}, {"family", family}, {"method", method}, {"steps", N},
          {"setting", "N = " + std::to_string(N)}, {"status", std::string(to_string(result.status))},
          {"message", result.message}, {"max_error", record_number(result.converged() ? max_error : nan_value)},
          {"points", points}, {"seconds", seconds}, {"repetitions", repetitions},
          {"evaluations", result.kernel_evaluations}, {"solver_steps", N}};
}

Record run_vie(const VolterraBenchConfig& c, const std::string& id, const std::string& method_name, int N,
               const std::vector<double>& out_times) {
  const q::SecondKindProblem p = q::reference::second_kind(id);
  const bool exponential = method_name == "exponential_trapezoid";  // product integration against the SOE kernel
  const bool soe = method_name.ends_with("+soe");  // the rule with the sum-of-exponentials history
  const VolterraMethod method = exponential ? VolterraMethod::trapezoid
                                            : parse_volterra_method(soe ? method_name.substr(0, method_name.size() - 4)
                                                                        : method_name);
  const q::Grid grid = volterra_grid(p.T, N, 1);
  const auto [result, seconds, repetitions] = best_time(c, [&] {
    // The O(N) history with modified Newton (Jacobian factors reused across steps, no allocation per step).
    const q::StepSolver newton{.kind = q::StepSolver::Kind::newton};
    if (exponential) return q::solve_volterra(p, grid, q::ExponentialTrapezoid{.step = newton});
    const q::LagSumMethod soe_sums = q::LagSumMethod::soe;
    if (soe && method == VolterraMethod::trapezoid)
      return q::solve_volterra(p, grid, q::Trapezoid{.step = newton, .lag_sums = {.method = soe_sums}});
    if (soe) return q::solve_volterra(p, grid, q::BlockBySimpson{.step = newton, .lag_sums = {.method = soe_sums}});
    return solve_with(p, grid, method);
  });
  // The output points that are nodes: every (N / (M - 1))-th node when M - 1 divides N, else every
  // node when N divides M - 1 (then all N + 1 nodes are output points).
  const int M1 = static_cast<int>(out_times.size()) - 1;
  const int stride = N % M1 == 0 ? N / M1 : 1;
  const int d = p.dimension;
  std::vector<double> e(static_cast<std::size_t>(d));
  double err = 0;
  int points = 0;
  for (int j = 0; j <= N; j += stride) {
    if (j >= result.nodes()) {
      err = nan_value;
      break;
    }
    p.exact(result.t[static_cast<std::size_t>(j)], e);
    for (int k = 0; k < d; ++k) err = std::max(err, std::abs(result.value(j, k) - e[static_cast<std::size_t>(k)]));
    ++points;
  }
  return step_run_record(id, "vie", method_name, N, result, err, points, seconds, repetitions);
}

/// "FR0.3" for alpha = 0.3: the fractional relaxation problem's id in the records.
std::string fractional_id(double alpha) { return fmt::format("FR{}", alpha); }

/// Fractional relaxation with alpha, method "<uniform|graded>/<direct|fft|soe>", N steps: max error over
/// every node against E_alpha(-t^alpha).
Record run_fractional(const VolterraBenchConfig& c, double alpha, const std::string& method, int N) {
  const q::SingularConvolutionProblem p{
      .id = fractional_id(alpha), .T = 1, .singular_exponent = 1 - alpha, .factor = -1 / std::tgamma(alpha),
      .forcing = [](double) { return 1.0; }, .nonlinearity = [](double y) { return y; },
      .exact = [alpha](double t) { return q::mittag_leffler_neg(alpha, std::pow(t, alpha)); }};
  const bool graded = method.starts_with("graded/");
  const std::string history = method.substr(method.find('/') + 1);
  const q::SingularConvolutionOptions options{
      .history = history == "fft" ? q::SingularHistory::fft
                                  : history == "soe" ? q::SingularHistory::soe : q::SingularHistory::direct};
  const q::Grid grid = graded ? q::Grid::graded(1, N, 2 / alpha) : q::Grid::uniform(1, N);
  const auto [result, seconds, repetitions] =
      best_time(c, [&] { return q::solve_singular_convolution(p, grid, options); });
  return step_run_record(p.id, "fractional", method, N, result, result.max_error, result.nodes(), seconds, repetitions);
}

#if defined(ITEROP_HAVE_ODE_BASELINES)
Record run_ode(const VolterraBenchConfig& c, const std::string& id, const std::string& method_name, double rtol,
               const std::vector<double>& out_times) {
  const q::OdeForm form = q::ode_form(id);
  const baselines::OdeProblem problem{
      .dimension = form.dimension, .rhs = form.rhs, .jacobian = form.jacobian, .z0 = form.z0, .t0 = form.t0};
  const baselines::OdeOptions options{
      .method = baselines::parse_ode_method(method_name), .rtol = rtol, .atol = c.atol_factor * rtol};
  const auto [sol, seconds, repetitions] =
      best_time(c, [&] { return baselines::solve_ode(problem, out_times, options); });
  std::vector<double> y(static_cast<std::size_t>(form.vie_dimension)), e(y.size());
  double err = 0;
  int points = 0;
  for (std::size_t i = 0; i < sol.times.size(); ++i) {
    form.to_vie(sol.times[i], sol.state(i), y);
    form.exact(sol.times[i], e);
    for (std::size_t k = 0; k < y.size(); ++k) err = std::max(err, std::abs(y[k] - e[k]));
    ++points;
  }
  return {{"problem", id}, {"family", "ode"}, {"method", method_name}, {"rtol", options.rtol}, {"atol", options.atol},
          {"setting", "rtol = " + format_exact(options.rtol)}, {"status", std::string(to_string(sol.status))},
          {"message", sol.message},
          {"max_error", record_number(sol.usable() && sol.times.size() == out_times.size() ? err : nan_value)},
          {"points", points}, {"seconds", seconds}, {"repetitions", repetitions}, {"evaluations", sol.rhs_evaluations},
          {"solver_steps", sol.steps}};
}
#endif

bool usable(const Record& r) {
  return text_of(r, "status") == "converged" && std::isfinite(number_of(r, "max_error"));
}

std::vector<WorkPoint> curve_of(const Records& runs) {
  std::vector<WorkPoint> c;
  for (const auto& r : runs) c.push_back({number_of(r, "seconds"), number_of(r, "max_error"), usable(r)});
  return c;
}

std::string time_cell(double seconds, bool at_cheapest) {
  if (!std::isfinite(seconds)) return "not reached";
  return (at_cheapest ? "<= " : "") + format_seconds(seconds);
}

/// One record per (method, target): the time to reach the target along the method's sweep, and its
/// ratio to the fastest method there ("to_fastest") or to the best VIE method ("to_best_vie", set later).
Records time_to_targets(const std::string& id, const Records& runs, const std::vector<double>& targets) {
  Records out;
  for (const auto& [method, curve] : runs.group_by({"method"}))
    for (double target : targets) {
      bool cheapest = false;
      const double t = time_to_accuracy(curve_of(curve), target, &cheapest);
      out.push_back({{"problem", id}, {"method", method}, {"family", curve[0]["family"]}, {"target", target},
                     {"seconds", record_number(t)}, {"reached", std::isfinite(t)}, {"at_cheapest_setting", cheapest}});
    }
  return out;
}

/// `times` with "ratio_to_fastest" (over every method at the same target) added.
Records with_ratio_to_fastest(const Records& times) {
  Records out;
  for (const auto& [target, group] : times.group_by({"target"})) {
    double fastest = INFINITY;
    for (const auto& r : group)
      if (r.value("reached", false)) fastest = std::min(fastest, number_of(r, "seconds"));
    for (Record r : group) {
      r["ratio_to_fastest"] = record_number(number_of(r, "seconds") / fastest);
      out.push_back(std::move(r));
    }
  }
  return out;
}

Figure work_figure(const std::string& id, const Records& runs, bool by_time) {
  Panel panel{.title = id + ": max error on the 65 output points against " +
                        (by_time ? std::string("wall time (log-log)") : std::string("evaluations (log-log)")),
              .x_label = by_time ? "wall time / s" : "evaluations (kernel for VIE, rhs for ODE)",
              .y_label = "max error",
              .log_x = true};
  std::size_t at = 0;
  for (const auto& [method, curve] : runs.group_by({"method"})) {
    Series s{.label = method, .color = palette_colour(at++), .dash_type = text_of(curve[0], "family") == "vie" ? 1 : 2};
    for (const auto& r : curve) {
      const double x = number_of(r, by_time ? "seconds" : "evaluations");
      if (!usable(r) || !(x > 0)) continue;
      s.x.push_back(x);
      s.y.push_back(number_of(r, "max_error"));
    }
    panel.series.push_back(std::move(s));
  }
  return Figure{.panels = {std::move(panel)}, .width = 1300, .height = 850};
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
  for (const auto& m : soe_methods)
    require(m == "trapezoid" || m == "block_simpson" || m == "exponential_trapezoid", "VolterraBenchConfig::soe_methods",
            m, "trapezoid, block_simpson or exponential_trapezoid");
  for (double r : rtols) require(r > 0 && r < 1, "VolterraBenchConfig::rtols", r, "0 < rtol < 1");
  require(atol_factor > 0, "VolterraBenchConfig::atol_factor", atol_factor, "atol_factor > 0");
  require(output_points >= 2, "VolterraBenchConfig::output_points", output_points, "output_points >= 2");
  require(repetitions >= 1, "VolterraBenchConfig::repetitions", repetitions, "repetitions >= 1");
  for (double t : targets) require(t > 0, "VolterraBenchConfig::targets", t, "targets > 0");
  for (double a : fractional_alphas)
    require(a > 0 && a < 1, "VolterraBenchConfig::fractional_alphas", a, "0 < alpha < 1");
  require(fractional_min_power >= 2 && fractional_min_power <= fractional_uniform_max_power &&
              fractional_min_power <= fractional_graded_max_power && fractional_uniform_max_power <= 18 &&
              fractional_graded_max_power <= 14,
          "VolterraBenchConfig::fractional_min_power", fractional_min_power,
          "2 <= fractional_min_power <= fractional_uniform_max_power <= 18 and <= fractional_graded_max_power <= 14");
  require(fractional_target > 0, "VolterraBenchConfig::fractional_target", fractional_target, "fractional_target > 0");
  require(ratio_target > 0, "VolterraBenchConfig::ratio_target", ratio_target, "ratio_target > 0");
  const int m1 = output_points - 1;
  for (int p = min_power; p <= max_power; ++p) {
    const int n = 1 << p;
    require(n % m1 == 0 || m1 % n == 0, "VolterraBenchConfig::output_points", output_points,
            "output_points - 1 divides every N or is divided by it (so the output points are grid nodes)");
  }
}

VolterraBenchConfig quick_volterra_bench_config() {
  return {.min_power = 6, .max_power = 10, .soe_methods = {}, .rtols = {1e-3, 1e-4, 1e-5, 1e-6}, .repetitions = 1,
          .fractional_alphas = {}};
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

Study volterra_bench_study(const VolterraBenchConfig& config) {
  config.validate();
  const bool ode = volterra_bench_has_ode_baselines();
  Study s;
  s.name = "volterra-bench";
  s.title = "Bench volterra: work and precision of VIE methods against ODE integrators";
  s.cache = false;  // a timing bench: every run is timed again
  if (!ode) s.notes.push_back("ODE integrators skipped: this build of iterop has no ODE baselines (SUNDIALS).");
  s.description = fmt::format(
      "Each problem is solved by iterop's fixed-step Volterra methods ({}) with N = 2^{} .. 2^{} uniform steps, and "
      "its ODE form (iterop::quadrature::ode_form) by adaptive integrators ({}) with rtol = {} and atol = {} rtol "
      "for every component. The error is the max over t_k = k T / {}, k = 0 .. {} ({} points) of |y - y_exact| on "
      "the VIE's solution y: VIE values at those nodes (for N >= {} they are nodes; for N < {} the N + 1 nodes, all "
      "of them output points, are compared: the \"points\" column), ODE values by the integrator's dense output "
      "mapped back to y. Wall time is the best of {} runs for runs shorter than {} s, else one run. Evaluations: "
      "kernel evaluations for the VIE methods (the trapezoidal rule on these convolution kernels evaluates "
      "a(t - s) N + 1 times and G(y) once per node and implicit iteration, and sums the history as lag sums, "
      "here by the {} method, whose arithmetic is not counted as evaluations; block_simpson evaluates "
      "K(t, s, y) directly, O(N^2) times), right-hand-side evaluations for the ODE integrators (difference-quotient "
      "Jacobians included). Methods \"<rule>+soe\" carry the history of the exponential kernel as a few "
      "ODE-like states (LagSumMethod::soe: O(1) work per step, O(N) in all) and solve each step by modified Newton "
      "(the finite-difference Jacobian's factors reused across steps); \"exponential_trapezoid\" carries the same states but "
      "integrates each exponential exactly against G(y) interpolated linearly on the step (product integration: "
      "quadrature/exponential_trapezoid.hpp), so the kernel's rate does not limit the step. Time to accuracy is interpolated linearly in (log error, log time) between the two sweep "
      "points around the target; \"<=\" marks a target already met by the cheapest setting.",
      fmt::join(config.vie_methods, ", "), config.min_power, config.max_power,
      ode ? fmt::format("{}", fmt::join(config.ode_methods, ", ")) : std::string("none in this build"),
      config.rtols.empty() ? std::string("-")
                           : format_exact(config.rtols.front()) + " .. " + format_exact(config.rtols.back()),
      format_exact(config.atol_factor), config.output_points - 1, config.output_points - 1, config.output_points,
      config.output_points - 1, config.output_points - 1, config.repetitions, format_exact(config.repeat_below_seconds),
      trapezoid_lag_sums());
  s.config = {{"problems", config.problems},
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
              {"ratio_target", config.ratio_target}};
  s.results_header = {{"bench", "volterra"},
                      {"error_rule", fmt::format("max over {} output points t_k = k T / {} of |y - y_exact|",
                                                 config.output_points, config.output_points - 1)},
                      {"atol_rule", "atol = " + format_exact(config.atol_factor) + " * rtol"},
                      {"evaluations_rule", "kernel evaluations (VIE), rhs evaluations (ODE)"},
                      {"ode_baselines", ode}};
  // One cell per run: (problem, VIE method, N) and (problem, ODE method, rtol).
  struct Run {
    std::string problem, method;
    int steps = 0;
    double rtol = 0;
    double alpha = 0;  ///< > 0: a fractional relaxation run
  };
  std::vector<Run> runs;
  for (const auto& id : config.problems) {
    for (const auto& m : config.vie_methods)
      for (int p = config.min_power; p <= config.max_power; ++p) runs.push_back({id, m, 1 << p, 0});
    if (q::reference::second_kind(id).convolution.soe.size() > 0)
      for (const auto& m : config.soe_methods)
        for (int p = config.min_power; p <= config.max_power; ++p)
          runs.push_back({id, m == "exponential_trapezoid" ? m : m + "+soe", 1 << p, 0});
    if (ode)
      for (const auto& m : config.ode_methods)
        for (double rtol : config.rtols) runs.push_back({id, m, 0, rtol});
  }
  for (double alpha : config.fractional_alphas) {
    for (const char* h : {"direct", "fft", "soe"})
      for (int p = config.fractional_min_power; p <= config.fractional_uniform_max_power; ++p)
        if (std::string(h) != "direct" || p <= 12)  // the O(N^2) sum stops at N = 4096
          runs.push_back({fractional_id(alpha), std::string("uniform/") + h, 1 << p, 0, alpha});
    for (const char* h : {"direct", "soe"})
      for (int p = config.fractional_min_power; p <= config.fractional_graded_max_power; ++p)
        runs.push_back({fractional_id(alpha), std::string("graded/") + h, 1 << p, 0, alpha});
  }
  for (const auto& r : runs)
    s.cells.push_back({{{"problem", r.problem}, {"method", r.method}, {"steps", r.steps}, {"rtol", r.rtol}},
                       fmt::format("{} {:<18} {:<14}", r.problem, r.method,
                                   r.steps > 0 ? "N = " + std::to_string(r.steps) : "rtol = " + format_exact(r.rtol))});
  auto output_times = [config](const std::string& id) {
    const double T = q::reference::second_kind(id).T;
    std::vector<double> out(static_cast<std::size_t>(config.output_points));
    for (int k = 0; k < config.output_points; ++k)
      out[static_cast<std::size_t>(k)] = k == config.output_points - 1 ? T : T * k / (config.output_points - 1);
    return out;
  };
  s.compute = [config, runs, output_times](std::size_t i) {
    const Run& r = runs[i];
    if (r.alpha > 0) return run_fractional(config, r.alpha, r.method, r.steps);
#if defined(ITEROP_HAVE_ODE_BASELINES)
    if (r.steps == 0) return run_ode(config, r.problem, r.method, r.rtol, output_times(r.problem));
#endif
    return run_vie(config, r.problem, r.method, r.steps, output_times(r.problem));
  };
  s.progress = [](const Record& r) {
    return fmt::format(" {:<14} max error {}, {} (best of {}), {} evaluations", text_of(r, "status"),
                       format_scientific(number_of(r, "max_error")), format_seconds(number_of(r, "seconds")),
                       text_of(r, "repetitions"), text_of(r, "evaluations"));
  };
  s.report = [config](const Records& records, StudyReport& report) {
    Records derived;
    std::string md, summary;
    Table ratio_table{.columns = {"method"}, .align = {Align::left}};
    const Records ode_and_vie = records.where([](const Record& r) { return text_of(r, "family") != "fractional"; });
    for (const auto& [method, rs] : ode_and_vie.group_by({"method"})) ratio_table.add_row({method});
    for (const auto& id : config.problems) {
      const Records problem_runs = records.where("problem", id);
      const Records times = with_ratio_to_fastest(time_to_targets(id, problem_runs, config.targets));
      // The ratio of each method's time to the ratio target against iterop's best VIE method there.
      Records at_ratio = time_to_targets(id, problem_runs, {config.ratio_target});
      std::string best_vie;
      double best = INFINITY;
      for (const auto& r : at_ratio)
        if (text_of(r, "family") == "vie" && r.value("reached", false) && number_of(r, "seconds") < best) {
          best = number_of(r, "seconds");
          best_vie = text_of(r, "method");
        }
      ratio_table.columns.insert(ratio_table.columns.end(),
                                 {id + " time", id + " / best VIE" + (best_vie.empty() ? "" : " (" + best_vie + ")")});
      ratio_table.align.insert(ratio_table.align.end(), {Align::right, Align::right});
      for (auto& row : ratio_table.rows) {
        const Record* r = at_ratio.find({{"method", row[0]}});
        const double ratio = r ? number_of(*r, "seconds") / best : NAN;
        row.push_back(r ? time_cell(number_of(*r, "seconds"), r->value("at_cheapest_setting", false)) : "");
        row.push_back(r ? format_significant(ratio) : "");
        if (r) {
          Record d = *r;
          d["kind"] = "time_to_ratio_target";
          d["ratio_to_best_vie"] = record_number(ratio);
          d["best_vie_method"] = best_vie.empty() ? Record() : Record(best_vie);
          derived.push_back(std::move(d));
          if (text_of(*r, "method") == best_vie)
            summary += fmt::format("; {}: {} reaches {} in {}", id, best_vie, format_exact(config.ratio_target),
                                   format_seconds(number_of(*r, "seconds")));
        }
      }
      for (Record r : times) {
        r["kind"] = "time_to_accuracy";
        derived.push_back(std::move(r));
      }
      const q::OdeForm form = q::ode_form(id);
      md += "## " + id + "\n\n" + problem_description(id) + ".\n\nODE form: " + form.reduction +
            (form.stiff ? " (stiff)" : "") + ".\n\n### Time to accuracy\n\n";
      Table t{.columns = {"method", "family"}, .align = {Align::left, Align::left}};
      for (double target : config.targets) {
        t.columns.insert(t.columns.end(), {"time to " + format_exact(target), "/ fastest"});
        t.align.insert(t.align.end(), {Align::right, Align::right});
      }
      for (const auto& [method, rows] : times.group_by({"method"})) {
        std::vector<std::string> row{method, text_of(rows[0], "family")};
        for (const auto& r : rows) {
          row.push_back(time_cell(number_of(r, "seconds"), r.value("at_cheapest_setting", false)));
          row.push_back(format_significant(number_of(r, "ratio_to_fastest")));
        }
        t.add_row(std::move(row));
      }
      md += t.to_markdown() + "\n### Plots\n\n";
      md += report.plot(id + "-error-vs-time", work_figure(id, problem_runs, true), id + "-error-vs-time");
      md += report.plot(id + "-error-vs-evaluations", work_figure(id, problem_runs, false), id + "-error-vs-evaluations");
      md += "VIE methods solid, ODE integrators dashed; runs that did not reach every output time are left out.\n\n";
      md += "### Runs\n\n" +
            problem_runs.table({Column::text("family", "family"), Column::text("method", "method"),
                        Column::text("setting", "setting"), Column::text("status", "status"),
                        Column::number("max error (65 points)", "max_error", [](double v) { return format_scientific(v); }),
                        Column::text("points", "points"), Column::number("wall time", "seconds", format_seconds),
                        Column::text("runs timed", "repetitions"), Column::text("evaluations", "evaluations"),
                        Column::text("steps", "solver_steps")})
                .to_markdown() +
            "\n";
    }
    // Fractional relaxation: time to the fractional target per history and mesh, work-precision plots.
    std::string fractional_md;
    for (double alpha : config.fractional_alphas) {
      const std::string id = fractional_id(alpha);
      const Records fr = records.where("problem", id);
      Table t{.columns = {"mesh/history", "time to " + format_exact(config.fractional_target), "N there", "finest N",
                          "max error at finest N"},
              .align = {Align::left, Align::right, Align::right, Align::right, Align::right}};
      for (const auto& [method, curve] : fr.group_by({"method"})) {
        bool cheapest = false;
        const double time = time_to_accuracy(curve_of(curve), config.fractional_target, &cheapest);
        std::string n_there = "-";
        for (const auto& r : curve)
          if (usable(r) && number_of(r, "max_error") <= config.fractional_target) {
            n_there = text_of(r, "steps");
            break;
          }
        t.add_row({method, time_cell(time, cheapest), n_there, text_of(curve[curve.size() - 1], "steps"),
                   format_scientific(number_of(curve[curve.size() - 1], "max_error"))});
        derived.push_back({{"kind", "fractional_time_to_accuracy"}, {"problem", id}, {"alpha", alpha}, {"method", method},
                           {"target", config.fractional_target}, {"seconds", record_number(time)},
                           {"reached", std::isfinite(time)}, {"at_cheapest_setting", cheapest}});
      }
      fractional_md += fmt::format("### alpha = {}\n\n", alpha) + t.to_markdown() + "\n" +
                       report.plot(id + "-error-vs-time", work_figure(id, fr, true), id + "-error-vs-time") +
                       "\n### Runs\n\n" +
                       fr.table({Column::text("method", "method"), Column::text("setting", "setting"),
                                 Column::text("status", "status"),
                                 Column::number("max error (all nodes)", "max_error",
                                                [](double v) { return format_scientific(v); }),
                                 Column::number("wall time", "seconds", format_seconds),
                                 Column::text("evaluations", "evaluations")})
                           .to_markdown() +
                       "\n";
    }
    if (!fractional_md.empty())
      md += "## Fractional relaxation: FFT lag sums against SOE history against direct sum\n\n"
            "y = 1 - 1 / Gamma(alpha) int_0^t (t - s)^(alpha - 1) y(s) ds on [0, 1], y = E_alpha(-t^alpha) "
            "(mittag_leffler_neg: series for x <= 1, integral representation beyond). Product trapezoid; max error "
            "over every node against the Mittag-Leffler reference. y - 1 ~ t^alpha is not smooth at 0: on uniform "
            "grids the error falls like h^(1 + alpha) at best and sits at the first nodes; graded grids "
            "t_j = (j / N)^(2 / alpha) restore order 2 (FFT lag sums need equal steps: uniform only; the SOE "
            "history takes variable steps). Time to accuracy interpolated as above.\n\n" +
            fractional_md;
    return ReportText{
        .markdown = "## Time to max error " + format_exact(config.ratio_target) +
                    ", relative to iterop's best VIE method\n\n" + ratio_table.to_markdown() +
                    "\nA ratio below 1 means the method reaches the accuracy faster than iterop's best VIE method on "
                    "that problem; n/a where either does not reach it.\n\n" + md,
        .summary = fmt::format("{} runs on {}{}", records.size(), fmt::join(config.problems, ", "), summary) +
                   (volterra_bench_has_ode_baselines() ? "" : " (no ODE baselines in this build)"),
        .derived = std::move(derived)};
  };
  return s;
}

ExperimentOutcome run_volterra_bench(const VolterraBenchConfig& config, const ExperimentContext& context) {
  return run_study(volterra_bench_study(config), context);
}

Experiment volterra_bench_experiment(VolterraBenchConfig config) {
  config.validate();
  return study_experiment(
      "volterra-bench",
      fmt::format("Work-precision bench, quick sweeps: trapezoid and block_simpson (N = 2^{} .. 2^{}) against CVODE, "
                  "ARKODE and Odeint (rtol {} .. {}) on {}; the full sweeps are `iterop bench volterra`.",
                  config.min_power, config.max_power, config.rtols.empty() ? "-" : format_exact(config.rtols.front()),
                  config.rtols.empty() ? "-" : format_exact(config.rtols.back()), fmt::join(config.problems, " and ")),
      true, [config](const ExperimentContext&) { return volterra_bench_study(config); });
}

}  // namespace iterop::experiments
