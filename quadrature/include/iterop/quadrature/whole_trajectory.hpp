// Whole-trajectory iteration (the NIE/ANIE way): the trapezoidal discretisation on the whole grid,
// or on consecutive time windows, as one operator Y -> T(Y) solved by the core's Picard or Anderson.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/core/result.hpp"
#include "iterop/fixed_point/solve.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/trapezoid.hpp"
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_result.hpp"

namespace iterop::quadrature {

/// The trapezoidal Volterra operator on the nodes first..last of a grid, with the nodes before
/// `first` fixed: T(Y)_n = f(t_n) + sum_{j < first} w_nj K(t_n, t_j, y_j) + sum_{first <= j <= n} w_nj K(t_n, t_j, Y_j).
/// Y is flat ((last - first + 1) x dimension). An Operator for iterop::solve on std::vector<double>.
class TrapezoidTrajectoryOperator {
 public:
  /// `past` holds y_0..y_{first-1} (flat); first >= 1, or first = 0 with an empty past (then Y_0 = f(0)).
  TrapezoidTrajectoryOperator(const SecondKindProblem& p, const Grid& grid, int first, int last,
                              std::vector<double> past)
      : p_(p), t_(grid.t), first_(first), last_(last), d_(p.dimension), past_(std::move(past)) {
    p.validate();
    require(p.singular_exponent == 0, p.id + ": singular exponent", p.singular_exponent,
            "0 for the trapezoidal trajectory operator");
    require(first >= 0 && first <= last && last <= grid.steps(), "window", std::to_string(first) + ".." + std::to_string(last),
            "0 <= first <= last <= steps");
    require(static_cast<int>(past_.size()) == first * d_, "window past size", past_.size(), "first x dimension values");
    // Constant part: forcing plus the history from the fixed past.
    base_.assign(static_cast<std::size_t>(last - first + 1) * d_, 0.0);
    std::vector<double> k(d_);
    for (int n = first; n <= last; ++n) {
      std::span<double> b(&base_[static_cast<std::size_t>(n - first) * d_], d_);
      p.forcing(t_[n], b);
      for (int j = 0; j < first; ++j) {
        p.kernel(t_[n], t_[j], std::span<const double>(&past_[static_cast<std::size_t>(j) * d_], d_), k);
        ++evaluations_;
        const double w = weight(n, j);
        for (int c = 0; c < d_; ++c) b[c] += w * k[c];
      }
    }
  }

  int unknowns() const { return (last_ - first_ + 1) * d_; }
  long kernel_evaluations() const { return evaluations_; }

  /// out = T(Y).
  void operator()(const std::vector<double>& Y, std::vector<double>& out) const {
    std::vector<double> k(d_);
    for (int n = first_; n <= last_; ++n) {
      double* o = &out[static_cast<std::size_t>(n - first_) * d_];
      for (int c = 0; c < d_; ++c) o[c] = base_[static_cast<std::size_t>(n - first_) * d_ + c];
      if (n == 0) continue;  // y_0 = f(0)
      for (int j = first_; j <= n; ++j) {
        p_.kernel(t_[n], t_[j], std::span<const double>(&Y[static_cast<std::size_t>(j - first_) * d_], d_), k);
        ++evaluations_;
        const double w = weight(n, j);
        for (int c = 0; c < d_; ++c) o[c] += w * k[c];
      }
    }
  }

 private:
  /// Trapezoid weight of node j in the integral up to t_n (j <= n, n >= 1).
  double weight(int n, int j) const { return Trapezoid::weight(t_, n, j); }
  const SecondKindProblem& p_;
  const std::vector<double>& t_;
  int first_, last_, d_;
  std::vector<double> past_, base_;
  mutable long evaluations_ = 0;
};

/// The outcome of a whole-trajectory solve: the Volterra result and each window's solver summary
/// (its history holds the residual of every sweep).
struct TrajectorySolve {
  VolterraResult result;
  std::vector<SolveSummary> windows;
};

/// Solves the trapezoidal discretisation of a second-kind problem by iterating on whole trajectories
/// (windows >= 1 consecutive windows of about equal length), each with `method` (Picard{}, Anderson{...})
/// and `stop`. The initial guess of a window repeats the last known value.
template <class Method>
TrajectorySolve solve_whole_trajectory(const SecondKindProblem& p, const Grid& grid, const Method& method,
                                       const Stop& stop, int windows = 1) {
  p.validate();
  method.validate();
  stop.validate();
  require(windows >= 1 && windows <= grid.steps(), "windows", windows, "1 <= windows <= steps");
  const auto start = std::chrono::steady_clock::now();
  const int N = grid.steps(), d = p.dimension;
  TrajectorySolve out;
  VolterraResult& r = out.result;
  r.method = "whole_trajectory(" + method.describe() + ", windows=" + std::to_string(windows) + ")";
  r.order = 2;
  r.dimension = d;
  std::vector<double> y;  // accepted nodes, flat
  int first = 0;
  for (int w = 0; w < windows; ++w) {
    const int last = static_cast<int>(static_cast<long>(N + 1) * (w + 1) / windows) - 1;
    TrapezoidTrajectoryOperator T(p, grid, first, last, y);
    std::vector<double> guess(static_cast<std::size_t>(T.unknowns()));
    std::vector<double> seed(d);
    if (first == 0) p.forcing(grid.t[0], seed);
    else std::copy(y.end() - d, y.end(), seed.begin());
    for (std::size_t i = 0; i < guess.size(); ++i) guess[i] = seed[i % d];
    auto sol = iterop::solve(T, guess, method, stop);
    r.kernel_evaluations += T.kernel_evaluations();
    r.nonlinear_iterations += sol.iterations;
    r.step_iterations.push_back(sol.iterations);
    y.insert(y.end(), sol.solution.begin(), sol.solution.end());
    const Status st = sol.status;
    const std::string msg = sol.message;
    out.windows.push_back(static_cast<SolveSummary&&>(std::move(sol)));
    if (st != Status::converged) {
      r.status = st;
      r.message = "Window " + std::to_string(w + 1) + " of " + std::to_string(windows) + " (t in [" +
                  format_value(grid.t[first]) + ", " + format_value(grid.t[last]) + "]): " + msg;
      break;
    }
    first = last + 1;
  }
  r.y = std::move(y);
  r.t.assign(grid.t.begin(), grid.t.begin() + static_cast<long>(r.y.size()) / d);
  if (r.status == Status::converged)
    r.message = "All " + std::to_string(windows) + " windows converged.";
  if (p.exact) {
    std::vector<double> e(d);
    double err = 0;
    for (std::size_t i = 0; i < r.t.size(); ++i) {
      p.exact(r.t[i], e);
      for (int c = 0; c < d; ++c) err = std::max(err, std::abs(r.y[i * d + c] - e[c]));
    }
    r.max_error = err;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace iterop::quadrature
