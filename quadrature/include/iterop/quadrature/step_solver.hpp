// StepSolver: how the implicit equation of one step, y = c + w K(t, t, y) (or a block of them), is
// solved: the core's Picard or Anderson iteration, or Newton with a finite-difference Jacobian.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <span>
#include <utility>
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
  double tolerance = 1e-14;    ///< ||y - Phi(y)||_inf <= tolerance max(1, ||guess||_inf, ||y||_inf), verified at the returned y
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
  long evaluations = 0;  ///< evaluations of Phi by the method (the verification's one is not counted)
  std::string message;
};

namespace detail {

/// Memory reused by solve_step across the steps of one march: the Newton buffers and the LU factors of
/// the last finite-difference Jacobian (kept for the next step: modified Newton). No allocation per step.
struct StepWorkspace {
  std::vector<double> r, p, yp, rp, lu, dy, start;
  std::vector<std::size_t> pivot;
  bool jacobian_valid = false;  ///< lu holds the factors of a Jacobian of size n
  long jacobians = 0;           ///< Jacobians formed (n + 1 evaluations of Phi each, the base one shared)

  void resize(std::size_t n) {
    if (r.size() == n) return;
    for (auto* v : {&r, &p, &yp, &rp, &dy, &start}) v->assign(n, 0.0);
    lu.assign(n * n, 0.0);
    pivot.assign(n, 0);
    jacobian_valid = false;
  }
};

/// ||v||_inf.
inline double max_norm(std::span<const double> v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

/// The convergence rule of every step: ||y - Phi(y)||_inf <= tolerance max(1, ||y_start||_inf, ||y||_inf),
/// with y_start the starting guess (Picard and Anderson test against the start's scale, Newton against y's).
inline double step_threshold(const StepSolver& opt, std::span<const double> start, std::span<const double> y) {
  return opt.tolerance * std::max({1.0, max_norm(start), max_norm(y)});
}

/// Turns off the core's false-success audit (Stop::verify, where the core has it): a step is verified
/// by solve_step itself, once, with the kernel calls of that check counted apart by the caller.
template <class S>
void without_core_audit(S& stop) {
  if constexpr (requires { stop.verify = false; }) stop.verify = false;
}

/// Solves y = Phi(y) in R^n from the guess in y (overwritten). Phi(y, out) writes out = Phi(y).
/// Newton (StepSolver::Kind::newton) is modified Newton: the LU factors of the finite-difference
/// Jacobian are kept in `ws` and reused by later iterations and steps while the residual falls at least
/// by half per iteration, and formed again otherwise. A converged outcome is verified: the returned y's
/// true residual ||y - Phi(y)||_inf meets step_threshold (Newton tests the returned y itself; Picard and
/// Anderson cost one more evaluation of Phi, made by `check`, a Phi the caller may count apart); when it
/// does not, the status is verification_failed.
template <class Phi, class Check>
StepOutcome solve_step(const StepSolver& opt, std::vector<double>& y, Phi&& phi, StepWorkspace& ws, Check&& check) {
  StepOutcome out;
  const std::size_t n = y.size();
  ws.resize(n);
  ws.start.assign(y.begin(), y.end());
  if (opt.kind == StepSolver::Kind::newton) {
    auto residual = [&](std::span<const double> v, std::vector<double>& res) {
      phi(v, std::span<double>(ws.p));
      ++out.evaluations;
      for (std::size_t i = 0; i < n; ++i) res[i] = v[i] - ws.p[i];
    };
    double* J = ws.lu.data();
    residual(y, ws.r);
    double rn = max_norm(ws.r);
    bool refresh = !ws.jacobian_valid;
    for (int it = 0;; ++it) {
      if (!std::isfinite(rn)) {
        out.status = Status::non_finite;
        out.message = "non-finite residual in the Newton step";
        out.iterations = it;
        return out;
      }
      if (rn <= step_threshold(opt, ws.start, y)) {  // the true residual of the returned y: verified
        out.iterations = it;
        return out;
      }
      if (it == opt.max_iterations) break;
      if (refresh) {
        // Forward-difference Jacobian of the residual, factored in place (partial pivoting).
        for (std::size_t c = 0; c < n; ++c) {
          const double hc = 1e-7 * std::max(1.0, std::abs(y[c]));
          ws.yp.assign(y.begin(), y.end());
          ws.yp[c] += hc;
          residual(ws.yp, ws.rp);
          for (std::size_t i = 0; i < n; ++i) J[i * n + c] = (ws.rp[i] - ws.r[i]) / hc;
        }
        ++ws.jacobians;
        ws.jacobian_valid = false;
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
          ws.pivot[k] = piv;
          if (piv != k)
            for (std::size_t c = 0; c < n; ++c) std::swap(J[k * n + c], J[piv * n + c]);
          for (std::size_t i = k + 1; i < n; ++i) {
            const double f = J[i * n + k] / J[k * n + k];
            J[i * n + k] = f;
            for (std::size_t c = k + 1; c < n; ++c) J[i * n + c] -= f * J[k * n + c];
          }
        }
        ws.jacobian_valid = true;
      }
      // dy = -J^{-1} r from the factors.
      for (std::size_t i = 0; i < n; ++i) ws.dy[i] = -ws.r[i];
      for (std::size_t k = 0; k < n; ++k) {
        if (ws.pivot[k] != k) std::swap(ws.dy[k], ws.dy[ws.pivot[k]]);
        for (std::size_t i = k + 1; i < n; ++i) ws.dy[i] -= J[i * n + k] * ws.dy[k];
      }
      for (std::size_t k = n; k-- > 0;) {
        double s = ws.dy[k];
        for (std::size_t c = k + 1; c < n; ++c) s -= J[k * n + c] * ws.dy[c];
        ws.dy[k] = s / J[k * n + k];
      }
      for (std::size_t i = 0; i < n; ++i) y[i] += ws.dy[i];
      residual(y, ws.r);
      const double next = max_norm(ws.r);
      refresh = !(next <= 0.5 * rn);  // slow (or no) contraction: a fresh Jacobian next iteration
      rn = next;
    }
    out.iterations = opt.max_iterations;
    out.status = Status::max_iterations;
    out.message = "Newton did not converge in " + std::to_string(opt.max_iterations) + " iterations";
    return out;
  }
  auto op = [&](const std::vector<double>& v, std::vector<double>& w) { phi(std::span<const double>(v), std::span<double>(w)); };
  Stop stop{.abs_tol = opt.tolerance * std::max(1.0, max_norm(y)), .rel_tol = 0, .norm = Norm::max,
            .max_iterations = opt.max_iterations, .stagnation_window = 0, .divergence_factor = 1e12};
  without_core_audit(stop);  // the step's own verification below does it, with its calls counted apart
  Result<std::vector<double>> r = opt.kind == StepSolver::Kind::picard
                                      ? iterop::solve(op, y, Picard{}, stop)
                                      : iterop::solve(op, y, Anderson{.memory = opt.memory}, stop);
  out.status = r.status;
  out.iterations = r.iterations;
  out.evaluations = r.evaluations;
  out.message = r.message;
  y = std::move(r.solution);
  if (out.status == Status::converged) {
    // The true residual of the returned y, recomputed: a converged status must meet the rule.
    check(std::span<const double>(y), std::span<double>(ws.p));
    double rn = 0;
    for (std::size_t i = 0; i < n; ++i) rn = std::max(rn, std::abs(y[i] - ws.p[i]));
    const double threshold = step_threshold(opt, ws.start, y);
    if (!(rn <= threshold)) {
      out.status = Status::verification_failed;
      out.message = "the " + opt.describe() + " iteration reported convergence, but the residual ||y - Phi(y)||_inf = " +
                    format_value(rn) + " recomputed at the returned y exceeds " + format_value(threshold);
    }
  }
  return out;
}

/// The same, verified by Phi itself.
template <class Phi>
StepOutcome solve_step(const StepSolver& opt, std::vector<double>& y, Phi&& phi, StepWorkspace& ws) {
  return solve_step(opt, y, phi, ws, phi);
}

/// The same with a workspace of its own (for a single solve).
template <class Phi>
StepOutcome solve_step(const StepSolver& opt, std::vector<double>& y, Phi&& phi) {
  StepWorkspace ws;
  return solve_step(opt, y, phi, ws, phi);
}

}  // namespace detail
}  // namespace iterop::quadrature
