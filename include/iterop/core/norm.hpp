// Norm: which norm measures residuals and steps (2-norm, max-norm, SUNDIALS weighted RMS).
#pragma once

#include <string_view>

#include "iterop/core/vector_algebra.hpp"

namespace iterop {

/// Norm used by the stopping tests.
enum class Norm {
  two,   ///< ||v||_2
  max,   ///< ||v||_inf
  wrms,  ///< sqrt(mean((v_i / (rel_tol |x_i| + abs_tol))^2)), SUNDIALS' weighted RMS; test is <= 1
};

constexpr std::string_view to_string(Norm n) {
  switch (n) {
    case Norm::two: return "2-norm";
    case Norm::max: return "max-norm";
    case Norm::wrms: return "weighted RMS";
  }
  return "unknown";
}

/// ||v|| in the chosen norm; for Norm::wrms the weights come from x, rel_tol and abs_tol.
template <State X>
double measure(Norm norm, const X& v, const X& x, double rel_tol, double abs_tol) {
  using T = scalar_t<X>;
  switch (norm) {
    case Norm::two: return static_cast<double>(ops::norm2(v));
    case Norm::max:
      if constexpr (ops::has_norm_inf<X>) return static_cast<double>(vector_ops<X>::norm_inf(v));
      break;
    case Norm::wrms:
      if constexpr (ops::has_wrms_norm<X>)
        return static_cast<double>(vector_ops<X>::wrms_norm(v, x, T(rel_tol), T(abs_tol)));
      break;
  }
  return static_cast<double>(ops::norm2(v));  // unreachable after Stop::validate_for<X>()
}

}  // namespace iterop
