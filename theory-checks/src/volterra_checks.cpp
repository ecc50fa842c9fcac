// Theory checks of the Volterra component: the factorial bound of Picard sweeps (with a numerical
// check of the Lipschitz premise) and the stated order of every quadrature rule.
#include "iterop/theory_checks/volterra_checks.hpp"

#include <algorithm>
#include <random>
#include <cmath>
#include <string>
#include <vector>

#include "iterop/diagnostics/observed_order.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/quadrature/block_by_block.hpp"
#include "iterop/quadrature/fast_lag_sum.hpp"
#include "iterop/quadrature/first_kind_midpoint.hpp"
#include "iterop/quadrature/integro_differential.hpp"
#include "iterop/quadrature/product_trapezoid.hpp"
#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/quadrature/trapezoid.hpp"
#include "iterop/quadrature/whole_trajectory.hpp"

namespace iterop::theory {

namespace q = iterop::quadrature;

CheckResult volterra_picard_factorial(const q::SecondKindProblem& p, double L, int steps) {
  CheckResult r;
  r.name = "volterra.picard_factorial";
  r.statement = "Picard on y = f + int_0^t K(t, s, y) ds: ||Y_{k+1} - Y_k|| <= (L T)^k / k! ||Y_1 - Y_0|| (factorial, "
                "not geometric, convergence)";
  r.premise = "K is Lipschitz in y with constant L = " + format_value(L) + " on the values the iterates visit";
  r.experiment = "Picard sweeps of the trapezoidal discretisation of " + p.id + " on " + std::to_string(steps) + " steps";
  const auto grid = q::Grid::uniform(p.T, steps);
  const Stop stop{.abs_tol = 1e-14, .rel_tol = 0, .norm = Norm::max, .max_iterations = 200, .stagnation_window = 0,
                  .divergence_factor = 1e30};
  const auto sol = q::solve_whole_trajectory(p, grid, Picard{}, stop);
  // Premise: difference quotients of K in y at shrinking spacings, around the values the sweeps visited.
  double ymin = 0, ymax = 0;
  for (double v : sol.result.y) {
    ymin = std::min(ymin, v);
    ymax = std::max(ymax, v);
  }
  const int d = p.dimension;
  std::vector<double> quotient_by_spacing;
  std::vector<double> y(d), yp(d), k0(d), k1(d);
  for (double h : {1e-2, 1e-4, 1e-6, 1e-8}) {
    double worst = 0;
    for (int it = 0; it <= 8; ++it)
      for (int is = 0; is <= it; ++is)
        for (int iy = 0; iy <= 40; ++iy)
          for (int c = 0; c < d; ++c) {
            const double t = p.T * it / 8, s = p.T * is / 8;
            std::fill(y.begin(), y.end(), ymin + (ymax - ymin) * iy / 40);
            yp = y;
            yp[c] += h;
            p.kernel(t, s, y, k0);
            p.kernel(t, s, yp, k1);
            double diff = 0;
            for (int e = 0; e < d; ++e) diff = std::max(diff, std::abs(k1[e] - k0[e]));
            worst = std::max(worst, diff / h);
          }
    quotient_by_spacing.push_back(worst);
  }
  const double largest = *std::max_element(quotient_by_spacing.begin(), quotient_by_spacing.end());
  const bool bounded = quotient_by_spacing.back() <= 10 * quotient_by_spacing.front() + 1e-12;
  r.premise_met = bounded && largest <= L * (1 + 1e-6) + 1e-12 && std::isfinite(largest);
  r.premise_evidence = "max |K(y + h) - K(y)| / h over y in [" + format_value(ymin) + ", " + format_value(ymax) +
                       "] for h = 1e-2 .. 1e-8: " + format_value(quotient_by_spacing.front()) + " .. " +
                       format_value(quotient_by_spacing.back()) +
                       (bounded ? "" : " (grows as h shrinks: not Lipschitz)");
  if (!r.premise_met) return conclude(r);
  const auto& h = sol.windows.at(0).history;
  const double LT = L * p.T;
  double factorial = 1, worst = 0;
  for (std::size_t k = 1; k + 1 < h.size(); ++k) {
    factorial *= static_cast<double>(k);
    const double bound = std::pow(LT, static_cast<double>(k)) / factorial * h[1].step;
    if (bound > 1e-13) worst = std::max(worst, h[k + 1].step / bound);
  }
  r.quantity = "max over sweeps of ||Y_{k+1} - Y_k|| / ((L T)^k / k! ||Y_1 - Y_0||)";
  r.measured = worst;
  r.bound = 1.0;
  r.margin = sol.result.converged() ? 1.0 + 1e-9 - worst : -1.0;
  r.details = std::to_string(h.size() - 1) + " sweeps; " + sol.result.message;
  return conclude(r);
}

namespace {
template <class Problem, class Method>
double fit(const Problem& p, const Method& m, int base, std::string& runs) {
  std::vector<double> h, e;
  for (int i = 0; i < 5; ++i) {
    const auto grid = q::Grid::uniform(p.T, base << i);
    const auto res = q::solve_volterra(p, grid, m);
    if (!res.converged()) return std::nan("");
    h.push_back(grid.max_step());
    e.push_back(res.max_error);
    runs += (runs.empty() ? "" : ", ") + std::string("N=") + std::to_string(base << i) + ": " + format_value(res.max_error);
  }
  return observed_order(h, e);
}
}  // namespace

CheckResult quadrature_order(const std::string& method, const std::string& id) {
  CheckResult r;
  r.name = "quadrature.order." + method + "." + id;
  r.statement = "The observed order of " + method + " (least-squares slope of log max-error over 5 halvings) is its stated order";
  r.premise = "a smooth solution on a uniform grid (reference problem " + id + ")";
  r.premise_met = true;
  r.premise_evidence = "PROBLEMS.md: exact solution known and smooth on [0, T]";
  r.experiment = "max error over the nodes for N = base .. 16 base";
  std::string runs;
  int stated = 0;
  double p = std::nan("");
  const int base = id == "L3" ? 512 : 16;
  if (method == "trapezoid") {
    stated = q::Trapezoid::order;
    p = fit(q::reference::second_kind(id), q::Trapezoid{}, base, runs);
  } else if (method == "block_simpson") {
    stated = q::BlockBySimpson::order;
    p = fit(q::reference::second_kind(id), q::BlockBySimpson{}, base, runs);
  } else if (method == "product_trapezoid") {
    stated = q::ProductTrapezoid::order;
    p = fit(q::reference::second_kind(id), q::ProductTrapezoid{}, base, runs);
  } else if (method == "midpoint") {
    stated = q::FirstKindMidpoint::order;
    p = fit(q::reference::F2(), q::FirstKindMidpoint{}, base, runs);
  } else if (method == "ide_trapezoid") {
    stated = q::IdeTrapezoid::order;
    p = fit(q::reference::D2(), q::IdeTrapezoid{}, base, runs);
  } else {
    require(false, "quadrature_order method", method,
            "one of trapezoid, block_simpson, product_trapezoid, midpoint, ide_trapezoid");
  }
  r.quantity = "observed order";
  r.measured = p;
  r.bound = stated;
  r.margin = 0.3 - std::abs(p - stated);
  r.details = runs;
  return conclude(r);
}

CheckResult lag_sums_fft_equal_direct(int steps) {
  CheckResult r;
  r.name = "lag_sums.fft_equals_direct";
  r.statement = "FFT lag sums (dyadic blocks, O(N log^2 N)) equal the direct sums h_n = sum_{j<n} k_{n-j} u_j "
                "to 1e-12 relative to sum_j |k_{n-j}| |u_j|";
  r.premise = "the FFT method is available (built with FFTW)";
  r.premise_met = q::lag_sum_fft_available;
  r.premise_evidence = q::lag_sum_fft_available ? "ITEROP_HAVE_FFTW" : "built without FFTW";
  r.experiment = "kernel k_m = exp(-0.01 m) cos(0.3 m) + 1 / (1 + m), random u, N = " + std::to_string(steps) + ", d = 2";
  if (!r.premise_met) return conclude(r);
  const int d = 2;
  std::vector<double> k(static_cast<std::size_t>(steps) + 1), u(static_cast<std::size_t>(steps + 1) * d);
  for (int m = 0; m <= steps; ++m) k[m] = std::exp(-0.01 * m) * std::cos(0.3 * m) + 1.0 / (1 + m);
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  for (auto& v : u) v = normal(rng);
  q::LagSum fft(k, d, q::LagSumMethod::fft), direct(k, d, q::LagSumMethod::direct);
  std::vector<double> a(d), b(d);
  double worst = 0;
  for (int n = 0; n <= steps; ++n) {
    fft.history(a);
    direct.history(b);
    for (int c = 0; c < d; ++c) {
      double scale = 0;
      for (int j = 0; j < n; ++j) scale += std::abs(k[n - j]) * std::abs(u[j * d + c]);
      if (scale > 0) worst = std::max(worst, std::abs(a[c] - b[c]) / scale);
    }
    if (n < steps) {
      fft.push(std::span<const double>(&u[static_cast<std::size_t>(n) * d], d));
      direct.push(std::span<const double>(&u[static_cast<std::size_t>(n) * d], d));
    }
  }
  r.quantity = "max relative difference FFT vs direct";
  r.measured = worst;
  r.bound = 1e-12;
  r.margin = r.bound - worst;
  r.details = "FFTs: " + std::to_string(fft.stats().ffts) + ", direct multiply-adds of the FFT method: " +
              std::to_string(fft.stats().direct_multiply_adds);
  return conclude(r);
}

}  // namespace iterop::theory
