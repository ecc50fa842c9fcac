// The one list of Volterra rules, and what is generated from a list: the names, the table of orders
// and scopes, the dispatch by name. Adding a rule: its header, and one line in volterra_rules below.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "iterop/core/errors.hpp"
#include "iterop/quadrature/block_by_block.hpp"
#include "iterop/quadrature/first_kind_midpoint.hpp"
#include "iterop/quadrature/first_kind_trapezoid.hpp"
#include "iterop/quadrature/grid.hpp"
#include "iterop/quadrature/integro_differential.hpp"
#include "iterop/quadrature/product_trapezoid.hpp"
#include "iterop/quadrature/trapezoid.hpp"
#include "iterop/quadrature/volterra_problem.hpp"
#include "iterop/quadrature/volterra_result.hpp"
#include "iterop/quadrature/volterra_rule.hpp"

namespace iterop::quadrature {

/// A list of rules (each a VolterraRule). `append<R...>` is the list with more rules at the end,
/// e.g. a test's own list: `using mine = volterra_rules::append<MyRule>;`.
template <VolterraRule... R>
struct rule_list {
  static constexpr std::size_t size = sizeof...(R);
  template <VolterraRule... More>
  using append = rule_list<R..., More...>;
};

/// Every rule of iterop::quadrature, in the order of the command line's list. The first rule that
/// fits an equation (kind, kernel) is its default, so keep the general ones first.
using volterra_rules = rule_list<Trapezoid, BlockBySimpson, ProductTrapezoid, FirstKindMidpoint, FirstKindTrapezoid,
                                IdeTrapezoid>;

/// A rule's data as a value (one row of the order table).
struct RuleInfo {
  std::string_view name;
  int order = 0;
  EquationKind equation = EquationKind::second_kind;
  bool weakly_singular = false;
  bool convolution = false;
  GridKind grids = GridKind::any;
  int nodes_per_step = 1;
  std::string_view summary;

  template <VolterraRule R>
  static constexpr RuleInfo of() {
    return {R::name, R::order, R::equation, R::weakly_singular, R::convolution, R::grids, R::nodes_per_step, R::summary};
  }
  /// True when the rule solves `kind` and, for a weakly singular kernel (a > 0), accepts it.
  constexpr bool fits(EquationKind kind, double singular_exponent = 0) const {
    return equation == kind && (!(singular_exponent > 0) || weakly_singular);
  }
};

/// The order table of a list: one RuleInfo per rule, in the list's order.
template <class List> struct rule_table_of;
template <class... R> struct rule_table_of<rule_list<R...>> {
  static constexpr std::array<RuleInfo, sizeof...(R)> value{RuleInfo::of<R>()...};
};
template <class List>
constexpr const auto& rule_table() { return rule_table_of<List>::value; }

/// The names of a list's rules, in its order.
template <class List>
std::vector<std::string_view> rule_names() {
  std::vector<std::string_view> out;
  for (const RuleInfo& r : rule_table<List>()) out.push_back(r.name);
  return out;
}

/// The row of the rule named `name`, or nullptr.
template <class List>
constexpr const RuleInfo* find_rule(std::string_view name) {
  for (const RuleInfo& r : rule_table<List>())
    if (r.name == name) return &r;
  return nullptr;
}

/// The first rule of the list that fits (kind, singular exponent): the natural default; nullptr if none.
template <class List>
constexpr const RuleInfo* default_rule(EquationKind kind, double singular_exponent = 0) {
  for (const RuleInfo& r : rule_table<List>())
    if (r.fits(kind, singular_exponent)) return &r;
  return nullptr;
}

/// True when no two rules of the list share a name (checked for volterra_rules below).
template <class List>
constexpr bool names_are_unique() {
  const auto& t = rule_table<List>();
  for (std::size_t i = 0; i < t.size(); ++i)
    for (std::size_t j = i + 1; j < t.size(); ++j)
      if (t[i].name == t[j].name) return false;
  return true;
}
static_assert(names_are_unique<volterra_rules>(), "Two rules of volterra_rules have the same name.");

/// Calls f(R{}) with a default-constructed R, the rule of List named `name`; returns false (and
/// calls nothing) when no rule has that name.
template <class List, class F>
bool visit_rule(std::string_view name, F&& f) {
  return [&]<class... R>(rule_list<R...>*) { return ((R::name == name ? (f(R{}), true) : false) || ...); }(
      static_cast<List*>(nullptr));
}

/// "a, b, c" (or "a, b or c" with last = " or "): the names of a list, for messages.
template <class List>
std::string rule_names_text(std::string_view last = ", ") {
  std::string out;
  const auto& t = rule_table<List>();
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (i > 0) out += i + 1 == t.size() ? std::string(last) : std::string(", ");
    out += t[i].name;
  }
  return out;
}

/// Solves `problem` on `grid` with the rule of List named `name` (default options). Throws
/// invalid_option naming `field` when no rule has that name ("one of ...") or when the rule solves
/// another kind of equation.
template <class List, class Problem>
VolterraResult solve_by_name(std::string_view name, const Problem& problem, const Grid& grid,
                             std::string_view field = "method") {
  VolterraResult out;
  bool fits = true;
  const bool found = visit_rule<List>(name, [&](const auto& rule) {
    using R = std::decay_t<decltype(rule)>;
    if constexpr (std::is_same_v<typename problem_of<R::equation>::type, Problem>)
      out = solve_volterra(problem, grid, rule);
    else
      fits = false;
  });
  require(found, field, std::string(name), "one of " + rule_names_text<List>());
  require(fits, field, std::string(name), "a rule that fits the kind of equation");
  return out;
}

}  // namespace iterop::quadrature
