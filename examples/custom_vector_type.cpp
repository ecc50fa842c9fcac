// Example: plug your own vector type into iterop by specialising iterop::vector_ops with the
// four required members; every solver then works on it.
#include <cmath>
#include <cstdio>
#include <vector>

#include <iterop/iterop.hpp>

/// A user's field type: values on a grid plus metadata the solver never touches.
struct GridField {
  std::vector<double> values;
  double spacing = 1.0;
};

template <>
struct iterop::vector_ops<GridField> {
  using scalar = double;
  static std::size_t size(const GridField& x) { return x.values.size(); }
  static GridField zeros_like(const GridField& x) { return {std::vector<double>(x.values.size(), 0.0), x.spacing}; }
  static void axpby(double a, const GridField& x, double b, GridField& y) {  // y = a x + b y
    for (std::size_t i = 0; i < x.values.size(); ++i)
      y.values[i] = (b == 0 ? a * x.values[i] : a * x.values[i] + b * y.values[i]);
  }
  static double dot(const GridField& x, const GridField& y) {
    double s = 0;
    for (std::size_t i = 0; i < x.values.size(); ++i) s += x.values[i] * y.values[i] * x.spacing;
    return s;
  }
};

int main() {
  // T(u)_i = 0.5 cos(u_i) + 0.25 (u_{i-1} + u_{i+1}) / 2: a contraction (factor <= 0.75).
  auto T = [](const GridField& u) {
    GridField v = u;
    const std::size_t n = u.values.size();
    for (std::size_t i = 0; i < n; ++i) {
      const double left = i > 0 ? u.values[i - 1] : 0.0, right = i + 1 < n ? u.values[i + 1] : 0.0;
      v.values[i] = 0.5 * std::cos(u.values[i]) + 0.125 * (left + right);
    }
    return v;
  };
  const GridField u0{std::vector<double>(100, 0.0), 0.01};
  const auto r = iterop::solve(T, u0, iterop::Anderson{.memory = 4}, iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0});
  std::printf("%s\n", r.brief_report().c_str());
  return r.converged() ? 0 : 1;
}
