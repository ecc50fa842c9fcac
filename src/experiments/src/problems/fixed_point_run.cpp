// One solve of a catalogue problem: method validation in command-line terms, dispatch to iterop,
// KINSOL or Ceres, the true residual measured afterwards, and the JSON / table views of the result.
#include "iterop/experiments/problems/fixed_point_run.hpp"

#include "iterop/core/enum_names.hpp"

#include <chrono>
#include <limits>
#include <type_traits>
#include <utility>

#include "iterop/core/errors.hpp"
#include "iterop/core/vector_ops.hpp"
#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/anderson_type1.hpp"
#include "iterop/fixed_point/krasnoselskii_mann.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/experiments/runner/report_writer.hpp"
#include "iterop/experiments/runner/run_time.hpp"

#if defined(ITEROP_HAVE_KINSOL)
#include "iterop/baselines/kinsol.hpp"
#endif
#if defined(ITEROP_HAVE_CERES)
#include "iterop/baselines/ceres_least_squares.hpp"
#endif

namespace iterop::experiments {

namespace {

const std::vector<std::string> method_names = {"picard", "km", "anderson", "anderson-type1", "lm"};

/// Throws unless `given` is false: the option is not taken by this method/solver.
template <class V>
void only_for(bool given, const std::string& option, const V& value, const std::string& takers,
              const std::string& actual) {
  require(!given, option, value, option + " is taken only by " + takers + " (here: " + actual + ")");
}

std::string kinsol_test_name(KinsolTest t) { return t == KinsolTest::kinsol ? "kinsol" : "iterop"; }

/// An option kept in a std::optional member of MethodSpec just as it is given.
template <class T>
MethodOption plain_option(const char* key, const char* flag, const char* label, std::optional<T> MethodSpec::*member) {
  return {key, flag, label, std::is_same_v<T, double> ? MethodOption::number : MethodOption::text,
          [member](MethodSpec& m, const MethodOptionValue& v) { m.*member = std::get<T>(v); },
          [member](const MethodSpec& m) {
            return m.*member ? std::optional<MethodOptionValue>(*(m.*member)) : std::nullopt;
          }};
}

/// The options in effect for `m`, with the backend's defaults filled in.
nlohmann::json effective_options(const MethodSpec& m) {
  nlohmann::json o = nlohmann::json::object();
  const std::string name = m.method_name();
  if (name == "km") {
    o["relaxation"] = m.relaxation.value_or(KrasnoselskiiMann{}.relaxation);
  } else if (name == "anderson") {
    const bool iterop = m.solver == Backend::iterop;  // else KINSOL's defaults: m = 5, relaxation 1, mgs
    o["memory"] = m.memory.value_or(iterop ? Anderson{}.memory : 5);
    o["relaxation"] = m.relaxation.value_or(iterop ? Anderson{}.relaxation : 1.0);
    o["orth"] = m.orth.value_or(iterop && Anderson{}.orthogonalization == Orthogonalization::cgs2 ? "cgs2" : "mgs");
  } else if (name == "anderson-type1") {
    o["memory"] = m.memory.value_or(AndersonTypeI{}.memory);
    o["relaxation"] = m.relaxation.value_or(AndersonTypeI{}.relaxation);
  }
  if (m.solver == Backend::kinsol) o["kinsol_test"] = kinsol_test_name(m.kinsol_test.value_or(KinsolTest::iterop));
  return o;
}

/// The summary of a solver's result, its solution moved into `solution`.
template <class Result>
SolveSummary keep_solution(Result r, std::vector<double>& solution) {
  solution = std::move(r.solution);
  return static_cast<SolveSummary&&>(r);
}

template <class Method>
SolveSummary solve_with_iterop(const FixedPointProblem& p, const Method& method, const Stop& stop,
                               std::vector<double>& solution) {
  return keep_solution(iterop::solve(p.op, p.x0, method, stop), solution);
}

SolveSummary solve_iterop(const FixedPointProblem& p, const MethodSpec& m, const Stop& stop,
                          std::vector<double>& solution) {
  const std::string name = m.method_name();
  if (name == "picard") return solve_with_iterop(p, Picard{}, stop, solution);
  if (name == "km") {
    KrasnoselskiiMann km;
    if (m.relaxation) km.relaxation = *m.relaxation;
    return solve_with_iterop(p, km, stop, solution);
  }
  if (name == "anderson-type1") {
    AndersonTypeI aa;
    if (m.memory) aa.memory = *m.memory;
    if (m.relaxation) aa.relaxation = *m.relaxation;
    return solve_with_iterop(p, aa, stop, solution);
  }
  Anderson aa;
  if (m.memory) aa.memory = *m.memory;
  if (m.relaxation) aa.relaxation = *m.relaxation;
  if (m.orth) aa.orthogonalization = *m.orth == "mgs" ? Orthogonalization::mgs2 : Orthogonalization::cgs2;
  return solve_with_iterop(p, aa, stop, solution);
}

#if defined(ITEROP_HAVE_KINSOL)
SolveSummary solve_kinsol(const FixedPointProblem& p, const MethodSpec& m, const Stop& stop,
                          std::vector<double>& solution) {
  baselines::KinsolAnderson k;
  const std::string name = m.method_name();
  if (name == "picard") {
    k.memory = 0;
    k.relaxation = 1.0;
  } else if (name == "km") {
    k.memory = 0;
    k.relaxation = m.relaxation.value_or(KrasnoselskiiMann{}.relaxation);
  } else {
    if (m.memory) k.memory = *m.memory;
    if (m.relaxation) k.relaxation = *m.relaxation;
    if (m.orth) k.orthogonalization = baselines::parse_kinsol_orthogonalization(*m.orth);
  }
  k.test = m.kinsol_test.value_or(KinsolTest::iterop) == KinsolTest::kinsol ? baselines::KinsolAnderson::Test::kinsol
                                                                            : baselines::KinsolAnderson::Test::iterop;
  return keep_solution(baselines::kinsol_solve(p.op, p.x0, k, stop), solution);
}
#endif

#if defined(ITEROP_HAVE_CERES)
SolveSummary solve_ceres(const FixedPointProblem& p, const Stop& stop, std::vector<double>& solution) {
  baselines::CeresLevenbergMarquardt lm;
  lm.max_iterations = stop.max_iterations > 0 ? stop.max_iterations : 1;
  return keep_solution(baselines::ceres_solve(p.op, p.x0, lm, stop), solution);
}
#endif

/// One JSON object per history record (NaN as null).
nlohmann::json history_json(const std::vector<IterationRecord>& history) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : history) {
    rows.push_back({{"iteration", r.iteration},
                    {"evaluations", r.evaluations},
                    {"residual", json_number(r.residual)},
                    {"step", json_number(r.step)},
                    {"ratio", json_number(r.ratio)},
                    {"rate", json_number(r.rate)},
                    {"gain", json_number(r.gain)},
                    {"condition", json_number(r.condition)},
                    {"columns", r.columns},
                    {"dropped", r.dropped},
                    {"restarted", r.restarted},
                    {"rejected", r.rejected},
                    {"seconds", json_number(r.seconds)}});
  }
  return rows;
}

constexpr EnumNames<Backend, 3> backend_names{
    {{{Backend::iterop, "iterop"}, {Backend::kinsol, "kinsol"}, {Backend::ceres, "ceres"}}}};

}  // namespace

std::string to_string(Backend backend) { return std::string(backend_names.name(backend)); }

Backend parse_backend(const std::string& name) { return backend_names.parse(name, "--solver"); }

bool backend_available(Backend backend) {
#if defined(ITEROP_HAVE_KINSOL)
  if (backend == Backend::kinsol) return true;
#endif
#if defined(ITEROP_HAVE_CERES)
  if (backend == Backend::ceres) return true;
#endif
  return backend == Backend::iterop;
}

std::string available_backends() {
  std::vector<std::string> names;
  for (Backend b : {Backend::iterop, Backend::kinsol, Backend::ceres})
    if (backend_available(b)) names.push_back(to_string(b));
  return join(names);
}

const std::vector<MethodOption>& method_options() {
  using Value = std::optional<MethodOptionValue>;
  static const std::vector<MethodOption> options = {
      {"solver", "--solver", "", MethodOption::text,
       [](MethodSpec& m, const MethodOptionValue& v) { m.solver = parse_backend(std::get<std::string>(v)); },
       [](const MethodSpec& m) { return Value(to_string(m.solver)); }},
      {"method", "--method", "", MethodOption::text,
       [](MethodSpec& m, const MethodOptionValue& v) { m.method = std::get<std::string>(v); },
       [](const MethodSpec& m) { return Value(m.method_name()); }},
      {"memory", "--memory", "m=", MethodOption::integer,
       [](MethodSpec& m, const MethodOptionValue& v) {
         const long long memory = std::get<long long>(v);  // past int: refused here, the range by validate()
         require(memory >= std::numeric_limits<int>::min() && memory <= std::numeric_limits<int>::max(), "--memory",
                 memory, "0 <= memory <= 1000");
         m.memory = static_cast<int>(memory);
       },
       [](const MethodSpec& m) { return m.memory ? Value(static_cast<long long>(*m.memory)) : std::nullopt; }},
      plain_option("relaxation", "--relaxation", "relaxation=", &MethodSpec::relaxation),
      // Old names: validate() refuses them with the new name.
      plain_option("damping", "--damping", "damping=", &MethodSpec::damping),
      plain_option("alpha", "--alpha", "alpha=", &MethodSpec::alpha),
      plain_option("orth", "--orth", "orth=", &MethodSpec::orth),
      {"kinsol_test", "--kinsol-test", "test=", MethodOption::text,
       [](MethodSpec& m, const MethodOptionValue& v) {
         const std::string& test = std::get<std::string>(v);
         require(test == "iterop" || test == "kinsol", "--kinsol-test", test, "\"iterop\" or \"kinsol\"");
         m.kinsol_test = test == "kinsol" ? KinsolTest::kinsol : KinsolTest::iterop;
       },
       [](const MethodSpec& m) { return m.kinsol_test ? Value(kinsol_test_name(*m.kinsol_test)) : std::nullopt; }},
  };
  return options;
}

std::string method_option_text(const MethodOptionValue& value) {
  if (const auto* i = std::get_if<long long>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return format_exact(*d);
  return std::get<std::string>(value);
}

std::string MethodSpec::method_name() const {
  if (method) return *method;
  return solver == Backend::ceres ? "lm" : "anderson";
}

void MethodSpec::validate() const {
  const std::string name = method_name();
  require(contains(method_names, name), "--method", name, "one of " + join(method_names));
  require(backend_available(solver), "--solver", to_string(solver),
          "a solver built into this iterop (available: " + available_backends() + ")");
  const std::string here = "--method " + name + " with --solver " + to_string(solver);
  if (solver == Backend::ceres)
    require(name == "lm", "--method", name, "--solver ceres solves by Levenberg-Marquardt: --method lm (or no --method)");
  else
    require(name != "lm", "--method", name, "--method lm needs --solver ceres");
  if (solver == Backend::kinsol)
    require(name != "anderson-type1", "--method", name,
            "KINSOL has no Type-I Anderson: --method picard, km or anderson with --solver kinsol");

  const bool anderson = name == "anderson" || name == "anderson-type1";
  if (memory) {
    only_for(!anderson, "--memory", *memory, "--method anderson and anderson-type1", here);
    const int lowest = name == "anderson-type1" ? 1 : 0;
    require(*memory >= lowest, "--memory", *memory, "memory >= " + std::to_string(lowest));
    require(*memory <= 1000, "--memory", *memory, "memory <= 1000");
  }
  // The old names first: each is refused with the name (and the value) to give instead.
  auto renamed = [](const char* option, double value, const std::string& meaning, double instead) {
    require(false, option, value,
            "renamed to relaxation, the weight on T(x)" + meaning + ": give --relaxation " + format_value(instead) +
                " (relaxation = " + format_value(instead) + " in an experiment file)");
  };
  if (alpha) renamed("--alpha", *alpha, " = 1 - alpha", 1.0 - *alpha);
  if (damping) renamed("--damping", *damping, ", the same value", *damping);
  if (relaxation) {
    only_for(name != "km" && !anderson, "--relaxation", *relaxation, "--method km, anderson and anderson-type1",
             here);
    require(*relaxation > 0 && *relaxation <= 1, "--relaxation", *relaxation,
            "0 < relaxation <= 1 (the weight on T(x); 1 is the Picard step)");
  }
  if (orth) {
    only_for(name != "anderson", "--orth", *orth, "--method anderson", here);
    if (solver == Backend::iterop)
      require(*orth == "mgs" || *orth == "cgs2", "--orth", *orth,
              *orth == "icwy" || *orth == "dcgs2"
                  ? "mgs or cgs2 with --solver iterop (icwy and dcgs2 are KINSOL's: add --solver kinsol)"
                  : "mgs or cgs2 with --solver iterop");
    else
      require(*orth == "mgs" || *orth == "icwy" || *orth == "cgs2" || *orth == "dcgs2", "--orth", *orth,
              "one of mgs, icwy, cgs2, dcgs2 with --solver kinsol");
  }
  if (kinsol_test)
    only_for(solver != Backend::kinsol, "--kinsol-test", kinsol_test_name(*kinsol_test), "--solver kinsol", here);
}

Stop toth_kelley_stop(double abs_tol, double rel_tol, int max_iterations) {
  return Stop{.abs_tol = abs_tol, .rel_tol = rel_tol, .norm = Norm::two, .max_iterations = max_iterations};
}

FixedPointRun run_fixed_point(const FixedPointProblem& problem, const MethodSpec& method, const Stop& stop) {
  method.validate();
  stop.validate();
  FixedPointRun run;
  run.solver = method.solver;
  const auto t0 = std::chrono::steady_clock::now();
  switch (method.solver) {
    case Backend::iterop: run.summary = solve_iterop(problem, method, stop, run.solution); break;
    case Backend::kinsol:
#if defined(ITEROP_HAVE_KINSOL)
      run.summary = solve_kinsol(problem, method, stop, run.solution);
#endif
      break;
    case Backend::ceres:
#if defined(ITEROP_HAVE_CERES)
      run.summary = solve_ceres(problem, stop, run.solution);
#endif
      break;
  }
  run.wall_seconds = seconds_since(t0);
  const double r0 = problem.residual_norm(problem.x0);
  run.tolerance = stop.abs_tol + stop.rel_tol * r0;
  if (run.solution.size() == problem.x0.size()) {
    run.true_residual = problem.residual_norm(run.solution);
    if (problem.known.solution && problem.known.solution->size() == run.solution.size())
      run.error = vector_ops<std::vector<double>>::distance2(run.solution, *problem.known.solution);
  }
  return run;
}

Table history_table(const std::vector<IterationRecord>& history) {
  Table t;
  t.columns = {"iteration", "evaluations", "residual", "step",    "ratio",     "rate",     "gain",
               "condition", "columns",     "dropped",  "restarted", "rejected", "seconds"};
  t.align.assign(t.columns.size(), Align::right);
  auto num = [](double v) { return format_scientific(v, 4); };
  for (const auto& r : history) {
    t.add_row({std::to_string(r.iteration), std::to_string(r.evaluations), num(r.residual), num(r.step),
               format_scientific(r.ratio, 3), format_scientific(r.rate, 3), format_scientific(r.gain, 3),
               format_scientific(r.condition, 3), std::to_string(r.columns), std::to_string(r.dropped),
               r.restarted ? "1" : "0", r.rejected ? "1" : "0", format_scientific(r.seconds, 3)});
  }
  return t;
}

nlohmann::json method_spec_json(const MethodSpec& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const MethodOption& o : method_options())
    if (const auto v = o.get(m)) std::visit([&](const auto& value) { j[o.key] = value; }, *v);
  return j;
}

nlohmann::json run_json(const FixedPointProblem& problem, const MethodSpec& method, const Stop& stop,
                        const FixedPointRun& run) {
  nlohmann::json known = nlohmann::json::object();
  if (problem.known.rate) {
    known["rate"] = *problem.known.rate;
    known["rate_is_bound"] = problem.known.rate_is_bound;
  }
  if (problem.known.picard_status) known["picard_status"] = std::string(to_string(*problem.known.picard_status));
  known["exact_solution_known"] = problem.known.solution.has_value();
  if (!problem.known.note.empty()) known["note"] = problem.known.note;

  nlohmann::json counters = nlohmann::json::object();
  for (const auto& [name, value] : run.summary.counters) counters[name] = json_number(value);

  const SolveSummary& s = run.summary;
  return {
      {"problem",
       {{"name", problem.name},
        {"description", problem.description},
        {"parameters", problem.parameters},
        {"known", known}}},
      {"solver", to_string(run.solver)},
      {"method", {{"name", method.method_name()}, {"description", s.method}, {"options", effective_options(method)}}},
      {"stop",
       {{"rule", "||G(x) - x||_2 <= rtol ||G(x0) - x0||_2 + atol"},
        {"atol", stop.abs_tol},
        {"rtol", stop.rel_tol},
        {"max_iterations", stop.max_iterations},
        {"tolerance", json_number(run.tolerance)}}},
      {"status", std::string(to_string(s.status))},
      {"converged", s.converged()},
      {"meets_tolerance", run.meets_tolerance()},
      {"message", s.message},
      {"iterations", s.iterations},
      {"evaluations", s.evaluations},
      {"residual", json_number(run.true_residual)},
      {"reported_residual", json_number(s.residual)},
      {"initial_residual", json_number(s.initial_residual)},
      {"error", json_number(run.error)},
      {"returned_iteration", s.returned_iteration},
      {"seconds", run.wall_seconds},
      {"counters", counters},
      {"history", history_json(s.history)},
  };
}

}  // namespace iterop::experiments
