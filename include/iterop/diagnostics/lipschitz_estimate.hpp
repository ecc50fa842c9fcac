// Lipschitz lower bound of T from stored pairs (x_i, T(x_i)): max ||T(x_i) - T(x_j)|| / ||x_i - x_j||,
// and an observer that records the pairs during a solve.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/core/vector_algebra.hpp"
#include "iterop/fixed_point/observer.hpp"

namespace iterop {

/// Which pairs a Lipschitz lower bound compares.
enum class Pairs { consecutive, all };

/// Records x_k and T(x_k) at every iterate (an observer for solve()).
template <State X>
struct IterateRecorder {
  std::vector<X> x, tx;
  std::size_t max_records = 1000;  ///< keeps the first max_records iterates
  Action operator()(const IterationView<X>& v) {
    if (x.size() < max_records) {
      x.push_back(v.x);
      tx.push_back(v.value);
    }
    return Action::proceed;
  }
};

/// max over the chosen pairs of ||T(x_i) - T(x_j)||_2 / ||x_i - x_j||_2: a lower bound on the
/// Lipschitz constant of T on the set the iterates visit (0 with fewer than 2 points). Pairs closer
/// than min_relative_distance * max(||x_i||, ||x_j||, 1) are skipped: there the quotient measures
/// the rounding in T, not T.
template <State X>
double lipschitz_lower_bound(const std::vector<X>& xs, const std::vector<X>& txs, Pairs pairs = Pairs::all,
                             double min_relative_distance = 1e-6) {
  require(xs.size() == txs.size(), "lipschitz_lower_bound sizes", std::to_string(xs.size()) + " vs " +
          std::to_string(txs.size()), "xs and T(xs) have the same number of entries");
  if (xs.size() < 2) return 0.0;
  X scratch = ops::zeros_like(xs[0]);
  double best = 0.0;
  auto consider = [&](std::size_t i, std::size_t j) {
    const double dx = static_cast<double>(ops::distance2(xs[i], xs[j], scratch));
    const double scale = std::max({1.0, static_cast<double>(ops::norm2(xs[i])), static_cast<double>(ops::norm2(xs[j]))});
    if (!(dx > min_relative_distance * scale)) return;
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
