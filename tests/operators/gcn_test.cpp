// Tests of the GCN baseline: A_hat on a small graph against a hand computation, seeded
// determinism and a floor on the SBM generator, and >= 80 % test accuracy on clean Cora.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>

#include "iterop/core/errors.hpp"
#include "iterop/operators/gcn.hpp"
#include "iterop/operators/normalized_adjacency.hpp"
#include "iterop/operators/planetoid.hpp"

namespace fs = std::filesystem;
using namespace iterop::operators;

namespace {

TEST(NormalizedAdjacency, PathOfThreeByHand) {
  // Path 0 - 1 - 2: degrees of A + I are 2, 3, 2.
  const SparseCoo a = normalized_adjacency(3, {{0, 1}, {2, 1}});
  ASSERT_EQ(a.values.size(), 7u);
  auto at = [&](long i, long j) {
    for (std::size_t k = 0; k < a.values.size(); ++k)
      if (a.rows[k] == i && a.cols[k] == j) return a.values[k];
    return 0.0;
  };
  EXPECT_DOUBLE_EQ(at(0, 0), 0.5);
  EXPECT_DOUBLE_EQ(at(1, 1), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(at(0, 1), 1.0 / std::sqrt(6.0));
  EXPECT_DOUBLE_EQ(at(1, 0), 1.0 / std::sqrt(6.0));
  EXPECT_DOUBLE_EQ(at(2, 1), 1.0 / std::sqrt(6.0));
  EXPECT_DOUBLE_EQ(at(0, 2), 0.0);
  EXPECT_THROW(normalized_adjacency(3, {{1, 1}}), iterop::invalid_option);
  EXPECT_THROW(normalized_adjacency(3, {{0, 3}}), iterop::invalid_option);
}

TEST(FeatureScaling, StandardiseGivesZeroMeanUnitVarianceColumns) {
  GraphData g = make_sbm({.seed = 3});
  add_feature_noise(g, 0.3, 5);
  const auto n = std::size_t(g.num_nodes), f = std::size_t(g.num_features);
  for (bool row : {false, true}) {
    GraphData h = g;
    for (std::size_t i = 0; i < n; ++i) h.features[i * f] = 2.0f;  // a constant column becomes 0
    scale_features(h, row, "standardise");
    for (std::size_t j = 0; j < f; ++j) {
      double mean = 0, square = 0;
      for (std::size_t i = 0; i < n; ++i) mean += h.features[i * f + j];
      mean /= double(n);
      for (std::size_t i = 0; i < n; ++i) square += (h.features[i * f + j] - mean) * (h.features[i * f + j] - mean);
      EXPECT_NEAR(mean, 0.0, 1e-5) << j;
      const bool constant = j == 0 && !row;  // (after row normalisation column 0 is 2 / row sum, not constant)
      EXPECT_NEAR(square / double(n), constant ? 0.0 : 1.0, 1e-4) << "column " << j << ", row normalisation " << row;
    }
  }
  GraphData h = g;  // "none" with row normalisation: rows sum to 1 (a zero row stays zero)
  scale_features(h, true, "none");
  for (std::size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (std::size_t j = 0; j < f; ++j) sum += h.features[i * f + j];
    if (sum != 0) {
      EXPECT_NEAR(sum, 1.0, 1e-5) << i;
    }
  }
  try {
    scale_features(h, false, "zscore", "GcnOptions::feature_scaling");
    ADD_FAILURE() << "no exception";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("GcnOptions::feature_scaling"), std::string::npos) << e.what();
  }
}

TEST(Gcn, BadFeatureScalingNamesTheField) {
  const GraphData g = make_sbm({.seed = 1});
  GcnOptions o{.epochs = 1};
  o.feature_scaling = "zscore";
  try {
    (void)train_gcn(g, o);
    ADD_FAILURE() << "no exception";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("GcnOptions::feature_scaling"), std::string::npos) << e.what();
  }
  o.feature_scaling = "standardise";
  EXPECT_EQ(train_gcn(g, o).epochs.size(), 1u);
}

TEST(Gcn, SeededTrainingIsReproducible) {
  const GraphData g = make_sbm({.seed = 1});
  const GcnOptions o{.epochs = 30, .seed = 7};
  const TrainReport a = train_gcn(g, o), b = train_gcn(g, o);
  ASSERT_EQ(a.epochs.size(), 30u);
  for (std::size_t i = 0; i < a.epochs.size(); ++i) {
    EXPECT_EQ(a.epochs[i].loss, b.epochs[i].loss) << i;
    EXPECT_EQ(a.epochs[i].val_acc, b.epochs[i].val_acc) << i;
  }
  EXPECT_EQ(a.best_epoch, b.best_epoch);
}

TEST(Gcn, LearnsTheSbmGraph) {
  const GraphData g = make_sbm({.seed = 2});
  const TrainReport r = train_gcn(g, {.seed = 0});
  std::cout << "GCN on SBM: best epoch " << r.best_epoch << ", val " << r.best_val_acc << ", test " << r.test_acc
            << ", " << r.seconds << " s\n";
  EXPECT_GT(r.test_acc, 0.60);  // measured 0.70-0.71 (seed 0); chance is 0.25
}

TEST(Gcn, InvalidOptionsThrowBeforeWork) {
  const GraphData g = make_sbm({.seed = 1});
  EXPECT_THROW(train_gcn(g, {.dropout = 1.0}), iterop::invalid_option);
  EXPECT_THROW(train_gcn(g, {.device = "nonsense"}), iterop::invalid_option);
}

TEST(Gcn, CleanCoraReachesEightyPercent) {
  const fs::path cora{ITEROP_CORA_DIR};
  if (!fs::exists(cora / "features.tsv"))
    GTEST_SKIP() << "Cora data not found at " << cora.string() << " (../shared/data/planetoid/cora); skipping.";
  const GraphData g = read_planetoid(cora);
  double sum = 0;
  const int seeds = 3;
  for (int s = 0; s < seeds; ++s) {
    const TrainReport r = train_gcn(g, {.seed = std::uint64_t(s)});
    std::cout << "GCN on clean Cora, seed " << s << ": best epoch " << r.best_epoch << ", val " << r.best_val_acc
              << ", test " << r.test_acc << ", " << r.seconds << " s\n";
    sum += r.test_acc;
  }
  EXPECT_GE(sum / seeds, 0.80);
}

}  // namespace
