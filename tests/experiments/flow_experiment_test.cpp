// The flow experiments at tiny sizes (report folders and their JSON keys, the cell cache on a rerun)
// and the conditional prompt data set (composition of the target from the words, held-out split).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "iterop/core/errors.hpp"
#include "test_support.hpp"

#if defined(ITEROP_HAVE_OPERATORS)
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/experiments/cell_cache.hpp"
#include "iterop/experiments/flow_conditional_data.hpp"
#include "iterop/experiments/flow_experiment.hpp"

namespace ex = iterop::experiments;
using iterop::cli_test::read_file;
using iterop::cli_test::ScratchFolder;

namespace {

iterop::operators::CalmFlowOptions tiny_calmflow() {
  iterop::operators::CalmFlowOptions o;
  o.width = 16;
  o.layers = 1;
  o.heads = 2;
  o.feedforward = 32;
  o.time_points = 4;
  o.trajectories = 2;
  o.batch = 16;
  o.steps = 15;
  return o;
}

ex::FlowEvaluation tiny_eval() {
  ex::FlowEvaluation e;
  e.samples = 48;
  e.pool = 200;
  e.ode.steps = 10;
  return e;
}

std::pair<double, double> mean_xy(const iterop::distributions::SampleSet& s) {
  double x = 0, y = 0;
  for (std::size_t i = 0; i < s.rows; ++i) {
    x += s(i, 0);
    y += s(i, 1);
  }
  return {x / static_cast<double>(s.rows), y / static_cast<double>(s.rows)};
}

}  // namespace

TEST(FlowConditionalData, PromptsRoundTripAndBadPromptsNameTheRule) {
  const ex::PromptCombination c{"spirals", "down"};
  EXPECT_EQ(ex::conditional_prompt(c), "generate spirals shifted down");
  EXPECT_EQ(ex::parse_conditional_prompt("  Generate SPIRALS shifted down "), c);
  try {
    ex::parse_conditional_prompt("generate moons moved left");
    FAIL() << "no exception";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("generate {component} shifted {direction}"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ex::parse_conditional_prompt("generate squares shifted left"), iterop::invalid_option);
  EXPECT_THROW(ex::parse_conditional_prompt("generate moons shifted sideways"), iterop::invalid_option);
}

TEST(FlowConditionalData, TargetIsTheComponentShiftedAlongTheDirection) {
  ex::ConditionalFlowTask task;
  const std::size_t n = 4000;
  // A blob shifted left: mean (-shift, 0), standard deviation blob_std.
  const auto blob = ex::sample_conditional_target(task, {"blob", "left"}, n, 5);
  const auto [bx, by] = mean_xy(blob);
  EXPECT_NEAR(bx, -task.shift, 0.05);
  EXPECT_NEAR(by, 0.0, 0.05);
  double var = 0;
  for (std::size_t i = 0; i < n; ++i) var += (blob(i, 1) - by) * (blob(i, 1) - by);
  EXPECT_NEAR(std::sqrt(var / n), task.blob_std, 0.03);
  // Each direction moves the same points by the same offset: the same seed gives the unshifted set plus it.
  for (const char* d : {"left", "right", "up", "down"}) {
    const auto shifted = ex::sample_conditional_target(task, {"8gaussians", d}, 100, 9);
    const auto plain = iterop::distributions::sample_dataset("8gaussians", 100, 2, 9);
    const auto [dx, dy] = ex::direction_offset(d, task.shift);
    for (std::size_t i = 0; i < 100; ++i) {
      EXPECT_DOUBLE_EQ(shifted(i, 0), plain(i, 0) + dx);
      EXPECT_DOUBLE_EQ(shifted(i, 1), plain(i, 1) + dy);
    }
  }
  // Up moves the 8 Gaussians (centred at 0) to mean (0, shift).
  const auto up = ex::sample_conditional_target(task, {"8gaussians", "up"}, n, 3);
  const auto [ux, uy] = mean_xy(up);
  EXPECT_NEAR(ux, 0.0, 0.25);
  EXPECT_NEAR(uy, task.shift, 0.25);
}

TEST(FlowConditionalData, HeldOutCombinationsStayOutOfTrainingAndEveryWordIsSeen) {
  ex::ConditionalFlowTask task;
  const auto held = task.held_out_combinations();
  ASSERT_EQ(held.size(), 5u);
  EXPECT_EQ(held[0], (ex::PromptCombination{"moons", "left"}));
  EXPECT_EQ(held[3], (ex::PromptCombination{"spirals", "down"}));
  const auto seen = task.seen_combinations();
  EXPECT_EQ(seen.size(), 15u);
  for (const auto& c : task.components)
    EXPECT_GE(std::count_if(seen.begin(), seen.end(), [&](const auto& s) { return s.component == c; }), 3) << c;
  for (const auto& d : task.directions)
    EXPECT_GE(std::count_if(seen.begin(), seen.end(), [&](const auto& s) { return s.direction == d; }), 3) << d;

  const auto train = ex::make_conditional_training_set(task, 10, 1);
  EXPECT_EQ(train.target.rows, 150u);
  EXPECT_EQ(train.prompts.size(), 150u);
  EXPECT_EQ(train.held_out.size(), 5u);
  std::set<std::string> prompts(train.prompts.begin(), train.prompts.end());
  EXPECT_EQ(prompts.size(), 15u);
  for (const auto& h : train.held_out) EXPECT_EQ(prompts.count(h), 0u) << h;
  // Rows carry their prompt's target: rows of "generate blob shifted right" sit around (shift, 0).
  for (std::size_t i = 0; i < train.prompts.size(); ++i)
    if (train.prompts[i] == "generate blob shifted right") EXPECT_NEAR(train.target(i, 0), task.shift, 4 * task.blob_std);

  // A held-out set that takes every combination of one component is refused, naming the rule.
  ex::ConditionalFlowTask bad;
  bad.held_out = {{"moons", "left"}, {"moons", "right"}, {"moons", "up"}, {"moons", "down"}};
  try {
    bad.validate();
    FAIL() << "no exception";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("each component keeps at least one seen combination"), std::string::npos)
        << e.what();
  }
  bad.held_out = {{"squares", "left"}};
  EXPECT_THROW(bad.validate(), iterop::invalid_option);
}

TEST(FlowExperiment, SizeFromEnvironmentAndWidthMatching) {
  ::setenv("ITEROP_FLOW_SIZE", "huge", 1);
  EXPECT_THROW(ex::flow_size_from_environment(), iterop::invalid_option);
  ::setenv("ITEROP_FLOW_SIZE", "full", 1);
  EXPECT_EQ(ex::flow_size_from_environment(), ex::FlowSize::full);
  ::unsetenv("ITEROP_FLOW_SIZE");
  EXPECT_EQ(ex::flow_size_from_environment(), ex::FlowSize::small);
  // The built-in studies hold exactly their pairs.
  const auto highdim = ex::flow_highdim_study(ex::FlowSize::small);
  ASSERT_EQ(highdim.pairs.size(), 3u);
  for (const auto& p : highdim.pairs) EXPECT_EQ(p.label().substr(0, 22), "2gaussians -> 4blobs (");
  EXPECT_EQ(ex::flow_highdim_study(ex::FlowSize::full).pairs.size(), 6u);
  EXPECT_EQ(ex::flow_2d_study(ex::FlowSize::small).pairs.size(), 4u);
  EXPECT_EQ(ex::flow_2d_study(ex::FlowSize::full).pairs.size(), 5u);
  EXPECT_EQ(ex::flow_2d_study(ex::FlowSize::full).calmflow.steps, 2000);
  EXPECT_EQ(ex::flow_2d_study(ex::FlowSize::full).eval.samples, 1000u);
  // depth 3, dim 2, width w: 3w + w + 2(w^2 + w) + 2w + 2 parameters; w = 100 gives 20802.
  EXPECT_EQ(ex::cfm_width_for_parameters(20802, 2, 3), 100);
  iterop::operators::CfmOptions o;
  o.width = ex::cfm_width_for_parameters(50000, 10, 3);
  o.dim = 10;
  const long p = iterop::operators::ConditionalFlowMatching(o).num_parameters();
  EXPECT_LT(std::abs(p - 50000), 2 * o.width + 50) << p;
}

TEST(FlowExperiment, StudyWritesReportWithKeysAndResumesFromCells) {
  ScratchFolder dir;
  ex::FlowStudy s;
  s.name = "flow-test";
  s.pairs = {{"8gaussians", "moons", 2}};
  s.eval = tiny_eval();
  s.calmflow = tiny_calmflow();
  s.parallel_rows = 8;
  ex::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "r";
  ctx.seed = 4;
  std::vector<std::string> lines;
  ctx.progress = [&](std::string_view l) { lines.emplace_back(l); };
  const auto outcome = ex::run_flow_study(ctx, s);
  for (const char* f : {"report.md", "results.json", "results.csv", "config.json", "samples_8gaussians-moons.dat",
                        "parallel_in_time.dat"})
    EXPECT_TRUE(std::filesystem::exists(ctx.output_folder / f)) << f;
  const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  EXPECT_EQ(res["experiment"], "flow-test");
  EXPECT_EQ(res["samples"], 48);
  EXPECT_EQ(res["gamma"], 2.0);
  ASSERT_EQ(res["summary"].size(), 3u);  // calmflow, icfm, otcfm
  for (const auto& row : res["summary"]) {
    for (const char* key : {"pair", "model", "parameters", "steps", "seeds", "n", "gamma", "w2_mean", "mmd2_mean",
                            "energy_mean"})
      EXPECT_TRUE(row.contains(key)) << key;
    EXPECT_GT(row["w2_mean"].get<double>(), 0.0);
    EXPECT_EQ(row["steps"], 15);
  }
  ASSERT_EQ(res["parallel"].size(), 1u);
  const auto& p = res["parallel"][0];
  EXPECT_EQ(p["sequential_passes"], 3);  // N - 1
  // Picard on a strictly causal operator reaches the sequential sample within N - 1 sweeps.
  EXPECT_GE(p["picard_sweeps_to_tol"].get<int>(), 0);
  EXPECT_LE(p["picard_sweeps_to_tol"].get<int>(), 3);
  ASSERT_EQ(res["floor"].size(), 1u);
  EXPECT_GT(res["floor"][0]["w2_mean"].get<double>(), 0.0);
  EXPECT_EQ(res["cells_reused"], 0);
  const auto cfg = nlohmann::json::parse(read_file(ctx.output_folder / "config.json"));
  EXPECT_EQ(cfg["seed"], 4);
  EXPECT_TRUE(cfg.contains("versions"));
  EXPECT_TRUE(cfg.contains("seed_rule"));
  EXPECT_NE(read_file(ctx.output_folder / "report.md").find("floor: two target samples"), std::string::npos);

  // A rerun into the same folder reads every cell back and reports the same numbers.
  const auto again = ex::run_flow_study(ctx, s);
  const auto res2 = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  EXPECT_EQ(res2["cells_reused"], 3);
  EXPECT_EQ(res2["summary"], res["summary"]);
}

TEST(FlowExperiment, InterruptedRunResumesFromItsFinishedCells) {
  ScratchFolder dir;
  ex::FlowStudy s;
  s.name = "flow-test";
  s.pairs = {{"normal", "8gaussians", 2}};
  s.models = {ex::FlowModelKind::icfm, ex::FlowModelKind::otcfm};
  s.eval = tiny_eval();
  s.calmflow = tiny_calmflow();
  ex::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "r";
  ctx.stop_after_cells = 1;
  EXPECT_THROW(ex::run_flow_study(ctx, s), ex::run_interrupted);
  EXPECT_FALSE(std::filesystem::exists(ctx.output_folder / "results.json"));
  ctx.stop_after_cells.reset();
  ex::run_flow_study(ctx, s);
  const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  EXPECT_EQ(res["cells_reused"], 1);  // the I-CFM cell finished before the interruption
  EXPECT_EQ(res["summary"].size(), 2u);
}

TEST(FlowExperiment, AblationAndConditionalWriteTheirReports) {
  ScratchFolder dir;
  ex::ExperimentContext ctx;
  ctx.seed = 2;
  {
    ex::FlowAblationStudy a;
    a.eval = tiny_eval();
    a.base = tiny_calmflow();
    a.temperatures = {0.0, 0.5};
    a.time_points = {3};
    a.trajectories = {1};
    a.spatial_tokens = {2};
    a.deterministic_head = true;
    ctx.output_folder = dir.path() / "ablation";
    ex::run_flow_ablation(ctx, a);
    const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
    // 2 temperatures of the base model, N = 3, M = 1, K = 2, deterministic head.
    ASSERT_EQ(res["rows"].size(), 6u);
    std::set<std::string> factors;
    for (const auto& r : res["rows"]) {
      factors.insert(r["factor"].get<std::string>());
      for (const char* key : {"value", "temperature", "w2_mean", "mmd2_mean", "energy_mean", "n", "gamma"})
        EXPECT_TRUE(r.contains(key)) << key;
    }
    EXPECT_EQ(factors, (std::set<std::string>{"base", "N", "M", "K", "head"}));
    EXPECT_TRUE(std::filesystem::exists(ctx.output_folder / "ablation.dat"));
  }
  {
    ex::FlowConditionalStudy c;
    c.task.components = {"blob", "moons"};
    c.task.directions = {"left", "right"};
    c.per_prompt = 50;
    c.eval = tiny_eval();
    c.calmflow = tiny_calmflow();
    ctx.output_folder = dir.path() / "conditional";
    ex::run_flow_conditional(ctx, c);
    const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
    ASSERT_EQ(res["prompts"].size(), 4u);
    ASSERT_EQ(res["held_out"].size(), 2u);  // (blob, left), (moons, right)
    EXPECT_EQ(res["held_out"][0], "generate blob shifted left");
    for (const char* split : {"seen", "held_out"}) {
      ASSERT_TRUE(res["split"].contains(split)) << split;
      EXPECT_EQ(res["split"][split]["count"], 2);
      for (const char* key : {"w2_mean", "mmd2_mean", "energy_mean", "floor_w2_mean", "nearest_other_w2_mean"})
        EXPECT_TRUE(res["split"][split].contains(key)) << key;
    }
    const auto cfg = nlohmann::json::parse(read_file(ctx.output_folder / "config.json"));
    EXPECT_EQ(cfg["held_out"].size(), 2u);
    EXPECT_TRUE(std::filesystem::exists(ctx.output_folder / "held_out_samples.dat"));
  }
}

TEST(FlowExperiment, BadStudiesAreRefusedBeforeAnyWork) {
  ScratchFolder dir;
  ex::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "never";
  ex::FlowStudy s;
  s.pairs = {{"8gaussians", "moons", 3}};
  EXPECT_THROW(ex::run_flow_study(ctx, s), iterop::invalid_option);
  s.pairs = {{"8gaussians", "unicorns", 2}};
  try {
    ex::run_flow_study(ctx, s);
    FAIL() << "no exception";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("unicorns"), std::string::npos) << e.what();
  }
  s.pairs = {{"8gaussians", "moons", 2}};
  s.eval.samples = 1;
  EXPECT_THROW(ex::run_flow_study(ctx, s), iterop::invalid_option);
  EXPECT_FALSE(std::filesystem::exists(ctx.output_folder));
}

#endif  // ITEROP_HAVE_OPERATORS
