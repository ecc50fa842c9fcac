// Graph data for node classification: the Planetoid TSV reader (Cora), the feature-noise protocol
// of [OL], and a seeded stochastic-block-model generator with noisy class features. Plain C++, no torch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace iterop::operators {

/// A data file that does not follow its format: the message names the file, the line and the reason.
class data_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A node-classification graph: dense features (row-major, num_nodes x num_features), one class per
/// node, undirected edges (u < v, no self loops, no duplicates) and a train/validation/test split.
struct GraphData {
  int num_nodes = 0;                            ///< N
  int num_features = 0;                         ///< F
  int num_classes = 0;                          ///< C (labels are 0..C-1)
  std::vector<float> features;                  ///< N * F, row-major: features[i * F + f]
  std::vector<int> labels;                      ///< N labels in 0..C-1
  std::vector<std::pair<int, int>> edges;       ///< undirected edges, u < v
  std::vector<int> train, val, test;            ///< node indices of each split, ascending
  std::string name;                             ///< "cora", "sbm(...)", ...

  /// Checks sizes and ranges; throws iterop::invalid_option naming the field, value and rule.
  void validate() const;
};

/// Reads the Planetoid TSV format (features.tsv, labels.tsv, edges.tsv, split.tsv; see
/// ../shared/data/planetoid/README.md) from `folder`. Throws data_error naming the file, the
/// 1-based line number and the reason for a missing file, malformed line or out-of-range value.
/// The features are stored dense (nodes x features floats); `max_feature_entries` caps that product
/// and is checked on the header, before anything is allocated, so that a header with a mistyped count
/// is refused instead of allocating gigabytes (the default, 2^31 entries, is 8 GiB).
GraphData read_planetoid(const std::filesystem::path& folder, std::size_t max_feature_entries = std::size_t{1} << 31);

/// Feature noise of [OL]: adds +1 to each of the N * F feature entries independently with
/// probability p (so a fraction p of all entries in expectation), from std::mt19937_64(seed).
/// p = 0 leaves the features unchanged. Throws invalid_option unless 0 <= p <= 1.
void add_feature_noise(GraphData& g, double p, std::uint64_t seed);

/// Feature scaling of the GCN and PIGN (their `feature_scaling` option), applied to g.features in place:
/// with `row_normalise` each row is first divided by its sum (rows of zeros stay zero); then `scaling`
/// "none" leaves the features, "standardise" shifts and scales each column to mean 0 and variance 1 over
/// all nodes (transductive: every node's features, no label; a constant column becomes 0). Throws
/// invalid_option naming `field` for another `scaling`.
void scale_features(GraphData& g, bool row_normalise, const std::string& scaling,
                    const std::string& field = "feature_scaling");

/// Options of the stochastic-block-model generator.
struct SbmOptions {
  int num_nodes = 600;           ///< N, divided evenly among the classes (remainder to the first)
  int num_classes = 4;           ///< C >= 2
  int num_features = 64;         ///< F >= C; class c owns the block of features [c F / C, (c+1) F / C)
  double mean_degree_in = 4.0;   ///< expected neighbours of a node within its own class
  double mean_degree_out = 1.5;  ///< expected neighbours of a node in the other classes
  double feature_in = 0.08;      ///< probability that a feature of the node's own block is 1
  double feature_out = 0.04;     ///< probability that any other feature is 1
  int train_per_class = 20;      ///< training nodes per class (Planetoid style)
  int num_val = 150;             ///< validation nodes
  int num_test = 300;            ///< test nodes
  std::uint64_t seed = 0;        ///< generator seed

  /// Throws iterop::invalid_option naming the field, the value and the rule.
  void validate() const;
};

/// A seeded stochastic-block-model graph with noisy class features: the default data when no
/// Planetoid folder is given. Same seed, same graph.
GraphData make_sbm(const SbmOptions& o = {});

}  // namespace iterop::operators
