// Tests of experiment files (load_experiment_file): sweeps and labels, seeds, restrictions, the two
// examples in experiments/, and bad files: syntax errors, unknown keys, bad values, each with file and line.
#include "iterop/experiments/runner/experiment_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "test_support.hpp"

namespace ie = iterop::experiments;
using iterop::cli_test::ScratchFolder;

namespace {

std::filesystem::path write(const ScratchFolder& dir, const std::string& name, const std::string& text) {
  const auto path = dir.path() / name;
  std::ofstream(path) << text;
  return path;
}

/// The message of the experiment_file_error that loading `text` throws ("" when it loads).
std::string load_error(const std::string& text, std::filesystem::path* where = nullptr) {
  ScratchFolder dir;
  const auto path = write(dir, "x.toml", text);
  if (where) *where = path;
  try {
    (void)ie::load_experiment_file(path);
  } catch (const ie::experiment_file_error& e) {
    return std::string(e.what()).substr(path.string().size());  // from ":<line>: ..." on
  }
  return "";
}

const std::string fixed_point_head =
    "[experiment]\n"            // 1
    "kind = \"fixed-point\"\n"  // 2
    "[problem]\n"               // 3
    "name = \"heq\"\n"          // 4
    "parameters = { n = 64, c = [0.5, 0.9] }\n";  // 5

}  // namespace

TEST(ExperimentFile, SweepsAreTheCartesianProduct) {
  ScratchFolder dir;
  const auto path = write(dir, "sweep.toml",
                          fixed_point_head +
                              "[[method]]\nmethod = \"picard\"\n"
                              "[[method]]\nmethod = \"anderson\"\nmemory = [1, 3, 5]\nrelaxation = [1.0, 0.5]\n"
                              "[stop]\ntol = [1e-6, 1e-8]\nmax_iterations = 200\n");
  const ie::ExperimentFile f = ie::load_experiment_file(path);
  EXPECT_EQ(f.name, "sweep");  // the file's stem
  EXPECT_EQ(f.kind, ie::ExperimentKind::fixed_point);
  // 2 problems x 2 stop rules x (1 + 3 x 2) methods.
  ASSERT_EQ(f.fixed_point_cells.size(), 2u * 2u * 7u);
  std::set<std::string> keys, labels, problems;
  for (const auto& c : f.fixed_point_cells) {
    keys.insert(c.key.dump());
    labels.insert(c.method_label);
    problems.insert(c.problem_label);
    EXPECT_EQ(c.parameters.at("n"), 64);
    EXPECT_EQ(c.max_iterations, 200);
    EXPECT_EQ(c.atol, c.rtol);
  }
  EXPECT_EQ(keys.size(), f.fixed_point_cells.size());  // every cell is different
  EXPECT_EQ(problems, (std::set<std::string>{"heq c=0.5 n=64", "heq c=0.9 n=64"}));
  EXPECT_EQ(labels.count("iterop picard"), 1u);
  EXPECT_EQ(labels.count("iterop anderson m=3 relaxation=0.5"), 1u);
  EXPECT_EQ(f.fixed_point_cells.front().stop_label, "tol=1e-06");
  EXPECT_EQ(f.fixed_point_cells.front().method.memory, std::nullopt);
}

TEST(ExperimentFile, SeedsSweepAndReachTheProblemsSeedParameter) {
  ScratchFolder dir;
  const auto path = write(dir, "seeds.toml",
                          "[experiment]\nkind = \"fixed-point\"\nseed = [3, 4]\n"
                          "[problem]\nname = \"linear\"\nparameters = { n = 10, rho = 0.5 }\n"
                          "[[method]]\nmethod = \"picard\"\n");
  const auto f = ie::load_experiment_file(path);
  ASSERT_EQ(f.fixed_point_cells.size(), 2u);
  EXPECT_EQ(f.fixed_point_cells[0].seed, 3u);
  EXPECT_EQ(f.fixed_point_cells[0].parameters.at("seed"), 3);
  EXPECT_EQ(f.fixed_point_cells[1].parameters.at("seed"), 4);
  const auto overridden = ie::load_experiment_file(path, 9);  // --seed 9
  ASSERT_EQ(overridden.fixed_point_cells.size(), 1u);
  EXPECT_EQ(overridden.fixed_point_cells[0].parameters.at("seed"), 9);
  EXPECT_TRUE(overridden.seed_from_command_line);
}

TEST(ExperimentFile, TheExamplesLoad) {
  const std::filesystem::path root = ITEROP_SOURCE_DIR;
  const auto heq = ie::load_experiment_file(root / "experiments" / "heq-anderson-sweep.toml");
  EXPECT_EQ(heq.name, "heq-anderson-sweep");
  // 3 albedos x (Picard, Anderson m = 1, 3, 5, KINSOL MGS and DCGS2 where SUNDIALS is built).
  EXPECT_EQ(heq.fixed_point_cells.size(), ie::backend_available(ie::Backend::kinsol) ? 18u : 12u);
  const auto vol = ie::load_experiment_file(root / "experiments" / "volterra-orders.toml");
  EXPECT_EQ(vol.kind, ie::ExperimentKind::volterra);
  std::set<std::string> cells;
  for (const auto& c : vol.volterra_cells) cells.insert(c.problem_label + " " + c.method_label);
  EXPECT_EQ(cells.count("L2 block_simpson"), 1u);
  EXPECT_EQ(cells.count("F2 midpoint"), 1u);
  EXPECT_EQ(cells.count("D2 ide_trapezoid"), 1u);
  EXPECT_EQ(cells.count("A2 product_trapezoid (graded r=2)"), 1u);
  EXPECT_EQ(cells.count("L2 product_trapezoid"), 0u);  // restricted to A2 by problems = ["A2"]
  EXPECT_EQ(cells.count("F2 trapezoid"), 0u);          // does not fit a first-kind equation: left out ...
  EXPECT_EQ(vol.notes.size(), 1u);                     // ... and said so
  for (const auto& c : vol.volterra_cells)
    EXPECT_EQ(c.steps.front(), c.problem_label == "L3" ? 256 : 16) << c.problem_label;
}

TEST(ExperimentFile, SyntaxErrorNamesFileAndLine) {
  std::filesystem::path path;
  const std::string e = load_error(fixed_point_head + "[[method]]\nmemory = [1, 2\n", &path);
  EXPECT_EQ(e.rfind(":7: syntax error (column ", 0), 0u) << e;
}

TEST(ExperimentFile, UnknownKeysAreErrorsWithTheirLine) {
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"anderson\"\nmemroy = 3\n"),
            ":8: method.memroy = 3. Violated constraint: a known key of [[method]] of a fixed-point experiment "
            "(unknown key; the keys are label, solver, method, memory, relaxation, damping, alpha, orth, kinsol_test, "
            "problems).");
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"picard\"\n[outptu]\nplots = false\n").rfind(
                ":8: outptu = {...}. Violated constraint: a known key of a fixed-point experiment file", 0),
            0u);
  EXPECT_EQ(load_error("[experiment]\nkind = \"fixed-point\"\nseeds = 3\n").rfind(":3: experiment.seeds = 3.", 0), 0u);
  EXPECT_EQ(load_error(fixed_point_head.substr(0, fixed_point_head.size() - 1) + "\nsize = 3\n").rfind(":6: problem.size = 3.", 0), 0u);
}

TEST(ExperimentFile, BadValuesNameLineKeyValueAndRule) {
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"anderson\"\nmemory = -1\n"),
            ":8: method.memory = -1. Violated constraint: memory >= 0.");
  // An element of a sweep list on its own line.
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"anderson\"\nmemory = [1,\n  -2]\n"),
            ":9: method.memory = -2. Violated constraint: memory >= 0.");
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"anderson\"\nmemory = 2.5\n"),
            ":8: method.memory = 2.5. Violated constraint: an integer.");
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"picard\"\nrelaxation = 0.5\n"),
            ":8: method.relaxation = 0.5. Violated constraint: --relaxation is taken only by --method km, anderson and "
            "anderson-type1 (here: --method picard with --solver iterop).");
  // The old keys are refused with the new one and its value.
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"km\"\nalpha = 0.25\n"),
            ":8: method.alpha = 0.25. Violated constraint: renamed to relaxation, the weight on T(x) = 1 - alpha: give "
            "--relaxation 0.75 (relaxation = 0.75 in an experiment file).");
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"anderson\"\ndamping = 0.5\n"),
            ":8: method.damping = 0.5. Violated constraint: renamed to relaxation, the weight on T(x), the same value: "
            "give --relaxation 0.5 (relaxation = 0.5 in an experiment file).");
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"anderson\"\north = \"dcgs3\"\n"),
            ":8: method.orth = \"dcgs3\". Violated constraint: mgs or cgs2 with --solver iterop.");
  // Values the option table itself refuses (before MethodSpec::validate()), at the line of their key.
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nsolver = \"petsc\"\n"),
            ":7: method.solver = \"petsc\". Violated constraint: one of iterop, kinsol, ceres.");
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"anderson\"\nkinsol_test = \"both\"\n"),
            ":8: method.kinsol_test = \"both\". Violated constraint: \"iterop\" or \"kinsol\".");
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"anderson\"\nmemory = 4294967296\n"),
            ":8: method.memory = 4294967296. Violated constraint: 0 <= memory <= 1000.");
  EXPECT_EQ(load_error("[experiment]\nkind = \"fixed-point\"\n[problem]\nname = \"heq\"\n"
                       "parameters = { c = [0.5, 1.5] }\n[[method]]\nmethod = \"picard\"\n"),
            ":5: problem.parameters.c = 1.5. Violated constraint: 0 < c <= 1.");
  EXPECT_EQ(load_error("[experiment]\nkind = \"fixed-point\"\n[problem]\nname = \"hex\"\n[[method]]\n").rfind(
                ":4: problem.name = \"hex\". Violated constraint: one of heq, linear", 0),
            0u);
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"picard\"\n[stop]\nmax_iterations = 0\n"),
            ":9: stop.max_iterations = 0. Violated constraint: 1 <= max_iterations <= 100000000.");
  EXPECT_EQ(load_error("[experiment]\nkind = \"fixedpoint\"\n"),
            ":2: experiment.kind = \"fixedpoint\". Violated constraint: \"fixed-point\" or \"volterra\".");
  EXPECT_EQ(load_error("[experiment]\nname = \"x\"\n"),
            ":1: experiment.kind is missing. Violated constraint: kind = \"fixed-point\" or \"volterra\".");
  EXPECT_EQ(load_error(fixed_point_head + "[[method]]\nmethod = \"picard\"\n[[method]]\nmethod = \"picard\"\n"),
            ":8: method.label = \"iterop picard\". Violated constraint: a method label that no other [[method]] has "
            "(give label = \"...\" to tell them apart, or remove the duplicate).");
}

TEST(ExperimentFile, VolterraErrorsNameTheKey) {
  const std::string head = "[experiment]\nkind = \"volterra\"\n[study]\nsteps = [16, 32]\n";  // lines 1-4
  EXPECT_EQ(load_error(head + "[problem]\nf = \"1\"\nkernel = \"(t-s\"\nT = 1\n[[method]]\nmethod = \"trapezoid\"\n")
                .rfind(":7: problem.kernel = \"(t-s\". Violated constraint: ", 0),
            0u);
  EXPECT_EQ(load_error(head + "[problem]\nreference = \"L9\"\n[[method]]\nmethod = \"trapezoid\"\n"),
            ":6: problem.reference = \"L9\". Violated constraint: one of L2, L3, N1, N3, N4, S1, A2, F2, D2 (PROBLEMS.md).");
  EXPECT_EQ(load_error(head + "[problem]\nreference = \"L2\"\n[[method]]\nmethod = \"trapezoid\"\ngrading = 0.5\n"),
            ":9: method.grading = 0.5. Violated constraint: grading >= 1 (t_j = T (j/N)^r; 1 is uniform).");
  EXPECT_EQ(load_error("[experiment]\nkind = \"volterra\"\n[study]\nsteps = [32, 16]\n").rfind(
                ":4: study.steps = 16. Violated constraint: increasing step counts.", 0),
            0u);
  // A method that fits no problem of the file is an error (one that fits some is left out where it does not).
  EXPECT_EQ(load_error(head + "[problem]\nreference = \"L2\"\n[[method]]\nmethod = \"midpoint\"\n").rfind(
                ":8: method.method = \"midpoint\". Violated constraint: a method that fits at least one problem", 0),
            0u);
  EXPECT_EQ(load_error(head + "[problem]\nreference = \"L2\"\n[[method]]\nmethod = \"trapezoid\"\nproblems = [\"A2\"]\n"),
            ":9: method.problems = \"A2\". Violated constraint: the label or name of a problem of this file (L2).");
  // T with a reference problem: only N4's interval may be moved (past its blow-up), and it must be positive.
  EXPECT_EQ(load_error(head + "[problem]\nreference = \"L2\"\nT = 2\n[[method]]\nmethod = \"trapezoid\"\n"),
            ":7: problem.T = 2. Violated constraint: only with reference = \"N4\" (whose interval may pass its blow-up "
            "at t = 1); the other reference problems have a fixed interval.");
  EXPECT_EQ(load_error(head + "[problem]\nreference = \"N4\"\nT = -1\n[[method]]\nmethod = \"trapezoid\"\n"),
            ":7: problem.T = -1. Violated constraint: 0 < T < infinity.");
  const auto n4 = ie::load_experiment_text(head + "[problem]\nreference = \"N4\"\nT = 1.5\n[[method]]\nmethod = \"trapezoid\"\n",
                                           "n4.toml");
  ASSERT_EQ(n4.volterra_cells.size(), 1u);
  EXPECT_EQ(n4.volterra_cells[0].problem_label, "N4 on [0, 1.5]");
  EXPECT_EQ(n4.volterra_cells[0].T, 1.5);
  EXPECT_EQ(n4.volterra_cells[0].key["problem"]["T"], 1.5);
}

TEST(ExperimentFile, MissingFileAndFileNames) {
  EXPECT_THROW((void)ie::load_experiment_file("/nonexistent/x.toml"), ie::experiment_file_error);
  EXPECT_TRUE(ie::names_experiment_file("a/b.toml"));
  EXPECT_FALSE(ie::names_experiment_file("fixed-point"));
}
