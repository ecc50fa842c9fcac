// The Planetoid TSV reader, the feature-noise protocol and the stochastic-block-model generator.
// Plain C++ (no torch): every malformed line is reported with its file, line number and reason.
#include "iterop/operators/planetoid.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string_view>

#include "iterop/core/errors.hpp"

namespace iterop::operators {
namespace {

/// A field or line of the file for a message: at most 40 characters, bytes outside printable ASCII as
/// \xNN (a binary file must not send escape sequences to the terminal).
std::string shown_field(std::string_view text) {
  constexpr std::size_t most = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < std::min(text.size(), most); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b >= 0x20 && b < 0x7F) {
      out += static_cast<char>(b);
    } else {
      static const char* digits = "0123456789abcdef";
      out += std::string("\\x") + digits[b >> 4] + digits[b & 15];
    }
  }
  out += "'";
  if (text.size() > most) out += " (" + std::to_string(text.size()) + " characters, the first " + std::to_string(most) + " shown)";
  return out;
}

/// Reads one TSV file line by line; fields are separated by tabs or spaces.
class TsvFile {
 public:
  explicit TsvFile(const std::filesystem::path& path) : path_(path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path_, ec)) throw data_error(path_.string() + ": is a folder, not a file.");
    in_.open(path_);
    if (!in_) throw data_error(path_.string() + ": cannot open the file (missing or unreadable).");
  }
  /// Next line (comments included); false at the end.
  bool next(std::string& line) {
    if (!std::getline(in_, line)) return false;
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }
  [[noreturn]] void fail(const std::string& reason) const {
    throw data_error(path_.string() + ":" + std::to_string(line_no_) + ": " + reason);
  }
  static std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && (s[i] == '\t' || s[i] == ' ')) ++i;
      std::size_t j = i;
      while (j < s.size() && s[j] != '\t' && s[j] != ' ') ++j;
      if (j > i) out.push_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  long to_int(std::string_view field, std::string_view what) const {
    long v = 0;
    auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
    if (ec != std::errc{} || p != field.data() + field.size())
      fail(std::string(what) + " " + shown_field(field) +
           (ec == std::errc::result_out_of_range ? " is outside the range of a 64-bit integer" : " is not an integer"));
    return v;
  }
  double to_double(std::string_view field, std::string_view what) const {
    double v = 0;
    auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
    if (ec != std::errc{} || p != field.data() + field.size())
      fail(std::string(what) + " " + shown_field(field) + " is not a number");
    // NaN and Inf would train to NaN without a word; a value past float's range would become Inf.
    if (!std::isfinite(v)) fail(std::string(what) + " " + shown_field(field) + " is not finite");
    if (!std::isfinite(static_cast<float>(v)))
      fail(std::string(what) + " " + shown_field(field) + " is outside the range of a float (|value| <= 3.4e38)");
    return v;
  }
  /// Fields of the next data line (skips blank lines and '#' comments); false at the end.
  bool next_fields(std::vector<std::string_view>& fields, std::string& line) {
    while (next(line)) {
      if (line.empty() || line[0] == '#') continue;
      fields = split(line);
      if (fields.empty()) continue;
      return true;
    }
    return false;
  }
  int line_no() const { return line_no_; }

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  int line_no_ = 0;
};

void check_node(const TsvFile& f, long v, int n, std::string_view what) {
  if (v < 0 || v >= n)
    f.fail(std::string(what) + " " + std::to_string(v) + " is outside 0.." + std::to_string(n - 1));
}

void check_count(const TsvFile& f, const std::vector<std::string_view>& fields, std::size_t want,
                 std::string_view format) {
  if (fields.size() != want)
    f.fail("expected " + std::to_string(want) + " fields (" + std::string(format) + "), found " +
           std::to_string(fields.size()));
}

}  // namespace

void GraphData::validate() const {
  require(num_nodes > 0, "GraphData::num_nodes", num_nodes, "num_nodes > 0");
  require(num_features > 0, "GraphData::num_features", num_features, "num_features > 0");
  require(num_classes >= 2, "GraphData::num_classes", num_classes, "num_classes >= 2");
  require(features.size() == std::size_t(num_nodes) * std::size_t(num_features), "GraphData::features.size()",
          features.size(), "features.size() == num_nodes * num_features");
  require(labels.size() == std::size_t(num_nodes), "GraphData::labels.size()", labels.size(),
          "labels.size() == num_nodes");
  for (int c : labels) require(c >= -1 && c < num_classes, "GraphData::labels[i]", c, "-1 <= label < num_classes");
  for (const auto& [u, v] : edges) {
    require(u >= 0 && u < v && v < num_nodes, "GraphData::edges[i].first", u,
            "0 <= u < v < num_nodes for every edge (u, v)");
  }
  for (const auto* s : {&train, &val, &test})
    for (int i : *s) {
      require(i >= 0 && i < num_nodes, "GraphData split node", i, "0 <= node < num_nodes");
      require(labels[std::size_t(i)] >= 0, "GraphData::labels of a split node", labels[std::size_t(i)],
              "nodes in train/val/test are labelled (label >= 0)");
    }
  require(!train.empty(), "GraphData::train.size()", train.size(), "train.size() > 0");
}

GraphData read_planetoid(const std::filesystem::path& folder, std::size_t max_feature_entries) {
  GraphData g;
  g.name = folder.filename().string();
  if (g.name.empty()) g.name = folder.parent_path().filename().string();
  std::string line;
  std::vector<std::string_view> fields;

  // features.tsv: header "# nodes N features F", then "node feature value".
  {
    TsvFile f(folder / "features.tsv");
    if (!f.next(line)) f.fail("empty file; expected the header '# nodes N features F'");
    auto h = TsvFile::split(line);
    if (h.size() != 5 || h[0] != "#" || h[1] != "nodes" || h[3] != "features")
      f.fail("expected the header '# nodes N features F', found " + shown_field(line));
    const long n = f.to_int(h[2], "node count");
    const long nf = f.to_int(h[4], "feature count");
    const long cap = static_cast<long>(std::min<std::size_t>(max_feature_entries, std::size_t{1} << 31));
    if (n <= 0 || nf <= 0 || n > cap / nf)
      f.fail("node count " + std::to_string(n) + " and feature count " + std::to_string(nf) +
             " must be positive with nodes x features <= " + std::to_string(cap) +
             " (the dense feature matrix's limit, max_feature_entries)");
    g.num_nodes = int(n);
    g.num_features = int(nf);
    g.features.assign(std::size_t(n * nf), 0.0f);
    while (f.next_fields(fields, line)) {
      check_count(f, fields, 3, "node feature value");
      const long i = f.to_int(fields[0], "node");
      const long j = f.to_int(fields[1], "feature");
      const double v = f.to_double(fields[2], "value");
      check_node(f, i, g.num_nodes, "node");
      if (j < 0 || j >= nf) f.fail("feature " + std::to_string(j) + " is outside 0.." + std::to_string(nf - 1));
      g.features[std::size_t(i * nf + j)] = float(v);
    }
  }
  // labels.tsv: "node class" for every node.
  {
    TsvFile f(folder / "labels.tsv");
    g.labels.assign(std::size_t(g.num_nodes), -2);
    int max_class = -1;
    while (f.next_fields(fields, line)) {
      check_count(f, fields, 2, "node class");
      const long i = f.to_int(fields[0], "node");
      const long c = f.to_int(fields[1], "class");
      check_node(f, i, g.num_nodes, "node");
      if (c < -1) f.fail("class " + std::to_string(c) + " is below -1 (-1 means unlabelled)");
      // Class ids number the classes: each class has a node, so an id is below the node count.
      const long most = std::max(1L, static_cast<long>(g.num_nodes) - 1);
      if (c > most)
        f.fail("class " + std::to_string(c) + " is outside -1.." + std::to_string(most) +
               " (class ids are below the number of nodes, " + std::to_string(g.num_nodes) + ")");
      if (g.labels[std::size_t(i)] != -2) f.fail("node " + std::to_string(i) + " is labelled twice");
      g.labels[std::size_t(i)] = int(c);
      max_class = std::max(max_class, int(c));
    }
    for (int i = 0; i < g.num_nodes; ++i)
      if (g.labels[std::size_t(i)] == -2)
        f.fail("end of file: node " + std::to_string(i) + " has no label line (" + std::to_string(g.num_nodes) +
               " nodes expected)");
    g.num_classes = max_class + 1;
  }
  // edges.tsv: "u v" undirected; normalised to u < v, duplicates and self loops rejected.
  {
    TsvFile f(folder / "edges.tsv");
    std::set<std::pair<int, int>> seen;
    while (f.next_fields(fields, line)) {
      check_count(f, fields, 2, "u v");
      long u = f.to_int(fields[0], "node u");
      long v = f.to_int(fields[1], "node v");
      check_node(f, u, g.num_nodes, "node u");
      check_node(f, v, g.num_nodes, "node v");
      if (u == v) f.fail("self loop " + std::to_string(u) + " - " + std::to_string(v));
      if (u > v) std::swap(u, v);
      if (!seen.emplace(int(u), int(v)).second)
        f.fail("duplicate edge " + std::to_string(u) + " - " + std::to_string(v));
    }
    g.edges.assign(seen.begin(), seen.end());
  }
  // split.tsv: "node train|val|test".
  {
    TsvFile f(folder / "split.tsv");
    std::vector<char> assigned(std::size_t(g.num_nodes), 0);
    while (f.next_fields(fields, line)) {
      check_count(f, fields, 2, "node train|val|test");
      const long i = f.to_int(fields[0], "node");
      check_node(f, i, g.num_nodes, "node");
      if (assigned[std::size_t(i)]) f.fail("node " + std::to_string(i) + " appears twice in the split");
      assigned[std::size_t(i)] = 1;
      if (g.labels[std::size_t(i)] < 0) f.fail("node " + std::to_string(i) + " is in a split but unlabelled");
      if (fields[1] == "train") g.train.push_back(int(i));
      else if (fields[1] == "val") g.val.push_back(int(i));
      else if (fields[1] == "test") g.test.push_back(int(i));
      else f.fail("split " + shown_field(fields[1]) + " is not one of train, val, test");
    }
    if (g.train.empty()) f.fail("end of file: no training node");
    for (auto* s : {&g.train, &g.val, &g.test}) std::sort(s->begin(), s->end());
  }
  g.validate();
  return g;
}

void add_feature_noise(GraphData& g, double p, std::uint64_t seed) {
  require(p >= 0.0 && p <= 1.0, "feature noise p", p, "0 <= p <= 1");
  if (p == 0.0) return;
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(p);
  for (float& v : g.features)
    if (coin(rng)) v += 1.0f;
}

void scale_features(GraphData& g, bool row_normalise, const std::string& scaling, const std::string& field) {
  require(scaling == "none" || scaling == "standardise", field, scaling, "\"none\" or \"standardise\"");
  const auto n = std::size_t(g.num_nodes), f = std::size_t(g.num_features);
  require(g.features.size() == n * f, "GraphData::features.size()", g.features.size(), "num_nodes * num_features");
  if (row_normalise)
    for (std::size_t i = 0; i < n; ++i) {
      double sum = 0;
      for (std::size_t j = 0; j < f; ++j) sum += g.features[i * f + j];
      if (sum != 0)
        for (std::size_t j = 0; j < f; ++j) g.features[i * f + j] = float(g.features[i * f + j] / sum);
    }
  if (scaling == "none" || n == 0) return;
  std::vector<double> mean(f, 0.0), var(f, 0.0);  // two passes: the mean, then the (population) variance
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j) mean[j] += g.features[i * f + j];
  for (double& m : mean) m /= double(n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j) var[j] += (g.features[i * f + j] - mean[j]) * (g.features[i * f + j] - mean[j]);
  for (std::size_t j = 0; j < f; ++j) var[j] = var[j] > 0 ? 1.0 / std::sqrt(var[j] / double(n)) : 0.0;  // 1 / std
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < f; ++j) g.features[i * f + j] = float((g.features[i * f + j] - mean[j]) * var[j]);
}

void SbmOptions::validate() const {
  require(num_classes >= 2, "SbmOptions::num_classes", num_classes, "num_classes >= 2");
  require(num_nodes >= 2 * num_classes, "SbmOptions::num_nodes", num_nodes, "num_nodes >= 2 * num_classes");
  require(num_features >= num_classes, "SbmOptions::num_features", num_features, "num_features >= num_classes");
  require(mean_degree_in >= 0, "SbmOptions::mean_degree_in", mean_degree_in, "mean_degree_in >= 0");
  require(mean_degree_out >= 0, "SbmOptions::mean_degree_out", mean_degree_out, "mean_degree_out >= 0");
  require(feature_in >= 0 && feature_in <= 1, "SbmOptions::feature_in", feature_in, "0 <= feature_in <= 1");
  require(feature_out >= 0 && feature_out <= 1, "SbmOptions::feature_out", feature_out, "0 <= feature_out <= 1");
  require(train_per_class >= 1, "SbmOptions::train_per_class", train_per_class, "train_per_class >= 1");
  require(num_val >= 0, "SbmOptions::num_val", num_val, "num_val >= 0");
  require(num_test >= 0, "SbmOptions::num_test", num_test, "num_test >= 0");
  require(train_per_class * num_classes + num_val + num_test <= num_nodes, "SbmOptions::num_test", num_test,
          "train_per_class * num_classes + num_val + num_test <= num_nodes");
}

GraphData make_sbm(const SbmOptions& o) {
  o.validate();
  GraphData g;
  g.num_nodes = o.num_nodes;
  g.num_classes = o.num_classes;
  g.num_features = o.num_features;
  g.name = "sbm(n=" + std::to_string(o.num_nodes) + ",c=" + std::to_string(o.num_classes) +
           ",seed=" + std::to_string(o.seed) + ")";
  std::mt19937_64 rng(o.seed);
  const int n = o.num_nodes, c = o.num_classes;
  // Balanced classes, then shuffled so that node ids carry no class information.
  g.labels.resize(std::size_t(n));
  for (int i = 0; i < n; ++i) g.labels[std::size_t(i)] = i * c / n;
  std::shuffle(g.labels.begin(), g.labels.end(), rng);
  std::vector<int> class_size(std::size_t(c), 0);
  for (int l : g.labels) ++class_size[std::size_t(l)];
  // Edge probabilities from the expected degrees.
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  for (int u = 0; u < n; ++u)
    for (int v = u + 1; v < n; ++v) {
      const int lu = g.labels[std::size_t(u)], lv = g.labels[std::size_t(v)];
      const double p = lu == lv ? o.mean_degree_in / std::max(1, class_size[std::size_t(lu)] - 1)
                                : o.mean_degree_out / std::max(1, n - class_size[std::size_t(lu)]);
      if (unif(rng) < p) g.edges.emplace_back(u, v);
    }
  // Binary features: the node's own block with probability feature_in, the rest with feature_out.
  const int nf = o.num_features;
  g.features.assign(std::size_t(n) * std::size_t(nf), 0.0f);
  for (int i = 0; i < n; ++i) {
    const int l = g.labels[std::size_t(i)];
    const int lo = l * nf / c, hi = (l + 1) * nf / c;
    for (int f = 0; f < nf; ++f) {
      const double p = (f >= lo && f < hi) ? o.feature_in : o.feature_out;
      if (unif(rng) < p) g.features[std::size_t(i) * std::size_t(nf) + std::size_t(f)] = 1.0f;
    }
  }
  // Split: train_per_class per class, then validation and test from a shuffled remainder.
  std::vector<int> order(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) order[std::size_t(i)] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<int> taken(std::size_t(c), 0);
  std::vector<int> rest;
  for (int i : order) {
    int& t = taken[std::size_t(g.labels[std::size_t(i)])];
    if (t < o.train_per_class) {
      g.train.push_back(i);
      ++t;
    } else {
      rest.push_back(i);
    }
  }
  require(int(g.train.size()) == o.train_per_class * c, "SbmOptions::train_per_class", o.train_per_class,
          "every class has at least train_per_class nodes");
  g.val.assign(rest.begin(), rest.begin() + o.num_val);
  g.test.assign(rest.begin() + o.num_val, rest.begin() + o.num_val + o.num_test);
  for (auto* s : {&g.train, &g.val, &g.test}) std::sort(s->begin(), s->end());
  g.validate();
  return g;
}

}  // namespace iterop::operators
