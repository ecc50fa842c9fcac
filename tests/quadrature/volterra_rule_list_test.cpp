// Tests of the one list of Volterra rules (volterra_rules.hpp): a toy rule added here through the
// list appears in the names, the order table and the dispatch by name, and converges at its order.
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "iterop/diagnostics/observed_order.hpp"
#include "iterop/quadrature/march.hpp"
#include "iterop/quadrature/reference_problems.hpp"
#include "iterop/quadrature/volterra_rules.hpp"

namespace q = iterop::quadrature;

namespace {

/// A toy rule, the implicit (right-endpoint) rectangle rule, order 1: one struct of data and weights,
///   y_n = f(t_n) + sum_{j=1}^{n} (t_j - t_{j-1}) K(t_n, t_j, y_j).
struct Rectangle {
  static constexpr std::string_view name = "rectangle";
  static constexpr int order = 1;
  static constexpr q::EquationKind equation = q::EquationKind::second_kind;
  static constexpr bool weakly_singular = false;
  static constexpr bool convolution = false;
  static constexpr q::GridKind grids = q::GridKind::any;
  static constexpr int nodes_per_step = 1;
  static constexpr std::string_view summary = "the implicit rectangle rule";

  q::StepSolver step{};
  double blow_up_threshold = 1e12;

  void validate() const { step.validate(); }

  void weights(const q::SecondKindProblem&, const q::Grid& grid, q::SecondKindStep& s) const {
    const std::vector<double>& t = grid.t;
    q::StepEquation& e = s.equations[0];
    const int n = e.node;
    e.history.assign(static_cast<std::size_t>(n), 0.0);
    for (int j = 1; j < n; ++j) e.history[j] = t[j] - t[j - 1];
    e.points.push_back({.s = t[n], .weight = t[n] - t[n - 1]});
  }
};

/// The one line that adds the rule (here to a test's own list, not to the library's).
using test_rules = q::volterra_rules::append<Rectangle>;

/// Observed order of the rule named `name` of List over N = base, 2 base, ..., 16 base.
template <class List, class Problem>
double observed_order_of(std::string_view name, const Problem& p, int base) {
  std::vector<double> h, e;
  for (int i = 0; i < 5; ++i) {
    const auto grid = q::Grid::uniform(p.T, base << i);
    const auto r = q::solve_by_name<List>(name, p, grid);
    EXPECT_TRUE(r.converged()) << name << " N = " << (base << i) << ": " << r.message;
    h.push_back(grid.max_step());
    e.push_back(r.max_error);
  }
  return iterop::observed_order(h, e);
}

TEST(RuleList, ToyRuleIsInTheNamesAndTheOrderTable) {
  const auto names = q::rule_names<test_rules>();
  ASSERT_EQ(names.size(), q::volterra_rules::size + 1);
  EXPECT_EQ(names.back(), "rectangle");
  EXPECT_EQ(names.front(), q::Trapezoid::name);
  const q::RuleInfo* row = q::find_rule<test_rules>("rectangle");
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->order, 1);
  EXPECT_EQ(row->equation, q::EquationKind::second_kind);
  EXPECT_EQ(row->summary, Rectangle::summary);
  EXPECT_EQ(q::rule_names_text<test_rules>(" or "),
            "trapezoid, block_simpson, product_trapezoid, midpoint, first_kind_trapezoid, ide_trapezoid or rectangle");
  // The library's list is unchanged, and does not know the toy rule.
  EXPECT_EQ(q::find_rule<q::volterra_rules>("rectangle"), nullptr);
  EXPECT_EQ(q::find_rule<q::volterra_rules>("block_simpson")->order, q::BlockBySimpson::order);
  // Defaults come from the list's order: the toy rule, last, is nobody's default.
  EXPECT_EQ(q::default_rule<test_rules>(q::EquationKind::second_kind)->name, "trapezoid");
  EXPECT_EQ(q::default_rule<test_rules>(q::EquationKind::second_kind, 0.5)->name, "product_trapezoid");
  EXPECT_EQ(q::default_rule<test_rules>(q::EquationKind::first_kind)->name, "midpoint");
}

TEST(RuleList, ToyRuleIsDispatchedByNameAndConvergesAtItsOrder) {
  const auto p = q::reference::L2();
  const auto grid = q::Grid::uniform(p.T, 64);
  const auto by_name = q::solve_by_name<test_rules>("rectangle", p, grid);
  const auto direct = q::solve_volterra(p, grid, Rectangle{});
  EXPECT_EQ(by_name.method, "rectangle");
  EXPECT_EQ(by_name.order, 1);
  EXPECT_EQ(by_name.y, direct.y);
  EXPECT_EQ(static_cast<int>(by_name.step_iterations.size()), 64);
  // Not N1: its K(t, s, y) vanishes at s = 0 and s = t, where the rectangle rule's h-term cancels.
  for (const char* id : {"L2", "N3"}) {
    const double order = observed_order_of<test_rules>("rectangle", q::reference::second_kind(id), 32);
    EXPECT_NEAR(order, q::find_rule<test_rules>("rectangle")->order, 0.3) << id;
  }
}

TEST(RuleList, EverySecondKindRuleOfTheListConvergesAtItsTableOrder) {
  // Driven by the list alone: a rule added to it is tested here without another line.
  const auto p = q::reference::L2();
  for (const q::RuleInfo& r : q::rule_table<test_rules>()) {
    if (r.equation != q::EquationKind::second_kind) continue;
    EXPECT_NEAR(observed_order_of<test_rules>(r.name, p, 16), r.order, 0.3) << r.name;
  }
}

TEST(RuleList, DispatchByNameEqualsTheRuleAndRefusesWhatDoesNotFit) {
  const auto grid = q::Grid::uniform(1, 16);
  EXPECT_EQ(q::solve_by_name<q::volterra_rules>("block_simpson", q::reference::N3(), grid).y,
            q::solve_volterra(q::reference::N3(), grid, q::BlockBySimpson{}).y);
  EXPECT_EQ(q::solve_by_name<q::volterra_rules>("midpoint", q::reference::F2(), grid).y,
            q::solve_volterra(q::reference::F2(), grid, q::FirstKindMidpoint{}).y);
  try {
    (void)q::solve_by_name<q::volterra_rules>("rectangle", q::reference::L2(), grid);
    FAIL();
  } catch (const iterop::invalid_option& e) {
    EXPECT_STREQ(e.what(), "method = rectangle. Violated constraint: one of trapezoid, block_simpson, "
                           "product_trapezoid, midpoint, first_kind_trapezoid, ide_trapezoid.");
  }
  EXPECT_THROW((void)q::solve_by_name<test_rules>("rectangle", q::reference::F2(), grid), iterop::invalid_option);
  EXPECT_THROW((void)q::solve_by_name<test_rules>("ide_trapezoid", q::reference::L2(), grid), iterop::invalid_option);
}

TEST(RuleList, RulesStateTheirScopeAsData) {
  static_assert(q::SecondKindRule<q::Trapezoid> && q::SecondKindRule<q::BlockBySimpson> &&
                q::SecondKindRule<q::ProductTrapezoid> && q::SecondKindRule<Rectangle>);
  static_assert(!q::SecondKindRule<q::FirstKindMidpoint> && !q::SecondKindRule<q::IdeTrapezoid>);
  constexpr const auto& table = q::rule_table<q::volterra_rules>();
  static_assert(table[1].name == "block_simpson" && table[1].grids == q::GridKind::uniform &&
                table[1].nodes_per_step == 2 && table[1].order == 4);
  static_assert(table[2].weakly_singular && !table[0].weakly_singular);
  EXPECT_EQ(table.size(), 6u);
}

}  // namespace
