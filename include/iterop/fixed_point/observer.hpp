// Observers: a callback that sees every evaluated iterate and may stop the solve.
// Progress output, logging, collecting iterates for diagnostics, early stopping.
#pragma once

#include <concepts>
#include <type_traits>

#include "iterop/core/result.hpp"

namespace iterop {

/// What an observer tells the solver.
enum class Action { proceed, stop };

/// What an observer sees at iterate k: the history record, x_k, T(x_k) and f_k = T(x_k) - x_k.
/// After a non-finite evaluation the vectors are those of the last finite iterate.
template <class X>
struct IterationView {
  const IterationRecord& record;
  const X& x;
  const X& value;     ///< T(x_k)
  const X& residual;  ///< T(x_k) - x_k
};

/// The observer that does nothing.
struct NoObserver {
  template <class X>
  Action operator()(const IterationView<X>&) const noexcept { return Action::proceed; }
};

/// Calls an observer that returns void or Action; returns whether to stop.
template <class Obs, class X>
bool observer_says_stop(Obs& obs, const IterationView<X>& view) {
  if constexpr (std::is_void_v<std::invoke_result_t<Obs&, const IterationView<X>&>>) {
    obs(view);
    return false;
  } else {
    return obs(view) == Action::stop;
  }
}

}  // namespace iterop
