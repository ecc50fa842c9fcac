// Example: the same H-equation solved by iterop's Anderson and by SUNDIALS KINSOL through the
// baseline adapter, read the same way (the tutorial docs/tutorials/comparing_with_kinsol.md shows it).
#include <cstdio>
#include <span>

#include <iterop/baselines/kinsol.hpp>
#include <iterop/iterop.hpp>

int main() {
  const iterop::problems::HEquation heq(0.99, 512);
  auto G = [&](std::span<const double> x, std::span<double> y) { heq(x, y); };
  const iterop::Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};
  const auto kin = iterop::baselines::kinsol_solve(
      G, heq.initial_guess(), {.memory = 3, .orthogonalization = iterop::baselines::KinsolOrthogonalization::mgs}, stop);
  const auto ours = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 3}, stop);
  std::printf("%s\n%s\n", kin.brief_report().c_str(), ours.brief_report().c_str());
  for (const auto& [name, value] : kin.counters) std::printf("  KINSOL %s = %g\n", name.c_str(), value);
  // Toth & Kelley (2015): depth 3 needs 9 iterations; both must agree.
  return kin.iterations == 9 && ours.iterations == 9 && kin.converged() ? 0 : 1;
}
