// StepSolver: how the implicit equation of one step, y = c + w K(t, t, y) (or a block of them), is
// solved: the core's Picard or Anderson iteration, or Newton with a finite-difference Jacobian.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/fixed_point/anderson.hpp"
#include "iterop/fixed_point/picard.hpp"
#include "iterop/fixed_point/solve.hpp"

namespace iterop::quadrature {

/// Options for the implicit equation of each step.
struct StepSolver {
  enum class Kind { picard, anderson, newton };
  Kind kind = Kind::anderson;  ///< anderson (default), picard, or newton for stiff kernels
  double tolerance = 1e-14;    ///< ||y - Phi(y)||_inf <= tolerance (1 + ||y||_inf)
  int max_iterations = 100;
  int memory = 3;              ///< Anderson depth

  void validate() const {
    require(tolerance > 0 && tolerance < 1, "StepSolver::tolerance", tolerance, "0 < tolerance < 1");
    require(max_iterations >= 1, "StepSolver::max_iterations", max_iterations, "max_iterations >= 1");
    require(memory >= 0, "StepSolver::memory", memory, "memory >= 0");
  }
  std::string describe() const {
    switch (kind) {
      case Kind::picard: return "picard";
      case Kind::anderson: return "anderson(m=" + std::to_string(memory) + ")";
      case Kind::newton: return "newton";
    }
    return "?";
  }
};

/// Outcome of one implicit solve.
struct StepOutcome {
  Status status = Status::converged;
  int iterations = 0;
  long evaluations = 0;
  std::string message;
};

namespace detail {

/// Solves y = Phi(y) in R^n from the guess in y (overwritten). Phi(y, out) writes out = Phi(y).
inline StepOutcome solve_step(const StepSolver& opt, std::vector<double>& y,
                              const std::function<void(std::span<const double>, std::span<double>)>& phi) {
  StepOutcome out;
  const std::size_t n = y.size();
  double scale = 1;
  for (double v : y) scale = std::max(scale, std::abs(v));
  if (opt.kind == StepSolver::Kind::newton) {
    std::vector<double> r(n), p(n), yp(n), J(n * n), dy(n);
    auto residual = [&](const std::vector<double>& v, std::vector<double>& res) {
      phi(v, p);
      ++out.evaluations;
      for (std::size_t i = 0; i < n; ++i) res[i] = v[i] - p[i];
    };
    for (int it = 0; it < opt.max_iterations; ++it) {
      residual(y, r);
      double rn = 0, ym = 1;
      for (std::size_t i = 0; i < n; ++i) {
        rn = std::max(rn, std::abs(r[i]));
        ym = std::max(ym, std::abs(y[i]));
      }
      if (!std::isfinite(rn)) {
        out.status = Status::non_finite;
        out.message = "non-finite residual in the Newton step";
        return out;
      }
      if (rn <= opt.tolerance * ym) {
        out.iterations = it;
        return out;
      }
      // Forward-difference Jacobian of the residual.
      for (std::size_t c = 0; c < n; ++c) {
        const double hc = 1e-7 * std::max(1.0, std::abs(y[c]));
        yp = y;
        yp[c] += hc;
        std::vector<double> rp(n);
        residual(yp, rp);
        for (std::size_t i = 0; i < n; ++i) J[i * n + c] = (rp[i] - r[i]) / hc;
      }
      // Solve J dy = -r by Gaussian elimination with partial pivoting.
      for (std::size_t i = 0; i < n; ++i) dy[i] = -r[i];
      for (std::size_t k = 0; k < n; ++k) {
        std::size_t piv = k;
        for (std::size_t i = k + 1; i < n; ++i)
          if (std::abs(J[i * n + k]) > std::abs(J[piv * n + k])) piv = i;
        if (!(std::abs(J[piv * n + k]) > 0)) {
          out.status = Status::stagnated;
          out.message = "singular Jacobian in the Newton step";
          out.iterations = it + 1;
          return out;
        }
        if (piv != k) {
          for (std::size_t c = 0; c < n; ++c) std::swap(J[k * n + c], J[piv * n + c]);
          std::swap(dy[k], dy[piv]);
        }
        for (std::size_t i = k + 1; i < n; ++i) {
          const double f = J[i * n + k] / J[k * n + k];
          for (std::size_t c = k; c < n; ++c) J[i * n + c] -= f * J[k * n + c];
          dy[i] -= f * dy[k];
        }
      }
      for (std::size_t k = n; k-- > 0;) {
        double s = dy[k];
        for (std::size_t c = k + 1; c < n; ++c) s -= J[k * n + c] * dy[c];
        dy[k] = s / J[k * n + k];
      }
      for (std::size_t i = 0; i < n; ++i) y[i] += dy[i];
      out.iterations = it + 1;
    }
    out.status = Status::max_iterations;
    out.message = "Newton did not converge in " + std::to_string(opt.max_iterations) + " iterations";
    return out;
  }
  auto op = [&](const std::vector<double>& v, std::vector<double>& w) { phi(v, w); };
  const Stop stop{.abs_tol = opt.tolerance * scale, .rel_tol = 0, .norm = Norm::max,
                  .max_iterations = opt.max_iterations, .stagnation_window = 0, .divergence_factor = 1e12};
  Result<std::vector<double>> r = opt.kind == StepSolver::Kind::picard
                                      ? iterop::solve(op, y, Picard{}, stop)
                                      : iterop::solve(op, y, Anderson{.memory = opt.memory}, stop);
  out.status = r.status;
  out.iterations = r.iterations;
  out.evaluations = r.evaluations;
  out.message = r.message;
  y = std::move(r.solution);
  return out;
}

}  // namespace detail
}  // namespace iterop::quadrature
