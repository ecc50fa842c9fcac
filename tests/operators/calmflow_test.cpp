// Tests of CaLMFlow on tiny seeded models: option errors, causality of the one-step operator,
// cache equals no cache, save/load, falling loss, parallel-in-time Picard, reproducibility, exact
// resume, non-finite loss status, prompts (vocabulary, loss mask, effect on samples).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>

#include <unistd.h>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/operators/calmflow.hpp"

namespace fs = std::filesystem;
using namespace iterop::operators;
using iterop::distributions::SampleSet;

namespace {

CalmFlowOptions tiny(std::uint64_t seed = 3) {
  CalmFlowOptions o;
  o.dim = 2;
  o.time_points = 5;
  o.spatial_tokens = 1;
  o.trajectories = 2;
  o.width = 16;
  o.layers = 2;
  o.heads = 2;
  o.feedforward = 32;
  o.batch = 16;
  o.steps = 20;
  o.seed = seed;
  o.lr = 3e-3;
  return o;
}

CalmFlowData shifted_data(std::size_t n = 256) {
  CalmFlowData d;
  d.source = iterop::distributions::sample_dataset("normal", n, 2, 11);
  d.target = iterop::distributions::sample_dataset("normal", n, 2, 12);
  for (std::size_t i = 0; i < n; ++i) d.target(i, 0) += 4.0;
  return d;
}

double max_diff(const SampleSet& a, const SampleSet& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.dim, b.dim);
  double m = 0;
  for (std::size_t i = 0; i < a.values.size() && i < b.values.size(); ++i)
    m = std::max(m, std::abs(a.values[i] - b.values[i]));
  return m;
}

/// A folder of this test process for model files, removed when the process ends.
struct ScratchDir {
  fs::path dir = fs::temp_directory_path() / ("iterop_calmflow_test_" + std::to_string(::getpid()));
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

fs::path scratch(const std::string& name) {
  static ScratchDir d;
  fs::create_directories(d.dir);
  return d.dir / name;
}

void expect_invalid(const CalmFlowOptions& o, const std::string& needle) {
  try {
    CalmFlow m(o);
    ADD_FAILURE() << "no exception for " << needle;
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(CalmFlow, OptionsValidationNamesFieldValueAndRule) {
  auto o = tiny();
  o.time_points = 1;
  expect_invalid(o, "CalmFlowOptions::time_points = 1. Violated constraint: time_points >= 2.");
  o = tiny();
  o.width = 15;
  expect_invalid(o, "CalmFlowOptions::width = 15");
  o = tiny();
  o.heads = 4;
  o.width = 12;  // head width 3: odd, rotary needs even
  expect_invalid(o, "width / heads is even with rotary positions");
  o = tiny();
  o.position = "sinusoidal";
  expect_invalid(o, "CalmFlowOptions::position = sinusoidal");
  o = tiny();
  o.batch = 3;
  expect_invalid(o, "CalmFlowOptions::batch = 3");
  o = tiny();
  o.lr = 0;
  expect_invalid(o, "CalmFlowOptions::lr = 0");
  o = tiny();
  o.beta = -1;
  expect_invalid(o, "CalmFlowOptions::beta = -1");
  o = tiny();
  o.dim = 0;
  expect_invalid(o, "CalmFlowOptions::dim = 0");
  o = tiny();
  o.steps = -1;
  expect_invalid(o, "CalmFlowOptions::steps = -1");
  o = tiny();
  o.device = "gpu7";
  expect_invalid(o, "device = gpu7");

  CalmFlow m(tiny());
  auto d = shifted_data(8);
  d.source.dim = 3;
  EXPECT_THROW((void)m.train(d), iterop::invalid_option);
  d = shifted_data(8);
  d.target.values[3] = std::nan("");
  EXPECT_THROW((void)m.train(d), iterop::invalid_option);
  EXPECT_THROW((void)m.sample(SampleSet(4, 3)), iterop::invalid_option);
  EXPECT_THROW((void)m.sample(SampleSet(4, 2), {.temperature = std::nan("")}), iterop::invalid_option);
  EXPECT_THROW((void)m.sample(SampleSet(4, 2), {.prompt = "hello"}), iterop::invalid_option);
  EXPECT_EQ(m.step(), 0);  // nothing ran
}

// T(x)(t_{i+1}) depends on x(t_0..t_i) only: changing x(t_j) leaves T(x)(t_0..t_j) bit for bit
// unchanged and changes T(x)(t_{j+1}).
void check_causality(const CalmFlowOptions& o) {
  CalmFlow m(o);
  const auto x0 = iterop::distributions::sample_dataset("normal", 6, 2, 5);
  CalmFlowTrajectory x;
  for (int i = 0; i < o.time_points; ++i) x.push_back(iterop::distributions::sample_dataset("normal", 6, 2, 100 + i));
  x[0] = x0;
  const CalmFlowSampleOptions s{.temperature = 0.7, .seed = 9};
  const auto y = m.apply_operator(x, s);
  ASSERT_EQ(int(y.size()), o.time_points);
  EXPECT_EQ(max_diff(y[0], x0), 0.0);  // x(t_0) is fixed
  for (int j = 1; j < o.time_points; ++j) {
    auto xp = x;
    for (auto& v : xp[std::size_t(j)].values) v += 0.5;
    const auto yp = m.apply_operator(xp, s);
    for (int i = 0; i <= j; ++i) EXPECT_EQ(max_diff(yp[std::size_t(i)], y[std::size_t(i)]), 0.0) << "j=" << j << " i=" << i;
    if (j + 1 < o.time_points) {
      EXPECT_GT(max_diff(yp[std::size_t(j + 1)], y[std::size_t(j + 1)]), 1e-6) << "j=" << j;
    }
  }
}

TEST(CalmFlow, OneStepOperatorIsStrictlyCausal) {
  check_causality(tiny());
  auto o = tiny();
  o.position = "learned";
  o.spatial_tokens = 2;
  o.trajectories = 3;
  o.batch = 12;
  check_causality(o);
}

void check_cache(CalmFlow& m, const std::string& prompt = "") {
  const auto x0 = iterop::distributions::sample_dataset("normal", 7, 2, 21);  // 7 rows: last sequence padded
  CalmFlowSampleOptions s{.temperature = 0.5, .seed = 4, .prompt = prompt, .use_cache = true};
  const auto a = m.sample_trajectory(x0, s);
  s.use_cache = false;
  const auto b = m.sample_trajectory(x0, s);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_LT(max_diff(a[i], b[i]), 1e-5) << "time " << i;
  EXPECT_EQ(max_diff(a[0], x0), 0.0);
  EXPECT_EQ(max_diff(m.sample(x0, s), b.back()), 0.0);
}

TEST(CalmFlow, KeyValueCacheEqualsReencoding) {
  CalmFlow m(tiny());
  (void)m.train(shifted_data());
  check_cache(m);
  auto o = tiny();
  o.position = "learned";
  o.spatial_tokens = 2;
  CalmFlow l(o);
  check_cache(l);
  o.position = "rotary";
  o.head = "deterministic";
  CalmFlow d(o, {"left", "right"});
  check_cache(d, "left");
  o.head = "gaussian";
  o.increment = false;
  CalmFlow g(o, {"left", "right"});
  check_cache(g, "left");
  o.head = "variational";
  o.mlp = "paper";
  o.dropout = 0.1;
  o.parallel_residual = true;
  o.rotary_fraction = 0.25;
  CalmFlow v(o, {"left", "right"});
  check_cache(v, "left");
}

TEST(CalmFlow, LossFallsOnTinySeededProblem) {
  auto o = tiny();
  o.steps = 150;
  o.head = "deterministic";  // on straight paths the squared error can fall to near zero
  o.paths = "straight";
  CalmFlow m(o);
  const auto r = m.train(shifted_data());
  ASSERT_EQ(r.status, CalmFlowTrainStatus::completed) << r.message;
  ASSERT_EQ(r.loss.size(), 150u);
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) {
    first += r.mse[std::size_t(i)];
    last += r.mse[std::size_t(140 + i)];
  }
  EXPECT_LT(last, 0.3 * first) << "mse first 10 " << first / 10 << ", last 10 " << last / 10;
  EXPECT_EQ(m.step(), 150);
  EXPECT_EQ(r.last_step, 150);
  EXPECT_GT(r.steps_per_second, 0.0);
  // The mean path (temperature 0) moves the source towards the shifted target.
  const auto x0 = iterop::distributions::sample_dataset("normal", 64, 2, 77);
  const auto y = m.sample(x0, {.temperature = 0.0});
  double mean_x = 0;
  for (std::size_t i = 0; i < y.rows; ++i) mean_x += y(i, 0) / double(y.rows);
  EXPECT_GT(mean_x, 2.5);
  EXPECT_LT(mean_x, 5.5);
}

// The generative heads learn a distribution, not a mean: N(0, I) -> N((4, 0), I) with independent
// pairing; the sample's mean and standard deviations must match the target's, and the final state
// must depend on the head's noise as much as the target's spread (sqrt(trace) = sqrt(2)).
TEST(CalmFlow, GenerativeHeadsLearnTheTargetDistribution) {
  for (const std::string head : {"gaussian", "flow"}) {
    auto o = tiny();
    o.head = head;
    o.steps = 2000;
    o.batch = 64;
    o.head_width = 64;  // as in the 2-D model (max(K w, D) = 64 there)
    CalmFlow m(o);
    const auto r = m.train(shifted_data(1024));
    ASSERT_EQ(r.status, CalmFlowTrainStatus::completed) << r.message;
    const auto x0 = iterop::distributions::sample_dataset("normal", 2000, 2, 78);
    const auto y = m.sample(x0, {.seed = 5});
    double mean[2] = {0, 0}, var[2] = {0, 0};
    for (std::size_t i = 0; i < y.rows; ++i)
      for (std::size_t c = 0; c < 2; ++c) mean[c] += y(i, c) / double(y.rows);
    for (std::size_t i = 0; i < y.rows; ++i)
      for (std::size_t c = 0; c < 2; ++c) var[c] += (y(i, c) - mean[c]) * (y(i, c) - mean[c]) / double(y.rows - 1);
    EXPECT_NEAR(mean[0], 4.0, 0.25) << head;
    EXPECT_NEAR(mean[1], 0.0, 0.25) << head;
    EXPECT_NEAR(std::sqrt(var[0]), 1.0, 0.2) << head;
    EXPECT_NEAR(std::sqrt(var[1]), 1.0, 0.2) << head;
    EXPECT_NEAR(m.noise_spread(x0, {.seed = 5}), std::sqrt(2.0), 0.35) << head;
  }
  auto o = tiny();
  o.head = "deterministic";
  const auto x0 = iterop::distributions::sample_dataset("normal", 16, 2, 78);
  EXPECT_EQ(CalmFlow(o).noise_spread(x0), 0.0);
}

TEST(CalmFlow, PaperPresetIsTheAuthorsScript) {
  const auto o = calmflow_preset("paper-2d");
  EXPECT_EQ(o.head, "variational");
  EXPECT_EQ(o.paths, "variance-exploding");
  EXPECT_EQ(o.sigma_max, 10.0);
  EXPECT_EQ(o.rotary_fraction, 0.25);
  EXPECT_TRUE(o.parallel_residual);
  EXPECT_EQ(o.steps, 10000);
  EXPECT_EQ(o.batch, 256);
  EXPECT_FALSE(o.increment);
  EXPECT_FALSE(o.normalise_loss);
  EXPECT_NO_THROW(o.validate());
  EXPECT_THROW((void)calmflow_preset("paper-3d"), iterop::invalid_option);
  auto t = tiny();
  t.head = "variational";
  EXPECT_NEAR(CalmFlow(t).noise_spread(SampleSet(4, 2), {.temperature = 0.0}), 0.0, 0.0);
  const std::vector<std::pair<std::function<void(CalmFlowOptions&)>, std::string>> bad{
      {[](CalmFlowOptions& c) { c.paths = "brownian"; }, "CalmFlowOptions::paths = brownian"},
      {[](CalmFlowOptions& c) { c.head = "mixture"; }, "CalmFlowOptions::head = mixture"},
      {[](CalmFlowOptions& c) { c.rotary_fraction = 0; }, "CalmFlowOptions::rotary_fraction = 0"},
      {[](CalmFlowOptions& c) { c.sigma_max = 1e-5; }, "CalmFlowOptions::sigma_max = 1e-05"},
      {[](CalmFlowOptions& c) { c.head_width = -1; }, "CalmFlowOptions::head_width = -1"},
      {[](CalmFlowOptions& c) { c.head_steps = 0; }, "CalmFlowOptions::head_steps = 0"},
      {[](CalmFlowOptions& c) {
         c.head = "variational";
         c.head_reads_state = true;
       },
       "CalmFlowOptions::head_reads_state = true with head variational"},
      {[](CalmFlowOptions& c) { c.mlp = "relu"; }, "CalmFlowOptions::mlp = relu"},
      {[](CalmFlowOptions& c) { c.dropout = 1; }, "CalmFlowOptions::dropout = 1"},
      {[](CalmFlowOptions& c) { c.path_sigma = -0.5; }, "CalmFlowOptions::path_sigma = -0.5"},
      {[](CalmFlowOptions& c) { c.sigma_min = 0; }, "CalmFlowOptions::sigma_min = 0"},
      {[](CalmFlowOptions& c) { c.weight_decay = -1; }, "CalmFlowOptions::weight_decay = -1"},
      {[](CalmFlowOptions& c) { c.lr_schedule = "step"; }, "CalmFlowOptions::lr_schedule = step"}};
  for (const auto& [change, message] : bad) {
    t = tiny();
    change(t);
    expect_invalid(t, message);
  }
}

// Paths: noise of scale 0 is the straight path (bit for bit: no noise is drawn), the authors'
// variance-exploding paths are not; the learning-rate schedule changes training.
TEST(CalmFlow, PathsAndScheduleAreWhatTheOptionsSay) {
  const auto d = shifted_data(64);
  auto loss_of = [&](const std::string& paths, double sigma) {
    auto o = tiny();
    o.paths = paths;
    o.path_sigma = sigma;
    return CalmFlow(o).loss_breakdown(d, 4, 9).loss;
  };
  const double straight = loss_of("straight", 1.0);
  EXPECT_EQ(loss_of("bridge", 0.0), straight);
  EXPECT_EQ(loss_of("noisy", 0.0), straight);
  EXPECT_NE(loss_of("bridge", 1.0), straight);
  EXPECT_NE(loss_of("noisy", 1.0), straight);
  EXPECT_NE(loss_of("variance-exploding", 1.0), straight);
  auto o = tiny();
  o.lr_schedule = "constant";
  CalmFlow constant(o), cosine(tiny());
  const auto rc = constant.train(d), rs = cosine.train(d);
  EXPECT_EQ(rc.loss.front(), rs.loss.front());  // the first step's lr is lr in both
  EXPECT_NE(rc.loss.back(), rs.loss.back());
}

TEST(CalmFlow, SeededTrainingAndSamplingAreReproducible) {
  const auto d = shifted_data();
  CalmFlow a(tiny(5)), b(tiny(5)), c(tiny(6));
  const auto ra = a.train(d), rb = b.train(d), rc = c.train(d);
  EXPECT_EQ(ra.loss, rb.loss);
  EXPECT_NE(ra.loss, rc.loss);
  const auto x0 = iterop::distributions::sample_dataset("normal", 10, 2, 8);
  EXPECT_EQ(max_diff(a.sample(x0, {.seed = 1}), b.sample(x0, {.seed = 1})), 0.0);
  EXPECT_GT(max_diff(a.sample(x0, {.seed = 1}), a.sample(x0, {.seed = 2})), 1e-4);
}

TEST(CalmFlow, SaveLoadRoundTripSamplesIdentically) {
  CalmFlow m(tiny(), {"generate moons shifted left", "generate moons, shifted right!"});
  auto d = shifted_data(32);
  for (std::size_t i = 0; i < 32; ++i) d.prompts.push_back(i % 2 ? "generate moons shifted left" : "generate moons shifted right");
  (void)m.train(d);
  const auto path = scratch("roundtrip.pt");
  m.save(path.string());
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  const CalmFlow l = CalmFlow::load(path.string());
  EXPECT_EQ(l.vocabulary(), (std::vector<std::string>{"generate", "left", "moons", "right", "shifted"}));
  EXPECT_TRUE(l.conditional());
  EXPECT_EQ(l.step(), m.step());
  EXPECT_EQ(l.num_parameters(), m.num_parameters());
  EXPECT_EQ(l.options().seed, m.options().seed);
  EXPECT_EQ(l.options().lr, m.options().lr);
  const auto x0 = iterop::distributions::sample_dataset("normal", 9, 2, 8);
  const CalmFlowSampleOptions s{.temperature = 0.4, .seed = 3, .prompt = "Generate moons shifted LEFT"};
  EXPECT_EQ(max_diff(l.sample(x0, s), m.sample(x0, s)), 0.0);
  EXPECT_THROW((void)CalmFlow::load(scratch("missing.pt").string()), iterop::invalid_option);
}

TEST(CalmFlow, ResumeFromCheckpointEqualsUninterruptedRun) {
  for (const double weight_decay : {0.0, 0.05}) {  // Adam, then AdamW (its state is checkpointed too)
    const auto d = shifted_data();
    auto o = tiny();
    o.steps = 16;
    o.weight_decay = weight_decay;
    CalmFlow whole(o);
    const auto rw = whole.train(d);
    // Interrupted: the callback stops at step 7 (checkpoint every 3 steps and at the stop).
    const auto ckpt = scratch("resume.pt");
    CalmFlow first(o);
    CalmFlowTrainOptions t;
    t.checkpoint_path = ckpt.string();
    t.checkpoint_every = 3;
    t.progress = [](const CalmFlowProgress& p) { return p.step < 7; };
    const auto r1 = first.train(d, t);
    EXPECT_EQ(r1.status, CalmFlowTrainStatus::stopped);
    EXPECT_EQ(r1.last_step, 7);
    EXPECT_EQ(r1.last_checkpoint_step, 7);
    EXPECT_FALSE(fs::exists(ckpt.string() + ".tmp"));
    // A fresh model resumes from the file and runs to 16.
    CalmFlow second(o);
    CalmFlowTrainOptions t2;
    t2.resume_from = ckpt.string();
    const auto r2 = second.train(d, t2);
    ASSERT_EQ(r2.status, CalmFlowTrainStatus::completed) << r2.message;
    EXPECT_EQ(r2.first_step, 7);
    ASSERT_EQ(r2.loss.size(), 9u);
    for (std::size_t i = 0; i < 9; ++i) EXPECT_EQ(r2.loss[i], rw.loss[7 + i]) << "step " << 8 + i;
    for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(r1.loss[i], rw.loss[i]);
    const auto x0 = iterop::distributions::sample_dataset("normal", 6, 2, 8);
    EXPECT_EQ(max_diff(second.sample(x0), whole.sample(x0)), 0.0);
    // A checkpoint of other options is refused.
    auto other = o;
    other.width = 8;
    CalmFlow third(other);
    EXPECT_THROW((void)third.train(d, t2), iterop::invalid_option);
  }
}

TEST(CalmFlow, NonFiniteLossIsAStatusAndKeepsTheLastGoodCheckpoint) {
  auto o = tiny();
  o.lr = 1e12;
  o.steps = 60;
  CalmFlow m(o);
  const auto ckpt = scratch("nonfinite.pt");
  CalmFlowTrainOptions t;
  t.checkpoint_path = ckpt.string();
  t.checkpoint_every = 1;
  const auto r = m.train(shifted_data(), t);
  ASSERT_EQ(r.status, CalmFlowTrainStatus::non_finite_loss) << r.message;
  EXPECT_NE(r.message.find("loss of step"), std::string::npos) << r.message;
  EXPECT_LT(r.last_step, 60);
  for (double l : r.loss) EXPECT_TRUE(std::isfinite(l));
  const auto x0 = iterop::distributions::sample_dataset("normal", 4, 2, 8);
  // The model holds weights whose loss was finite; the checkpoint on disk loads and is finite too.
  ASSERT_FALSE(r.last_checkpoint.empty());  // step 1 has a finite loss, so a checkpoint was written
  const CalmFlow l = CalmFlow::load(r.last_checkpoint);
  EXPECT_EQ(l.step(), r.last_checkpoint_step);
  EXPECT_LE(r.last_checkpoint_step, r.last_step + 1);
}

TEST(CalmFlow, ParallelInTimePicardReachesTheSequentialSample) {
  CalmFlow m(tiny());
  (void)m.train(shifted_data());
  const auto x0 = iterop::distributions::sample_dataset("normal", 8, 2, 31);
  const CalmFlowSampleOptions s{.temperature = 0.5, .seed = 6};
  const int n1 = m.options().time_points - 1;
  // tol = 0: Picard stops only at an exact fixed point of T, which it reaches within N - 1 sweeps.
  const auto r = m.sample_parallel(x0, s, {.tol = 0.0});
  EXPECT_EQ(r.sequential_passes, n1);
  EXPECT_TRUE(r.picard.converged) << r.picard.status;
  EXPECT_LE(r.picard.iterations, n1);
  EXPECT_LT(r.picard.error, 1e-5);
  EXPECT_LT(max_diff(r.picard.sample, r.sequential), 1e-5);
  EXPECT_LT(max_diff(r.sequential, m.sample(x0, s)), 1e-5);
  // Error after k sweeps: the first k states are exact, so it is reached at k <= N - 1.
  const auto q = m.sample_parallel(x0, s, {.tol = 1e-5});
  ASSERT_GE(q.picard.sweeps_to_tol, 1);
  EXPECT_LE(q.picard.sweeps_to_tol, n1);
  EXPECT_GT(q.picard.error_history.at(0), 1e-3);  // the guess x(t_i) = x0 is far from the sample
  EXPECT_GE(q.anderson.evaluations, 1);
  // Anderson on the not-yet-exact suffix keeps the exact prefix, so it is exact within N - 1 sweeps too.
  EXPECT_TRUE(r.anderson_suffix.converged) << r.anderson_suffix.status;
  EXPECT_LE(r.anderson_suffix.iterations, n1);
  EXPECT_LT(r.anderson_suffix.error, 1e-5);
  EXPECT_LT(max_diff(r.anderson_suffix.sample, r.sequential), 1e-5);
  ASSERT_GE(q.anderson_suffix.sweeps_to_tol, 1);
  EXPECT_LE(q.anderson_suffix.sweeps_to_tol, n1);
  EXPECT_EQ(q.anderson_suffix.error_history.size(), std::size_t(q.anderson_suffix.evaluations));
  // The fixed point of the operator is the sequential trajectory.
  const auto traj = m.sample_trajectory(x0, {.temperature = 0.5, .seed = 6, .use_cache = false});
  const auto image = m.apply_operator(traj, s);
  for (std::size_t i = 0; i < traj.size(); ++i) EXPECT_LT(max_diff(image[i], traj[i]), 1e-5);
  // Picard by hand: after k sweeps from the guess x(t_i) = x0, the states t_0..t_k are the sequential ones.
  CalmFlowTrajectory x(traj.size(), x0);
  for (std::size_t k = 1; k < traj.size(); ++k) {
    x = m.apply_operator(x, s);
    for (std::size_t i = 0; i <= k; ++i) EXPECT_LT(max_diff(x[i], traj[i]), 1e-5) << "sweep " << k << ", state " << i;
    if (k + 1 < traj.size()) {
      EXPECT_GT(max_diff(x[k + 1], traj[k + 1]), 1e-4) << "sweep " << k;  // not yet: the guess was far off
    }
  }
}

// A head that reads z(t_i) and z(t_0) beside the transformer's summaries: still strictly causal, the cache
// still equals re-encoding, Picard still reaches the sequential sample (the operator passes z(t_0) and the
// predecessors the same way the sequential sampler does), the option survives a save and load, and the head's
// first layer has the 2 D extra input columns.
TEST(CalmFlow, HeadThatReadsTheStateKeepsCausalityCacheAndFixedPoint) {
  for (const std::string head : {"gaussian", "flow"}) {
    auto o = tiny();
    o.head = head;
    o.head_reads_state = true;
    o.head_steps = 4;
    check_causality(o);
    CalmFlow m(o);
    (void)m.train(shifted_data());
    check_cache(m);
    const auto x0 = iterop::distributions::sample_dataset("normal", 8, 2, 31);
    const CalmFlowSampleOptions s{.temperature = 0.5, .seed = 6};
    const auto r = m.sample_parallel(x0, s, {.tol = 0.0});
    EXPECT_TRUE(r.picard.converged) << head << ": " << r.picard.status;
    EXPECT_LT(max_diff(r.picard.sample, r.sequential), 1e-5) << head;
    const auto path = scratch("reads-state-" + head + ".pt");
    m.save(path.string());
    const CalmFlow l = CalmFlow::load(path.string());
    EXPECT_TRUE(l.options().head_reads_state);
    EXPECT_EQ(l.num_parameters(), m.num_parameters());
    EXPECT_EQ(max_diff(l.sample(x0, s), m.sample(x0, s)), 0.0) << head;
    // 2 D more input columns of the head's first layer (hidden width max(K w, D)) than the summaries-only head.
    auto plain = o;
    plain.head_reads_state = false;
    const int hidden = std::max(o.spatial_tokens * o.width, o.dim);
    EXPECT_EQ(m.num_parameters() - CalmFlow(plain).num_parameters(), long(2 * o.dim * hidden)) << head;
  }
}

TEST(CalmFlow, PromptsConditionTheSampleAndAreMaskedFromTheLoss) {
  auto o = tiny();
  o.max_prompt_tokens = 4;
  const std::vector<std::string> prompts{"shift left", "shift right"};
  CalmFlow m(o, prompts);
  // Layout: 4 prompt positions, then N M K flow tokens; the last time step is outside the loss.
  const auto lay = m.layout();
  ASSERT_EQ(int(lay.size()), 4 + o.time_points * o.trajectories * o.spatial_tokens);
  for (int p = 0; p < 4; ++p) EXPECT_TRUE(lay[std::size_t(p)].prompt && !lay[std::size_t(p)].in_loss);
  EXPECT_EQ(lay[4].time, 0);
  EXPECT_TRUE(lay[4].in_loss);
  EXPECT_FALSE(lay.back().in_loss);
  EXPECT_EQ(lay.back().time, o.time_points - 1);

  CalmFlowData d = shifted_data(64);
  for (std::size_t i = 0; i < 64; ++i) {
    const bool left = i % 2 == 0;
    d.target(i, 0) = left ? d.target(i, 0) - 8.0 : d.target(i, 0);
    d.prompts.push_back(left ? "shift left" : "shift right");
  }
  const auto b = m.loss_breakdown(d, 3, 17);
  ASSERT_EQ(b.per_position.size(), lay.size());
  double sum = 0;
  for (std::size_t p = 0; p < lay.size(); ++p) {
    sum += b.per_position[p];
    if (lay[p].in_loss) {
      EXPECT_GT(b.per_position[p], 0.0) << "position " << p;
    } else {
      EXPECT_EQ(b.per_position[p], 0.0) << "position " << p;
    }
  }
  EXPECT_NEAR(sum, b.loss, 1e-5 * std::abs(b.loss));
  EXPECT_NEAR(b.loss, b.mse + o.beta * b.kl, 1e-5 * std::abs(b.loss));

  auto o2 = o;
  o2.steps = 120;
  CalmFlow c(o2, prompts);
  const auto r = c.train(d);
  ASSERT_EQ(r.status, CalmFlowTrainStatus::completed);
  const auto x0 = iterop::distributions::sample_dataset("normal", 32, 2, 40);
  const auto yl = c.sample(x0, {.temperature = 0.0, .prompt = "shift left"});
  const auto yr = c.sample(x0, {.temperature = 0.0, .prompt = "shift right"});
  double ml = 0, mr = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    ml += yl(i, 0) / 32;
    mr += yr(i, 0) / 32;
  }
  EXPECT_GT(mr - ml, 2.0) << "mean x with 'shift left' " << ml << ", with 'shift right' " << mr;
  try {
    (void)c.sample(x0, {.prompt = "shift up"});
    ADD_FAILURE() << "unknown word accepted";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("word = up"), std::string::npos) << e.what();
  }
  CalmFlowData unprompted = shifted_data(8);
  EXPECT_THROW((void)c.train(unprompted), iterop::invalid_option);
  EXPECT_THROW(CalmFlow(o, {"one two three four five"}), iterop::invalid_option);
}

TEST(CalmFlow, ProgressReportsRateAndTimeLeft) {
  CalmFlow m(tiny());
  std::vector<CalmFlowProgress> seen;
  CalmFlowTrainOptions t;
  t.progress_every = 5;
  t.progress = [&](const CalmFlowProgress& p) {
    seen.push_back(p);
    return true;
  };
  const auto r = m.train(shifted_data(), t);
  ASSERT_EQ(r.status, CalmFlowTrainStatus::completed);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen.back().step, 20);
  EXPECT_EQ(seen.back().seconds_left, 0.0);
  EXPECT_GT(seen[0].steps_per_second, 0.0);
  EXPECT_GT(seen[0].seconds_left, 0.0);
  EXPECT_EQ(seen[0].loss, r.loss[4]);
}

}  // namespace
