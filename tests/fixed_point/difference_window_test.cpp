// Tests of Anderson's difference window: Q stays orthonormal and Q R reproduces the stored residual
// differences after column updates, Givens deletion of the oldest column, and rebuilds.
#include "iterop/fixed_point/detail/difference_window.hpp"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace {

using V = std::vector<double>;

/// max |Q^T Q - I| and max |Q R - dF| over the window's columns.
void expect_factorisation(const iterop::detail::difference_window<V>& w, double tol) {
  const int c = w.columns();
  for (int i = 0; i < c; ++i)
    for (int j = 0; j < c; ++j) {
      double d = 0;
      for (std::size_t l = 0; l < w.Q(i).size(); ++l) d += w.Q(i)[l] * w.Q(j)[l];
      EXPECT_NEAR(d, i == j ? 1.0 : 0.0, tol) << "Q^T Q at " << i << "," << j;
    }
  for (int j = 0; j < c; ++j)
    for (std::size_t l = 0; l < w.dF(j).size(); ++l) {
      double qr = 0;
      for (int i = 0; i <= j; ++i) qr += w.Q(i)[l] * w.r(i, j);
      EXPECT_NEAR(qr, w.dF(j)[l], tol * (1 + std::abs(w.dF(j)[l]))) << "column " << j << " entry " << l;
    }
}

class DifferenceWindow : public ::testing::TestWithParam<iterop::Orthogonalization> {};

TEST_P(DifferenceWindow, UpdatesDropsAndRebuildKeepFactorisation) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  const std::size_t n = 40;
  iterop::detail::difference_window<V> w(4, GetParam());
  V f_old(n), g_old(n), f_new(n), g_new(n);
  for (auto& v : f_old) v = normal(rng);
  for (auto& v : g_old) v = normal(rng);
  int dropped = 0;
  for (int step = 0; step < 11; ++step) {
    for (auto& v : f_new) v = normal(rng);
    for (auto& v : g_new) v = normal(rng);
    ASSERT_TRUE(w.push(f_new, f_old, g_new, g_old, dropped));
    for (std::size_t l = 0; l < n; ++l) {
      EXPECT_DOUBLE_EQ(w.dF(w.columns() - 1)[l], f_new[l] - f_old[l]);
      EXPECT_DOUBLE_EQ(w.dG(w.columns() - 1)[l], g_new[l] - g_old[l]);
    }
    expect_factorisation(w, 1e-12);
    f_old.swap(f_new);  // f_new is refilled next step
    g_old.swap(g_new);
  }
  EXPECT_EQ(w.columns(), 4);
  EXPECT_EQ(dropped, 7);  // 11 pushes into 4 slots
  w.drop_oldest();
  EXPECT_EQ(w.columns(), 3);
  expect_factorisation(w, 1e-12);
  EXPECT_EQ(w.rebuild(), 0);
  expect_factorisation(w, 1e-12);
  EXPECT_GE(w.condition(), 1.0);
}

TEST_P(DifferenceWindow, DependentColumnReplacesTheOldOnes) {
  iterop::detail::difference_window<V> w(3, GetParam());
  const V zero(5, 0.0), e0{1, 0, 0, 0, 0}, e1{0, 1, 0, 0, 0}, e0x3{3, 0, 0, 0, 0};
  int dropped = 0;
  ASSERT_TRUE(w.push(e0, zero, e0, zero, dropped));
  ASSERT_TRUE(w.push(e1, zero, e1, zero, dropped));
  // f_new - f_old = 2 e0: parallel to the first column, which is dropped; the new column is kept.
  ASSERT_TRUE(w.push(e0x3, e0, e0x3, e0, dropped));
  EXPECT_EQ(w.columns(), 2);
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(w.dF(0)[1], 1.0);  // e1 is now the oldest
  EXPECT_EQ(w.dF(1)[0], 2.0);  // the newest difference
  expect_factorisation(w, 1e-14);
  // A zero difference is refused and changes nothing.
  EXPECT_FALSE(w.push(e0, e0, e0, e0, dropped));
  EXPECT_EQ(w.columns(), 2);
}

INSTANTIATE_TEST_SUITE_P(Orthogonalizations, DifferenceWindow,
                         ::testing::Values(iterop::Orthogonalization::cgs2, iterop::Orthogonalization::mgs2));

}  // namespace
