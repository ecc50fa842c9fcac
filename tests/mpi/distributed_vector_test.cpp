// Tests of iterop/mpi/distributed_vector.hpp and communicator.hpp: every reduction equals the serial
// one on the gathered vector, each is one counted MPI_Allreduce, dot_many is one for m values.
#include "iterop/mpi/distributed_vector.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "iterop/core/concepts.hpp"
#include "iterop/core/vector_algebra.hpp"

namespace {

using iterop::mpi::block_range;
using iterop::mpi::communicator;
using iterop::mpi::distributed_vector;
using V = iterop::vector_ops<distributed_vector>;
using S = iterop::vector_ops<std::vector<double>>;

static_assert(iterop::State<distributed_vector>);

/// The whole vector entry i, the same on every rank.
double entry(std::size_t i, int which) { return std::sin(0.37 * static_cast<double>(i) + which) + 0.1 * which; }

distributed_vector filled(const std::shared_ptr<const communicator>& c, std::size_t n, int which) {
  distributed_vector x = distributed_vector::block(c, n);
  for (std::size_t i = 0; i < x.local_size(); ++i) x.local()[i] = entry(x.offset() + i, which);
  return x;
}
std::vector<double> whole(std::size_t n, int which) {
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = entry(i, which);
  return x;
}

TEST(BlockRange, CoversTheVectorInRankOrder) {
  for (std::size_t n : {0u, 1u, 7u, 100u})
    for (int p : {1, 2, 3, 8}) {
      std::size_t next = 0;
      for (int r = 0; r < p; ++r) {
        const block_range b = block_range::of(n, p, r);
        EXPECT_EQ(b.begin, next);
        EXPECT_LE(b.size(), n / p + 1);
        next = b.end;
      }
      EXPECT_EQ(next, n);
    }
}

TEST(DistributedVector, ReductionsEqualTheSerialOnesAndAreCounted) {
  const auto c = communicator::make();
  const std::size_t n = 1001;
  const distributed_vector x = filled(c, n, 0), y = filled(c, n, 1);
  const std::vector<double> sx = whole(n, 0), sy = whole(n, 1);
  EXPECT_EQ(V::size(x), n);
  c->reset();
  EXPECT_NEAR(V::dot(x, y), S::dot(sx, sy), 1e-12);
  EXPECT_NEAR(V::norm2(x), S::norm2(sx), 1e-12);
  EXPECT_EQ(V::norm_inf(x), S::norm_inf(sx));  // max is exact
  EXPECT_NEAR(V::distance2(x, y), S::distance2(sx, sy), 1e-12);
  EXPECT_EQ(V::distance_inf(x, y), S::distance_inf(sx, sy));
  EXPECT_NEAR(V::wrms_norm(x, y, 1e-3, 1e-2), S::wrms_norm(sx, sy, 1e-3, 1e-2), 1e-10);
  EXPECT_TRUE(V::all_finite(x));
  EXPECT_EQ(c->count().reductions, 7);
}

TEST(DistributedVector, DotManyIsOneReductionForAllColumns) {
  const auto c = communicator::make();
  const std::size_t n = 513;
  const distributed_vector x = filled(c, n, 0);
  std::vector<distributed_vector> ys;
  std::vector<std::vector<double>> sys;
  for (int j = 1; j <= 6; ++j) {
    ys.push_back(filled(c, n, j));
    sys.push_back(whole(n, j));
  }
  std::vector<const distributed_vector*> p;
  for (const auto& y : ys) p.push_back(&y);
  std::vector<double> out(ys.size());
  c->reset();
  iterop::ops::dot_many<distributed_vector>(x, p, out.data());
  EXPECT_EQ(c->count().reductions, 1);
  EXPECT_EQ(c->count().values, 6);
  const std::vector<double> sx = whole(n, 0);
  for (std::size_t j = 0; j < ys.size(); ++j) EXPECT_NEAR(out[j], S::dot(sx, sys[j]), 1e-12);
}

TEST(DistributedVector, LocalKernelsNeedNoCommunication) {
  const auto c = communicator::make();
  distributed_vector x = filled(c, 300, 0), y = filled(c, 300, 1), z = x.zeros_like();
  c->reset();
  iterop::ops::linear_sum(2.0, x, -1.0, y, z);
  iterop::ops::axpby(0.5, x, 1.0, z);
  iterop::ops::copy(z, y);
  EXPECT_EQ(c->count().reductions, 0);
  for (std::size_t i = 0; i < z.local_size(); ++i) {
    const std::size_t g = z.offset() + i;
    EXPECT_NEAR(y.local()[i], 2.5 * entry(g, 0) - entry(g, 1), 1e-15);
  }
}

TEST(DistributedVector, NanOnOneRankIsSeenByEvery) {
  const auto c = communicator::make();
  distributed_vector x = filled(c, 64, 0);
  if (c->rank() == c->size() - 1) x.local()[0] = std::numeric_limits<double>::quiet_NaN();
  const distributed_vector y = filled(c, 64, 1);
  EXPECT_FALSE(V::all_finite(x));
  EXPECT_TRUE(std::isnan(V::norm_inf(x)));  // a NaN that is not the last entry of its block
  EXPECT_TRUE(std::isnan(V::distance_inf(x, y)));
  EXPECT_TRUE(std::isnan(V::norm2(x)));
}

TEST(DistributedVector, WithLocalSizeNumbersTheBlocksInRankOrder) {
  const auto c = communicator::make();
  const distributed_vector x = distributed_vector::with_local_size(c, static_cast<std::size_t>(c->rank() + 2));
  const std::size_t p = static_cast<std::size_t>(c->size()), r = static_cast<std::size_t>(c->rank());
  EXPECT_EQ(x.global_size(), p * (p + 3) / 2);
  EXPECT_EQ(x.offset(), r * (r + 3) / 2);
}

}  // namespace
