// DiffusionDenoiser: option validation, schedules and strided timesteps, seeded reproducible training,
// falling loss, callback stop and non-finite loss as statuses, DDPM == DDIM(eta = 1), parallel-in-time
// Picard and Anderson reaching the sequential chain, and the save/load round trip. Tiny models, CPU.
#include "iterop/operators/diffusion_denoiser.hpp"

#include <gtest/gtest.h>

#include <array>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"

namespace {

using namespace iterop::operators;
using iterop::distributions::SampleSet;

DenoiserOptions tiny_options(std::uint64_t seed = 3) {
  DenoiserOptions o;
  o.dim = 2;
  o.width = 32;
  o.depth = 2;
  o.time_embedding = 8;
  o.diffusion_steps = 20;
  o.batch = 128;
  o.training_steps = 300;
  o.progress_every = 50;
  o.lr = 2e-3;
  o.seed = seed;
  return o;
}

SampleSet moons(std::size_t n = 512) { return iterop::distributions::sample_dataset("moons", n, 2, 11); }

double max_abs_diff(const SampleSet& a, const SampleSet& b) {
  EXPECT_EQ(a.values.size(), b.values.size());
  double m = 0;
  for (std::size_t i = 0; i < a.values.size() && i < b.values.size(); ++i)
    m = std::max(m, std::abs(a.values[i] - b.values[i]));
  return m;
}

/// One trained tiny model shared by the sampling tests (trained once: about a second).
const DiffusionDenoiser& trained() {
  static DiffusionDenoiser d = [] {
    DiffusionDenoiser m(tiny_options());
    m.train(moons());
    return m;
  }();
  return d;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const iterop::invalid_option& e) {
    return e.what();
  }
  return "(no invalid_option thrown)";
}

TEST(DiffusionDenoiser, InvalidOptionsNameFieldValueAndRule) {
  auto bad = [](auto mutate) {
    DenoiserOptions o = tiny_options();
    mutate(o);
    return error_of([&] { DiffusionDenoiser d(o); });
  };
  EXPECT_EQ(bad([](DenoiserOptions& o) { o.dim = 0; }), "DenoiserOptions::dim = 0. Violated constraint: dim >= 1.");
  EXPECT_EQ(bad([](DenoiserOptions& o) { o.width = -3; }),
            "DenoiserOptions::width = -3. Violated constraint: width >= 1.");
  EXPECT_EQ(bad([](DenoiserOptions& o) { o.depth = 0; }), "DenoiserOptions::depth = 0. Violated constraint: depth >= 1.");
  EXPECT_EQ(bad([](DenoiserOptions& o) { o.time_embedding = 7; }),
            "DenoiserOptions::time_embedding = 7. Violated constraint: time_embedding even and >= 2.");
  EXPECT_EQ(bad([](DenoiserOptions& o) { o.diffusion_steps = 1; }),
            "DenoiserOptions::diffusion_steps = 1. Violated constraint: 2 <= diffusion_steps <= 100000.");
  EXPECT_EQ(bad([](DenoiserOptions& o) { o.lr = 0; }), "DenoiserOptions::lr = 0. Violated constraint: lr > 0 and finite.");
  EXPECT_EQ(bad([](DenoiserOptions& o) { o.batch = 0; }), "DenoiserOptions::batch = 0. Violated constraint: batch >= 1.");
  EXPECT_EQ(bad([](DenoiserOptions& o) { o.training_steps = -1; }),
            "DenoiserOptions::training_steps = -1. Violated constraint: training_steps >= 0.");
  EXPECT_NE(bad([](DenoiserOptions& o) { o.device = "toaster"; }).find("device = toaster"), std::string::npos);
  EXPECT_EQ(error_of([] { parse_beta_schedule("quadratic"); }),
            "beta schedule = quadratic. Violated constraint: linear or cosine.");

  const auto& d = trained();
  auto bad_sampling = [&](auto mutate) {
    SamplingOptions s;
    s.steps = 5;
    s.samples = 10;
    mutate(s);
    return error_of([&] { d.sample(s); });
  };
  EXPECT_EQ(bad_sampling([](SamplingOptions& s) { s.steps = 21; }),
            "SamplingOptions::steps = 21. Violated constraint: 1 <= steps <= diffusion_steps (20).");
  EXPECT_EQ(bad_sampling([](SamplingOptions& s) { s.steps = 0; }),
            "SamplingOptions::steps = 0. Violated constraint: 1 <= steps <= diffusion_steps (20).");
  EXPECT_EQ(bad_sampling([](SamplingOptions& s) { s.eta = 1.5; }),
            "SamplingOptions::eta = 1.5. Violated constraint: 0 <= eta <= 1.");
  EXPECT_EQ(bad_sampling([](SamplingOptions& s) { s.samples = 0; }),
            "SamplingOptions::samples = 0. Violated constraint: samples >= 1.");
  auto bad_parallel = [&](auto mutate) {
    SamplingOptions s;
    s.steps = 5;
    s.samples = 10;
    ParallelSamplingOptions p;
    mutate(p);
    return error_of([&] { d.sample_parallel(s, p); });
  };
  EXPECT_EQ(bad_parallel([](ParallelSamplingOptions& p) { p.tolerance = 0; }),
            "ParallelSamplingOptions::tolerance = 0. Violated constraint: tolerance > 0 and finite.");
  EXPECT_EQ(bad_parallel([](ParallelSamplingOptions& p) { p.window = -1; }),
            "ParallelSamplingOptions::window = -1. Violated constraint: window >= 0 (0: the whole chain).");
  EXPECT_EQ(bad_parallel([](ParallelSamplingOptions& p) { p.anderson_memory = 0; }),
            "ParallelSamplingOptions::anderson_memory = 0. Violated constraint: anderson_memory >= 1.");

  DiffusionDenoiser fresh(tiny_options());
  SampleSet wrong(4, 3);
  EXPECT_EQ(error_of([&] { fresh.train(wrong); }),
            "DiffusionDenoiser::train data.dim = 3. Violated constraint: equal to DenoiserOptions::dim (2).");
  SampleSet nan_data(2, 2);
  nan_data.values[1] = std::nan("");
  EXPECT_EQ(error_of([&] { fresh.train(nan_data); }),
            "DiffusionDenoiser::train data = non-finite values. Violated constraint: every value finite.");
}

TEST(DiffusionDenoiser, SchedulesAndStridedTimesteps) {
  EXPECT_EQ(sampling_timesteps(10, 3), (std::vector<int>{2, 5, 9}));
  EXPECT_EQ(sampling_timesteps(4, 4), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(sampling_timesteps(100, 1), (std::vector<int>{99}));
  for (auto s : {BetaSchedule::linear, BetaSchedule::cosine}) {
    const auto beta = beta_schedule(s, 100);
    ASSERT_EQ(beta.size(), 100u);
    double ab = 1;
    for (double b : beta) {
      EXPECT_GT(b, 0.0);
      EXPECT_LE(b, 0.999);
      ab *= 1 - b;
    }
    EXPECT_LT(ab, 1e-3) << to_string(s);  // the chain ends close to pure noise
  }
  const auto lin = beta_schedule(BetaSchedule::linear, 1000);
  EXPECT_DOUBLE_EQ(lin.front(), 1e-4);  // Ho et al.'s range at T = 1000
  EXPECT_DOUBLE_EQ(lin.back(), 0.02);
}

TEST(DiffusionDenoiser, SeededTrainingIsReproducibleAndTheLossFalls) {
  const auto data = moons();
  DiffusionDenoiser a(tiny_options(5)), b(tiny_options(5)), c(tiny_options(6));
  const auto ra = a.train(data), rb = b.train(data), rc = c.train(data);
  EXPECT_EQ(ra.status, DenoiserTrainStatus::completed);
  EXPECT_EQ(ra.steps, 300);
  ASSERT_EQ(ra.losses.size(), 6u);
  EXPECT_EQ(ra.losses, rb.losses);  // bit-identical on CPU
  EXPECT_NE(ra.losses, rc.losses);
  EXPECT_LT(ra.final_loss, 0.8 * ra.initial_loss) << ra.initial_loss << " -> " << ra.final_loss;
  SamplingOptions s;
  s.steps = 10;
  s.samples = 64;
  s.seed = 9;
  EXPECT_EQ(a.sample(s).samples.values, b.sample(s).samples.values);
  EXPECT_NE(a.sample(s).samples.values, c.sample(s).samples.values);
  // The standardisation comes from the data.
  const auto mean = a.data_mean();
  ASSERT_EQ(mean.size(), 2u);
  double m0 = 0;
  for (std::size_t i = 0; i < data.rows; ++i) m0 += data(i, 0);
  EXPECT_NEAR(mean[0], m0 / double(data.rows), 1e-12);
}

TEST(DiffusionDenoiser, CallbackStopAndNonFiniteLossAreStatuses) {
  DiffusionDenoiser d(tiny_options());
  int calls = 0;
  const auto r = d.train(moons(), [&](const DenoiserProgress& p) {
    ++calls;
    EXPECT_EQ(p.step, 50);
    EXPECT_EQ(p.total, 300);
    return iterop::Action::stop;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.status, DenoiserTrainStatus::stopped_by_callback);
  EXPECT_EQ(r.steps, 50);

  DenoiserOptions o = tiny_options();
  o.lr = 1e30;  // the first update sends the weights to ~1e30: the loss overflows
  DiffusionDenoiser blown(o);
  const auto rb = blown.train(moons());
  EXPECT_EQ(rb.status, DenoiserTrainStatus::non_finite_loss) << rb.message;
  EXPECT_LT(rb.steps, 300);
  EXPECT_NE(rb.message.find("non-finite"), std::string::npos);
}

TEST(DiffusionDenoiser, DdpmIsDdimWithEtaOne) {
  const auto& d = trained();
  SamplingOptions s;
  s.steps = 7;
  s.samples = 50;
  s.seed = 4;
  s.sampler = Sampler::ddpm;
  const auto a = d.sample(s);
  s.sampler = Sampler::ddim;
  s.eta = 1.0;
  const auto b = d.sample(s);
  EXPECT_EQ(a.samples.values, b.samples.values);
  s.eta = 0.0;
  EXPECT_GT(max_abs_diff(a.samples, d.sample(s).samples), 1e-3);  // the noise matters
}

TEST(DiffusionDenoiser, ParallelPicardEqualsSequentialSampling) {
  const auto& d = trained();
  for (Sampler sampler : {Sampler::ddpm, Sampler::ddim}) {
    for (ChainForm form : {ChainForm::cumulative, ChainForm::step}) {
      for (int window : {0, 4}) {
        SamplingOptions s;
        s.sampler = sampler;
        s.steps = 12;
        s.samples = 40;
        s.seed = 21;
        ParallelSamplingOptions p;
        p.method = ChainMethod::picard;
        p.form = form;
        p.window = window;
        p.tolerance = 1e-10;
        const auto seq = d.sample(s);
        const auto par = d.sample_parallel(s, p);
        const std::string what = std::string(to_string(sampler)) + " " + std::string(to_string(form)) + " window " +
                                 std::to_string(window);
        ASSERT_EQ(par.status, iterop::Status::converged) << what << ": " << par.message;
        EXPECT_LT(max_abs_diff(par.samples, seq.samples), 1e-8) << what;
        EXPECT_LE(par.sweeps, s.steps) << what;  // Picard on a causal chain: at most S sweeps
        EXPECT_GE(par.network_evaluations, s.steps) << what;
        EXPECT_EQ(seq.sweeps, s.steps);
      }
    }
  }
}

TEST(DiffusionDenoiser, ParallelAndersonReachesSequentialSampling) {
  const auto& d = trained();
  for (Sampler sampler : {Sampler::ddpm, Sampler::ddim}) {
    for (int window : {0, 5}) {  // the whole chain; blocks of 5 steps (12 = 5 + 5 + 2)
      SamplingOptions s;
      s.sampler = sampler;
      s.steps = 12;
      s.samples = 40;
      s.seed = 22;
      ParallelSamplingOptions p;
      p.method = ChainMethod::anderson;
      p.window = window;
      p.tolerance = 1e-9;
      const auto seq = d.sample(s);
      const auto par = d.sample_parallel(s, p);
      ASSERT_EQ(par.status, iterop::Status::converged) << to_string(sampler) << ": " << par.message;
      EXPECT_LT(max_abs_diff(par.samples, seq.samples), 1e-6) << to_string(sampler) << " window " << window;
      EXPECT_LE(par.sweeps, 4 * s.steps);
      EXPECT_EQ(par.windows, window == 0 ? 1 : 3);  // Anderson slides only once its window has converged
    }
  }
}

TEST(DiffusionDenoiser, LooseToleranceTakesFewerSweeps) {
  const auto& d = trained();
  SamplingOptions s;
  s.steps = 20;
  s.samples = 100;
  s.seed = 2;
  ParallelSamplingOptions p;
  p.tolerance = 1e-1;
  const auto loose = d.sample_parallel(s, p);
  p.tolerance = 1e-10;
  const auto tight = d.sample_parallel(s, p);
  ASSERT_EQ(loose.status, iterop::Status::converged);
  ASSERT_EQ(tight.status, iterop::Status::converged);
  EXPECT_LT(loose.sweeps, tight.sweeps);
  // A budget too small is a status, not an exception.
  p.max_sweeps = 2;
  const auto cut = d.sample_parallel(s, p);
  EXPECT_EQ(cut.status, iterop::Status::max_iterations) << cut.message;
  EXPECT_LE(cut.sweeps, 2);
}

TEST(DiffusionDenoiser, SaveLoadRoundTrip) {
  const auto& d = trained();
  const auto file = std::filesystem::temp_directory_path() /
                    ("iterop_denoiser_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + ".pt");
  d.save(file);
  const auto e = DiffusionDenoiser::load(file);
  std::filesystem::remove(file);
  EXPECT_EQ(e.options().width, d.options().width);
  EXPECT_EQ(e.options().diffusion_steps, d.options().diffusion_steps);
  EXPECT_EQ(e.options().seed, d.options().seed);
  EXPECT_EQ(e.data_mean(), d.data_mean());
  EXPECT_EQ(e.data_scale(), d.data_scale());
  EXPECT_EQ(e.num_parameters(), d.num_parameters());
  SamplingOptions s;
  s.steps = 8;
  s.samples = 30;
  EXPECT_EQ(e.sample(s).samples.values, d.sample(s).samples.values);
  EXPECT_NE(error_of([] { DiffusionDenoiser::load("/no/such/file.pt"); }).find("/no/such/file.pt"), std::string::npos);
}

}  // namespace

// The step diagnostics against an independent computation: the chain rebuilt from the public API
// (alpha_bars, sampling_timesteps, predict_noise) and the same initial noise, the full 2 x 2 Jacobian of
// every step by central differences, its eigenvalues from the trace and determinant and its spectral
// norm from the eigenvalues of J^T J, by hand.
TEST(DiffusionDenoiser, StepContractionMatchesTheHandComputedJacobian) {
  const auto& m = trained();
  StepContractionOptions o;
  o.steps = 10;
  o.trajectories = 1;
  o.seed = 21;
  const auto rep = m.step_contraction(o);
  ASSERT_EQ(rep.steps.size(), 10u);
  ASSERT_EQ(rep.picard_error.size(), 10u);
  EXPECT_GT(rep.jacobian_products, 0);

  // x_0: the sampler's initial noise (randn [S + 1, n, dim] float64 on a CPU generator seeded with seed).
  auto gen = at::detail::createCPUGenerator(o.seed);
  const auto noise = at::randn({o.steps + 1, 1, 2}, gen, at::TensorOptions().dtype(at::kDouble));
  std::vector<double> x{noise[0][0][0].item<double>(), noise[0][0][1].item<double>()};
  const auto ab = m.alpha_bars();
  const auto tau = sampling_timesteps(m.options().diffusion_steps, o.steps);
  int converged = 0;
  for (int k = 0; k < o.steps; ++k) {
    const int t = tau[std::size_t(o.steps - 1 - k)];
    const double a_t = ab[std::size_t(t)];
    const double a_next = k + 1 < o.steps ? ab[std::size_t(tau[std::size_t(o.steps - 2 - k)])] : 1.0;
    const double a = std::sqrt(a_next / a_t);
    const double b = std::sqrt(1 - a_next) - std::sqrt(a_next) * std::sqrt(1 - a_t) / std::sqrt(a_t);
    auto F = [&](double u, double v) {
      const auto e = m.predict_noise(SampleSet(1, 2, {u, v}), t);
      return std::array<double, 2>{a * u + b * e(0, 0), a * v + b * e(0, 1)};
    };
    const double h = 1e-5;
    double J[2][2];
    for (int j = 0; j < 2; ++j) {
      const auto p = F(x[0] + (j == 0 ? h : 0), x[1] + (j == 1 ? h : 0));
      const auto q = F(x[0] - (j == 0 ? h : 0), x[1] - (j == 1 ? h : 0));
      for (int i = 0; i < 2; ++i) J[i][j] = (p[std::size_t(i)] - q[std::size_t(i)]) / (2 * h);
    }
    const double tr = J[0][0] + J[1][1], det = J[0][0] * J[1][1] - J[0][1] * J[1][0];
    const double disc = tr * tr / 4 - det;
    const double rho = disc >= 0 ? std::abs(tr / 2) + std::sqrt(disc) : std::sqrt(det);
    // J^T J = [[p, r], [r, s]]: largest eigenvalue (p + s) / 2 + sqrt(((p - s) / 2)^2 + r^2).
    const double P = J[0][0] * J[0][0] + J[1][0] * J[1][0], Q = J[0][1] * J[0][1] + J[1][1] * J[1][1],
                 R = J[0][0] * J[0][1] + J[1][0] * J[1][1];
    const double norm = std::sqrt((P + Q) / 2 + std::sqrt((P - Q) * (P - Q) / 4 + R * R));

    const auto& row = rep.steps[std::size_t(k)];
    SCOPED_TRACE("step " + std::to_string(k));
    EXPECT_EQ(row.k, k);
    EXPECT_EQ(row.t, t);
    EXPECT_NEAR(row.a, a, 1e-14);
    EXPECT_EQ(row.radius_mean, row.radius_max);  // one trajectory
    EXPECT_NEAR(row.norm_max, norm, 1e-6 * norm);
    {  // ||J - I||_2 the same way
      const double a00 = J[0][0] - 1, a11 = J[1][1] - 1;
      const double P2 = a00 * a00 + J[1][0] * J[1][0], Q2 = J[0][1] * J[0][1] + a11 * a11,
                   R2 = a00 * J[0][1] + J[1][0] * a11;
      const double shifted = std::sqrt((P2 + Q2) / 2 + std::sqrt((P2 - Q2) * (P2 - Q2) / 4 + R2 * R2));
      EXPECT_NEAR(row.shifted_norm_max, shifted, 1e-6 * shifted + 1e-9);
    }
    EXPECT_LE(row.radius_max, row.norm_max * (1 + 1e-9));
    if (row.radius_converged == 1) {
      ++converged;
      EXPECT_NEAR(row.radius_max, rho, 1e-6 * rho);
    } else {
      // A complex pair or +-lambda: the Gelfand mean, error like 1/k (documented); still a radius.
      EXPECT_NEAR(row.radius_max, rho, 0.05 * rho);
    }
    EXPECT_GE(row.picard_sweeps, 1);
    EXPECT_LE(row.picard_sweeps, k + 1);  // causality: exact after k + 1 sweeps
    x = {F(x[0], x[1])[0], F(x[0], x[1])[1]};
  }
  EXPECT_GE(converged, 5);
  EXPECT_LE(rep.picard_error.back(), 1e-12);  // finite termination after S sweeps
}

TEST(DiffusionDenoiser, StepContractionOptionsAreValidated) {
  StepContractionOptions o;
  o.steps = 0;
  EXPECT_NE(error_of([&] { trained().step_contraction(o); }).find("StepContractionOptions::steps"), std::string::npos);
  o = {};
  o.trajectories = 0;
  EXPECT_NE(error_of([&] { trained().step_contraction(o); }).find("StepContractionOptions::trajectories"),
            std::string::npos);
  o = {};
  o.power_tol = 0;
  EXPECT_NE(error_of([&] { trained().step_contraction(o); }).find("StepContractionOptions::power_tol"),
            std::string::npos);
}
