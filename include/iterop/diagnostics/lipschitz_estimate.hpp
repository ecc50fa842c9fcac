// Lipschitz lower bound of T from stored pairs (x_i, T(x_i)): max ||T(x_i) - T(x_j)|| / ||x_i - x_j||,
// and an observer that records the pairs during a solve.
#pragma once

#include <cstddef>
#include <vector>

#include "iterop/core/vector_algebra.hpp"
#include "iterop/fixed_point/observer.hpp"

namespace iterop {

/// Which pairs a Lipschitz lower bound compares.
enum class Pairs { consecutive, all };

/// Records x_k and T(x_k) = x_k + f_k at every iterate (an observer for solve()).
template <State X>
struct IterateRecorder {
  std::vector<X> x, tx;
  std::size_t max_records = 1000;  ///< keeps the first max_records iterates
  Action operator()(const IterationView<X>& v) {
    if (x.size() < max_records) {
      x.push_back(v.x);
      X t = v.x;
      ops::axpby(scalar_t<X>(1), v.residual, scalar_t<X>(1), t);
      tx.push_back(std::move(t));
    }
    return Action::proceed;
  }
};

/// max over the chosen pairs of ||T(x_i) - T(x_j)||_2 / ||x_i - x_j||_2 (pairs with x_i == x_j skipped):
/// a lower bound on the Lipschitz constant of T on the set the iterates visit. 0 with fewer than 2 points.
template <State X>
double lipschitz_lower_bound(const std::vector<X>& xs, const std::vector<X>& txs, Pairs pairs = Pairs::all) {
  require(xs.size() == txs.size(), "lipschitz_lower_bound sizes", std::to_string(xs.size()) + " vs " +
          std::to_string(txs.size()), "xs and T(xs) have the same number of entries");
  if (xs.size() < 2) return 0.0;
  X scratch = ops::zeros_like(xs[0]);
  double best = 0.0;
  auto consider = [&](std::size_t i, std::size_t j) {
    const double dx = static_cast<double>(ops::distance2(xs[i], xs[j], scratch));
    if (!(dx > 0)) return;
    const double dt = static_cast<double>(ops::distance2(txs[i], txs[j], scratch));
    if (dt / dx > best) best = dt / dx;
  };
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (pairs == Pairs::consecutive) {
      if (i + 1 < xs.size()) consider(i, i + 1);
    } else {
      for (std::size_t j = i + 1; j < xs.size(); ++j) consider(i, j);
    }
  }
  return best;
}

}  // namespace iterop
