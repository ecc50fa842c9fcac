// A downstream program using the installed iterop package.
#include <cstdio>
#include <vector>

#include <iterop/iterop.hpp>
#ifdef CONSUMER_HAS_BASELINES
#include <iterop/baselines/kinsol.hpp>
#endif
#ifdef CONSUMER_HAS_OPERATORS
#include <iterop/operators/pign.hpp>
#include <iterop/operators/planetoid.hpp>
#endif

int main() {
  iterop::problems::HEquation heq(0.9, 64);
  const auto r = iterop::solve(heq, heq.initial_guess(), iterop::Anderson{.memory = 3},
                               iterop::Stop{.abs_tol = 1e-10, .rel_tol = 0});
  std::printf("%s\n", r.brief_report().c_str());
  if (!r.converged()) return 1;
#if defined(CONSUMER_HAS_BASELINES) && defined(ITEROP_HAVE_KINSOL)
  auto op = [&](std::span<const double> x, std::span<double> y) { heq(x, y); };
  const auto k = iterop::baselines::kinsol_solve(op, heq.initial_guess(), {.memory = 3},
                                                 iterop::Stop{.abs_tol = 1e-10, .rel_tol = 0});
  std::printf("%s\n", k.brief_report().c_str());
  if (!k.converged()) return 1;
#endif
#ifdef CONSUMER_HAS_OPERATORS
  // Plain-data facade over LibTorch: build and train a tiny PIGN on the SBM generator.
  const auto g = iterop::operators::make_sbm({.seed = 1});
  iterop::operators::Pign model(g, {.hidden = 8, .iterations = 2, .epochs = 3});
  const auto t = model.train();
  std::printf("PIGN (installed operators): %d epochs, validation accuracy %.3f\n", int(t.epochs.size()), t.best_val_acc);
  if (t.epochs.size() != 3) return 1;
#endif
  return 0;
}
