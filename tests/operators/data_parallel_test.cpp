// DataParallel: option checks, one rank is the plain process, and two spawned ranks with batch b/2 each
// take the steps of one process with batch b (losses and the trained network to float rounding).
#include "iterop/operators/data_parallel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/flow_datasets.hpp"
#include "iterop/operators/diffusion_denoiser.hpp"
#include "iterop/operators/pign.hpp"
#include "iterop/operators/planetoid.hpp"

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

/// Runs `train` as rank 0 of a 2-rank group whose rank 1 is a copy of this executable running only the test
/// DataParallel.<test> (which calls this again there): rank 0's result, or nothing on rank 1.
template <class F>
std::optional<std::invoke_result_t<F>> on_two_ranks(const std::string& test, F train) {
  auto o = ranks(2);
  o.command = {"iterop_operators_tests", "--gtest_filter=DataParallel." + test};
  DataParallel g(o);
  EXPECT_EQ(g.size(), 2);
  auto result = train();
  const int rank = g.rank();
  EXPECT_EQ(g.finish(), 0);
  if (rank != 0) return std::nullopt;
  return result;
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
  const auto on_two = on_two_ranks("TwoRanksOfHalfBatchesTakeTheStepsOfOneRank", train_denoiser);
  if (!on_two) return;  // rank 1 ends here; rank 0 compares with one process
  const Trained& parallel = *on_two;
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

// PIGN in equilibrium mode (full-batch graph training): 2 ranks, each with the loss of half the training
// nodes and the same forward, take the steps of one process, to float rounding (losses of every epoch,
// the selected epoch and its accuracies).
TEST(DataParallel, TwoRanksOfPignTakeTheStepsOfOneRank) {
  auto train = [] {
    const GraphData g = make_sbm({.seed = 3});
    PignOptions o;
    o.mode = "equilibrium";
    o.spectral_norm_bound = 0.9;
    o.epochs = 25;
    o.seed = 4;
    o.jacobian_penalty = 0.05;  // the Hutchinson term is shared by the ranks as the loss is
    // The fixed point and the adjoint are solved to a tolerance, so the two trainings differ by what a
    // rounding-level change of the parameters does to the solves' stopping points: at the default 1e-5 the
    // losses drifted apart by up to 2.7e-4 relative by epoch 25 (1e-4 until epoch 19); at 1e-6 within 1e-4.
    o.equilibrium.forward_tol = 1e-6;
    o.equilibrium.backward_tol = 1e-6;
    Pign model(g, o);
    return model.train();
  };
  const auto on_two = on_two_ranks("TwoRanksOfPignTakeTheStepsOfOneRank", train);
  if (!on_two) return;
  const TrainReport& parallel = *on_two;
  const TrainReport serial = train();
  ASSERT_EQ(parallel.epochs.size(), serial.epochs.size());
  for (std::size_t i = 0; i < serial.epochs.size(); ++i)
    EXPECT_NEAR(parallel.epochs[i].loss, serial.epochs[i].loss, 1e-4 * std::abs(serial.epochs[i].loss)) << "epoch " << i + 1;
  EXPECT_EQ(parallel.best_epoch, serial.best_epoch);
  EXPECT_NEAR(parallel.test_acc, serial.test_acc, 1e-9);
  EXPECT_EQ(parallel.skipped_steps, serial.skipped_steps);
  EXPECT_GT(serial.epochs.front().loss, serial.epochs.back().loss);  // it did train
}

}  // namespace
