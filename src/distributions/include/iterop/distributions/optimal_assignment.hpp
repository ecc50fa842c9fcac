// Exact optimal assignment (the linear assignment problem) on a dense n x n cost matrix, solved as a
// min-cost flow by LEMON's network simplex on integer-rounded costs, with a dual certificate.
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
  /// returned, on the original costs, relative to max |cost|. Zero proves the permutation optimal;
  /// the costs are solved rounded to 2^61 / (4n + 4) levels over [min, max], so expect ~1e-16 n.
  double dual_infeasibility = 0;
};

/// Solves min over permutations pi of sum_i cost[i * n + pi(i)]. `cost` is row-major n x n. Ties
/// (repeated points) are fine: integer costs keep the simplex from cycling on degenerate pivots.
/// Throws iterop::invalid_option if cost.size() != n * n, n == 0, or a cost is not finite.
Assignment optimal_assignment(std::span<const double> cost, std::size_t n);

}  // namespace iterop::distributions
