// Problem catalogue: registry logic and the built-in fixed-point problems of PROBLEMS.md, built on
// the reference problems in include/iterop/problems/.
#include "iterop/experiments/problems/problem_catalogue.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>

#include "iterop/core/errors.hpp"
#include "iterop/core/vector_ops.hpp"
#include "iterop/experiments/runner/table.hpp"
#include "iterop/problems/elementary_maps.hpp"
#include "iterop/problems/h_equation.hpp"
#include "iterop/problems/linear_map.hpp"

namespace iterop::experiments {

namespace {

/// Wraps an iterop::problems functor (templated operator()(x, y) on indexable vectors) as a ProblemOperator.
template <class Functor>
ProblemOperator wrap(std::shared_ptr<const Functor> functor) {
  return [functor](std::span<const double> x, std::span<double> y) { (*functor)(x, y); };
}

ParameterSpec size_parameter(double default_value, std::string rule, std::function<bool(double)> valid,
                             std::string description = "problem size (number of unknowns)") {
  return ParameterSpec{"n", default_value, std::move(description), std::move(rule), std::move(valid), true};
}

// 2^53: every integer up to here is exact in a double.
constexpr double max_exact_integer = 9007199254740992.0;
// Largest size of the elementwise problems (a few vectors of 80 MB each).
constexpr double max_vector_size = 1e7;

/// heq: the H-equation with albedo c on n nodes, with the published counts for c = 0.99, n = 512.
FixedPointProblem make_heq(const ParameterValues& p) {
  const double c = p.at("c");
  const int n = static_cast<int>(p.at("n"));
  auto h = std::make_shared<const problems::HEquation>(c, n);
  FixedPointProblem prob;
  prob.op = wrap(h);
  prob.x0 = h->initial_guess();
  prob.description = "H-equation, c = " + format_value(c) + ", N = " + std::to_string(n);
  prob.known.rate = h->rate_bound();
  prob.known.rate_is_bound = true;
  if (c == 0.99 && n == 512)
    prob.known.note =
        "Toth & Kelley (2015), stopping at ||G(x) - x||_2 <= 1e-8 ||G(x0) - x0||_2 + 1e-8: Anderson m = 1..6 "
        "needs 10, 9, 9, 10, 11, 11 iterations; Picard 73.";
  else
    prob.known.note = "Picard converges for c < 1 at a rate of at most 1 - sqrt(1 - c); c = 1 is the singular case.";
  return prob;
}

/// linear: G(x) = M x + b with Picard's rate rho, seeded.
FixedPointProblem make_linear(const ParameterValues& p) {
  const int n = static_cast<int>(p.at("n"));
  const double rho = p.at("rho");
  const auto seed = static_cast<std::uint64_t>(p.at("seed"));
  auto m = std::make_shared<const problems::LinearMap>(problems::LinearMap::spaced_spectrum(0.0, rho, n), seed);
  FixedPointProblem prob;
  prob.op = wrap(m);
  prob.x0.assign(static_cast<std::size_t>(n), 0.0);
  prob.description = "linear map, n = " + std::to_string(n) + ", rho = " + format_value(rho) +
                     ", seed = " + std::to_string(seed);
  prob.known.solution = m->solution();
  prob.known.rate = m->spectral_radius();
  prob.known.note = "Exact solution x* = (I - M)^-1 b; Picard's error falls like rho^k.";
  return prob;
}

/// A map applied elementwise to n unknowns (Functor default-constructed), started at x0 = `start` everywhere and
/// described as "<text>, n = <n>"; `known` fills in what is known of its solution for that n.
template <class Functor>
ProblemEntry elementwise_entry(std::string name, std::string description, ParameterSpec size, double start,
                               std::string text, std::function<void(FixedPointProblem&, std::size_t)> known) {
  return {std::move(name), std::move(description), {std::move(size)}, [start, text, known](const ParameterValues& p) {
            const auto n = static_cast<std::size_t>(p.at("n"));
            FixedPointProblem prob;
            prob.op = wrap(std::make_shared<const Functor>());
            prob.x0.assign(n, start);
            prob.description = text + ", n = " + std::to_string(n);
            known(prob, n);
            return prob;
          }};
}

/// n: 1 <= n <= 10^7, 1 by default.
ParameterSpec vector_size() {
  return size_parameter(1, "1 <= n <= 10^7", [](double n) { return n >= 1 && n <= max_vector_size; });
}

}  // namespace

std::optional<std::string> ParameterSpec::violation(double value) const {
  if (!std::isfinite(value)) return "a finite number";
  if (integer && (value != std::floor(value) || std::abs(value) > max_exact_integer)) return "an integer";
  if (valid && !valid(value)) return rule;
  return std::nullopt;
}

double FixedPointProblem::residual_norm(std::span<const double> x) const {
  std::vector<double> g(x.size());
  op(x, g);
  using ops = contiguous_vector_ops<std::span<const double>, double>;  // the core's one-pass ||a - b||_2
  return ops::distance2(g, x);
}

void ProblemCatalogue::register_problem(ProblemEntry entry) {
  require(!entry.name.empty(), "ProblemEntry::name", std::string("\"\""), "a non-empty name");
  require(find(entry.name) == nullptr, "ProblemEntry::name", entry.name, "a name not yet in the catalogue");
  require(static_cast<bool>(entry.make), "ProblemEntry::make", entry.name, "a factory function");
  entries_.push_back(std::move(entry));
}

const ProblemEntry* ProblemCatalogue::find(std::string_view name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const ProblemEntry& e) { return e.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

std::vector<std::string> ProblemCatalogue::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.name);
  return out;
}

FixedPointProblem ProblemCatalogue::make(std::string_view name, const ParameterValues& given) const {
  const ProblemEntry* entry = find(name);
  require(entry != nullptr, "problem", std::string(name), "one of " + join(names()));
  std::vector<std::string> taken;
  for (const auto& spec : entry->parameters) taken.push_back(spec.name);
  for (const auto& [key, value] : given) {
    require(std::find(taken.begin(), taken.end(), key) != taken.end(), entry->name + " parameter " + key, value,
            "problem " + entry->name + " takes only " + join(taken));
  }
  ParameterValues values;
  for (const auto& spec : entry->parameters) {
    auto it = given.find(spec.name);
    const double v = it == given.end() ? spec.default_value : it->second;
    const auto broken = spec.violation(v);
    require(!broken, entry->name + " parameter " + spec.name, v, broken.value_or(""));
    values[spec.name] = v;
  }
  FixedPointProblem prob = entry->make(values);
  prob.name = entry->name;
  prob.parameters = std::move(values);
  return prob;
}

void register_builtin_problems(ProblemCatalogue& catalogue) {
  catalogue.register_problem(ProblemEntry{
      "heq",
      "Chandrasekhar H-equation G(x)_i = 1 / (1 - (c / 2N) sum_j mu_i x_j / (mu_i + mu_j)), mu_i = (i - 1/2) / N, "
      "x0 = 1; Picard's rate is at most 1 - sqrt(1 - c).",
      {ParameterSpec{"c", 0.99, "albedo", "0 < c <= 1", [](double c) { return c > 0 && c <= 1; }, false},
       size_parameter(512, "1 <= n <= 10000", [](double n) { return n >= 1 && n <= 10000; },
                      "number of quadrature nodes N")},
      make_heq});
  catalogue.register_problem(ProblemEntry{
      "linear",
      "G(x) = M x + b, M = Q diag(lambda) Q^T with lambda evenly spaced in [0, rho], Q a seeded random orthogonal "
      "matrix, b ~ N(0, 1), x0 = 0; x* = (I - M)^-1 b and Picard's rate is exactly rho.",
      {size_parameter(100, "1 <= n <= 2000", [](double n) { return n >= 1 && n <= 2000; }),
       ParameterSpec{"rho", 0.9, "spectral radius of M", "0 <= rho < 1", [](double r) { return r >= 0 && r < 1; },
                     false},
       ParameterSpec{"seed", 1, "random seed of Q and b", "0 <= seed <= 2^53",
                     [](double s) { return s >= 0 && s <= max_exact_integer; }, true}},
      make_linear});
  catalogue.register_problem(elementwise_entry<problems::Rotation>(
      "rotation",
      "G(x) = R x, R the 90-degree rotation of each pair (x_1, x_2), (x_3, x_4), ...; x0 = 1, x* = 0. Nonexpansive: "
      "Picard cycles, Krasnoselskii-Mann with relaxation 0.5 converges at rate sqrt(0.5).",
      size_parameter(2, "2 <= n <= 10^7 and n even",
                     [](double n) { return n >= 2 && n <= max_vector_size && std::fmod(n, 2.0) == 0; }),
      1.0, "plane rotation by 90 degrees", [](FixedPointProblem& prob, std::size_t n) {
        prob.known.solution = std::vector<double>(n, 0.0);
        prob.known.rate = 1.0;
        prob.known.note =
            "Picard cycles with period 4 (its residual never falls); Krasnoselskii-Mann with relaxation 0.5 converges "
            "at rate sqrt(0.5) = 0.7071.";
      }));
  catalogue.register_problem(elementwise_entry<problems::Expanding>(
      "diverge", "G(x) = 2 x + 1 elementwise, x0 = 0: the fixed point -1 repels, so Picard diverges.", vector_size(),
      0.0, "expanding map 2 x + 1", [](FixedPointProblem& prob, std::size_t n) {
        prob.known.solution = std::vector<double>(n, -1.0);
        prob.known.rate = 2.0;
        prob.known.picard_status = Status::diverged;
        prob.known.note = "The fixed point -1 repels: Picard's residual doubles every iteration.";
      }));
  catalogue.register_problem(elementwise_entry<problems::SqrtMinusOne>(
      "nan", "G(x) = sqrt(x) - 1 elementwise, x0 = 0: x1 = -1 and G(x1) is NaN; there is no real fixed point.",
      vector_size(), 0.0, "sqrt(x) - 1", [](FixedPointProblem& prob, std::size_t) {
        prob.known.picard_status = Status::non_finite;
        prob.known.note = "x = sqrt(x) - 1 has no real solution; Picard produces NaN at its second evaluation.";
      }));
}

ProblemCatalogue& default_problem_catalogue() {
  static ProblemCatalogue catalogue = [] {
    ProblemCatalogue c;
    register_builtin_problems(c);
    return c;
  }();
  return catalogue;
}

}  // namespace iterop::experiments
