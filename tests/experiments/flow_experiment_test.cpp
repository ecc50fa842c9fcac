// The flow studies at tiny sizes (their records and derived means, the cell cache on a rerun and after
// an interruption, models shared by cells) and the conditional prompt data set (composition of the
// target from the words, held-out split).
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
#include "iterop/experiments/runner/cell_cache.hpp"
#include "iterop/experiments/problems/flow_conditional_data.hpp"
#include "iterop/experiments/studies/flow.hpp"

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
    if (train.prompts[i] == "generate blob shifted right") {
      EXPECT_NEAR(train.target(i, 0), task.shift, 4 * task.blob_std);
    }

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

TEST(FlowExperiment, BuiltInSizesAndWidthMatching) {
  using iterop::experiments::RunSize;
  const auto highdim = ex::flow_highdim_study(RunSize::standard);
  ASSERT_EQ(highdim.pairs.size(), 3u);
  for (const auto& p : highdim.pairs) EXPECT_EQ(p.source + p.target, "2gaussians4blobs");
  EXPECT_TRUE(highdim.calmflow.head_reads_state);  // D up to 1000 > K w = 32
  EXPECT_FALSE(highdim.eval.temperatures.empty());  // tau chosen on validation draws
  EXPECT_EQ(ex::flow_highdim_study(RunSize::full).pairs.size(), 6u);
  EXPECT_EQ(ex::flow_2d_study(RunSize::standard).pairs.size(), 4u);
  EXPECT_EQ(ex::flow_2d_study(RunSize::full).pairs.size(), 5u);
  EXPECT_EQ(ex::flow_2d_study(RunSize::full).calmflow.steps, 10000);
  EXPECT_EQ(ex::flow_2d_study(RunSize::standard).eval.seeds, 3);  // issue 11: three seeds, n = 1000, at the default size
  EXPECT_EQ(ex::flow_2d_study(RunSize::standard).eval.samples, 1000u);
  EXPECT_EQ(ex::flow_2d_study(RunSize::full).eval.samples, 1000u);
  EXPECT_EQ(ex::flow_2d_study(RunSize::full).eval.seeds, 3);
  // The sampling temperature is chosen on validation draws at both sizes (a grid around the head's default 1).
  for (const RunSize size : {RunSize::standard, RunSize::full}) {
    const auto grid = ex::flow_2d_study(size).eval.temperatures;
    EXPECT_GE(grid.size(), 3u);
    EXPECT_NE(std::find(grid.begin(), grid.end(), 1.0), grid.end());
  }
  // depth 3, dim 2, width w: 3w + w + 2(w^2 + w) + 2w + 2 parameters; w = 100 gives 20802.
  EXPECT_EQ(ex::cfm_width_for_parameters(20802, 2, 3), 100);
  iterop::operators::CfmOptions o;
  o.width = ex::cfm_width_for_parameters(50000, 10, 3);
  o.dim = 10;
  const long p = iterop::operators::ConditionalFlowMatching(o).num_parameters();
  EXPECT_LT(std::abs(p - 50000), 2 * o.width + 50) << p;
  // The registry entries: flow-quick alone is in the default suite.
  std::set<std::string> names, suite;
  for (const auto& e : ex::flow_experiments()) {
    names.insert(e.name);
    if (e.in_suite) suite.insert(e.name);
  }
  EXPECT_EQ(names, (std::set<std::string>{"flow-quick", "flow-2d", "flow-highdim", "flow-ablation", "flow-conditional"}));
  EXPECT_EQ(suite, (std::set<std::string>{"flow-quick"}));
}

TEST(FlowExperiment, StudyWritesRecordsAndResumesFromCells) {
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
  ex::run_study(ex::make_study(s, ctx), ctx);
  for (const char* f : {"report.md", "results.json", "results.csv", "config.json", "samples_8gaussians-moons.dat",
                        "parallel_in_time.dat"})
    EXPECT_TRUE(std::filesystem::exists(ctx.output_folder / f)) << f;
  const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  EXPECT_EQ(res["experiment"], "flow-test");
  EXPECT_EQ(res["samples"], 48);
  EXPECT_EQ(res["gamma"], 2.0);
  // One record per model, the floor and the moment-matched Gaussian, in cell order.
  const auto& records = res["results"];
  ASSERT_EQ(records.size(), 5u);
  const std::vector<std::string> models{"calmflow", "icfm", "otcfm", "floor", "gaussian"};
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& r = records[i];
    EXPECT_EQ(r["model"], models[i]);
    EXPECT_EQ(r["seed"], 4);
    EXPECT_EQ(r["pair"], "8gaussians -> moons");
    EXPECT_EQ(r["n"], 48);
    EXPECT_EQ(r["samples"].size(), 96u);  // 48 points, x and y
    for (const char* key : {"w2", "mmd2", "energy", "mean_gap", "covariance_gap", "trace_ratio"})
      EXPECT_GT(r[key].get<double>(), 0.0) << models[i] << " " << key;
    EXPECT_EQ(r["cached"], false);
    if (i < 3) {
      EXPECT_EQ(r["steps"], 15);
      EXPECT_GT(r["parameters"].get<long>(), 0);
    }
  }
  // CaLMFlow's parameter count is matched by the CFM width.
  EXPECT_LT(std::abs(records[1]["parameters"].get<long>() - records[0]["parameters"].get<long>()), 200);
  EXPECT_EQ(records[2]["coupling"], "otcfm");
  // The Gaussian baseline has the target's moments: its mean gap is that of a second target sample, up to noise.
  EXPECT_LT(records[4]["mean_gap"].get<double>(), 1.0);
  EXPECT_NEAR(records[4]["trace_ratio"].get<double>(), 1.0, 0.5);
  // CaLMFlow's noise spread and the target's spread are recorded (the head uses its noise: spread > 0).
  EXPECT_GT(records[0]["noise_spread"].get<double>(), 0.0);
  EXPECT_GT(records[0]["target_spread"].get<double>(), 1.0);
  // Picard on a strictly causal operator reaches the sequential sample within N - 1 sweeps.
  EXPECT_EQ(records[0]["sequential_passes"], 3);
  EXPECT_EQ(records[0]["parallel_rows"], 8);
  EXPECT_GE(records[0]["picard_sweeps_to_tol"].get<int>(), 0);
  EXPECT_LE(records[0]["picard_sweeps_to_tol"].get<int>(), 3);
  EXPECT_EQ(records[0]["picard_error_history"].size(), records[0]["picard_evaluations"].get<std::size_t>());
  // The derived means over seeds: one row per model and baseline, equal to the one seed's values.
  ASSERT_EQ(res["derived"].size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(res["derived"][i]["model"], models[i]);
    EXPECT_EQ(res["derived"][i]["w2_mean"], records[i]["w2"]);
    EXPECT_EQ(res["derived"][i]["seeds"], 1);
  }
  const std::string csv = read_file(ctx.output_folder / "results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);  // header and five records; samples stay out
  EXPECT_EQ(csv.find("samples"), std::string::npos);
  const auto cfg = nlohmann::json::parse(read_file(ctx.output_folder / "config.json"));
  EXPECT_EQ(cfg["seed"], 4);
  EXPECT_TRUE(cfg["config"].contains("seed_rule"));
  EXPECT_EQ(cfg["config"]["pairs"][0]["cfm_width"], records[1]["width"]);

  // A rerun into the same folder reads every cell back and reports the same numbers.
  ex::run_study(ex::make_study(s, ctx), ctx);
  const auto res2 = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(res2["results"][i]["cached"], true);
    EXPECT_EQ(res2["results"][i]["w2"], records[i]["w2"]);
  }
  EXPECT_EQ(res2["derived"], res["derived"]);
}

// The temperature chosen on validation: every candidate's validation energy is recorded, the chosen one is
// the smallest, and a choice other than the head's default brings the test metrics at the default beside.
TEST(FlowExperiment, TemperatureIsChosenOnValidationDraws) {
  ScratchFolder dir;
  ex::FlowStudy s;
  s.name = "flow-temperature";
  s.pairs = {{"8gaussians", "moons", 2}};
  s.models = {"calmflow"};
  s.eval = tiny_eval();
  s.eval.temperatures = {0.0, 0.5, 1.0};
  s.calmflow = tiny_calmflow();
  s.parallel_in_time = false;
  ex::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "r";
  ex::run_study(ex::make_study(s, ctx), ctx);
  const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  const auto& r = res["results"][0];
  ASSERT_EQ(r["model"], "calmflow");
  ASSERT_EQ(r["temperature_validation"].size(), 3u);
  double best = INFINITY, best_t = -1;
  for (const auto& t : r["temperature_validation"])
    if (t["energy"].get<double>() < best) {
      best = t["energy"].get<double>();
      best_t = t["temperature"].get<double>();
    }
  EXPECT_EQ(r["temperature"].get<double>(), best_t);
  EXPECT_EQ(r["validation_energy"].get<double>(), best);
  EXPECT_EQ(r.contains("energy_default_temperature"), best_t != 1.0);
  EXPECT_NE(read_file(ctx.output_folder / "report.md").find("temperature, chosen on validation"), std::string::npos);
  // The validation draws are not the test draws: the chosen temperature's validation energy is not its test energy.
  EXPECT_NE(r["validation_energy"].get<double>(), r["energy"].get<double>());
  s.eval.temperatures = {1.0, -0.5};
  try {
    ex::make_study(s, ctx);
    FAIL() << "no exception";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("FlowEvaluation::temperatures = -0.5"), std::string::npos) << e.what();
  }
}

TEST(FlowExperiment, InterruptedRunResumesFromItsFinishedCells) {
  ScratchFolder dir;
  ex::FlowStudy s;
  s.name = "flow-test";
  s.pairs = {{"normal", "8gaussians", 2}};
  s.models = {"icfm", "otcfm"};
  s.eval = tiny_eval();
  s.calmflow = tiny_calmflow();
  ex::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "r";
  ctx.stop_after_cells = 1;
  EXPECT_THROW(ex::run_study(ex::make_study(s, ctx), ctx), ex::run_interrupted);
  EXPECT_FALSE(std::filesystem::exists(ctx.output_folder / "results.json"));
  ctx.stop_after_cells.reset();
  ex::run_study(ex::make_study(s, ctx), ctx);
  const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
  ASSERT_EQ(res["results"].size(), 4u);  // icfm, otcfm, floor, gaussian
  EXPECT_EQ(res["results"][0]["cached"], true);  // the I-CFM cell finished before the interruption
  EXPECT_EQ(res["results"][1]["cached"], false);
  EXPECT_EQ(res["derived"].size(), 4u);
}

TEST(FlowExperiment, AblationAndConditionalShareTrainedModelsAcrossCells) {
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
    a.heads = {"deterministic"};
    a.paths = {};
    a.paper_preset = false;
    ctx.output_folder = dir.path() / "ablation";
    ex::run_study(ex::make_study(a, ctx), ctx);
    const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
    // 2 temperatures of the base model, N = 3, M = 1, K = 2, deterministic head.
    const auto& records = res["results"];
    ASSERT_EQ(records.size(), 6u);
    std::set<std::string> factors;
    for (const auto& r : records) {
      factors.insert(r["factor"].get<std::string>());
      for (const char* key : {"value", "temperature", "w2", "mmd2", "energy", "n", "gamma", "parameters"})
        EXPECT_TRUE(r.contains(key)) << key;
    }
    EXPECT_EQ(factors, (std::set<std::string>{"base", "N", "M", "K", "head"}));
    // The two temperatures sample one trained model: the same training, different samples.
    EXPECT_EQ(records[0]["temperature"], 0.0);
    EXPECT_EQ(records[1]["temperature"], 0.5);
    EXPECT_EQ(records[0]["train_seconds"], records[1]["train_seconds"]);
    EXPECT_EQ(records[0]["final_loss"], records[1]["final_loss"]);
    EXPECT_NE(records[0]["w2"], records[1]["w2"]);
    EXPECT_EQ(records[2]["time_points"], 3);
    EXPECT_EQ(records[5]["variational"], false);
    ASSERT_EQ(res["derived"].size(), 6u);
    EXPECT_EQ(res["derived"][2]["w2_mean"], records[2]["w2"]);
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
    ex::run_study(ex::make_study(c, ctx), ctx);
    const auto res = nlohmann::json::parse(read_file(ctx.output_folder / "results.json"));
    ASSERT_EQ(res["held_out"].size(), 2u);  // (blob, left), (moons, right)
    EXPECT_EQ(res["held_out"][0], "generate blob shifted left");
    const auto& records = res["results"];
    ASSERT_EQ(records.size(), 4u);  // one per combination; one model for the seed
    int held = 0;
    for (const auto& r : records) {
      held += r["held_out"].get<bool>() ? 1 : 0;
      EXPECT_EQ(r["train_seconds"], records[0]["train_seconds"]);
      // The same model trained without prompts, scored against this prompt's target.
      EXPECT_GT(r["unconditional_w2"].get<double>(), 0.0);
      EXPECT_EQ(r["better_than_unconditional"], r["w2"].get<double>() < r["unconditional_w2"].get<double>());
      for (const char* key : {"w2", "mmd2", "energy", "floor_w2", "nearest_other_w2"})
        EXPECT_GT(r[key].get<double>(), 0.0) << key;
      EXPECT_EQ(r["closer_to_own_target"], r["w2"].get<double>() < r["nearest_other_w2"].get<double>());
    }
    EXPECT_EQ(held, 2);
    // Derived: one row per prompt, then the seen and held-out splits.
    ASSERT_EQ(res["derived"].size(), 6u);
    EXPECT_EQ(res["derived"][0]["w2_mean"], records[0]["w2"]);
    for (std::size_t i = 4; i < 6; ++i) {
      EXPECT_FALSE(res["derived"][i].contains("prompt"));
      EXPECT_EQ(res["derived"][i]["held_out"], i == 5);
      EXPECT_EQ(res["derived"][i]["split"], i == 4 ? "seen" : "held_out");
      EXPECT_EQ(res["derived"][i]["count"], 2);  // records averaged: 2 prompts x 1 seed
    }
    int closer = 0;
    for (std::size_t i = 0; i < 4; ++i) closer += records[i]["closer_to_own_target"].get<bool>() ? 1 : 0;
    EXPECT_EQ(res["derived"][4]["closer_to_own_target"].get<int>() + res["derived"][5]["closer_to_own_target"].get<int>(),
              closer);
    const auto cfg = nlohmann::json::parse(read_file(ctx.output_folder / "config.json"));
    EXPECT_EQ(cfg["config"]["task"]["held_out"].size(), 2u);
    EXPECT_TRUE(std::filesystem::exists(ctx.output_folder / "held_out_samples.dat"));
  }
}

TEST(FlowExperiment, PromptCellsResumedAfterAnInterruptionRetrainTheSameModel) {
  // The prompts of a seed share one trained model; a run interrupted between them trains it again for the
  // rest, from the same seed, and every number equals that of an uninterrupted run.
  ScratchFolder dir;
  ex::FlowConditionalStudy c;
  c.task.components = {"blob", "moons"};
  c.task.directions = {"left", "right"};
  c.per_prompt = 50;
  c.eval = tiny_eval();
  c.calmflow = tiny_calmflow();
  ex::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "whole";
  ex::run_study(ex::make_study(c, ctx), ctx);
  ctx.output_folder = dir.path() / "resumed";
  ctx.stop_after_cells = 1;
  EXPECT_THROW(ex::run_study(ex::make_study(c, ctx), ctx), ex::run_interrupted);
  ctx.stop_after_cells.reset();
  ex::run_study(ex::make_study(c, ctx), ctx);
  const auto whole = nlohmann::json::parse(read_file(dir.path() / "whole" / "results.json"));
  const auto resumed = nlohmann::json::parse(read_file(dir.path() / "resumed" / "results.json"));
  ASSERT_EQ(resumed["results"].size(), 4u);
  EXPECT_EQ(resumed["results"][0]["cached"], true);
  for (std::size_t i = 0; i < 4; ++i)
    for (const char* key : {"final_loss", "w2", "mmd2", "energy", "floor_w2", "nearest_other_w2", "samples"})
      EXPECT_EQ(resumed["results"][i][key], whole["results"][i][key]) << i << " " << key;
}

TEST(FlowExperiment, BadStudiesAreRefusedBeforeAnyWork) {
  ScratchFolder dir;
  ex::ExperimentContext ctx;
  ctx.output_folder = dir.path() / "never";
  ex::FlowStudy s;
  s.pairs = {{"8gaussians", "moons", 3}};
  EXPECT_THROW(ex::make_study(s, ctx), iterop::invalid_option);
  s.pairs = {{"8gaussians", "unicorns", 2}};
  try {
    ex::make_study(s, ctx);
    FAIL() << "no exception";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("unicorns"), std::string::npos) << e.what();
  }
  s.pairs = {{"8gaussians", "moons", 2}};
  s.models = {"ddpm"};
  EXPECT_THROW(ex::make_study(s, ctx), iterop::invalid_option);
  s.models = {"icfm"};
  s.eval.samples = 1;
  EXPECT_THROW(ex::make_study(s, ctx), iterop::invalid_option);
  EXPECT_FALSE(std::filesystem::exists(ctx.output_folder));
}

#endif  // ITEROP_HAVE_OPERATORS
