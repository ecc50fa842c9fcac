// Small fixed-point maps with known behaviour: a plane rotation (Picard cycles), an expanding
// affine map (diverges), and sqrt(x) - 1 (produces NaN). Used to test statuses and relaxation.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

namespace iterop::problems {

/// G(x) = R x with R the 90-degree rotation of each consecutive pair (x_0, x_1), (x_2, x_3), ...
/// Nonexpansive, fixed point 0; Picard cycles; Krasnoselskii-Mann with relaxation 0.5 converges at sqrt(0.5).
struct Rotation {
  template <class X, class Y>
  void operator()(const X& x, Y& y) const {
    const std::size_t n = static_cast<std::size_t>(x.size());
    for (std::size_t i = 0; i + 1 < n; i += 2) {
      y[i] = -x[i + 1];
      y[i + 1] = x[i];
    }
    if (n % 2 == 1) y[n - 1] = x[n - 1] * 0;  // an odd last entry is mapped to 0
  }
};

/// G(x) = 2 x + 1 elementwise: the fixed point -1 repels; Picard from 0 diverges.
struct Expanding {
  template <class X, class Y>
  void operator()(const X& x, Y& y) const {
    for (std::size_t i = 0; i < static_cast<std::size_t>(x.size()); ++i) y[i] = 2 * x[i] + 1;
  }
};

/// G(x) = sqrt(x) - 1 elementwise: from 0, x_1 = -1 and x_2 = NaN.
struct SqrtMinusOne {
  template <class X, class Y>
  void operator()(const X& x, Y& y) const {
    for (std::size_t i = 0; i < static_cast<std::size_t>(x.size()); ++i) y[i] = std::sqrt(x[i]) - 1;
  }
};

}  // namespace iterop::problems
