// Tests of the Planetoid TSV reader (Cora when ../shared/data is present, and malformed folders),
// the feature-noise protocol and the stochastic-block-model generator.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "iterop/core/errors.hpp"
#include "iterop/operators/planetoid.hpp"

namespace fs = std::filesystem;
using namespace iterop::operators;

namespace {

const fs::path cora_dir{ITEROP_CORA_DIR};

#define REQUIRE_CORA()                                                                                   \
  if (!fs::exists(cora_dir / "features.tsv"))                                                           \
  GTEST_SKIP() << "Cora data not found at " << cora_dir.string()                                         \
               << " (../shared/data/planetoid/cora beside the checkout); skipping."

TEST(Planetoid, ReadsCoraWithTheStandardSplit) {
  REQUIRE_CORA();
  const GraphData g = read_planetoid(cora_dir);
  EXPECT_EQ(g.num_nodes, 2708);
  EXPECT_EQ(g.num_features, 1433);
  EXPECT_EQ(g.num_classes, 7);
  EXPECT_EQ(g.edges.size(), 5278u);
  EXPECT_EQ(g.train.size(), 140u);
  EXPECT_EQ(g.val.size(), 500u);
  EXPECT_EQ(g.test.size(), 1000u);
  const double nnz = std::count_if(g.features.begin(), g.features.end(), [](float v) { return v != 0; });
  EXPECT_GT(nnz, 40000);  // about 18 words per paper
}

// Writes a tiny valid folder, then lets a test break one file.
fs::path tiny_folder(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("iterop_planetoid_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  std::ofstream(d / "features.tsv") << "# nodes\t4\tfeatures\t3\n0\t0\t1\n1\t1\t1\n2\t2\t1\n3\t0\t1\n";
  std::ofstream(d / "labels.tsv") << "# node\tclass\n0\t0\n1\t1\n2\t1\n3\t0\n";
  std::ofstream(d / "edges.tsv") << "# edges\n0\t1\n1\t2\n2\t3\n";
  std::ofstream(d / "split.tsv") << "# split\n0\ttrain\n1\ttrain\n2\tval\n3\ttest\n";
  return d;
}

std::string error_of(const fs::path& d) {
  try {
    (void)read_planetoid(d);
  } catch (const data_error& e) {
    return e.what();
  }
  return "";
}

TEST(Planetoid, ReadsATinyFolder) {
  const GraphData g = read_planetoid(tiny_folder("ok"));
  EXPECT_EQ(g.num_nodes, 4);
  EXPECT_EQ(g.num_classes, 2);
  EXPECT_EQ(g.features[2 * 3 + 2], 1.0f);
  EXPECT_EQ(g.train, (std::vector<int>{0, 1}));
  EXPECT_EQ(g.edges.size(), 3u);
}

TEST(Planetoid, MalformedLineNamesFileLineAndReason) {
  auto d = tiny_folder("bad_edge");
  std::ofstream(d / "edges.tsv") << "# edges\n0\t1\n1\tx\n";
  const std::string e = error_of(d);
  EXPECT_NE(e.find("edges.tsv:3"), std::string::npos) << e;
  EXPECT_NE(e.find("not an integer"), std::string::npos) << e;

  d = tiny_folder("bad_node");
  std::ofstream(d / "labels.tsv") << "# node\tclass\n0\t0\n1\t1\n7\t1\n3\t0\n";
  const std::string e2 = error_of(d);
  EXPECT_NE(e2.find("labels.tsv:4"), std::string::npos) << e2;
  EXPECT_NE(e2.find("outside 0..3"), std::string::npos) << e2;

  d = tiny_folder("bad_split");
  std::ofstream(d / "split.tsv") << "# split\n0\ttrain\n1\tdev\n";
  const std::string e3 = error_of(d);
  EXPECT_NE(e3.find("split.tsv:3"), std::string::npos) << e3;
  EXPECT_NE(e3.find("'dev'"), std::string::npos) << e3;

  d = tiny_folder("fields");
  std::ofstream(d / "features.tsv") << "# nodes\t4\tfeatures\t3\n0\t0\n";
  const std::string e4 = error_of(d);
  EXPECT_NE(e4.find("features.tsv:2"), std::string::npos) << e4;
  EXPECT_NE(e4.find("expected 3 fields"), std::string::npos) << e4;

  d = tiny_folder("missing");
  fs::remove(d / "edges.tsv");
  EXPECT_NE(error_of(d).find("cannot open"), std::string::npos);
}

// A header whose counts exceed the dense feature matrix's cap is refused on the header line, before the
// matrix is allocated (the fuzzer found the 8 GiB allocation of "# nodes 400000000 features 1": 1.1 s).
TEST(Planetoid, HeaderBeyondTheDenseCapIsRefusedBeforeAllocation) {
  auto d = tiny_folder("huge_header");
  std::ofstream(d / "features.tsv") << "# nodes\t400000000\tfeatures\t1\n0\t0\t1\n";
  std::string e;
  try {
    (void)read_planetoid(d, std::size_t{1} << 22);
  } catch (const data_error& x) {
    e = x.what();
  }
  EXPECT_NE(e.find("features.tsv:1"), std::string::npos) << e;
  EXPECT_NE(e.find("nodes x features <= 4194304"), std::string::npos) << e;
  // The default cap (2^31 entries) keeps the old rule.
  std::ofstream(d / "features.tsv") << "# nodes\t3000000000\tfeatures\t1\n";
  EXPECT_NE(error_of(d).find("nodes x features <= 2147483648"), std::string::npos) << error_of(d);
  // Inside the cap the tiny folder still reads.
  EXPECT_EQ(read_planetoid(tiny_folder("small_cap"), 12).num_nodes, 4);
}

TEST(Planetoid, FeatureNoiseAddsOneToAFractionP) {
  GraphData g = make_sbm({.seed = 3});
  const auto before = g.features;
  add_feature_noise(g, 0.5, 11);
  std::size_t changed = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    const float d = g.features[i] - before[i];
    ASSERT_TRUE(d == 0.0f || d == 1.0f);
    changed += d == 1.0f;
  }
  EXPECT_NEAR(double(changed) / double(before.size()), 0.5, 0.01);
  GraphData h = make_sbm({.seed = 3});
  add_feature_noise(h, 0.5, 11);
  EXPECT_EQ(h.features, g.features);  // seeded
  EXPECT_THROW(add_feature_noise(h, 1.5, 0), iterop::invalid_option);
}

TEST(Planetoid, SbmIsSeededAndValid) {
  const GraphData a = make_sbm({.seed = 5}), b = make_sbm({.seed = 5}), c = make_sbm({.seed = 6});
  EXPECT_EQ(a.edges, b.edges);
  EXPECT_EQ(a.features, b.features);
  EXPECT_NE(a.edges, c.edges);
  EXPECT_EQ(a.train.size(), 80u);
  EXPECT_EQ(a.val.size(), 150u);
  EXPECT_EQ(a.test.size(), 300u);
  // Homophily: most edges join nodes of the same class (4 in vs 1.5 out expected neighbours).
  std::size_t same = 0;
  for (auto [u, v] : a.edges) same += a.labels[std::size_t(u)] == a.labels[std::size_t(v)];
  EXPECT_GT(double(same) / double(a.edges.size()), 0.6);
  EXPECT_THROW(make_sbm({.num_classes = 1}), iterop::invalid_option);
}

}  // namespace
