// Optimal assignment against brute force over all permutations, and its dual certificate.
#include "iterop/distributions/optimal_assignment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/core/errors.hpp"

namespace {

using iterop::distributions::optimal_assignment;

double brute_force_minimum(const std::vector<double>& cost, std::size_t n) {
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  double best = std::numeric_limits<double>::infinity();
  do {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += cost[i * n + perm[i]];
    best = std::min(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

TEST(OptimalAssignment, EqualsBruteForceOnRandomSevenBySeven) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-3.0, 10.0);
  for (int trial = 0; trial < 20; ++trial) {
    const std::size_t n = 7;
    std::vector<double> cost(n * n);
    for (double& c : cost) c = u(rng);
    const auto a = optimal_assignment(cost, n);
    EXPECT_NEAR(a.total_cost, brute_force_minimum(cost, n), 1e-12) << "trial " << trial;
    std::vector<std::size_t> cols = a.column_of_row;
    std::sort(cols.begin(), cols.end());
    for (std::size_t j = 0; j < n; ++j) EXPECT_EQ(cols[j], j) << "not a permutation";
    EXPECT_LE(a.dual_infeasibility, 1e-12);
  }
}

TEST(OptimalAssignment, FindsAHiddenPermutation) {
  // cost(i, j) = 0 on a permutation, 1 elsewhere: the permutation is the unique optimum.
  const std::size_t n = 200;
  std::vector<std::size_t> hidden(n);
  std::iota(hidden.begin(), hidden.end(), std::size_t{0});
  std::shuffle(hidden.begin(), hidden.end(), std::mt19937_64(3));
  std::vector<double> cost(n * n, 1.0);
  for (std::size_t i = 0; i < n; ++i) cost[i * n + hidden[i]] = 0.0;
  const auto a = optimal_assignment(cost, n);
  EXPECT_EQ(a.column_of_row, hidden);
  EXPECT_EQ(a.total_cost, 0.0);
}

TEST(OptimalAssignment, TerminatesOnTiesFromRepeatedPoints) {
  // Squared distances between points drawn with repetition from small pools: many exactly tied
  // costs. The simplex on double costs cycled forever on this kind of input (n = 64); on integer
  // costs it terminates with a certified optimum. (A hang here is caught by the CTest timeout.)
  std::mt19937_64 rng(0);
  std::normal_distribution<double> g(0.0, 1.0);
  for (std::size_t n : {64u, 256u}) {
    std::vector<double> pa(2 * 16), pb(2 * 16);
    for (double& v : pa) v = g(rng);
    for (double& v : pb) v = 5.0 + g(rng);
    std::vector<double> cost(n * n);
    std::vector<std::size_t> ia(n), ib(n);
    for (std::size_t i = 0; i < n; ++i) {
      ia[i] = rng() % 16;
      ib[i] = rng() % 16;
    }
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const double dx = pa[2 * ia[i]] - pb[2 * ib[j]], dy = pa[2 * ia[i] + 1] - pb[2 * ib[j] + 1];
        cost[i * n + j] = dx * dx + dy * dy;
      }
    const auto a = optimal_assignment(cost, n);
    EXPECT_LE(a.dual_infeasibility, 1e-12) << n;
    std::vector<std::size_t> cols = a.column_of_row;
    std::sort(cols.begin(), cols.end());
    for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(cols[j], j) << "not a permutation";
  }
}

TEST(OptimalAssignment, RejectsBadInputNamingTheField) {
  std::vector<double> cost(5, 1.0);
  try {
    optimal_assignment(cost, 2);
    FAIL() << "no throw";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("cost.size() = 5"), std::string::npos) << e.what();
  }
  std::vector<double> with_nan{0.0, 1.0, std::nan(""), 2.0};
  try {
    optimal_assignment(with_nan, 2);
    FAIL() << "no throw";
  } catch (const iterop::invalid_option& e) {
    EXPECT_NE(std::string(e.what()).find("cost[1][0]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(optimal_assignment({}, 0), iterop::invalid_option);
}

}  // namespace
