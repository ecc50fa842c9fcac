// Krasnoselskii-Mann (relaxed) iteration x_{k+1} = alpha_k x_k + (1 - alpha_k) T(x_k).
// Lipschitz constant <= alpha + (1 - alpha) q; converges for nonexpansive T where Picard may cycle.
#pragma once

#include <cmath>
#include <functional>
#include <string>

#include "iterop/core/errors.hpp"
#include "iterop/core/result.hpp"
#include "iterop/fixed_point/detail/relaxed_step.hpp"
#include "iterop/fixed_point/step_input.hpp"

namespace iterop {

/// Krasnoselskii-Mann iteration with a constant alpha, or a schedule alpha_k = schedule(k).
/// alpha is the weight kept on the current iterate: alpha = 0 is Picard.
struct KrasnoselskiiMann {
  double alpha = 0.5;                      ///< in [0, 1)
  std::function<double(int)> schedule{};   ///< if set, alpha_k = schedule(k), each in [0, 1)

  void validate() const {
    require(alpha >= 0 && alpha < 1, "KrasnoselskiiMann::alpha", alpha, "0 <= alpha < 1");
    if (schedule) {
      const double a0 = schedule(0);
      require(a0 >= 0 && a0 < 1, "KrasnoselskiiMann::schedule(0)", a0, "0 <= alpha_k < 1");
    }
  }
  std::string describe() const {
    return schedule ? std::string("Krasnoselskii-Mann(scheduled alpha)")
                    : "Krasnoselskii-Mann(alpha=" + format_value(alpha) + ")";
  }

  template <State X>
  class engine {
   public:
    engine(const KrasnoselskiiMann& m, const X&) : m_(m) {}
    bool propose(const StepInput<X>& in, X& x_next, IterationRecord&) {
      const double a = alpha_at(in.k);
      using T = scalar_t<X>;
      ops::linear_sum(T(1.0 - a), in.g, T(a), in.x, x_next);
      return false;
    }
    bool review(double, double, IterationRecord&) { return true; }
    void fallback(const X& x, const X& g, X& x_next) { detail::relaxed_step(1.0 - m_.alpha, g, x, x_next); }

   private:
    double alpha_at(int k) const {
      if (!m_.schedule) return m_.alpha;
      const double a = m_.schedule(k);
      require(a >= 0 && a < 1, "KrasnoselskiiMann::schedule(" + std::to_string(k) + ")", a, "0 <= alpha_k < 1");
      return a;
    }
    const KrasnoselskiiMann& m_;
  };
};

}  // namespace iterop
