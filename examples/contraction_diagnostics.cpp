// Example: check the convergence theory numerically: the spectral radius of T' at the solution,
// the observed rate, a Lipschitz lower bound, and Banach error bounds (estimated vs certified).
#include <cmath>
#include <cstdio>

#include <iterop/iterop.hpp>

int main() {
  const iterop::problems::HEquation heq(0.9, 256);
  iterop::IterateRecorder<std::vector<double>> recorder;
  const auto r = iterop::solve(heq, heq.initial_guess(), iterop::Picard{},
                               iterop::Stop{.abs_tol = 1e-12, .rel_tol = 0}, recorder);
  const auto rho = iterop::spectral_radius(heq, r.solution);
  const double lip = iterop::lipschitz_lower_bound(recorder.x, recorder.tx);
  std::printf("Picard: %s\n", r.brief_report().c_str());
  std::printf("observed rate %.4f, spectral radius of G' at x* %.4f, bound 1 - sqrt(1 - c) = %.4f\n",
              r.history.back().rate, rho.value, heq.rate_bound());
  std::printf("Lipschitz lower bound from the iterates: %.4f\n", lip);
  // An a-posteriori bound from the measured rate is an estimate, not a certificate.
  const auto q = iterop::ContractionFactor::estimated(rho.value, "power iteration at the computed solution");
  const auto bound = iterop::a_posteriori_bound(q, r.history.back().step);
  std::printf("error of the last iterate <= %.3e (%s)\n", bound.value, bound.statement.c_str());
  return std::abs(rho.value - r.history.back().rate) < 0.02 && rho.value <= heq.rate_bound() + 1e-3 ? 0 : 1;
}
