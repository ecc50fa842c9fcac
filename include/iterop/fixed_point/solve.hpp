// solve(op, x0, method, stop, observer): the one driver behind every fixed-point method.
// Evaluates T, measures residuals and steps, applies the stopping rules and safeguards, keeps history.
#pragma once

#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "iterop/core/concepts.hpp"
#include "iterop/core/result.hpp"
#include "iterop/core/vector_algebra.hpp"
#include "iterop/diagnostics/observed_rate.hpp"
#include "iterop/fixed_point/observer.hpp"
#include "iterop/fixed_point/step_input.hpp"
#include "iterop/fixed_point/stop.hpp"

namespace iterop {

/// A fixed-point method: an options struct with validate(), describe() and an engine per State.
template <class M, class X>
concept FixedPointMethod = State<X> && requires(const M& m, const X& x) {
  m.validate();
  { m.describe() } -> std::convertible_to<std::string>;
  typename M::template engine<X>;
};

/// Solves x = T(x) from x0 with `method` (Picard, KrasnoselskiiMann, Anderson, AndersonTypeI).
/// Throws invalid_option for bad options before evaluating T; every numerical outcome (converged,
/// max_iterations, stagnated, diverged, non_finite, ...) is returned in Result::status.
/// Iteration k forms x_k and evaluates T(x_k); Result::iterations is the last k.
template <class X, class Op, class Method, class Observer = NoObserver>
  requires Operator<std::remove_reference_t<Op>, X> && FixedPointMethod<Method, X>
Result<X> solve(Op&& op, const X& x0, const Method& method, const Stop& stop = {}, Observer&& observer = {}) {
  using clock = std::chrono::steady_clock;
  using T = scalar_t<X>;
  method.validate();
  stop.template validate_for<X>();

  const auto t0 = clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
  auto& T_op = op;

  typename Method::template engine<X> eng(method, x0);
  Result<X> res;
  res.method = method.describe();
  res.norm = stop.norm;
  res.returned = stop.returned;

  // Every state is a fresh value (zeros_like + copy): for handle types such as torch::Tensor a copy
  // construction would share storage with the caller's x0.
  X x = ops::zeros_like(x0), g = ops::zeros_like(x0), f = ops::zeros_like(x0);
  ops::copy(x0, x);
  X xn = ops::zeros_like(x0), gn = ops::zeros_like(x0), fn = ops::zeros_like(x0);
  std::optional<X> scratch;  // step norms for max and wrms
  std::optional<X> best;
  if (stop.returned == Returned::best) best.emplace(ops::zeros_like(x0));

  auto measure_residual = [&](const X& xv, const X& gv, X& fv) {
    ops::linear_sum(T(1), gv, T(-1), xv, fv);
    return measure(stop.norm, fv, xv, stop.rel_tol, stop.abs_tol);
  };
  auto measure_step = [&](const X& a, const X& b) -> double {
    if (stop.norm == Norm::two) {
      if (!scratch) scratch.emplace(ops::zeros_like(x0));
      return static_cast<double>(ops::distance2(a, b, *scratch));
    }
    if (!scratch) scratch.emplace(ops::zeros_like(x0));
    ops::linear_sum(T(1), a, T(-1), b, *scratch);
    return measure(stop.norm, *scratch, a, stop.rel_tol, stop.abs_tol);
  };

  apply_operator(T_op, x, g);
  long evals = 1;
  double r = measure_residual(x, g, f);
  const double r0 = r;
  const double tol = stop.norm == Norm::wrms ? 1.0 : stop.abs_tol + stop.rel_tol * r0;
  res.initial_residual = r0;

  std::vector<double> residuals{r};
  std::vector<double> best_so_far{r};
  double best_r = r;
  int best_k = 0;
  if (best && std::isfinite(r)) ops::copy(x, *best);

  IterationRecord rec0;
  rec0.evaluations = evals;
  rec0.residual = r;
  rec0.seconds = seconds();
  res.history.push_back(rec0);

  Status status = Status::max_iterations;
  std::string message;
  int k = 0;
  bool have_prev = false;
  bool small_step = false;
  bool last_finite = std::isfinite(r);

  for (;;) {
    // The observer sees every evaluated iterate; then the tests on x_k.
    const bool observer_stop = observer_says_stop(observer, IterationView<X>{res.history.back(), x, g, f});
    if (!std::isfinite(r)) {
      status = Status::non_finite;
      message = k == 0 ? "T(x0) - x0 is not finite (NaN or Inf)." :
                         "The residual became non-finite (NaN or Inf) at iteration " + std::to_string(k) + ".";
      break;
    }
    if (r <= tol) {
      status = Status::converged;
      message = "Residual " + format_value(r) + " <= tolerance " + format_value(tol) + ".";
      break;
    }
    if (small_step) {
      status = Status::small_step;
      message = "Step " + format_value(res.history.back().step) + " <= Stop::step_tol " + format_value(stop.step_tol) +
                " while the residual " + format_value(r) + " is above the tolerance " + format_value(tol) + ".";
      break;
    }
    if (observer_stop) {
      status = Status::stopped_by_observer;
      message = "The observer stopped the solve at iteration " + std::to_string(k) + ".";
      break;
    }
    if (k >= stop.max_iterations) {
      status = Status::max_iterations;
      message = "Reached Stop::max_iterations = " + std::to_string(stop.max_iterations) + " with residual " +
                format_value(r) + " above the tolerance " + format_value(tol) + ".";
      break;
    }
    if (evals >= stop.max_evaluations) {
      status = Status::max_evaluations;
      message = "Reached Stop::max_evaluations = " + std::to_string(stop.max_evaluations) + ".";
      break;
    }
    if (r > stop.divergence_factor * r0) {
      status = Status::diverged;
      message = "Residual " + format_value(r) + " exceeds Stop::divergence_factor (" +
                format_value(stop.divergence_factor) + ") times the initial residual " + format_value(r0) + ".";
      break;
    }
    if (stop.stagnation_window > 0 && k >= stop.stagnation_window &&
        !(best_so_far[k] < stop.stagnation_factor * best_so_far[k - stop.stagnation_window])) {
      status = Status::stagnated;
      message = "The best residual fell by less than a factor " + format_value(stop.stagnation_factor) +
                " over the last " + std::to_string(stop.stagnation_window) + " iterations (best " +
                format_value(best_so_far[k]) + ").";
      break;
    }

    // Form x_{k+1}.
    IterationRecord rec;
    rec.iteration = k + 1;
    const double f2 = stop.norm == Norm::two ? r : static_cast<double>(ops::norm2(f));
    StepInput<X> in{k, x, g, f, f2, r, r0, have_prev ? &xn : nullptr, have_prev ? &gn : nullptr,
                    have_prev ? &fn : nullptr};
    const bool accelerated = eng.propose(in, xn, rec);
    apply_operator(T_op, xn, gn);
    ++evals;
    double rn = measure_residual(xn, gn, fn);
    if (accelerated && !eng.review(rn, r, rec)) {
      rec.rejected = true;
      ++res.rejections;
      if (evals < stop.max_evaluations) {
        eng.fallback(x, g, xn);
        apply_operator(T_op, xn, gn);
        ++evals;
        rn = measure_residual(xn, gn, fn);
      }
    }
    const double step = measure_step(xn, x);
    ++k;
    rec.evaluations = evals;
    rec.residual = rn;
    rec.step = step;
    rec.ratio = rn / r;
    residuals.push_back(rn);
    rec.rate = observed_rate(residuals, 5);
    rec.seconds = seconds();
    res.drops += rec.dropped;
    res.restarts += rec.restarted ? 1 : 0;
    res.history.push_back(rec);
    if (!std::isfinite(rn)) {
      // Keep x_{k-1} (finite) in x; report the non-finite iterate.
      r = rn;
      last_finite = false;
      continue;
    }
    std::swap(x, xn);
    std::swap(g, gn);
    std::swap(f, fn);
    have_prev = true;
    r = rn;
    if (r < best_r || !std::isfinite(best_r)) {
      best_r = r;
      best_k = k;
      if (best) ops::copy(x, *best);
    }
    best_so_far.push_back(best_r);
    small_step = stop.step_tol > 0 && step <= stop.step_tol;
  }

  res.status = status;
  res.message = std::move(message);
  res.iterations = k;
  res.evaluations = evals;
  // The returned iterate: the last finite one, or the best.
  const int last_k = last_finite || k == 0 ? k : k - 1;
  const double last_r = residuals[static_cast<std::size_t>(last_k)];
  if (stop.returned == Returned::best && status != Status::converged && std::isfinite(best_r) && best_k != last_k) {
    res.solution = std::move(*best);
    res.returned_iteration = best_k;
    res.residual = best_r;
  } else {
    res.solution = std::move(x);
    res.returned_iteration = last_k;
    res.residual = last_r;
  }
  res.seconds = seconds();
  return res;
}

}  // namespace iterop
