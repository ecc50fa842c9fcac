// StepInput: what a fixed-point method sees when it forms x_{k+1}, and the method-engine contract.
#pragma once

#include "iterop/core/concepts.hpp"

namespace iterop {

/// The current iterate and, from k >= 1, the previous accepted one. x_next (written by the
/// engine) shares storage with x_prev: an engine reads x_prev, g_prev, f_prev before writing x_next.
///
/// A method M provides `template <State X> class engine` with
///   engine(const M&, const X& x0);
///   bool propose(const StepInput<X>&, X& x_next, IterationRecord&);  // true: accelerated step
///   bool review(double r_next, double r_current, IterationRecord&);   // safeguard: true accepts
///   void fallback(const X& x, const X& g, X& x_next);                 // plain step after rejection
template <class X>
struct StepInput {
  int k;                          ///< iteration index of the current iterate
  const X& x;                     ///< x_k
  const X& g;                     ///< T(x_k)
  const X& f;                     ///< f_k = T(x_k) - x_k
  double f_norm2;                 ///< ||f_k||_2
  double r;                       ///< ||f_k|| in the Stop norm
  double r0;                      ///< ||f_0|| in the Stop norm
  const X* x_prev = nullptr;      ///< x_{k-1}, or null at k = 0
  const X* g_prev = nullptr;      ///< T(x_{k-1})
  const X* f_prev = nullptr;      ///< f_{k-1}
};

}  // namespace iterop
