// Example: an observer prints progress every few iterations and stops a run that is too slow,
// which the solver reports as Status::stopped_by_observer (not an exception).
#include <cstdio>

#include <iterop/iterop.hpp>

int main() {
  const iterop::problems::HEquation heq(0.9999, 256);
  auto progress = [](const iterop::IterationView<std::vector<double>>& v) {
    if (v.record.iteration % 50 == 0)
      std::printf("  iteration %4d  residual %.3e  rate %.4f\n", v.record.iteration, v.record.residual, v.record.rate);
    return v.record.seconds > 10.0 ? iterop::Action::stop : iterop::Action::proceed;
  };
  const auto r = iterop::solve(heq, heq.initial_guess(), iterop::Picard{},
                               iterop::Stop{.abs_tol = 1e-8, .rel_tol = 1e-8, .max_iterations = 200}, progress);
  std::printf("%s\n%s\n", r.brief_report().c_str(), r.message.c_str());
  // Picard needs hundreds of iterations at c = 0.9999: the 200-iteration budget runs out, and says so.
  return r.status == iterop::Status::max_iterations ? 0 : 1;
}
