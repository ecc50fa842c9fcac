// The one marching loop of the second-kind rules: for each step it asks the rule for its weights,
// forms the history sums (direct, or as fast lag sums for convolution kernels), solves the implicit
// equation with the StepSolver, records the nodes and statistics and detects blow-up.
#pragma once

#include <cmath>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/detail/solve_context.hpp"
#include "iterop/quadrature/fast_lag_sum.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/step_solver.hpp"
#include "iterop/quadrature/sum_of_exponentials.hpp"
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_result.hpp"
#include "iterop/quadrature/volterra_rule.hpp"

namespace iterop::quadrature {

namespace detail {

/// Linear extrapolation from the last two nodes (the first step reuses y_0): the starting guess.
inline void extrapolate_guess(const VolterraResult& r, int d, std::vector<double>& guess) {
  const std::size_t n = r.t.size();
  for (int c = 0; c < d; ++c) {
    const double last = r.y[(n - 1) * d + c];
    guess[c] = n >= 2 ? 2 * last - r.y[(n - 2) * d + c] : last;
  }
}

/// c += sum_{j < w.size()} w_j K(t, t_j, y_j) over the recorded nodes, in the order of j.
inline void add_history(SolveContext& ctx, const Kernel& K, double t, std::span<const double> w,
                        const std::vector<double>& nodes, std::span<double> k, std::span<double> c) {
  const VolterraResult& r = ctx.result();
  const int d = ctx.dimension();
  for (std::size_t j = 0; j < w.size(); ++j) {
    ctx.kernel(K, t, nodes[j], std::span<const double>(&r.y[j * d], d), k);
    for (int cc = 0; cc < d; ++cc) c[cc] += w[j] * k[cc];
  }
}

/// Checks, before any work, that rule R accepts the problem and the grid (kernel kind, grid kind,
/// step count), from its data; R::summary names the rule in the messages ("the trapezoidal rule").
template <class R>
void check_fits(const SecondKindProblem& p, const Grid& grid) {
  const std::string title(R::summary);
  if constexpr (!R::weakly_singular)
    require(p.singular_exponent == 0, p.id + ": singular exponent", p.singular_exponent,
            "0 for " + title + " (use ProductTrapezoid for weakly singular kernels)");
  if constexpr (R::grids == GridKind::uniform)
    require(grid.is_uniform(), "grid", std::string("non-uniform"), "a uniform grid for " + title);
  if constexpr (R::nodes_per_step > 1)
    require(grid.steps() % R::nodes_per_step == 0, "steps", grid.steps(),
            (R::nodes_per_step == 2 ? std::string("an even number of steps")
                                    : "a multiple of " + std::to_string(R::nodes_per_step) + " steps") +
                " for " + title);
}

}  // namespace detail

/// Solves a second-kind problem with rule R on `grid`, step by step: each step solves the
/// R::nodes_per_step nodes after the known ones together, from the weights R supplies. Convolution
/// kernels on a uniform grid (R::convolution and use_convolution) sum the history by LagSum, one per
/// offset of a node in the step, with a(t - s) evaluated N + nodes_per_step times.
template <SecondKindRule R>
VolterraResult march(const SecondKindProblem& p, const Grid& grid, const R& m) {
  p.validate();
  m.validate();
  detail::check_fits<R>(p, grid);
  constexpr int s = R::nodes_per_step;
  const int d = p.dimension;
  const int N = grid.steps();
  const std::vector<double>& t = grid.t;
  detail::SolveContext ctx(std::string(R::name), R::order, d, m.blow_up_threshold);
  ctx.set_end(grid.end());
  std::vector<double> y0(d), k(d), mid(d), guess(static_cast<std::size_t>(s) * d), c(guess.size());
  ctx.forcing(p.forcing, 0.0, y0);
  if (!ctx.accept_node(0.0, y0)) return ctx.finish(p.exact);
  VolterraResult& r = ctx.result();
  auto yj = [&](int j) { return std::span<const double>(&r.y[static_cast<std::size_t>(j) * d], d); };

  // Lag-sum form: a_i = a(i h), G(y_j) once per node, LagSum number o sums with a((o + known - j) h).
  bool lag_form = false;
  if constexpr (R::convolution) lag_form = m.use_convolution && p.is_convolution() && grid.is_uniform();
  const double h = t[1] - t[0];
  std::vector<double> a, G, weighted(d), hist(d);
  std::vector<LagSum> lags;
  std::vector<SoeHistory> soe_lags;  // LagSumMethod::soe: one SoeHistory per offset, same sums
  auto push_node = [&](int j) {
    if constexpr (R::convolution) {
      p.convolution.nonlinearity(yj(j), std::span<double>(&G[static_cast<std::size_t>(j) * d], d));
      ++r.kernel_evaluations;
      const double sigma = R::lag_weight(j);
      for (int cc = 0; cc < d; ++cc) weighted[cc] = sigma * G[static_cast<std::size_t>(j) * d + cc];
      for (auto& lag : lags) lag.push(weighted);
      for (auto& lag : soe_lags) lag.push(weighted);
    }
  };
  if (lag_form) {
    if constexpr (R::convolution) {
      a.resize(static_cast<std::size_t>(N) + s);
      for (int i = 0; i < N + s; ++i) a[i] = p.convolution.lag_kernel(i * h);
      r.kernel_evaluations += N + s;
      if (m.lag_sums.method == LagSumMethod::soe) {
        // Offset o sums with a(tau + o h) = sum_l (c_l exp(-lambda_l o h)) exp(-lambda_l tau).
        require(p.convolution.soe.size() > 0, p.id + ": LagSumOptions::method", std::string("soe"),
                "a convolution kernel that gives its sum of exponentials (ConvolutionKernel::soe)");
        for (int o = 0; o < s; ++o) {
          SumOfExponentials shifted = p.convolution.soe;
          for (std::size_t l = 0; l < shifted.size(); ++l) shifted.weights[l] *= std::exp(-shifted.rates[l] * o * h);
          soe_lags.emplace_back(std::move(shifted), h, static_cast<std::size_t>(d));
        }
      } else {
        for (int o = 0; o < s; ++o)
          lags.emplace_back(std::vector<double>(a.begin() + o, a.begin() + o + N + 1), static_cast<std::size_t>(d),
                            m.lag_sums);
      }
    }
    G.resize((static_cast<std::size_t>(N) + 1) * d);
    push_node(0);
  }
  auto Gj = [&](int j) { return std::span<const double>(&G[static_cast<std::size_t>(j) * d], d); };

  SecondKindStep step;
  step.equations.resize(s);
  detail::StepWorkspace workspace;  // Newton's buffers and Jacobian, reused by every step
  for (int known = 1; known <= N; known += s) {
    step.known = known;
    step.lag_form = lag_form;
    for (int i = 0; i < s; ++i) {
      StepEquation& e = step.equations[i];
      e.node = known + i;
      e.history.clear();
      e.inside.clear();
      e.outside.clear();
      e.points.clear();
    }
    m.weights(p, grid, step);
    // Known parts c_i = f(t_n) + history, from the last node of the step down (any order would do).
    for (int i = s - 1; i >= 0; --i) {
      const StepEquation& e = step.equations[i];
      const double tn = t[e.node];
      const std::span<double> ci(&c[static_cast<std::size_t>(i) * d], d);
      ctx.forcing(p.forcing, tn, ci);
      if (lag_form) {
        for (const auto* terms : {&e.inside, &e.outside})
          for (const LagTerm& q : *terms)
            if (q.reevaluate) {
              p.convolution.nonlinearity(yj(q.node), std::span<double>(&G[static_cast<std::size_t>(q.node) * d], d));
              ++r.kernel_evaluations;
            }
        if (soe_lags.empty())
          lags[e.node - known].history(hist);
        else
          soe_lags[e.node - known].history(hist);
        for (int cc = 0; cc < d; ++cc) {
          double bracket = hist[cc];
          for (const LagTerm& q : e.inside) bracket -= q.factor * a[e.node - q.node] * Gj(q.node)[cc];
          double term = e.lag_scale * bracket;
          for (const LagTerm& q : e.outside) term += q.factor * a[e.node - q.node] * Gj(q.node)[cc];
          ci[cc] += term;
        }
      } else {
        detail::add_history(ctx, p.kernel, tn, e.history, t, k, ci);
      }
    }
    const std::span<const double> y_last = yj(known - 1);
    auto phi = [&](std::span<const double> v, std::span<double> out) {
      for (int i = 0; i < s; ++i) {
        const StepEquation& e = step.equations[i];
        const std::span<double> oi = out.subspan(static_cast<std::size_t>(i) * d, d);
        for (int cc = 0; cc < d; ++cc) oi[cc] = c[static_cast<std::size_t>(i) * d + cc];
        for (const ImplicitPoint& pt : e.points) {
          std::span<const double> value = v.subspan(static_cast<std::size_t>(pt.unknown) * d, d);
          if (!pt.interpolation.empty()) {
            for (int cc = 0; cc < d; ++cc) {
              double sum = pt.interpolation[0] * y_last[cc];
              for (std::size_t q = 1; q < pt.interpolation.size(); ++q)
                sum += pt.interpolation[q] * v[(q - 1) * d + cc];
              mid[cc] = sum / pt.divisor;
            }
            value = mid;
          }
          double w = pt.weight;
          if (lag_form && pt.lag >= 0) {
            p.convolution.nonlinearity(value, k);
            ++r.kernel_evaluations;
            w = pt.weight * a[pt.lag];
          } else {
            ctx.kernel(p.kernel, t[e.node], pt.s, value, k);
          }
          for (int cc = 0; cc < d; ++cc) oi[cc] += w * k[cc];
        }
      }
    };
    // Guess: one node takes the linear extrapolation; a block walks q steps along its slope.
    detail::extrapolate_guess(r, d, mid);
    for (int cc = 0; cc < d; ++cc) {
      if constexpr (s == 1) {
        guess[cc] = mid[cc];
      } else {
        const double slope = mid[cc] - y_last[cc];
        for (int q = 0; q < s; ++q) guess[static_cast<std::size_t>(q) * d + cc] = y_last[cc] + (q + 1) * slope;
      }
    }
    const StepOutcome o = detail::solve_step(m.step, guess, phi, workspace, ctx.verification(phi));
    if (!ctx.accept_step(o, t[known])) break;
    bool accepted = true;
    for (int i = 0; i < s && accepted; ++i)
      accepted = ctx.accept_node(t[known + i], std::span<const double>(&guess[static_cast<std::size_t>(i) * d], d));
    if (!accepted) break;
    if (lag_form && known + s - 1 < N)
      for (int i = 0; i < s; ++i) push_node(known + i);
  }
  return ctx.finish(p.exact);
}

/// Every second-kind rule is solved by the marching loop: solve_volterra(problem, grid, rule).
template <SecondKindRule R>
VolterraResult solve_volterra(const SecondKindProblem& p, const Grid& grid, const R& m) {
  return march(p, grid, m);
}

}  // namespace iterop::quadrature
