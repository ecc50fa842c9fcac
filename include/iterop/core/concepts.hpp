// Concepts State (what a solver needs of a vector) and Operator (y = T(x)), and apply_operator.
// An operator is any callable op(x, y) writing y = T(x), or y = op(x).
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "iterop/core/vector_ops.hpp"

namespace iterop {

/// A vector type the solvers can work with: vector_ops<X> is specialised with a floating-point
/// scalar, size, zeros_like, axpby (y = a x + b y) and dot. See docs/concepts/state.md.
template <class X>
concept State = std::copy_constructible<X> && std::is_copy_assignable_v<X> &&
    requires(const X& cx, X& x, typename vector_ops<X>::scalar a) {
      typename vector_ops<X>::scalar;
      requires std::floating_point<typename vector_ops<X>::scalar>;
      { vector_ops<X>::size(cx) } -> std::convertible_to<std::size_t>;
      { vector_ops<X>::zeros_like(cx) } -> std::same_as<X>;
      vector_ops<X>::axpby(a, cx, a, x);
      { vector_ops<X>::dot(cx, cx) } -> std::convertible_to<typename vector_ops<X>::scalar>;
    };

/// An operator T on states X, written either as op(x, y) (writes y = T(x), y already sized) or as
/// y = op(x). See docs/concepts/operator.md.
template <class T, class X>
concept Operator = State<X> && (std::invocable<T&, const X&, X&> ||
                                requires(T& op, const X& x) {
                                  { op(x) } -> std::convertible_to<X>;
                                });

/// y = T(x) for either operator form.
template <class X, Operator<X> Op>
void apply_operator(Op& op, const X& x, X& y) {
  if constexpr (std::invocable<Op&, const X&, X&>) {
    op(x, y);
  } else {
    y = op(x);
  }
}

}  // namespace iterop
