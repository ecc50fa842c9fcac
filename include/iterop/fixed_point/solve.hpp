// solve(op, x0, method, stop, observer): the one driver behind every fixed-point method.
// Evaluates T, forms the steps, applies the safeguards, keeps history; StopMonitor applies the Stop.
#pragma once

#include <chrono>
#include <cmath>
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
#include "iterop/fixed_point/stop_monitor.hpp"

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
/// max_iterations, stagnated, diverged, non_finite, ...) is returned in Result::status. A converged
/// solve is audited (Stop::verify): ||T(x) - x|| recomputed at the returned x must meet the test too,
/// else Status::verification_failed.
/// Iteration k forms x_k and evaluates T(x_k); Result::iterations is the last k.
template <class X, class Op, class Method, class Observer = NoObserver>
  requires Operator<std::remove_reference_t<Op>, X> && FixedPointMethod<Method, X>
Result<X> solve(Op&& op, const X& x0, const Method& method, const Stop& stop = {}, Observer&& observer = {}) {
  using clock = std::chrono::steady_clock;
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
  // Norms, the tests in their order, messages and the best iterate: the same class as the baselines.
  StopMonitor<X> monitor(stop);

  apply_operator(T_op, x, g);
  long evals = 1;
  double r = monitor.residual(x, g, f);
  monitor.record(x, r);
  const double r0 = r;
  res.initial_residual = r0;

  IterationRecord rec0;
  rec0.evaluations = evals;
  rec0.residual = r;
  rec0.seconds = seconds();
  res.history.push_back(rec0);

  int k = 0;
  bool have_prev = false;

  for (;;) {
    // The observer sees every evaluated iterate; then the tests on x_k.
    const bool observer_stop = observer_says_stop(observer, IterationView<X>{res.history.back(), x, g, f});
    if (monitor.check(evals, observer_stop)) break;

    // Form x_{k+1}.
    IterationRecord rec;
    rec.iteration = k + 1;
    const double f2 = stop.norm == Norm::two ? r : static_cast<double>(ops::norm2(f));
    StepInput<X> in{k, x, g, f, f2, r, r0, have_prev ? &xn : nullptr, have_prev ? &gn : nullptr,
                    have_prev ? &fn : nullptr};
    const bool accelerated = eng.propose(in, xn, rec);
    apply_operator(T_op, xn, gn);
    ++evals;
    double rn = monitor.residual(xn, gn, fn);
    if (accelerated && !eng.review(rn, r, rec)) {
      rec.rejected = true;
      ++res.rejections;
      if (evals < stop.max_evaluations) {
        eng.fallback(x, g, xn);
        apply_operator(T_op, xn, gn);
        ++evals;
        rn = monitor.residual(xn, gn, fn);
      }
    }
    const double step = monitor.step_norm(xn, x);
    ++k;
    monitor.record(xn, rn, step);
    rec.evaluations = evals;
    rec.residual = rn;
    rec.step = step;
    rec.ratio = rn / r;
    rec.rate = observed_rate(monitor.residuals(), 5);
    rec.seconds = seconds();
    res.drops += rec.dropped;
    res.restarts += rec.restarted ? 1 : 0;
    res.history.push_back(rec);
    r = rn;
    if (!std::isfinite(rn)) continue;  // keep x_{k-1} (finite) in x; check() reports the non-finite iterate
    std::swap(x, xn);
    std::swap(g, gn);
    std::swap(f, fn);
    have_prev = true;
  }

  res.status = monitor.status();
  res.message = monitor.message();
  res.iterations = k;
  res.evaluations = evals;
  // The returned iterate: the last finite one, or the best.
  const ReturnedIterate ret = monitor.returned_iterate();
  res.solution = ret.best ? monitor.take_best() : std::move(x);
  res.returned_iteration = ret.iteration;
  res.residual = ret.residual;
  // The false-success audit (Stop::verify): T once more at the returned x, the test applied again.
  if (stop.verify && res.status == Status::converged) {
    apply_operator(T_op, res.solution, gn);
    const double checked = monitor.residual(res.solution, gn, fn);
    res.counters.emplace_back("verified_residual", checked);
    if (!monitor.verify(checked)) {
      res.status = monitor.status();
      res.message = monitor.message();
      res.residual = checked;
    }
  }
  res.seconds = seconds();
  return res;
}

}  // namespace iterop
