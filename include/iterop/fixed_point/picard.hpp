// Picard iteration x_{k+1} = T(x_k): the method of the Banach fixed-point theorem.
// Converges for a contraction with factor q; the error then falls like q^k.
#pragma once

#include <string>

#include "iterop/core/result.hpp"
#include "iterop/fixed_point/detail/relaxed_step.hpp"
#include "iterop/fixed_point/step_input.hpp"

namespace iterop {

/// Picard (plain fixed-point) iteration x_{k+1} = T(x_k). No options.
struct Picard {
  void validate() const {}
  std::string describe() const { return "Picard"; }

  template <State X>
  class engine {
   public:
    engine(const Picard&, const X&) {}
    bool propose(const StepInput<X>& in, X& x_next, IterationRecord&) {
      detail::relaxed_step(1.0, in.g, in.x, x_next);
      return false;
    }
    bool review(double, double, IterationRecord&) { return true; }
    void fallback(const X& x, const X& g, X& x_next) { detail::relaxed_step(1.0, g, x, x_next); }
  };
};

}  // namespace iterop
