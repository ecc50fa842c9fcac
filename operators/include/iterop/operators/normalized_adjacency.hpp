// The GCN propagation matrix A_hat = D^-1/2 (A + I) D^-1/2 of an undirected graph, as sparse
// coordinate triples. Plain C++; the torch models build their sparse tensor from it.
#pragma once

#include <utility>
#include <vector>

namespace iterop::operators {

/// A sparse square matrix in coordinate form (rows[i], cols[i], values[i]), sorted by row then column.
struct SparseCoo {
  int n = 0;                   ///< the matrix is n x n
  std::vector<long> rows;      ///< row index of each stored entry
  std::vector<long> cols;      ///< column index of each stored entry
  std::vector<double> values;  ///< value of each stored entry
};

/// A_hat = D^-1/2 (A + I) D^-1/2 with A the symmetric 0/1 adjacency of the undirected `edges`
/// (each pair once, either order, no self loops) and D the degree matrix of A + I:
/// A_hat[i][j] = 1 / sqrt((1 + deg i)(1 + deg j)) for j = i or j a neighbour of i. Its 2-norm is 1.
/// Throws iterop::invalid_option for an edge outside 0..n-1 or a self loop.
SparseCoo normalized_adjacency(int n, const std::vector<std::pair<int, int>>& edges);

}  // namespace iterop::operators
