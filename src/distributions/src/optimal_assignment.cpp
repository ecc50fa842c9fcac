// The linear assignment problem as a min-cost flow on the complete bipartite graph (supply +1 on
// rows, -1 on columns), solved by LEMON's network simplex on integer costs.
//
// Why integers: with floating-point costs the simplex's potentials carry rounding errors, and on
// degenerate problems (repeated points give tied costs) it was measured here to cycle without end
// (n = 64, 2-D points drawn with repetition). The costs are therefore shifted to [0, R] and rounded
// to integers on [0, S], S = 2^61 / (4n + 4), which keeps every potential and reduced cost LEMON
// forms (artificial arcs cost 2^62) inside int64. The permutation is optimal for the rounded costs;
// the dual certificate below is then evaluated on the original doubles.
#include "iterop/distributions/optimal_assignment.hpp"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <limits>
#include <string>

#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>

#include "iterop/core/errors.hpp"

namespace iterop::distributions {

Assignment optimal_assignment(std::span<const double> cost, std::size_t n) {
  require(n >= 1, "optimal_assignment n", n, "n >= 1");
  require(cost.size() == n * n, "optimal_assignment cost.size()", cost.size(),
          "cost.size() == n * n = " + std::to_string(n * n));
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, scale = 0;
  for (std::size_t k = 0; k < cost.size(); ++k) {
    require(std::isfinite(cost[k]), "optimal_assignment cost[" + std::to_string(k / n) + "][" +
                                        std::to_string(k % n) + "]", cost[k], "finite");
    lo = std::min(lo, cost[k]);
    hi = std::max(hi, cost[k]);
    scale = std::max(scale, std::abs(cost[k]));
  }
  const double range = hi - lo;
  require(std::isfinite(range), "optimal_assignment cost range", range, "max - min cost finite");
  // Integer resolution of the costs: S = 2^61 / (4n + 4) steps over [lo, hi].
  const double steps = std::ldexp(1.0, 61) / (4.0 * static_cast<double>(n) + 4.0);
  const double to_int = range > 0 ? steps / range : 0.0;

  lemon::SmartDigraph g;
  g.reserveNode(static_cast<int>(2 * n));
  g.reserveArc(static_cast<int>(n * n));
  std::vector<lemon::SmartDigraph::Node> rows(n), cols(n);
  for (auto& r : rows) r = g.addNode();
  for (auto& c : cols) c = g.addNode();
  lemon::SmartDigraph::ArcMap<std::int64_t> arc_cost(g);
  lemon::SmartDigraph::NodeMap<int> supply(g);
  for (std::size_t i = 0; i < n; ++i) {
    supply[rows[i]] = 1;
    supply[cols[i]] = -1;
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) arc_cost[g.addArc(rows[i], cols[j])] =
          static_cast<std::int64_t>(std::llround((cost[i * n + j] - lo) * to_int));

  using Simplex = lemon::NetworkSimplex<lemon::SmartDigraph, int, std::int64_t>;
  Simplex simplex(g);
  simplex.costMap(arc_cost).supplyMap(supply);
  const auto outcome = simplex.run();
  if (outcome != Simplex::OPTIMAL)
    throw backend_error("LEMON", "network simplex did not find an optimal assignment (n = " + std::to_string(n) + ")");

  Assignment a;
  a.column_of_row.assign(n, n);
  double worst = 0;
  for (lemon::SmartDigraph::ArcIt arc(g); arc != lemon::INVALID; ++arc) {
    const auto i = static_cast<std::size_t>(g.id(g.source(arc)));
    const auto j = static_cast<std::size_t>(g.id(g.target(arc))) - n;
    if (simplex.flow(arc) > 0) a.column_of_row[i] = j;
    // LEMON's optimality condition: cost(uv) + pi(u) - pi(v) >= 0 on every arc of infinite capacity,
    // checked with the original costs and the potentials scaled back (differences first: exact ints).
    const auto dpi = simplex.potential(g.source(arc)) - simplex.potential(g.target(arc));
    const double reduced = (cost[i * n + j] - lo) + (range > 0 ? static_cast<double>(dpi) / to_int : 0.0);
    worst = std::max(worst, -reduced);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (a.column_of_row[i] >= n) throw backend_error("LEMON", "row " + std::to_string(i) + " left unassigned");
    a.total_cost += cost[i * n + a.column_of_row[i]];
  }
  a.dual_infeasibility = scale > 0 ? worst / scale : worst;
  return a;
}

}  // namespace iterop::distributions
