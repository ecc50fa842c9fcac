// Tests of run_fixed_point and MethodSpec: validation messages in command-line terms, the published
// H-equation counts, statuses of the reference problems, the true residual, and the JSON layout.
#include "iterop/experiments/problems/fixed_point_run.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "iterop/core/errors.hpp"

namespace ie = iterop::experiments;

namespace {

std::string message_of(const ie::MethodSpec& m) {
  try {
    m.validate();
  } catch (const iterop::invalid_option& e) {
    return e.what();
  }
  return "(valid)";
}

ie::MethodSpec spec(std::string method, ie::Backend solver = ie::Backend::iterop) {
  ie::MethodSpec m;
  m.method = std::move(method);
  m.solver = solver;
  return m;
}

const iterop::Stop tk = ie::toth_kelley_stop(1e-8, 1e-8, 1000);

}  // namespace

TEST(MethodSpec, DefaultsPerSolver) {
  ie::MethodSpec m;
  EXPECT_EQ(m.method_name(), "anderson");
  m.solver = ie::Backend::ceres;
  EXPECT_EQ(m.method_name(), "lm");
}

TEST(MethodSpec, ValidationMessagesNameTheOptionValueAndRule) {
  EXPECT_EQ(message_of(spec("bogus")),
            "--method = bogus. Violated constraint: one of picard, km, anderson, anderson-type1, lm.");
  auto m = spec("anderson");
  m.memory = -1;
  EXPECT_EQ(message_of(m), "--memory = -1. Violated constraint: memory >= 0.");
  m = spec("anderson-type1");
  m.memory = 0;
  EXPECT_EQ(message_of(m), "--memory = 0. Violated constraint: memory >= 1.");
  m = spec("picard");
  m.memory = 3;
  EXPECT_EQ(message_of(m),
            "--memory = 3. Violated constraint: --memory is taken only by --method anderson and anderson-type1 "
            "(here: --method picard with --solver iterop).");
  m = spec("km");
  m.relaxation = 0.0;
  EXPECT_EQ(message_of(m), "--relaxation = 0. Violated constraint: 0 < relaxation <= 1 (the weight on T(x); 1 is the "
                           "Picard step).");
  m = spec("anderson");
  m.relaxation = 1.5;
  EXPECT_EQ(message_of(m), "--relaxation = 1.5. Violated constraint: 0 < relaxation <= 1 (the weight on T(x); 1 is "
                           "the Picard step).");
  m = spec("picard");
  m.relaxation = 0.5;
  EXPECT_EQ(message_of(m),
            "--relaxation = 0.5. Violated constraint: --relaxation is taken only by --method km, anderson and "
            "anderson-type1 (here: --method picard with --solver iterop).");
  m = spec("anderson-type1");
  m.relaxation = 0.5;
  EXPECT_EQ(message_of(m), "(valid)");
  // The old names, refused with the new one and its value.
  m = spec("km");
  m.alpha = 0.25;
  EXPECT_EQ(message_of(m), "--alpha = 0.25. Violated constraint: renamed to relaxation, the weight on T(x) = 1 - alpha: "
                           "give --relaxation 0.75 (relaxation = 0.75 in an experiment file).");
  m = spec("anderson");
  m.damping = 0.5;
  EXPECT_EQ(message_of(m), "--damping = 0.5. Violated constraint: renamed to relaxation, the weight on T(x), the same "
                           "value: give --relaxation 0.5 (relaxation = 0.5 in an experiment file).");
  m = spec("anderson");
  m.orth = "dcgs2";
  EXPECT_EQ(message_of(m),
            "--orth = dcgs2. Violated constraint: mgs or cgs2 with --solver iterop (icwy and dcgs2 are KINSOL's: add "
            "--solver kinsol).");
  m = spec("anderson");
  m.orth = "mgs";
  EXPECT_EQ(message_of(m), "(valid)");
  m = spec("anderson");
  m.kinsol_test = ie::KinsolTest::kinsol;
  EXPECT_NE(message_of(m).find("--kinsol-test = kinsol"), std::string::npos);
  EXPECT_EQ(message_of(spec("lm")), "--method = lm. Violated constraint: --method lm needs --solver ceres.");
}

TEST(MethodSpec, BackendNames) {
  EXPECT_EQ(ie::parse_backend("kinsol"), ie::Backend::kinsol);
  EXPECT_EQ(ie::to_string(ie::Backend::ceres), "ceres");
  EXPECT_THROW(ie::parse_backend("petsc"), iterop::invalid_option);
  EXPECT_TRUE(ie::backend_available(ie::Backend::iterop));
#if defined(ITEROP_HAVE_KINSOL)
  EXPECT_TRUE(ie::backend_available(ie::Backend::kinsol));
#else
  EXPECT_FALSE(ie::backend_available(ie::Backend::kinsol));
  EXPECT_NE(message_of(spec("anderson", ie::Backend::kinsol)).find("--solver = kinsol"), std::string::npos);
#endif
}

TEST(MethodSpec, OptionTableSetsAndReadsBackEveryOption) {
  // One table serves the command line, the experiment file and method_spec_json: each option stores its value
  // and reads it back, an unset option reads as nothing (solver and method always have one).
  const std::map<std::string, ie::MethodOptionValue> values = {
      {"solver", std::string("kinsol")}, {"method", std::string("km")}, {"memory", 7LL},
      {"relaxation", 0.25},               {"damping", 0.5},              {"alpha", 0.75},
      {"orth", std::string("cgs2")},      {"kinsol_test", std::string("kinsol")}};
  std::set<std::string> keys, flags;
  for (const auto& o : ie::method_options()) {
    keys.insert(o.key);
    flags.insert(o.flag);
    ASSERT_EQ(values.count(o.key), 1u) << o.key;
    ie::MethodSpec m;
    const bool always = o.key == "solver" || o.key == "method";
    EXPECT_EQ(o.get(m).has_value(), always) << o.key;
    o.set(m, values.at(o.key));
    ASSERT_TRUE(o.get(m).has_value()) << o.key;
    EXPECT_EQ(ie::method_option_text(*o.get(m)), ie::method_option_text(values.at(o.key))) << o.key;
  }
  EXPECT_EQ(keys.size(), values.size());
  EXPECT_EQ(flags.size(), values.size());
  // What the table refuses itself names the command-line option.
  ie::MethodSpec m;
  auto option = [](const std::string& key) {
    return *std::find_if(ie::method_options().begin(), ie::method_options().end(),
                         [&](const ie::MethodOption& o) { return o.key == key; });
  };
  auto thrown = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const iterop::invalid_option& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(thrown([&] { option("solver").set(m, std::string("petsc")); }),
            "--solver = petsc. Violated constraint: one of iterop, kinsol, ceres.");
  EXPECT_EQ(thrown([&] { option("memory").set(m, 1LL << 40); }),
            "--memory = 1099511627776. Violated constraint: 0 <= memory <= 1000.");
  // method_spec_json: the options given, solver and method always.
  ie::MethodSpec given;
  given.memory = 3;
  EXPECT_EQ(ie::method_spec_json(given), (nlohmann::json{{"solver", "iterop"}, {"method", "anderson"}, {"memory", 3}}));
}

TEST(RunFixedPoint, HEquationAndersonReproducesTothKelleyCounts) {
  const auto p = ie::default_problem_catalogue().make("heq", {{"c", 0.99}, {"n", 512}});
  const int published[] = {10, 9, 9, 10, 11, 11};  // m = 1..6 (Toth & Kelley 2015)
  for (int m = 1; m <= 6; ++m) {
    auto s = spec("anderson");
    s.memory = m;
    const auto run = ie::run_fixed_point(p, s, tk);
    EXPECT_EQ(run.summary.status, iterop::Status::converged) << "m = " << m;
    EXPECT_EQ(run.summary.iterations, published[m - 1]) << "m = " << m;
    EXPECT_TRUE(run.meets_tolerance());
    EXPECT_NEAR(run.tolerance, 1e-8 + 1e-8 * p.residual_norm(p.x0), 1e-20);
    EXPECT_NEAR(run.true_residual, p.residual_norm(run.solution), 1e-20);
  }
  const auto picard = ie::run_fixed_point(p, spec("picard"), tk);
  EXPECT_EQ(picard.summary.iterations, 73);
}

TEST(RunFixedPoint, StatusesOfTheReferenceProblems) {
  auto& cat = ie::default_problem_catalogue();
  const auto rot = ie::run_fixed_point(cat.make("rotation"), spec("picard"), tk);
  EXPECT_NE(rot.summary.status, iterop::Status::converged);
  auto km = spec("km");
  km.relaxation = 0.5;
  const auto rot_km = ie::run_fixed_point(cat.make("rotation"), km, tk);
  EXPECT_EQ(rot_km.summary.status, iterop::Status::converged);
  EXPECT_LT(rot_km.error, 1e-7);
  EXPECT_EQ(ie::run_fixed_point(cat.make("diverge"), spec("picard"), tk).summary.status, iterop::Status::diverged);
  EXPECT_EQ(ie::run_fixed_point(cat.make("nan"), spec("picard"), tk).summary.status, iterop::Status::non_finite);
  const auto lin = ie::run_fixed_point(cat.make("linear", {{"n", 30}, {"rho", 0.5}}), spec("anderson"), tk);
  EXPECT_EQ(lin.summary.status, iterop::Status::converged);
  EXPECT_LT(lin.error, 1e-6);
}

TEST(RunFixedPoint, RelaxationIsOneNumberForEveryMethodAndSolver) {
  // relaxation r is the weight on G(x) everywhere: Krasnoselskii-Mann r and Anderson with memory 0 and
  // relaxation r take the same steps, bit for bit; KINSOL's km is the same iteration.
  const auto p = ie::default_problem_catalogue().make("heq", {{"c", 0.9}, {"n", 64}});
  auto km = spec("km");
  km.relaxation = 0.7;
  auto aa = spec("anderson");
  aa.memory = 0;
  aa.relaxation = 0.7;
  const auto a = ie::run_fixed_point(p, km, tk);
  const auto b = ie::run_fixed_point(p, aa, tk);
  EXPECT_EQ(a.summary.status, iterop::Status::converged);
  EXPECT_EQ(a.solution, b.solution);
  EXPECT_EQ(a.summary.iterations, b.summary.iterations);
  EXPECT_EQ(ie::method_spec_json(km)["relaxation"], 0.7);
  EXPECT_FALSE(ie::method_spec_json(km).contains("alpha"));
#if defined(ITEROP_HAVE_KINSOL)
  auto kkm = km;
  kkm.solver = ie::Backend::kinsol;
  const auto k = ie::run_fixed_point(p, kkm, tk);
  EXPECT_EQ(k.summary.status, iterop::Status::converged);
  EXPECT_EQ(k.summary.iterations, a.summary.iterations);
#endif
}

TEST(RunFixedPoint, JsonHasTheDocumentedFields) {
  const auto p = ie::default_problem_catalogue().make("heq", {{"c", 0.9}, {"n", 64}});
  auto s = spec("anderson");
  s.memory = 2;
  const auto run = ie::run_fixed_point(p, s, tk);
  const auto j = ie::run_json(p, s, tk, run);
  EXPECT_EQ(j["status"], "converged");
  EXPECT_EQ(j["iterations"], run.summary.iterations);
  EXPECT_EQ(j["evaluations"], run.summary.evaluations);
  EXPECT_EQ(j["residual"], run.true_residual);
  EXPECT_EQ(j["solver"], "iterop");
  EXPECT_EQ(j["method"]["name"], "anderson");
  EXPECT_EQ(j["method"]["options"]["memory"], 2);
  EXPECT_EQ(j["method"]["options"]["orth"], "cgs2");
  EXPECT_EQ(j["problem"]["name"], "heq");
  EXPECT_EQ(j["problem"]["parameters"]["n"], 64);
  EXPECT_EQ(j["stop"]["atol"], 1e-8);
  ASSERT_EQ(j["history"].size(), run.summary.history.size());
  for (const char* key : {"residual", "step", "rate", "gain", "condition", "columns", "evaluations"})
    EXPECT_TRUE(j["history"][2].contains(key)) << key;
  EXPECT_TRUE(j["history"][0]["step"].is_null());  // NaN becomes null
  const auto t = ie::history_table(run.summary.history);
  EXPECT_EQ(t.rows.size(), run.summary.history.size());
}

#if defined(ITEROP_HAVE_KINSOL)
TEST(RunFixedPoint, KinsolWithIteropsTestReproducesTheCounts) {
  const auto p = ie::default_problem_catalogue().make("heq");
  auto s = spec("anderson", ie::Backend::kinsol);
  s.memory = 3;
  const auto run = ie::run_fixed_point(p, s, tk);
  EXPECT_EQ(run.summary.status, iterop::Status::converged);
  EXPECT_EQ(run.summary.iterations, 9);
  EXPECT_TRUE(run.meets_tolerance());
}
#endif

#if defined(ITEROP_HAVE_CERES)
TEST(RunFixedPoint, CeresSolvesASmallHEquation) {
  const auto p = ie::default_problem_catalogue().make("heq", {{"c", 0.9}, {"n", 32}});
  ie::MethodSpec lm;
  lm.solver = ie::Backend::ceres;
  const auto run = ie::run_fixed_point(p, lm, tk);
  EXPECT_EQ(run.summary.status, iterop::Status::converged);
  EXPECT_LT(run.true_residual, 1e-8);
}
#endif
