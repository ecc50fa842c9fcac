// Bookkeeping shared by the step-by-step Volterra solvers: counted kernel and forcing calls, the
// result record, blow-up detection, error against the exact solution, timing.
#pragma once

#include <algorithm>
#include <chrono>
#include <limits>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/blow_up.hpp"
#include "iterop/quadrature/step_solver.hpp"
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_result.hpp"

namespace iterop::quadrature::detail {

class SolveContext {
 public:
  SolveContext(std::string method, int order, int dimension, double blow_up_threshold)
      : d_(dimension), threshold_(blow_up_threshold), start_(std::chrono::steady_clock::now()) {
    res_.method = std::move(method);
    res_.order = order;
    res_.dimension = dimension;
  }

  int dimension() const { return d_; }
  /// The end T of the interval: a solve that stops early is called a blow-up (Status::blow_up) only
  /// when the fitted blow-up time lies in [last resolved node, T].
  void set_end(double T) { end_ = T; }
  VolterraResult& result() { return res_; }

  void kernel(const Kernel& K, double t, double s, std::span<const double> y, std::span<double> out) {
    K(t, s, y, out);
    ++res_.kernel_evaluations;
  }
  void forcing(const Forcing& f, double t, std::span<double> out) {
    f(t, out);
    ++res_.forcing_evaluations;
  }

  /// Phi wrapped for the step verification: its kernel calls are moved from kernel_evaluations to
  /// verification_evaluations.
  template <class Phi>
  auto verification(Phi& phi) {
    return [this, &phi](std::span<const double> v, std::span<double> out) {
      const long before = res_.kernel_evaluations;
      phi(v, out);
      res_.verification_evaluations += res_.kernel_evaluations - before;
      res_.kernel_evaluations = before;
    };
  }

  /// Records node t with value y; returns false (and sets the status) when the value is not finite or
  /// exceeds the blow-up threshold.
  bool accept_node(double t, std::span<const double> y) {
    double m = 0;
    bool finite = true;
    for (double v : y) {
      finite = finite && std::isfinite(v);
      m = std::max(m, std::abs(v));
    }
    if (res_.t.empty()) scale_ = std::max(1.0, m);
    if (!finite || m > threshold_ * scale_) {
      res_.status = finite ? Status::diverged : Status::non_finite;
      res_.blow_up_time = t;
      res_.message = std::string(finite ? "The solution exceeds " : "The solution is not finite ") +
                     (finite ? format_value(threshold_ * scale_) + " " : std::string()) + "at t = " + format_value(t) +
                     ": it blows up (or the discretisation is unstable) before T.";
      return false;
    }
    res_.t.push_back(t);
    res_.y.insert(res_.y.end(), y.begin(), y.end());
    return true;
  }

  /// Records the outcome of an implicit solve at time t; false (status set) when it failed.
  bool accept_step(const StepOutcome& o, double t) {
    res_.nonlinear_iterations += o.iterations;
    res_.step_iterations.push_back(o.iterations);
    if (o.status == Status::converged) return true;
    res_.status = o.status;
    res_.blow_up_time = t;
    res_.message = "The implicit equation at t = " + format_value(t) + " was not solved (" +
                   std::string(to_string(o.status)) + ": " + o.message +
                   "); a solution that blows up, or a step too large for a stiff kernel, does this.";
    return false;
  }

  /// Sets the timing and, when an exact solution is known, the maximum error over the recorded nodes.
  VolterraResult finish(const Exact& exact) {
    classify_blow_up();
    if (exact) {
      std::vector<double> e(static_cast<std::size_t>(d_));
      double err = 0;
      for (std::size_t i = 0; i < res_.t.size(); ++i) {
        exact(res_.t[i], e);
        for (int c = 0; c < d_; ++c) err = std::max(err, std::abs(res_.y[i * d_ + c] - e[c]));
      }
      res_.max_error = err;
    }
    res_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (res_.status == Status::converged && res_.message.empty())
      res_.message = "Solved on " + std::to_string(res_.t.size()) + " nodes.";
    return std::move(res_);
  }

 private:
  /// A solve that stopped early (threshold exceeded, non-finite values, or an implicit equation not
  /// solved) on a solution whose growth fits a power-law blow-up ahead of its last resolved node, at or
  /// before T, becomes Status::blow_up with the estimate; otherwise the status stays.
  ///
  /// A solve whose every step converged is checked too: when its growth fits a blow-up at a time t*
  /// before its last node, the march stepped past the singularity on another root of the step equation
  /// (y = 1 + int y^3 on [0, 1.2] at N = 64 ends at y = -74.5 on the negative root of y = c + (h/2) y^3),
  /// and the status becomes blow_up.
  void classify_blow_up() {
    const Status s = res_.status;
    if (res_.t.size() < 3) return;
    if (s == Status::converged) {
      const BlowUpEstimate b = estimate_blow_up(res_.t, res_.y, d_);
      if (!b.found || !(b.time < res_.t.back())) return;
      res_.message = "Every step converged, but the march went past t* on a root of the step equation that does not "
                     "approximate the solution (the values after the last resolved node are not a solution of the "
                     "integral equation).";
      mark_blow_up(b);
      return;
    }
    if (s != Status::diverged && s != Status::non_finite && s != Status::max_iterations && s != Status::stagnated &&
        s != Status::small_step)
      return;
    const BlowUpEstimate b = estimate_blow_up(res_.t, res_.y, d_);
    if (!b.found || !(b.time <= end_)) return;
    mark_blow_up(b);
  }

  void mark_blow_up(const BlowUpEstimate& b) {
    res_.status = Status::blow_up;
    res_.blow_up_estimate = b.time;
    res_.blow_up_exponent = b.exponent;
    res_.last_reliable_time = res_.t[static_cast<std::size_t>(b.last_reliable)];
    res_.message = "The solution blows up: fitted y ~ C (t* - t)^(-p) with t* = " + format_value(b.time) +
                   ", p = " + format_value(b.exponent) + " on the nodes up to t = " + format_value(res_.last_reliable_time) +
                   " (the last one the grid resolves). " + res_.message;
  }

  int d_;
  double end_ = std::numeric_limits<double>::infinity();
  double threshold_;
  double scale_ = 1;
  std::chrono::steady_clock::time_point start_;
  VolterraResult res_;
};

}  // namespace iterop::quadrature::detail
