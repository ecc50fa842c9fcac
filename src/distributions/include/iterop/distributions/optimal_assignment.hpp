// Exact optimal assignment (the linear assignment problem) on a dense n x n cost matrix, solved as a
// min-cost flow by LEMON's network simplex, with a dual certificate of optimality.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace iterop::distributions {

/// A permutation minimising sum_i cost(i, column_of_row[i]).
struct Assignment {
  std::vector<std::size_t> column_of_row;  ///< the optimal permutation
  double total_cost = 0;                   ///< sum_i cost(i, column_of_row[i])
  /// Certificate: max(0, -min reduced cost) over all pairs for the dual potentials the simplex
  /// returned, relative to max |cost|. Zero (to rounding) proves the permutation optimal.
  double dual_infeasibility = 0;
};

/// Solves min over permutations pi of sum_i cost[i * n + pi(i)]. `cost` is row-major n x n.
/// Throws iterop::invalid_option if cost.size() != n * n, n == 0, or a cost is not finite.
Assignment optimal_assignment(std::span<const double> cost, std::size_t n);

}  // namespace iterop::distributions
