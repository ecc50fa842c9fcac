// muparser behind VolterraExpression (variables bound by address, unknown names caught by a variable
// factory, syntax errors with their position), and the Volterra problems built from expressions.
#include "iterop/experiments/problems/volterra_expression.hpp"

#include "iterop/core/enum_names.hpp"

#include <muParser.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numbers>

#include "iterop/core/errors.hpp"
#include "iterop/experiments/runner/table.hpp"

namespace iterop::experiments {

namespace {

[[noreturn]] void fail(const std::string& option, const std::string& text, const std::string& rule) {
  throw invalid_option(option + " = \"" + text + "\". Violated constraint: " + rule + ".");
}

bool is_name_char(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_'; }

/// Position of `name` as a whole word in `text`, or npos.
std::size_t find_word(const std::string& text, const std::string& name) {
  for (std::size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
    const bool left = at == 0 || !is_name_char(text[at - 1]);
    const bool right = at + name.size() >= text.size() || !is_name_char(text[at + name.size()]);
    if (left && right) return at;
  }
  return std::string::npos;
}

/// muparser's message without its trailing " at position N" and full stop.
std::string parser_message(const std::string& msg) {
  std::string m = msg;
  if (const auto at = m.rfind(" at position "); at != std::string::npos) m.erase(at);
  while (!m.empty() && (m.back() == '.' || m.back() == ' ')) m.pop_back();
  return m;
}

constexpr EnumNames<VolterraKind, 3> kind_names{
    {{{VolterraKind::second, "second"}, {VolterraKind::first, "first"}, {VolterraKind::ide, "ide"}}}};

/// The variables each expression of `kind` may use: f ("t" or "t, y" for ide), kernel, exact ("t").
std::vector<std::string> expression_variables(VolterraKind kind, std::string_view which) {
  if (which == "f") return kind == VolterraKind::ide ? std::vector<std::string>{"t", "y"} : std::vector<std::string>{"t"};
  if (which == "kernel")
    return kind == VolterraKind::first ? std::vector<std::string>{"t", "s"} : std::vector<std::string>{"t", "s", "y"};
  return {"t"};
}

}  // namespace

struct VolterraExpression::Impl {
  std::string option;
  std::string text;
  std::vector<std::string> allowed;
  std::vector<std::string> used;
  double t = 0, s = 0, y = 0;
  double dummy = 0;
  std::vector<std::string> unknown;  // names met by the variable factory while parsing
  mu::Parser parser;

  static double* factory(const char* name, void* self) {
    auto* impl = static_cast<Impl*>(self);
    impl->unknown.emplace_back(name);
    return &impl->dummy;
  }
};

VolterraExpression::VolterraExpression(std::string option, std::string text, std::vector<std::string> variables)
    : impl_(std::make_unique<Impl>()) {
  Impl& im = *impl_;
  im.option = std::move(option);
  im.text = std::move(text);
  im.allowed = std::move(variables);
  for (const auto& v : im.allowed)
    require(v == "t" || v == "s" || v == "y", "VolterraExpression variable", v, "one of t, s, y");
  const std::string rule_head = "a valid expression in " + join(im.allowed);
  if (im.text.find_first_not_of(" \t") == std::string::npos)
    fail(im.option, im.text, rule_head + " (the expression is empty)");

  // muparser takes "t = 1" as an assignment to t (its value, 1, would be the expression): refuse "=" that
  // is not part of ==, <=, >= or !=.
  for (std::size_t at = im.text.find('='); at != std::string::npos; at = im.text.find('=', at + 1)) {
    const char before = at > 0 ? im.text[at - 1] : ' ', after = at + 1 < im.text.size() ? im.text[at + 1] : ' ';
    if (after == '=') {
      ++at;
      continue;
    }
    if (before != '<' && before != '>' && before != '!' && before != '=')
      fail(im.option, im.text,
           rule_head + ", not an assignment (\"=\" at position " + std::to_string(at) + "; a comparison is ==)");
  }
  im.parser.DefineConst("pi", std::numbers::pi);
  for (const auto& v : im.allowed) im.parser.DefineVar(v, v == "t" ? &im.t : v == "s" ? &im.s : &im.y);
  im.parser.SetVarFactory(&Impl::factory, &im);

  std::optional<mu::Parser::exception_type> syntax;
  try {
    im.parser.SetExpr(im.text);
    for (const auto& variable : im.parser.GetUsedVar()) im.used.push_back(variable.first);
  } catch (const mu::Parser::exception_type& e) {
    syntax = e;
  }
  // An unknown name is the likeliest cause of any error that came with it: name it first.
  if (!im.unknown.empty()) {
    const std::string& name = im.unknown.front();
    // A number too large for a double ("1e999") reaches the variable factory as a name.
    if (std::isdigit(static_cast<unsigned char>(name.front())) != 0 || name.front() == '.')
      fail(im.option, im.text,
           rule_head + " with finite numbers (" + name + " overflows a double, whose largest value is about 1.8e308)");
    const std::size_t at = find_word(im.text, name);
    const bool call = at != std::string::npos && im.text.find_first_not_of(' ', at + name.size()) != std::string::npos &&
                      im.text[im.text.find_first_not_of(' ', at + name.size())] == '(';
    fail(im.option, im.text,
         std::string(call ? "known functions only; unknown function \""
                         : (im.allowed.size() == 1 ? "only the variable " : "only the variables ") + join(im.allowed) +
                               "; unknown variable \"") +
             name + "\"" + (at != std::string::npos ? " at position " + std::to_string(at) : std::string()) +
             (call ? " (muparser's functions: sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, exp, log, ln, log2, "
                     "log10, sqrt, abs, sign, rint, min, max, sum, avg)"
                   : std::string()));
  }
  if (syntax) {
    const int len = static_cast<int>(im.text.size());
    const int pos = std::clamp(syntax->GetPos(), 0, len);
    const std::string marked = im.text.substr(0, static_cast<std::size_t>(pos)) + "[" +
                               (pos < len ? im.text.substr(static_cast<std::size_t>(pos), 1) : std::string()) + "]" +
                               (pos + 1 < len ? im.text.substr(static_cast<std::size_t>(pos) + 1) : std::string());
    fail(im.option, im.text,
         rule_head + " (syntax error at position " + std::to_string(pos) + ", marked [ ]: " + marked +
             "; muparser: " + parser_message(syntax->GetMsg()) + ")");
  }
  // "1, 2" parses as two results: one value is wanted.
  try {
    (void)im.parser.Eval();
  } catch (const mu::Parser::exception_type& e) {
    fail(im.option, im.text, rule_head + " (muparser: " + parser_message(e.GetMsg()) + ")");
  }
  if (im.parser.GetNumResults() != 1)
    fail(im.option, im.text, rule_head + " giving one value, not a comma-separated list of " +
                                 std::to_string(im.parser.GetNumResults()));
}

VolterraExpression::~VolterraExpression() = default;
VolterraExpression::VolterraExpression(VolterraExpression&&) noexcept = default;
VolterraExpression& VolterraExpression::operator=(VolterraExpression&&) noexcept = default;

double VolterraExpression::operator()(double t, double s, double y) {
  Impl& im = *impl_;
  im.t = t;
  im.s = s;
  im.y = y;
  ++evaluations_;
  return im.parser.Eval();
}

bool VolterraExpression::uses(std::string_view name) const {
  return std::find(impl_->used.begin(), impl_->used.end(), name) != impl_->used.end();
}

std::string to_string(VolterraKind kind) { return std::string(kind_names.name(kind)); }

VolterraKind parse_volterra_kind(const std::string& name) { return kind_names.parse(name, "--kind"); }

void VolterraExpressionProblem::reset_evaluations() const {
  f->reset_evaluations();
  kernel->reset_evaluations();
  if (exact) exact->reset_evaluations();
}

VolterraExpressionProblem make_expression_problem(const VolterraExpressionSpec& spec) {
  namespace q = quadrature;
  require(std::isfinite(spec.T) && spec.T > 0, "--T", spec.T, "0 < T < infinity");
  if (spec.kind == VolterraKind::ide) {
    require(spec.y0.has_value(), "--y0", std::string("(not given)"), "--kind ide needs the initial value --y0");
    require(std::isfinite(*spec.y0), "--y0", *spec.y0, "a finite initial value");
  } else {
    require(!spec.y0.has_value(), "--y0", spec.y0.value_or(0.0),
            "only with --kind ide (an integral equation of the " + to_string(spec.kind) + " kind has no initial value)");
  }
  if (spec.singular_exponent) {
    const double a = *spec.singular_exponent;
    require(spec.kind != VolterraKind::ide, "--singular-exponent", a,
            "only with --kind second or first (the weakly singular factor (t - s)^(-a) of an integral equation)");
    require(a > 0 && a < 1, "--singular-exponent", a, "0 < a < 1");
  }

  VolterraExpressionProblem out;
  out.spec = spec;
  out.f = std::make_shared<VolterraExpression>("--f", spec.f, expression_variables(spec.kind, "f"));
  out.kernel = std::make_shared<VolterraExpression>("--kernel", spec.kernel, expression_variables(spec.kind, "kernel"));
  if (spec.exact) out.exact = std::make_shared<VolterraExpression>("--exact", *spec.exact, expression_variables(spec.kind, "exact"));
  auto f = out.f;
  auto K = out.kernel;
  auto ex = out.exact;
  const double a = spec.singular_exponent.value_or(0.0);
  const q::Kernel kernel = [K](double t, double s, std::span<const double> y, std::span<double> o) {
    o[0] = (*K)(t, s, y[0]);
  };
  q::Exact exact;
  if (ex) exact = [ex](double t, std::span<double> o) { o[0] = (*ex)(t); };
  switch (spec.kind) {
    case VolterraKind::second:
      out.problem = q::SecondKindProblem{.id = "user", .T = spec.T,
                                         .forcing = [f](double t, std::span<double> o) { o[0] = (*f)(t); },
                                         .kernel = kernel, .singular_exponent = a, .exact = exact};
      break;
    case VolterraKind::first:
      out.problem = q::FirstKindProblem{
          .id = "user", .T = spec.T, .kernel = [K](double t, double s) { return (*K)(t, s); },
          .rhs = [f](double t) { return (*f)(t); },
          .exact = ex ? std::function<double(double)>([ex](double t) { return (*ex)(t); }) : nullptr,
          .singular_exponent = a};
      break;
    case VolterraKind::ide:
      out.problem = q::IntegroDifferentialProblem{
          .id = "user", .T = spec.T,
          .rhs = [f](double t, std::span<const double> y, std::span<double> o) { o[0] = (*f)(t, 0.0, y[0]); },
          .kernel = kernel, .y0 = {*spec.y0}, .exact = exact};
      break;
  }
  return out;
}

}  // namespace iterop::experiments
