// DataParallel: option checks, one rank is the plain process, and two spawned ranks with batch b/2 each
// take the steps of one process with batch b (losses and the trained network to float rounding).
#include "iterop/operators/data_parallel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/operators/diffusion_denoiser.hpp"

namespace {

using namespace iterop::operators;
using iterop::distributions::SampleSet;

DenoiserOptions tiny_denoiser() {
  DenoiserOptions o;
  o.dim = 2;
  o.width = 32;
  o.depth = 2;
  o.time_embedding = 8;
  o.diffusion_steps = 20;
  o.batch = 64;
  o.training_steps = 60;
  o.progress_every = 10;
  o.lr = 2e-3;
  o.seed = 5;
  return o;
}

struct Trained {
  DenoiserTrainReport report;
  SampleSet noise;  // predicted noise of the trained network on fixed points
};

Trained train_denoiser() {
  const auto data = iterop::distributions::sample_dataset("moons", 256, 2, 11);
  DiffusionDenoiser m(tiny_denoiser());
  Trained t;
  t.report = m.train(data);
  t.noise = m.predict_noise(iterop::distributions::sample_dataset("moons", 64, 2, 12), 7);
  return t;
}

// A rank spawned by the test's rank 0 learns its place from the variables DataParallel sets for the ranks it
// starts (the iterop command reads them in src/cli/launch_environment.cpp; the library reads none).
DataParallelLaunch spawned_launch() {
  const char* rank = std::getenv("ITEROP_DP_RANK");
  if (rank == nullptr) return {};
  return {.rank = std::atoi(rank), .size = std::atoi(std::getenv("ITEROP_DP_SIZE")), .store = std::getenv("ITEROP_DP_STORE")};
}

DataParallelOptions ranks(int r) {
  DataParallelOptions o;
  o.ranks = r;
  o.launch = spawned_launch();
  return o;
}

TEST(DataParallel, RejectsBadOptions) {
  EXPECT_THROW(DataParallel(ranks(-1)), iterop::invalid_option);
  auto o = ranks(2);
  o.timeout_seconds = 0;
  EXPECT_THROW(DataParallel{o}, iterop::invalid_option);
  // What a launcher says must be consistent: a rank inside the size, a store for more than one rank,
  // and --ranks equal to the launcher's size.
  DataParallelOptions l;
  l.launch = {.rank = 2, .size = 2, .store = "/tmp/iterop-dp-test-store"};
  EXPECT_THROW(DataParallel{l}, iterop::invalid_option);
  l.launch = {.rank = 1, .size = 2, .store = ""};
  EXPECT_THROW(DataParallel{l}, iterop::invalid_option);
  l.launch = {.rank = 0, .size = 2, .store = "/tmp/iterop-dp-test-store"};
  l.ranks = 3;
  EXPECT_THROW(DataParallel{l}, iterop::invalid_option);
}

TEST(DataParallel, OneRankIsThePlainProcess) {
  if (spawned_launch().size > 0) GTEST_SKIP() << "run as a rank of another test";
  DataParallel g(ranks(1));
  EXPECT_EQ(g.rank(), 0);
  EXPECT_EQ(g.size(), 1);
  EXPECT_TRUE(g.writes_files());
  EXPECT_THROW(DataParallel{ranks(1)}, iterop::invalid_option);  // one group at a time
  EXPECT_EQ(g.finish(), 0);
}

TEST(DataParallel, TwoRanksOfHalfBatchesTakeTheStepsOfOneRank) {
  Trained parallel;
  {
    // The spawned rank runs this test alone in a copy of this executable.
    auto o = ranks(2);
    o.command = {"iterop_operators_tests", "--gtest_filter=DataParallel.TwoRanksOfHalfBatchesTakeTheStepsOfOneRank"};
    DataParallel g(o);
    ASSERT_EQ(g.size(), 2);
    parallel = train_denoiser();
    const int rank = g.rank();
    EXPECT_EQ(g.finish(), 0);
    if (rank != 0) return;  // rank 1 ends here; rank 0 compares with one process
  }
  const Trained serial = train_denoiser();
  ASSERT_EQ(serial.report.status, DenoiserTrainStatus::completed);
  ASSERT_EQ(parallel.report.status, DenoiserTrainStatus::completed);
  ASSERT_EQ(parallel.report.losses.size(), serial.report.losses.size());
  for (std::size_t i = 0; i < serial.report.losses.size(); ++i)
    EXPECT_NEAR(parallel.report.losses[i], serial.report.losses[i], 1e-5 * std::abs(serial.report.losses[i])) << "record " << i;
  double diff = 0, size = 0;
  for (std::size_t i = 0; i < serial.noise.values.size(); ++i) {
    diff = std::max(diff, std::abs(parallel.noise.values[i] - serial.noise.values[i]));
    size = std::max(size, std::abs(serial.noise.values[i]));
  }
  EXPECT_LT(diff, 1e-5 * size) << "trained networks differ by " << diff;
  RecordProperty("max_noise_difference", testing::PrintToString(diff));
  RecordProperty("final_loss_difference", testing::PrintToString(parallel.report.final_loss - serial.report.final_loss));
  EXPECT_GT(serial.report.initial_loss, serial.report.final_loss);  // it did train
}

}  // namespace
