// Tests of the Lipschitz lower bound from stored pairs: never above the true constant, close to it
// for a linear map, and consecutive pairs never above all pairs.
#include "iterop/diagnostics/lipschitz_estimate.hpp"

#include <vector>

#include <gtest/gtest.h>

#include "iterop/fixed_point/krasnoselskii_mann.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/problems/linear_map.hpp"

TEST(LipschitzEstimate, LowerBoundOfLinearMap) {
  using V = std::vector<double>;
  const iterop::problems::LinearMap G(iterop::problems::LinearMap::spaced_spectrum(-0.2, 0.9, 6), 13);
  iterop::IterateRecorder<V> rec;
  const auto r = iterop::solve(G, V(6, 1.0), iterop::KrasnoselskiiMann{.relaxation = 0.8},
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0}, rec);
  ASSERT_TRUE(r.converged());
  const double all = iterop::lipschitz_lower_bound(rec.x, rec.tx, iterop::Pairs::all);
  const double cons = iterop::lipschitz_lower_bound(rec.x, rec.tx, iterop::Pairs::consecutive);
  EXPECT_LE(all, 0.9 + 1e-9);
  EXPECT_GE(all, 0.85);  // the iterates line up with the dominant eigenvector
  EXPECT_LE(cons, all + 1e-15);
  EXPECT_EQ(iterop::lipschitz_lower_bound(std::vector<V>{}, std::vector<V>{}), 0.0);
  EXPECT_THROW((void)iterop::lipschitz_lower_bound(rec.x, std::vector<V>{}), iterop::invalid_option);
}
