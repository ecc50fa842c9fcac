// A_hat = D^-1/2 (A + I) D^-1/2 as coordinate triples, from an undirected edge list.
// Plain C++ (no torch), so it is tested against a hand computation without LibTorch's compile time.
#include "iterop/operators/normalized_adjacency.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "iterop/core/errors.hpp"

namespace iterop::operators {

SparseCoo normalized_adjacency(int n, const std::vector<std::pair<int, int>>& edges) {
  require(n > 0, "normalized_adjacency n", n, "n > 0");
  std::vector<double> degree(std::size_t(n), 1.0);  // the self loop of A + I
  std::vector<std::pair<long, long>> entries;
  entries.reserve(2 * edges.size() + std::size_t(n));
  for (const auto& [u, v] : edges) {
    require(u >= 0 && u < n, "normalized_adjacency edge node u", u, "0 <= u < n");
    require(v >= 0 && v < n, "normalized_adjacency edge node v", v, "0 <= v < n");
    require(u != v, "normalized_adjacency edge (u, u) with u", u, "no self loops (A + I adds them)");
    degree[std::size_t(u)] += 1.0;
    degree[std::size_t(v)] += 1.0;
    entries.emplace_back(u, v);
    entries.emplace_back(v, u);
  }
  for (int i = 0; i < n; ++i) entries.emplace_back(i, i);
  std::sort(entries.begin(), entries.end());
  SparseCoo a;
  a.n = n;
  a.rows.reserve(entries.size());
  a.cols.reserve(entries.size());
  a.values.reserve(entries.size());
  for (const auto& [i, j] : entries) {
    a.rows.push_back(i);
    a.cols.push_back(j);
    a.values.push_back(1.0 / std::sqrt(degree[std::size_t(i)] * degree[std::size_t(j)]));
  }
  return a;
}

}  // namespace iterop::operators
