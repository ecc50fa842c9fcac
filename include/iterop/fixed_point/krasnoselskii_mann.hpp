// Krasnoselskii-Mann (relaxed) iteration x_{k+1} = r_k T(x_k) + (1 - r_k) x_k, relaxation r_k in (0, 1].
// Lipschitz constant <= (1 - r) + r q; converges for nonexpansive T where Picard may cycle.
#pragma once

#include <cmath>
#include <functional>
#include <optional>
#include <string>

#include "iterop/core/errors.hpp"
#include "iterop/core/result.hpp"
#include "iterop/fixed_point/detail/relaxed_step.hpp"
#include "iterop/fixed_point/step_input.hpp"

namespace iterop {

/// Krasnoselskii-Mann iteration with a constant relaxation r, or a schedule r_k = schedule(k):
///   x_{k+1} = r_k T(x_k) + (1 - r_k) x_k.
/// The relaxation is the weight on T(x), as in Anderson and AndersonTypeI: r = 1 is Picard.
struct KrasnoselskiiMann {
  double relaxation = 0.5;                 ///< r in (0, 1], the weight on T(x); 1 is Picard
  std::function<double(int)> schedule{};   ///< if set, r_k = schedule(k), each in (0, 1]
  /// The old name: alpha was the weight on x (alpha = 1 - relaxation). Kept only so that old code gets
  /// invalid_option with the relaxation to give instead (validate() refuses any value).
  std::optional<double> alpha{};

  /// Throws invalid_option naming the field, the value and the rule (alpha: the name to use instead).
  void validate() const {
    if (alpha)
      require(false, "KrasnoselskiiMann::alpha", *alpha,
              "renamed; use relaxation = " + format_value(1.0 - *alpha) +
                  " (the weight on T(x); relaxation = 1 - alpha)");
    require(relaxation > 0 && relaxation <= 1, "KrasnoselskiiMann::relaxation", relaxation, "0 < relaxation <= 1");
    if (schedule) {
      const double r0 = schedule(0);
      require(r0 > 0 && r0 <= 1, "KrasnoselskiiMann::schedule(0)", r0, "0 < relaxation_k <= 1");
    }
  }
  std::string describe() const {
    return schedule ? std::string("Krasnoselskii-Mann(scheduled relaxation)")
                    : "Krasnoselskii-Mann(relaxation=" + format_value(relaxation) + ")";
  }

  template <State X>
  class engine {
   public:
    engine(const KrasnoselskiiMann& m, const X&) : m_(m) {}
    bool propose(const StepInput<X>& in, X& x_next, IterationRecord&) {
      detail::relaxed_step(relaxation_at(in.k), in.g, in.x, x_next);
      return false;
    }
    bool review(double, double, IterationRecord&) { return true; }
    void fallback(const X& x, const X& g, X& x_next) { detail::relaxed_step(m_.relaxation, g, x, x_next); }

   private:
    double relaxation_at(int k) const {
      if (!m_.schedule) return m_.relaxation;
      const double r = m_.schedule(k);
      require(r > 0 && r <= 1, "KrasnoselskiiMann::schedule(" + std::to_string(k) + ")", r, "0 < relaxation_k <= 1");
      return r;
    }
    const KrasnoselskiiMann& m_;
  };
};

}  // namespace iterop
