// Example: solve the Chandrasekhar H-equation with Anderson acceleration and compare with Picard.
// Shows the Options-in / Result-out pattern and the reports.
#include <cstdio>

#include <iterop/iterop.hpp>

int main() {
  const iterop::problems::HEquation heq(0.99, 512);  // c = 0.99, N = 512
  // Toth & Kelley's rule: ||G(x) - x||_2 <= 1e-8 ||G(x0) - x0||_2 + 1e-8.
  const iterop::Stop stop{.abs_tol = 1e-8, .rel_tol = 1e-8};

  const auto aa = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 3}, stop);
  const auto picard = iterop::solve(heq, heq.initial_guess(), iterop::Picard{}, stop);

  std::printf("%s\n%s\n", aa.brief_report().c_str(), picard.brief_report().c_str());
  if (!aa.usable()) {
    std::fprintf(stderr, "%s\n", aa.full_report().c_str());
    return 1;
  }
  // Published (Toth & Kelley 2015): depth 3 needs 9 iterations; Picard needs 73.
  return aa.iterations == 9 && picard.iterations == 73 ? 0 : 1;
}
