// Tests of vector_ops and iterop::ops over every supported vector type, fused kernels and
// generic fallbacks (MinimalState) alike.
#include "iterop/core/vector_algebra.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "state_types.hpp"

namespace {

using iterop::testing::entry;
using iterop::testing::make_state;

template <class X>
class VectorAlgebra : public ::testing::Test {
 protected:
  using Scalar = iterop::scalar_t<X>;
  // Tolerance relative to the scalar type.
  double tol() const { return 64 * static_cast<double>(std::numeric_limits<Scalar>::epsilon()); }
  X a = make_state<X>({1, -2, 3, -4, 5, 0.5});
  X b = make_state<X>({0.25, 1, -1, 2, 0, 3});
};
TYPED_TEST_SUITE(VectorAlgebra, iterop::testing::StateTypes);

TYPED_TEST(VectorAlgebra, SatisfiesStateConcept) { static_assert(iterop::State<TypeParam>); }

TYPED_TEST(VectorAlgebra, DotAndNorms) {
  EXPECT_NEAR(static_cast<double>(iterop::ops::dot(this->a, this->b)), 0.25 - 2 - 3 - 8 + 0 + 1.5, this->tol() * 20);
  EXPECT_NEAR(static_cast<double>(iterop::ops::norm2(this->a)), std::sqrt(1 + 4 + 9 + 16 + 25 + 0.25), this->tol() * 10);
  if constexpr (iterop::ops::has_norm_inf<TypeParam>) {
    EXPECT_EQ(static_cast<double>(iterop::ops::norm_inf(this->a)), 5.0);
  }
}

TYPED_TEST(VectorAlgebra, AxpbyWithZeroBetaOverwritesNaN) {
  using T = iterop::scalar_t<TypeParam>;
  TypeParam y = make_state<TypeParam>({1, 2, 3, 4, 5, 6});
  y[2] = std::numeric_limits<T>::quiet_NaN();
  iterop::ops::axpby(T(2), this->a, T(0), y);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(entry(y, i), 2 * entry(this->a, i));
}

TYPED_TEST(VectorAlgebra, LinearSumAndCopy) {
  using T = iterop::scalar_t<TypeParam>;
  TypeParam z = iterop::ops::zeros_like(this->a);
  iterop::ops::linear_sum(T(2), this->a, T(-1), this->b, z);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(entry(z, i), 2 * entry(this->a, i) - entry(this->b, i), this->tol() * 10);
  TypeParam c = iterop::ops::zeros_like(this->a);
  iterop::ops::copy(this->b, c);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(entry(c, i), entry(this->b, i));
}

TYPED_TEST(VectorAlgebra, AllFiniteDetectsNaNAndInf) {
  using T = iterop::scalar_t<TypeParam>;
  EXPECT_TRUE(iterop::ops::all_finite(this->a));
  TypeParam y = this->a;
  y[3] = std::numeric_limits<T>::infinity();
  EXPECT_FALSE(iterop::ops::all_finite(y));
  y[3] = std::numeric_limits<T>::quiet_NaN();
  EXPECT_FALSE(iterop::ops::all_finite(y));
}

TYPED_TEST(VectorAlgebra, DotManyMatchesDots) {
  using T = iterop::scalar_t<TypeParam>;
  std::vector<const TypeParam*> ys{&this->a, &this->b};
  T out[2];
  iterop::ops::dot_many<TypeParam>(this->a, std::span<const TypeParam* const>(ys), out);
  EXPECT_NEAR(static_cast<double>(out[0]), static_cast<double>(iterop::ops::dot(this->a, this->a)), this->tol() * 50);
  EXPECT_NEAR(static_cast<double>(out[1]), static_cast<double>(iterop::ops::dot(this->a, this->b)), this->tol() * 50);
}

TYPED_TEST(VectorAlgebra, LinearCombination) {
  using T = iterop::scalar_t<TypeParam>;
  std::vector<const TypeParam*> xs{&this->a, &this->b};
  std::vector<T> c{T(0.5), T(-2)};
  TypeParam y = iterop::ops::zeros_like(this->a);
  iterop::ops::linear_combination<TypeParam>(std::span<const T>(c), std::span<const TypeParam* const>(xs), y);
  for (std::size_t i = 0; i < 6; ++i)
    EXPECT_NEAR(entry(y, i), 0.5 * entry(this->a, i) - 2 * entry(this->b, i), this->tol() * 10);
}

TYPED_TEST(VectorAlgebra, TransformColumnsInPlaceWithShift) {
  using T = iterop::scalar_t<TypeParam>;
  TypeParam c0 = this->a, c1 = this->b, c2 = make_state<TypeParam>({1, 1, 1, 1, 1, 1});
  const TypeParam o0 = c0, o1 = c1, o2 = c2;
  // P is 3 x 2 (column-major): out0 = 1 c0 + 2 c1 + 3 c2, out1 = -1 c0 + 0 c1 + 0.5 c2.
  const T P[6] = {T(1), T(2), T(3), T(-1), T(0), T(0.5)};
  std::vector<TypeParam*> in{&c0, &c1, &c2}, out{&c1, &c2};  // outputs shifted by one slot
  iterop::ops::transform_columns<TypeParam>(std::span<TypeParam* const>(in), P, std::span<TypeParam* const>(out));
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(entry(c1, i), entry(o0, i) + 2 * entry(o1, i) + 3 * entry(o2, i), this->tol() * 20);
    EXPECT_NEAR(entry(c2, i), -entry(o0, i) + 0.5 * entry(o2, i), this->tol() * 20);
  }
}

TEST(VectorAlgebraContiguous, WeightedRmsNormFollowsSundials) {
  std::vector<double> v{1e-6, -2e-6}, x{1.0, 100.0};
  const double rtol = 1e-3, atol = 1e-6;
  const double w0 = 1e-6 / (1e-3 + 1e-6), w1 = 2e-6 / (1e-1 + 1e-6);
  EXPECT_DOUBLE_EQ(iterop::vector_ops<std::vector<double>>::wrms_norm(v, x, rtol, atol),
                   std::sqrt((w0 * w0 + w1 * w1) / 2));
}

// A NaN anywhere makes the max-norms NaN, not only a NaN in the last entry (a running max that keeps the
// larger of "m" and |x_i| by a comparison drops the NaN at the next finite entry): a stop rule on
// ||x||_inf must never see a finite norm of a vector holding NaN.
TEST(VectorAlgebraContiguous, MaxNormsPropagateNanFromAnyEntry) {
  using ops = iterop::vector_ops<std::vector<double>>;
  for (std::size_t at : {std::size_t{0}, std::size_t{3}, std::size_t{9}}) {
    std::vector<double> x(10, 1.0), y(10, 0.5);
    x[at] = std::numeric_limits<double>::quiet_NaN();
    EXPECT_TRUE(std::isnan(ops::norm_inf(x))) << "NaN at " << at;
    EXPECT_TRUE(std::isnan(ops::distance_inf(x, y))) << "NaN at " << at;
    EXPECT_TRUE(std::isnan(ops::distance_inf(y, x))) << "NaN at " << at;
  }
  std::vector<double> finite{1.0, -7.0, 3.0};
  EXPECT_EQ(ops::norm_inf(finite), 7.0);
  EXPECT_EQ(ops::distance_inf(finite, std::vector<double>{0.0, 0.0, 10.0}), 7.0);
}

TEST(VectorAlgebraContiguous, FusedKernelsAgreeOnLongVectors) {
  // Longer than the blocking of dot_many / linear_combination / transform_columns.
  const std::size_t n = 5000;
  std::vector<double> x(n), y(n), z(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = std::sin(0.1 * i);
    y[i] = std::cos(0.07 * i);
    z[i] = 1.0 / (1.0 + i);
  }
  std::vector<const std::vector<double>*> ys{&y, &z};
  double out[2];
  iterop::ops::dot_many<std::vector<double>>(x, std::span<const std::vector<double>* const>(ys), out);
  double d0 = 0, d1 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    d0 += x[i] * y[i];
    d1 += x[i] * z[i];
  }
  EXPECT_NEAR(out[0], d0, 1e-11);
  EXPECT_NEAR(out[1], d1, 1e-11);
  std::vector<double> a = x, b = y;
  const double P[4] = {0.6, 0.8, -0.8, 0.6};
  std::vector<std::vector<double>*> cols{&a, &b};
  iterop::ops::transform_columns<std::vector<double>>(std::span<std::vector<double>* const>(cols), P,
                                                      std::span<std::vector<double>* const>(cols));
  for (std::size_t i = 0; i < n; i += 97) {
    EXPECT_NEAR(a[i], 0.6 * x[i] + 0.8 * y[i], 1e-15);
    EXPECT_NEAR(b[i], -0.8 * x[i] + 0.6 * y[i], 1e-15);
  }
}

}  // namespace
