// Tests of conditional flow matching: option validation, OT pairing against random pairing and brute
// force, the loss falling on a tiny seeded problem, seeded reproducibility, statuses (non-finite minibatch,
// callback stop), velocity evaluation forms, save/load round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "detail/checkpoint_file.hpp"  // operators/src: the checked file header
#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/operators/conditional_flow_matching.hpp"

namespace fs = std::filesystem;
using namespace iterop::operators;
using iterop::distributions::SampleSet;
using iterop::distributions::sample_dataset;

namespace {

/// Runs f, expecting iterop::invalid_option whose message contains every one of `parts`.
template <class F>
void expect_invalid(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning " << parts.front();
  } catch (const iterop::invalid_option& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

CfmOptions tiny(CfmCoupling c = CfmCoupling::independent) {
  return CfmOptions{.dim = 2, .width = 32, .depth = 2, .activation = "selu", .coupling = c, .lr = 3e-3, .batch = 64,
                    .steps = 300, .seed = 7};
}

fs::path temp_file(const std::string& name) {
  const auto dir = fs::temp_directory_path() / "iterop_cfm_test";
  fs::create_directories(dir);
  return dir / name;
}

TEST(ConditionalFlowMatching, OptionValidationNamesFieldValueAndRule) {
  expect_invalid([] { CfmOptions{.dim = 0}.validate(); }, {"CfmOptions::dim", "= 0", "dim >= 1"});
  expect_invalid([] { CfmOptions{.width = 0}.validate(); }, {"CfmOptions::width", "= 0", "width >= 1"});
  expect_invalid([] { CfmOptions{.depth = -1}.validate(); }, {"CfmOptions::depth", "= -1", "depth >= 1"});
  expect_invalid([] { CfmOptions{.activation = "sigmoid"}.validate(); },
                 {"CfmOptions::activation", "= sigmoid", "one of relu, selu"});
  expect_invalid([] { CfmOptions{.lr = 0}.validate(); }, {"CfmOptions::lr", "= 0", "lr > 0"});
  expect_invalid([] { CfmOptions{.lr = std::nan("")}.validate(); }, {"CfmOptions::lr", "finite"});
  expect_invalid([] { CfmOptions{.batch = 0}.validate(); }, {"CfmOptions::batch", "= 0", "batch >= 1"});
  expect_invalid([] { CfmOptions{.steps = 0}.validate(); }, {"CfmOptions::steps", "= 0", "steps >= 1"});
  expect_invalid([] { ConditionalFlowMatching m(CfmOptions{.device = "abacus"}); }, {"device = abacus"});
  expect_invalid([] { (void)parse_cfm_coupling("sbcfm"); }, {"coupling = sbcfm", "icfm"});
  EXPECT_EQ(parse_cfm_coupling("icfm"), CfmCoupling::independent);
  EXPECT_EQ(parse_cfm_coupling("otcfm"), CfmCoupling::optimal_transport);
  EXPECT_EQ(to_string(CfmCoupling::optimal_transport), "otcfm");
  expect_invalid([] { (void)dataset_sampler("no-such-set", 2, 0); }, {"no-such-set"});
  expect_invalid([] { (void)pool_sampler(SampleSet{}, 0); }, {"pool.rows", "rows >= 1"});
}

TEST(ConditionalFlowMatching, ParameterCountOfTheMlp) {
  for (auto [dim, w, depth] : {std::tuple{2, 32, 2}, std::tuple{3, 5, 1}, std::tuple{2, 256, 3}}) {
    ConditionalFlowMatching m(CfmOptions{.dim = dim, .width = w, .depth = depth});
    const long expected = long(dim + 1) * w + w + long(depth - 1) * (long(w) * w + w) + long(w) * dim + dim;
    EXPECT_EQ(m.num_parameters(), expected) << dim << " " << w << " " << depth;
  }
}

TEST(ConditionalFlowMatching, OtPairingBeatsRandomPairingAndIsTheBruteForceOptimum) {
  const SampleSet x0 = sample_dataset("normal", 64, 2, 1);
  const SampleSet x1 = sample_dataset("8gaussians", 64, 2, 2);
  const auto id = cfm_pairing(x0, x1, CfmCoupling::independent);
  const auto ot = cfm_pairing(x0, x1, CfmCoupling::optimal_transport);
  std::vector<std::size_t> expected_id(64);
  std::iota(expected_id.begin(), expected_id.end(), 0u);
  EXPECT_EQ(id, expected_id);
  auto sorted = ot;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, expected_id);  // a permutation
  const double d_id = mean_pair_sq_distance(x0, x1, id);
  const double d_ot = mean_pair_sq_distance(x0, x1, ot);
  // N(0, I) -> 8 Gaussians on the circle of radius 5: random pairs are E||x_1 - x_0||^2 ~ 27 apart, OT pairs
  // about (5 - E|x_0|)^2 + O(1) ~ 15 (their ratio 0.51 here); any other permutation is no better than OT.
  EXPECT_LT(d_ot, 0.6 * d_id) << d_ot << " vs " << d_id;
  std::vector<std::size_t> shuffled = expected_id;
  for (int r = 0; r < 20; ++r) {
    std::rotate(shuffled.begin(), shuffled.begin() + 1 + r % 7, shuffled.end());
    std::swap(shuffled[std::size_t(r)], shuffled[std::size_t(63 - r)]);
    EXPECT_LE(d_ot, mean_pair_sq_distance(x0, x1, shuffled));
  }

  // 6 x 6: the assignment equals the minimum over all 720 permutations.
  const SampleSet a = sample_dataset("normal", 6, 3, 11);
  const SampleSet b = sample_dataset("4blobs", 6, 3, 12);
  const auto p = cfm_pairing(a, b, CfmCoupling::optimal_transport);
  std::vector<std::size_t> perm(6);
  std::iota(perm.begin(), perm.end(), 0u);
  double best = 1e300;
  do best = std::min(best, mean_pair_sq_distance(a, b, perm));
  while (std::next_permutation(perm.begin(), perm.end()));
  EXPECT_NEAR(mean_pair_sq_distance(a, b, p), best, 1e-12 * best);
}

TEST(ConditionalFlowMatching, OtPairingFinishesOnMinibatchesDrawnFromAPool) {
  // 256 normal points against 256 draws (with replacement) from 10000 moons: with the fractional squared
  // distances as costs LEMON's network simplex never finished on this matrix; cfm_pairing rounds the costs.
  const std::size_t n = 256;
  const SampleSet x0 = sample_dataset("normal", n, 2, 1);
  const SampleSet pool = sample_dataset("moons", 10000, 2, 2);
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> pick(0, 9999);
  SampleSet x1(n, 2);
  for (std::size_t i = 0; i < n; ++i) {
    const auto k = std::size_t(pick(rng));
    x1(i, 0) = pool(k, 0);
    x1(i, 1) = pool(k, 1);
  }
  const auto p = cfm_pairing(x0, x1, CfmCoupling::optimal_transport);
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(sorted[i], i);
  std::vector<std::size_t> other(n);
  std::iota(other.begin(), other.end(), 0u);
  const double d = mean_pair_sq_distance(x0, x1, p);
  for (int r = 0; r < 10; ++r) {
    std::shuffle(other.begin(), other.end(), rng);
    EXPECT_LE(d, mean_pair_sq_distance(x0, x1, other));
  }
}

TEST(ConditionalFlowMatching, LossFallsOnATinySeededProblem) {
  for (auto c : {CfmCoupling::independent, CfmCoupling::optimal_transport}) {
    ConditionalFlowMatching m(tiny(c));
    // Fixed held-out pairs and times.
    const SampleSet x0 = sample_dataset("normal", 512, 2, 101);
    const SampleSet x1 = sample_dataset("8gaussians", 512, 2, 102);
    std::vector<double> t(512);
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = (i + 0.5) / double(t.size());
    const double before = m.loss(x0, x1, t);
    const auto rep = m.train(dataset_sampler("normal", 2, 1), dataset_sampler("8gaussians", 2, 2));
    const double after = m.loss(x0, x1, t);
    ASSERT_TRUE(rep.usable()) << rep.message;
    EXPECT_EQ(rep.steps_done, 300);
    EXPECT_EQ(rep.losses.size(), 300u);
    EXPECT_EQ(m.steps_trained(), 300);
    EXPECT_GT(rep.steps_per_second, 0.0);
    // The minibatch loss keeps an irreducible part (the conditional variance of x_1 - x_0 given x_t, large
    // for I-CFM), so the training curve falls by less than the held-out loss of the pairs below.
    const double first10 = std::accumulate(rep.losses.begin(), rep.losses.begin() + 10, 0.0) / 10;
    EXPECT_LT(rep.final_loss(50), 0.8 * first10) << to_string(c) << ": " << first10 << " -> " << rep.final_loss(50);
    EXPECT_LT(after, 0.5 * before) << to_string(c) << ": " << before << " -> " << after;
    if (c == CfmCoupling::independent) {
      EXPECT_EQ(rep.assignment_seconds, 0.0);
    }
  }
}

TEST(ConditionalFlowMatching, OtTrainingPairsAreCloserThanIndependentOnes) {
  auto o = tiny();
  o.steps = 20;
  ConditionalFlowMatching mi(o);
  o.coupling = CfmCoupling::optimal_transport;
  ConditionalFlowMatching mo(o);
  const auto ri = mi.train(dataset_sampler("normal", 2, 1), dataset_sampler("8gaussians", 2, 2));
  const auto ro = mo.train(dataset_sampler("normal", 2, 1), dataset_sampler("8gaussians", 2, 2));
  EXPECT_LT(ro.mean_pair_sq_distance, 0.6 * ri.mean_pair_sq_distance);
  EXPECT_GT(ro.assignment_seconds, 0.0);
}

TEST(ConditionalFlowMatching, SeededTrainingIsReproducible) {
  auto o = tiny(CfmCoupling::optimal_transport);
  o.steps = 40;
  ConditionalFlowMatching a(o), b(o);
  const auto ra = a.train(dataset_sampler("normal", 2, 1), dataset_sampler("moons", 2, 2));
  const auto rb = b.train(dataset_sampler("normal", 2, 1), dataset_sampler("moons", 2, 2));
  EXPECT_EQ(ra.losses, rb.losses);
  const SampleSet x = sample_dataset("normal", 50, 2, 5);
  EXPECT_EQ(a.velocity(x, 0.3).values, b.velocity(x, 0.3).values);
  o.seed = 8;
  ConditionalFlowMatching c(o);
  const auto rc = c.train(dataset_sampler("normal", 2, 1), dataset_sampler("moons", 2, 2));
  EXPECT_NE(ra.losses, rc.losses);
  EXPECT_NE(a.velocity(x, 0.3).values, c.velocity(x, 0.3).values);
}

TEST(ConditionalFlowMatching, NonFiniteMinibatchAndCallbackStopAreStatuses) {
  auto o = tiny();
  o.steps = 10;
  ConditionalFlowMatching m(o);
  const SampleSet x = sample_dataset("normal", 20, 2, 5);
  const auto v0 = m.velocity(x, 0.5).values;
  auto nan_after_3 = [](std::size_t n, long step) {
    SampleSet s = sample_dataset("normal", n, 2, std::uint64_t(step) + 1);
    if (step >= 3) s.values[0] = std::nan("");
    return s;
  };
  for (auto c : {CfmCoupling::independent, CfmCoupling::optimal_transport}) {
    auto oc = o;
    oc.coupling = c;
    ConditionalFlowMatching mc(oc);
    const auto r = mc.train(nan_after_3, dataset_sampler("moons", 2, 2));
    EXPECT_EQ(r.status, CfmTrainStatus::non_finite_loss);
    EXPECT_EQ(r.steps_done, 3);
    EXPECT_EQ(r.losses.size(), 4u);
    EXPECT_TRUE(std::isnan(r.losses.back()));
    EXPECT_NE(r.message.find("step 4"), std::string::npos) << r.message;
    EXPECT_FALSE(r.usable());
  }
  // A sampler whose first minibatch is NaN: no update is applied.
  const auto r0 = m.train([](std::size_t n, long) { return SampleSet(n, 2, std::vector<double>(n * 2, NAN)); },
                          dataset_sampler("moons", 2, 2));
  EXPECT_EQ(r0.status, CfmTrainStatus::non_finite_loss);
  EXPECT_EQ(r0.steps_done, 0);
  EXPECT_EQ(m.velocity(x, 0.5).values, v0);

  int seen = 0;
  const auto rs = m.train(dataset_sampler("normal", 2, 1), dataset_sampler("moons", 2, 2), [&](const CfmProgress& p) {
    ++seen;
    EXPECT_EQ(p.step, seen);
    EXPECT_EQ(p.steps, 10);
    EXPECT_TRUE(std::isfinite(p.loss));
    EXPECT_GT(p.steps_per_second, 0.0);
    return p.step == 4 ? iterop::Action::stop : iterop::Action::proceed;
  });
  EXPECT_EQ(rs.status, CfmTrainStatus::stopped_by_callback);
  EXPECT_EQ(rs.steps_done, 4);
  EXPECT_EQ(seen, 4);
  EXPECT_EQ(m.steps_trained(), 4);
}

TEST(ConditionalFlowMatching, WrongSamplerShapeNamesBothShapes) {
  ConditionalFlowMatching m(tiny());
  expect_invalid([&] { (void)m.train(dataset_sampler("normal", 3, 1), dataset_sampler("moons", 2, 2)); },
                 {"source sample", "64 x 3", "64 x 2"});
}

TEST(ConditionalFlowMatching, VelocityFormsAgree) {
  auto o = tiny();
  o.steps = 5;
  ConditionalFlowMatching m(o);
  (void)m.train(dataset_sampler("normal", 2, 1), dataset_sampler("moons", 2, 2));
  const SampleSet x = sample_dataset("normal", 7, 2, 3);
  std::vector<double> out(14), out_rows(14), t(7, 0.25);
  m.velocity(x.values.data(), 7, 0.25, out.data());
  m.velocity(x.values.data(), 7, t.data(), out_rows.data());
  EXPECT_EQ(out, out_rows);
  EXPECT_EQ(m.velocity(x, 0.25).values, out);
  // Row by row equals the batch (float32 rounding of a row does not depend on the batch here to 1e-6).
  for (std::size_t i = 0; i < 7; ++i) {
    double o2[2];
    m.velocity(x.values.data() + 2 * i, 1, 0.25, o2);
    EXPECT_NEAR(o2[0], out[2 * i], 1e-6);
    EXPECT_NEAR(o2[1], out[2 * i + 1], 1e-6);
  }
  // Time enters: a different t gives a different velocity.
  EXPECT_NE(m.velocity(x, 0.9).values, out);
}

TEST(ConditionalFlowMatching, SaveLoadRoundTripGivesIdenticalVelocities) {
  for (bool f64 : {false, true}) {
    auto o = tiny(CfmCoupling::optimal_transport);
    o.steps = 10;
    o.float64 = f64;
    o.activation = f64 ? "silu" : "selu";
    ConditionalFlowMatching m(o);
    (void)m.train(dataset_sampler("normal", 2, 1), dataset_sampler("moons", 2, 2));
    const auto path = temp_file(f64 ? "model64.cfm" : "model32.cfm");
    m.save(path.string());
    const auto l = ConditionalFlowMatching::load(path.string());
    EXPECT_EQ(l.num_parameters(), m.num_parameters());
    EXPECT_EQ(l.steps_trained(), 10);
    EXPECT_EQ(l.options().coupling, CfmCoupling::optimal_transport);
    EXPECT_EQ(l.options().activation, o.activation);
    EXPECT_EQ(l.options().float64, f64);
    EXPECT_EQ(l.options().lr, o.lr);
    const SampleSet x = sample_dataset("normal", 100, 2, 9);
    for (double t : {0.0, 0.37, 1.0}) EXPECT_EQ(l.velocity(x, t).values, m.velocity(x, t).values) << t;
    EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  }
  // A malformed payload under a valid checksum header: the error names the file and the line (the header is line 1).
  const auto bad = temp_file("bad.cfm");
  {
    std::ofstream f(bad, std::ios::binary);
    f << iterop::operators::detail::checked_file_bytes(iterop::operators::detail::checked_format::cfm,
                                                       "iterop-cfm 1\ndim 2\nwidth x\n");
  }
  expect_invalid([&] { (void)ConditionalFlowMatching::load(bad.string()); }, {bad.string() + ":4:"});
  {
    std::ofstream f(bad, std::ios::binary);
    f << iterop::operators::detail::checked_file_bytes(iterop::operators::detail::checked_format::cfm, "not a model\n");
  }
  expect_invalid([&] { (void)ConditionalFlowMatching::load(bad.string()); }, {bad.string() + ":2:", "iterop-cfm 1"});
  {  // a file without the header (written by hand, or by iterop before the checksum) is refused before parsing
    std::ofstream f(bad, std::ios::binary);
    f << "iterop-cfm 1\ndim 2\nwidth x\n";
  }
  expect_invalid([&] { (void)ConditionalFlowMatching::load(bad.string()); }, {bad.string(), "not an iterop model file"});
  expect_invalid([&] { (void)ConditionalFlowMatching::load((bad.parent_path() / "missing.cfm").string()); },
                 {"missing.cfm", "readable"});
}

TEST(ConditionalFlowMatching, PoolSamplerDrawsRowsOfThePoolDeterministically) {
  const SampleSet pool = sample_dataset("moons", 30, 2, 4);
  const auto s = pool_sampler(pool, 3);
  const SampleSet a = s(50, 7), b = s(50, 7), c = s(50, 8);
  EXPECT_EQ(a.values, b.values);
  EXPECT_NE(a.values, c.values);
  for (std::size_t i = 0; i < a.rows; ++i) {
    bool found = false;
    for (std::size_t k = 0; k < pool.rows && !found; ++k) found = pool(k, 0) == a(i, 0) && pool(k, 1) == a(i, 1);
    EXPECT_TRUE(found) << i;
  }
}

}  // namespace
