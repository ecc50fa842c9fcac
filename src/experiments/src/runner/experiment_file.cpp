// Experiment files: TOML parsing with toml++, key and type checks with the line of each key, sweeps
// (every list is a cartesian factor), and the cells of a fixed-point sweep or a Volterra study.
#include "iterop/experiments/runner/experiment_file.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#if __has_include(<toml++/toml.hpp>)
#include <toml++/toml.hpp>
#else
#include <toml++/toml.h>  // Debian 12's libtomlplusplus-dev 3.3 installs only this name
#endif

#include "iterop/experiments/runner/table.hpp"
#include "iterop/quadrature/reference_problems.hpp"

namespace iterop::experiments {

namespace {

// ---------------------------------------------------------------------------------------------
// Reading: errors with file and line, value text, key checks, typed values.

int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

/// A value as the file spells it (strings in double quotes, lists in brackets, tables as {...}).
std::string value_text(const toml::node& n) {
  if (const auto* s = n.as_string()) return "\"" + s->get() + "\"";
  if (const auto* i = n.as_integer()) return std::to_string(i->get());
  if (const auto* d = n.as_floating_point()) return format_exact(d->get());
  if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* a = n.as_array()) {
    std::string s = "[";
    for (std::size_t i = 0; i < a->size(); ++i) s += (i ? ", " : "") + value_text(*a->get(i));
    return s + "]";
  }
  if (n.is_table()) return "{...}";
  return "(a date or time)";
}

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  [[noreturn]] void fail(int line, const std::string& message) const {
    throw experiment_file_error((line > 0 ? file_ + ":" + std::to_string(line) + ": " : file_ + ": ") + message);
  }

  /// "<path> = <value>. Violated constraint: <rule>." at the node's line.
  [[noreturn]] void bad(const toml::node& n, const std::string& path, const std::string& rule) const {
    fail(line_of(n), path + " = " + value_text(n) + ". Violated constraint: " + rule + ".");
  }

  /// Every key of `t` must be in `allowed`; the first unknown one is an error at its line.
  void check_keys(const toml::table& t, const std::string& path, const std::string& where,
                  const std::vector<std::string>& allowed) const {
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      fail(static_cast<int>(k.source().begin.line),
           (path.empty() ? key : path + "." + key) + " = " + value_text(v) + ". Violated constraint: a known key of " +
               where + " (unknown key; the keys are " + join(allowed) + ").");
    }
  }

  std::string string(const toml::node& n, const std::string& path) const {
    if (const auto* s = n.as_string()) return s->get();
    bad(n, path, "a string");
  }

  double number(const toml::node& n, const std::string& path) const {
    if (const auto* i = n.as_integer()) {
      // An integer past 2^53 would be rounded by the double it becomes.
      if (i->get() > (1LL << 53) || i->get() < -(1LL << 53)) bad(n, path, "a number of magnitude at most 2^53");
      return static_cast<double>(i->get());
    }
    if (const auto* d = n.as_floating_point()) {
      if (!std::isfinite(d->get())) bad(n, path, "a finite number");
      return d->get();
    }
    bad(n, path, "a number");
  }

  long long integer(const toml::node& n, const std::string& path) const {
    if (const auto* i = n.as_integer()) return i->get();
    bad(n, path, "an integer");
  }

  bool boolean(const toml::node& n, const std::string& path) const {
    if (const auto* b = n.as_boolean()) return b->get();
    bad(n, path, "true or false");
  }

 private:
  std::string file_;
};

/// One chosen value of a key: the key and the node (a scalar, or the whole list of an unswept key).
struct Choice {
  std::string key;
  const toml::node* node = nullptr;
  bool swept = false;  ///< the key's value in the file is a list of alternatives
};
using Combination = std::vector<Choice>;

const toml::node* find(const Combination& c, std::string_view key) {
  for (const auto& ch : c)
    if (ch.key == key) return ch.node;
  return nullptr;
}

bool swept(const Combination& c, std::string_view key) {
  for (const auto& ch : c)
    if (ch.key == key) return ch.swept;
  return false;
}

/// The most cells one experiment file may have: cells are built (and cached) one by one, and a sweep of
/// 100^4 cells once exhausted memory; counted arithmetically before any cell is built.
constexpr std::uint64_t max_file_cells = 100000;

/// a * b, saturating at the largest std::uint64_t.
std::uint64_t times(std::uint64_t a, std::uint64_t b) {
  return a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a ? std::numeric_limits<std::uint64_t>::max()
                                                                       : a * b;
}

/// Fails at `line` when a sweep of `count` cells (made of `factors`, in words) exceeds max_file_cells.
void require_sweep_size(const Reader& reader, int line, std::uint64_t count, const std::string& factors) {
  if (count <= max_file_cells) return;
  reader.fail(line, "the sweep has " +
                        (count == std::numeric_limits<std::uint64_t>::max() ? std::string("more than 10^19")
                                                                             : std::to_string(count)) +
                        " cells (" + factors + "). Violated constraint: at most " + std::to_string(max_file_cells) +
                        " cells in one experiment file; shorten its lists or split it into several files.");
}

/// The cartesian product of the keys of `t` (in key order, the last key varying fastest): a list is a
/// sweep over its elements, except for keys in `lists` (whose list is one value); keys in `tables` are
/// skipped (read elsewhere); any other table is an error.
std::vector<Combination> expand(const Reader& reader, const toml::table& t, const std::string& path,
                                const std::set<std::string>& lists = {}, const std::set<std::string>& tables = {}) {
  // The size first, arithmetically: a product too large is refused before anything is built.
  std::uint64_t count = 1;
  std::string factors;
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    const auto* a = v.as_array();
    if (tables.count(key) != 0 || a == nullptr || lists.count(key) != 0) continue;
    count = times(count, std::max<std::uint64_t>(a->size(), 1));
    factors += (factors.empty() ? "" : " x ") + std::to_string(a->size()) + " " + path + "." + key;
  }
  require_sweep_size(reader, line_of(t), count, factors);
  std::vector<Combination> out(1);
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    if (tables.count(key) != 0) continue;
    if (v.is_table()) reader.bad(v, path + "." + key, "a value or a list of values (not a table)");
    std::vector<Choice> options;
    if (const auto* a = v.as_array(); a != nullptr && lists.count(key) == 0) {
      if (a->empty()) reader.bad(v, path + "." + key, "a value or a non-empty list of values (a list is a sweep)");
      for (const auto& e : *a) {
        if (e.is_array() || e.is_table())
          reader.bad(e, path + "." + key, "a single value in a sweep list (no nested lists or tables)");
        options.push_back({key, &e, true});
      }
    } else {
      options.push_back({key, &v, false});
    }
    std::vector<Combination> next;
    for (const auto& c : out)
      for (const auto& o : options) {
        Combination n = c;
        n.push_back(o);
        next.push_back(std::move(n));
      }
    out = std::move(next);
  }
  return out;
}

/// The tables of `key` in `root`: a [key] table gives one, a [[key]] array of tables gives each.
std::vector<const toml::table*> tables_of(const Reader& reader, const toml::table& root, const std::string& key,
                                          bool required, const std::string& what) {
  const toml::node* n = root.get(key);
  if (n == nullptr) {
    if (required) reader.fail(0, "[" + key + "] is missing. Violated constraint: " + what + ".");
    return {};
  }
  if (const auto* t = n->as_table()) return {t};
  if (const auto* a = n->as_array()) {
    std::vector<const toml::table*> out;
    for (const auto& e : *a) {
      const auto* t = e.as_table();
      if (t == nullptr) reader.bad(e, key, "a table ([" + key + "] or [[" + key + "]])");
      out.push_back(t);
    }
    if (out.empty()) reader.bad(*n, key, "at least one [[" + key + "]] table");
    return out;
  }
  reader.bad(*n, key, "a table ([" + key + "] or [[" + key + "]])");
}

/// The one [key] table of `root` with its keys checked, or nullptr when there is none and `required` is empty
/// (otherwise its absence is an error saying what is required).
const toml::table* one_table(const Reader& reader, const toml::table& root, const std::string& key,
                             const std::vector<std::string>& keys, const std::string& required = "") {
  const auto tables = tables_of(reader, root, key, !required.empty(), required);
  if (tables.empty()) return nullptr;
  if (tables.size() > 1)
    reader.fail(line_of(*tables[1]), "[[" + key + "]] appears twice. Violated constraint: one [" + key + "] table.");
  reader.check_keys(*tables[0], key, "[" + key + "]", keys);
  return tables[0];
}

/// Rethrows an iterop::invalid_option of a library check ("--memory = -1. Violated constraint: memory
/// >= 0.") as a file error at the line of the key the option stands for.
[[noreturn]] void rethrow_at(const Reader& reader, const invalid_option& e, const std::string& table,
                             const std::map<std::string, std::string>& option_to_key, const Combination& c,
                             int fallback_line) {
  const std::string what = e.what();
  const std::size_t eq = what.find(" = ");
  const std::string option = eq == std::string::npos ? std::string() : what.substr(0, eq);
  const std::string marker = ". Violated constraint: ";
  const std::size_t rule_at = what.find(marker);
  auto it = option_to_key.find(option);
  if (it != option_to_key.end() && rule_at != std::string::npos) {
    const std::string rule = what.substr(rule_at + marker.size());
    if (const toml::node* n = find(c, it->second))
      reader.fail(line_of(*n), table + "." + it->second + " = " + value_text(*n) + marker + rule);
    reader.fail(fallback_line, table + "." + it->second + " (not given)" + marker + rule);
  }
  reader.fail(fallback_line, table + ": " + what);
}

/// Runs a library check (`check` throws iterop::invalid_option) and rethrows its failure at the line of the key
/// the option stands for (rethrow_at); the file's own errors pass through.
template <class Check>
void checked(const Reader& reader, const std::string& table, const std::map<std::string, std::string>& option_to_key,
             const Combination& c, int fallback_line, Check&& check) {
  try {
    check();
  } catch (const experiment_file_error&) {
    throw;
  } catch (const invalid_option& e) {
    rethrow_at(reader, e, table, option_to_key, c, fallback_line);
  }
}

/// A [[method]]'s `problems = ["A2", ...]`: the problems it applies to, by a problem's label or its name
/// (fixed-point) or reference id (volterra); each must name a problem of the file. Empty: every problem.
std::vector<std::string> read_problem_restriction(const Reader& reader, const toml::table& t,
                                                  const std::vector<std::string>& known) {
  const toml::node* n = t.get("problems");
  if (n == nullptr) return {};
  const auto* a = n->as_array();
  if (a == nullptr || a->empty()) reader.bad(*n, "method.problems", "a non-empty list of problem labels or names");
  std::vector<std::string> out;
  for (const auto& e : *a) {
    const std::string name = reader.string(e, "method.problems");
    if (std::find(known.begin(), known.end(), name) == known.end())
      reader.bad(e, "method.problems", "the label or name of a problem of this file (" + join(known) + ")");
    out.push_back(name);
  }
  return out;
}

/// Refuses a [[method]] whose label another one (in `methods`) has.
template <class Method>
void check_new_label(const Reader& reader, const std::vector<Method>& methods, const Method& m) {
  for (const auto& other : methods)
    if (other.label == m.label)
      reader.fail(m.line, "method.label = \"" + m.label + "\". Violated constraint: a method label that no other "
                          "[[method]] has (give label = \"...\" to tell them apart, or remove the duplicate).");
}

/// Whether a method restricted to `only` (empty: all) applies to a problem known by `names`.
bool applies(const std::vector<std::string>& only, const std::vector<std::string>& names) {
  if (only.empty()) return true;
  for (const auto& n : names)
    if (std::find(only.begin(), only.end(), n) != only.end()) return true;
  return false;
}

/// Every name the file's problems answer to (labels, catalogue names, reference ids), each once: what a
/// [[method]]'s problems = [...] may name.
template <class Problem>
std::vector<std::string> names_of(const std::vector<Problem>& problems) {
  std::vector<std::string> out;
  for (const auto& p : problems)
    for (const auto& n : p.names)
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  return out;
}

// ---------------------------------------------------------------------------------------------
// [experiment], [output]

/// [experiment]: the name, kind, description and seeds of `file`.
void read_header(const Reader& reader, const toml::table& root, ExperimentFile& file) {
  const toml::table& t = *one_table(reader, root, "experiment", {"name", "kind", "description", "seed"},
                                    "an [experiment] table with kind = \"fixed-point\" or \"volterra\"");
  file.name = file.path.stem().string();
  if (const auto* n = t.get("name")) {
    file.name = reader.string(*n, "experiment.name");
    const bool ok = !file.name.empty() && std::all_of(file.name.begin(), file.name.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
    }) && file.name != "." && file.name != "..";
    if (!ok) reader.bad(*n, "experiment.name", "a non-empty name of letters, digits, '-', '_' and '.' (it names the report folder)");
  }
  const auto* kind = t.get("kind");
  if (kind == nullptr)
    reader.fail(line_of(t), "experiment.kind is missing. Violated constraint: kind = \"fixed-point\" or \"volterra\".");
  const std::string k = reader.string(*kind, "experiment.kind");
  if (k == "fixed-point") file.kind = ExperimentKind::fixed_point;
  else if (k == "volterra") file.kind = ExperimentKind::volterra;
  else reader.bad(*kind, "experiment.kind", "\"fixed-point\" or \"volterra\"");
  if (const auto* n = t.get("description")) file.description = reader.string(*n, "experiment.description");
  if (const auto* n = t.get("seed")) {
    auto one = [&](const toml::node& e) {
      const long long s = reader.integer(e, "experiment.seed");
      if (s < 0) reader.bad(e, "experiment.seed", "seed >= 0");
      return static_cast<std::uint64_t>(s);
    };
    if (const auto* a = n->as_array()) {
      if (a->empty()) reader.bad(*n, "experiment.seed", "a seed or a non-empty list of seeds");
      for (const auto& e : *a) {
        const auto s = one(e);
        if (std::find(file.seeds.begin(), file.seeds.end(), s) != file.seeds.end())
          reader.bad(e, "experiment.seed", "seeds that differ");
        file.seeds.push_back(s);
      }
    } else {
      file.seeds.push_back(one(*n));
    }
  } else {
    file.seeds.push_back(1);
  }
}

void read_output(const Reader& reader, const toml::table& root, ExperimentFile& file) {
  const toml::table* t = one_table(reader, root, "output", {"folder", "plots"});
  if (t == nullptr) return;
  if (const auto* n = t->get("folder")) {
    const std::string f = reader.string(*n, "output.folder");
    if (f.empty()) reader.bad(*n, "output.folder", "a non-empty folder path");
    file.output_folder = std::filesystem::path(f);
  }
  if (const auto* n = t->get("plots")) file.plots = reader.boolean(*n, "output.plots");
}

// ---------------------------------------------------------------------------------------------
// fixed-point

struct ProblemInstance {
  std::string name;
  ParameterValues given;     // as given in the file
  ParameterValues values;    // defaults filled in (seed from the cell where the problem takes one)
  bool takes_seed = false;
  bool seed_given = false;
  std::string label;
  std::vector<std::string> names;  // what [[method]] problems = [...] may call it: its label and its name
};

std::vector<ProblemInstance> read_fixed_point_problems(const Reader& reader, const toml::table& root) {
  const auto& catalogue = default_problem_catalogue();
  const std::string names = join(catalogue.names());
  std::vector<ProblemInstance> out;
  for (const toml::table* t : tables_of(reader, root, "problem", true,
                                        "a [problem] table (or [[problem]] tables) with name = one of " + names)) {
    reader.check_keys(*t, "problem", "[problem] of a fixed-point experiment", {"name", "label", "parameters"});
    for (const char* k : {"name", "label"})
      if (const auto* n = t->get(k); n != nullptr && !n->is_string()) reader.bad(*n, std::string("problem.") + k, "a string");
    const auto* name_node = t->get("name");
    if (name_node == nullptr)
      reader.fail(line_of(*t), "problem.name is missing. Violated constraint: a problem of the catalogue: " + names + ".");
    const std::string name = reader.string(*name_node, "problem.name");
    const ProblemEntry* entry = catalogue.find(name);
    if (entry == nullptr) reader.bad(*name_node, "problem.name", "one of " + names);
    std::string label;
    if (const auto* n = t->get("label")) label = reader.string(*n, "problem.label");

    std::vector<Combination> combos(1);
    if (const auto* p = t->get("parameters")) {
      const auto* pt = p->as_table();
      if (pt == nullptr) reader.bad(*p, "problem.parameters", "a table of parameter values, e.g. { c = 0.99, n = 512 }");
      std::vector<std::string> taken;
      for (const auto& spec : entry->parameters) taken.push_back(spec.name);
      reader.check_keys(*pt, "problem.parameters", "the parameters of " + name, taken);
      combos = expand(reader, *pt, "problem.parameters");
    }
    for (const auto& c : combos) {
      ProblemInstance inst;
      inst.name = name;
      std::string swept_part;
      for (const auto& spec : entry->parameters) {
        const toml::node* n = find(c, spec.name);
        double v = spec.default_value;
        if (n != nullptr) {
          v = reader.number(*n, "problem.parameters." + spec.name);
          if (const auto broken = spec.violation(v)) reader.bad(*n, "problem.parameters." + spec.name, *broken);
          inst.given[spec.name] = v;
          if (label.empty() || swept(c, spec.name)) swept_part += " " + spec.name + "=" + format_exact(v);
        }
        inst.values[spec.name] = v;
        if (spec.name == "seed") {
          inst.takes_seed = true;
          inst.seed_given = n != nullptr;
        }
      }
      inst.label = (label.empty() ? name : label) + swept_part;
      inst.names = {name};
      if (!label.empty()) inst.names.push_back(label);
      out.push_back(std::move(inst));
    }
  }
  return out;
}

struct MethodChoice {
  MethodSpec spec;
  std::string label;
  int line = 0;
  std::vector<std::string> problems;  // empty: every problem
};

std::map<std::string, std::string> method_option_keys() {
  std::map<std::string, std::string> keys;
  for (const MethodOption& o : method_options()) keys[o.flag] = o.key;
  return keys;
}

std::vector<MethodChoice> read_fixed_point_methods(const Reader& reader, const toml::table& root,
                                                   const std::vector<std::string>& problem_names,
                                                   std::vector<std::string>& notes) {
  std::vector<MethodChoice> out;
  std::set<std::string> skipped_backends;
  const auto option_keys = method_option_keys();
  std::vector<std::string> keys = {"label"};
  for (const MethodOption& o : method_options()) keys.push_back(o.key);
  keys.push_back("problems");
  for (const toml::table* t : tables_of(reader, root, "method", true,
                                        "at least one [[method]] table, e.g. solver = \"iterop\", method = \"anderson\"")) {
    reader.check_keys(*t, "method", "[[method]] of a fixed-point experiment", keys);
    std::string label;
    if (const auto* n = t->get("label")) label = reader.string(*n, "method.label");
    const auto only = read_problem_restriction(reader, *t, problem_names);
    for (const auto& c : expand(reader, *t, "method", {"label", "problems"})) {
      MethodChoice m;
      m.line = line_of(*t);
      m.problems = only;
      for (const MethodOption& o : method_options()) {
        const toml::node* n = find(c, o.key);
        if (n == nullptr) continue;
        const std::string path = "method." + o.key;
        const MethodOptionValue v = o.type == MethodOption::number    ? MethodOptionValue(reader.number(*n, path))
                                    : o.type == MethodOption::integer ? MethodOptionValue(reader.integer(*n, path))
                                                                      : MethodOptionValue(reader.string(*n, path));
        checked(reader, "method", option_keys, c, m.line, [&] { o.set(m.spec, v); });
      }
      if (!backend_available(m.spec.solver)) {
        // As in the built-in experiment: cases of a backend this build lacks are left out, with a note.
        skipped_backends.insert(to_string(m.spec.solver));
        continue;
      }
      checked(reader, "method", option_keys, c, m.line, [&] { m.spec.validate(); });
      // The label: the given one plus the swept options, or every option given (solver and method always).
      m.label = label;
      for (const MethodOption& o : method_options())
        if (const auto v = o.get(m.spec); v && (label.empty() || swept(c, o.key)))
          m.label += (m.label.empty() ? "" : " ") + o.label + method_option_text(*v);
      check_new_label(reader, out, m);
      out.push_back(std::move(m));
    }
  }
  for (const auto& b : skipped_backends)
    notes.push_back("Methods with solver = \"" + b + "\" left out: this build of iterop has no " +
                    (b == "kinsol" ? std::string("SUNDIALS") : std::string("Ceres")) + ".");
  if (out.empty()) reader.fail(0, "no method can run in this build. Violated constraint: at least one [[method]] with a solver this build has (iterop always).");
  return out;
}

struct StopChoice {
  double atol = 1e-8, rtol = 1e-8;
  int max_iterations = 1000;
  std::string label;
};

std::vector<StopChoice> read_stop(const Reader& reader, const toml::table& root) {
  const toml::table* t = one_table(reader, root, "stop", {"tol", "atol", "rtol", "max_iterations"});
  if (t == nullptr) return {StopChoice{}};
  std::vector<StopChoice> out;
  for (const auto& c : expand(reader, *t, "stop")) {
    StopChoice s;
    auto tolerance = [&](const char* key) -> std::optional<double> {
      const toml::node* n = find(c, key);
      if (n == nullptr) return std::nullopt;
      const double v = reader.number(*n, std::string("stop.") + key);
      if (!(v >= 0)) reader.bad(*n, std::string("stop.") + key, std::string(key) + " >= 0");
      return v;
    };
    const auto tol = tolerance("tol"), atol = tolerance("atol"), rtol = tolerance("rtol");
    s.atol = atol.value_or(tol.value_or(1e-8));
    s.rtol = rtol.value_or(tol.value_or(1e-8));
    if (const auto* n = find(c, "max_iterations")) {
      const long long v = reader.integer(*n, "stop.max_iterations");
      if (v < 1 || v > 100000000) reader.bad(*n, "stop.max_iterations", "1 <= max_iterations <= 100000000");
      s.max_iterations = static_cast<int>(v);
    }
    for (const char* key : {"tol", "atol", "rtol", "max_iterations"})
      if (swept(c, key)) s.label += std::string(s.label.empty() ? "" : " ") + key + "=" + value_text(*find(c, key));
    out.push_back(s);
  }
  return out;
}

void build_fixed_point(const Reader& reader, const toml::table& root, ExperimentFile& file) {
  reader.check_keys(root, "", "a fixed-point experiment file", {"experiment", "problem", "method", "stop", "output"});
  const auto problems = read_fixed_point_problems(reader, root);
  const auto methods = read_fixed_point_methods(reader, root, names_of(problems), file.notes);
  const auto stops = read_stop(reader, root);
  // The number of cells, counted before any is built (methods restricted to some problems count those).
  std::uint64_t per_seed_and_stop = 0;
  std::map<std::vector<std::string>, std::uint64_t> problems_of;  // a method's restriction -> problems it takes
  for (const auto& m : methods) {
    auto [it, added] = problems_of.try_emplace(m.problems, 0);
    if (added)
      for (const auto& p : problems) it->second += applies(m.problems, p.names) ? 1 : 0;
    per_seed_and_stop = std::min(per_seed_and_stop + it->second, std::numeric_limits<std::uint64_t>::max() / 2);
  }
  require_sweep_size(reader, 0, times(times(per_seed_and_stop, file.seeds.size()), stops.size()),
                     std::to_string(problems.size()) + " problems x " + std::to_string(methods.size()) + " methods x " +
                         std::to_string(file.seeds.size()) + " seeds x " + std::to_string(stops.size()) + " stops");
  for (const auto& p : problems)
    for (std::uint64_t seed : file.seeds)
      for (const auto& s : stops)
        for (const auto& m : methods) {
          if (!applies(m.problems, p.names)) continue;
          FixedPointFileCell cell{.problem = p.name, .parameters = p.values, .problem_label = p.label,
                                  .method = m.spec, .method_label = m.label, .atol = s.atol, .rtol = s.rtol,
                                  .max_iterations = s.max_iterations, .stop_label = s.label, .seed = seed};
          if (p.takes_seed && !p.seed_given) cell.parameters["seed"] = static_cast<double>(seed);
          nlohmann::json params = nlohmann::json::object();
          for (const auto& [k, v] : cell.parameters) params[k] = v;
          cell.key = {{"kind", "fixed-point"},
                      {"problem", {{"name", cell.problem}, {"parameters", params}}},
                      {"method", method_spec_json(cell.method)},
                      {"stop", {{"atol", cell.atol}, {"rtol", cell.rtol}, {"max_iterations", cell.max_iterations}}},
                      {"seed", seed}};
          file.fixed_point_cells.push_back(std::move(cell));
        }
}

// ---------------------------------------------------------------------------------------------
// volterra

const std::vector<std::string>& reference_ids() {
  static const std::vector<std::string> ids = {"L2", "L3", "N1", "N3", "N4", "S1", "A2", "F2", "D2"};
  return ids;
}

std::vector<int> read_steps(const Reader& reader, const toml::node& n, const std::string& path) {
  const auto* a = n.as_array();
  if (a == nullptr || a->empty()) reader.bad(n, path, "a non-empty list of step counts, e.g. [16, 32, 64, 128]");
  std::vector<int> steps;
  for (const auto& e : *a) {
    const long long v = reader.integer(e, path);
    if (v < 2 || v > max_volterra_intervals) reader.bad(e, path, "2 <= N <= " + std::to_string(max_volterra_intervals));
    if (!steps.empty() && v <= steps.back()) reader.bad(e, path, "increasing step counts");
    steps.push_back(static_cast<int>(v));
  }
  return steps;
}

struct VolterraProblemChoice {
  std::string label;
  std::optional<std::string> reference;
  std::optional<double> T;    // reference N4 only: another end of the interval
  VolterraExpressionSpec expression;
  VolterraKind kind = VolterraKind::second;
  double singular_exponent = 0;
  std::vector<int> steps;     // empty: [study] steps
  int line = 0;
  Combination combination;    // for error lines of later checks
  std::vector<std::string> names;  // what [[method]] problems = [...] may call it: its label and reference id
};

const std::map<std::string, std::string>& expression_option_keys() {
  static const std::map<std::string, std::string> m = {
      {"--f", "f"},   {"--kernel", "kernel"}, {"--exact", "exact"},  {"--T", "T"},
      {"--y0", "y0"}, {"--kind", "kind"},     {"--singular-exponent", "singular_exponent"}};
  return m;
}

std::vector<VolterraProblemChoice> read_volterra_problems(const Reader& reader, const toml::table& root) {
  const std::string ids = join(reference_ids());
  std::vector<VolterraProblemChoice> out;
  const std::vector<std::string> expression_keys = {"kind", "f", "kernel", "T", "y0", "singular_exponent", "exact"};
  for (const toml::table* t : tables_of(reader, root, "problem", true,
                                        "a [problem] table (or [[problem]] tables) with reference = one of " + ids +
                                            ", or expressions f, kernel, T as in `iterop solve volterra`")) {
    reader.check_keys(*t, "problem", "[problem] of a volterra experiment",
                      {"label", "reference", "kind", "f", "kernel", "T", "y0", "singular_exponent", "exact", "steps"});
    std::string label;
    if (const auto* n = t->get("label")) label = reader.string(*n, "problem.label");
    std::vector<int> steps;
    if (const auto* n = t->get("steps")) steps = read_steps(reader, *n, "problem.steps");
    const bool reference = t->get("reference") != nullptr;
    if (reference) {
      for (const auto& k : expression_keys)
        if (const auto* n = t->get(k); n != nullptr && k != "T")
          reader.bad(*n, "problem." + k,
                     "not with problem.reference (a reference problem has its own equation; give either reference or "
                     "the expressions)");
    } else {
      for (const char* k : {"f", "kernel", "T"})
        if (t->get(k) == nullptr)
          reader.fail(line_of(*t), std::string("problem.") + k + " is missing. Violated constraint: a problem gives "
                                   "reference = one of " + ids + ", or f, kernel and T (and y0 for kind = \"ide\").");
    }
    for (const auto& c : expand(reader, *t, "problem", {"label", "steps"})) {
      VolterraProblemChoice p;
      p.line = line_of(*t);
      p.steps = steps;
      p.combination = c;
      if (reference) {
        const toml::node* n = find(c, "reference");
        const std::string id = reader.string(*n, "problem.reference");
        if (std::find(reference_ids().begin(), reference_ids().end(), id) == reference_ids().end())
          reader.bad(*n, "problem.reference", "one of " + ids + " (PROBLEMS.md)");
        p.reference = id;
        if (const auto* tn = t->get("T")) {
          if (id != "N4")
            reader.bad(*tn, "problem.T", "only with reference = \"N4\" (whose interval may pass its blow-up at t = 1); "
                                         "the other reference problems have a fixed interval");
          p.T = reader.number(*tn, "problem.T");
          if (!(*p.T > 0 && std::isfinite(*p.T))) reader.bad(*tn, "problem.T", "0 < T < infinity");
        }
        const AnyVolterraProblem prob = volterra_reference_problem(id);
        p.kind = std::holds_alternative<quadrature::SecondKindProblem>(prob)  ? VolterraKind::second
                 : std::holds_alternative<quadrature::FirstKindProblem>(prob) ? VolterraKind::first
                                                                              : VolterraKind::ide;
        if (const auto* sk = std::get_if<quadrature::SecondKindProblem>(&prob)) p.singular_exponent = sk->singular_exponent;
        p.label = label.empty() ? id + (p.T ? " on [0, " + format_exact(*p.T) + "]" : std::string())
                                : label + (swept(c, "reference") ? " " + id : std::string());
        p.names.push_back(id);
      } else {
        VolterraExpressionSpec& s = p.expression;
        checked(reader, "problem", expression_option_keys(), c, p.line, [&] {
          if (const auto* n = find(c, "kind")) s.kind = parse_volterra_kind(reader.string(*n, "problem.kind"));
          s.f = reader.string(*find(c, "f"), "problem.f");
          s.kernel = reader.string(*find(c, "kernel"), "problem.kernel");
          s.T = reader.number(*find(c, "T"), "problem.T");
          if (const auto* n = find(c, "y0")) s.y0 = reader.number(*n, "problem.y0");
          if (const auto* n = find(c, "singular_exponent")) s.singular_exponent = reader.number(*n, "problem.singular_exponent");
          if (const auto* n = find(c, "exact")) s.exact = reader.string(*n, "problem.exact");
          (void)make_expression_problem(s);  // compiles the expressions: syntax errors and unknown names now
        });
        p.kind = s.kind;
        p.singular_exponent = s.singular_exponent.value_or(0.0);
        if (!label.empty()) {
          p.label = label;
          for (const auto& k : expression_keys)
            if (swept(c, k)) p.label += " " + k + "=" + value_text(*find(c, k));
        } else {
          p.label = (s.kind == VolterraKind::ide ? "F=" : s.kind == VolterraKind::first ? "g=" : "f=") + s.f + ", K=" + s.kernel;
          if (swept(c, "T")) p.label += ", T=" + format_exact(s.T);
        }
      }
      if (!label.empty()) p.names.push_back(label);
      out.push_back(std::move(p));
    }
  }
  return out;
}

struct VolterraMethodChoice {
  VolterraMethod method = VolterraMethod::trapezoid;
  double grading = 1;
  std::string label;
  int line = 0;
  int method_line = 0;  // of its method = ... value
  std::vector<std::string> problems;  // empty: every problem
};

std::vector<VolterraMethodChoice> read_volterra_methods(const Reader& reader, const toml::table& root,
                                                        const std::vector<std::string>& problem_names) {
  std::vector<VolterraMethodChoice> out;
  for (const toml::table* t : tables_of(reader, root, "method", true,
                                        "at least one [[method]] table with method = " +
                                            volterra_method_list(" or "))) {
    reader.check_keys(*t, "method", "[[method]] of a volterra experiment", {"label", "method", "grading", "problems"});
    std::string label;
    if (const auto* n = t->get("label")) label = reader.string(*n, "method.label");
    const auto only = read_problem_restriction(reader, *t, problem_names);
    if (t->get("method") == nullptr)
      reader.fail(line_of(*t), "method.method is missing. Violated constraint: one of " + volterra_method_list() +
                                   " (or a list of them).");
    for (const auto& c : expand(reader, *t, "method", {"label", "problems"})) {
      VolterraMethodChoice m;
      m.line = line_of(*t);
      m.problems = only;
      const toml::node* mn = find(c, "method");
      m.method_line = line_of(*mn);
      checked(reader, "method", {{"--method", "method"}}, c, m.line,
              [&] { m.method = parse_volterra_method(reader.string(*mn, "method.method")); });
      if (const auto* n = find(c, "grading")) {
        m.grading = reader.number(*n, "method.grading");
        if (!(m.grading >= 1)) reader.bad(*n, "method.grading", "grading >= 1 (t_j = T (j/N)^r; 1 is uniform)");
      }
      m.label = label.empty() ? to_string(m.method)
                              : label + (swept(c, "method") ? std::string(" ") + to_string(m.method) : "");
      if (m.grading != 1) m.label += " (graded r=" + format_exact(m.grading) + ")";
      check_new_label(reader, out, m);
      out.push_back(std::move(m));
    }
  }
  return out;
}

void build_volterra(const Reader& reader, const toml::table& root, ExperimentFile& file) {
  reader.check_keys(root, "", "a volterra experiment file", {"experiment", "problem", "method", "study", "output"});
  std::vector<int> default_steps;
  if (const toml::table* study = one_table(reader, root, "study", {"steps"}))
    if (const auto* n = study->get("steps")) default_steps = read_steps(reader, *n, "study.steps");
  auto problems = read_volterra_problems(reader, root);
  for (auto& p : problems)
    if (p.steps.empty()) {
      if (default_steps.empty())
        reader.fail(p.line, "problem.steps is missing. Violated constraint: step counts in [study] steps = [...] or in "
                            "the problem's steps = [...].");
      p.steps = default_steps;
    }
  const auto methods = read_volterra_methods(reader, root, names_of(problems));

  require_sweep_size(reader, 0, times(times(problems.size(), methods.size()), file.seeds.size()),
                     std::to_string(problems.size()) + " problems x " + std::to_string(methods.size()) + " methods x " +
                         std::to_string(file.seeds.size()) + " seeds");
  std::vector<bool> method_used(methods.size(), false);
  std::vector<std::string> first_reason(methods.size());
  std::vector<std::pair<std::string, std::vector<std::string>>> left_out;  // problem -> methods left out
  for (const auto& p : problems) {
    std::vector<std::size_t> fitting;  // the methods that fit p, whose cells are built for every seed
    for (std::size_t mi = 0; mi < methods.size(); ++mi) {
      const auto& m = methods[mi];
      if (!applies(m.problems, p.names)) continue;
      try {
        check_volterra_method(m.method, p.kind, p.singular_exponent, m.grading, p.steps);
      } catch (const invalid_option& e) {
        // This method does not fit this problem (kind, singular kernel, grid): the combination is left out.
        std::string why = e.what();
        const std::string marker = "Violated constraint: ";
        if (const auto at = why.find(marker); at != std::string::npos) why = why.substr(at + marker.size());
        if (!why.empty() && why.back() == '.') why.pop_back();
        if (first_reason[mi].empty()) first_reason[mi] = p.label + ": " + why;
        auto it = std::find_if(left_out.begin(), left_out.end(), [&](const auto& entry) { return entry.first == p.label; });
        if (it == left_out.end()) left_out.push_back({p.label, {m.label}});
        else it->second.push_back(m.label);
        file.left_out.push_back({{"problem", p.label}, {"method", m.label}, {"reason", why}});
        continue;
      }
      method_used[mi] = true;
      fitting.push_back(mi);
      if (!p.reference && p.kind == VolterraKind::first) {
        checked(reader, "problem", expression_option_keys(), p.combination, p.line, [&] {
          const auto built = make_expression_problem(p.expression);
          check_first_kind(std::get<quadrature::FirstKindProblem>(built.problem), p.steps, m.grading,
                           p.expression.kernel, p.expression.f);
        });
      }
    }
    nlohmann::json problem;
    if (p.reference) {
      problem = {{"reference", *p.reference}};
      if (p.T) problem["T"] = *p.T;
    } else {
      const auto& s = p.expression;
      problem = {{"kind", to_string(s.kind)}, {"f", s.f}, {"kernel", s.kernel}, {"T", s.T}};
      if (s.y0) problem["y0"] = *s.y0;
      if (s.singular_exponent) problem["singular_exponent"] = *s.singular_exponent;
      if (s.exact) problem["exact"] = *s.exact;
    }
    for (std::uint64_t seed : file.seeds)
      for (std::size_t mi : fitting) {
        const auto& m = methods[mi];
        file.volterra_cells.push_back(VolterraFileCell{
            .problem_label = p.label, .reference = p.reference, .T = p.T, .expression = p.expression,
            .equation_kind = p.kind, .singular_exponent = p.singular_exponent, .method = m.method,
            .grading = m.grading, .steps = p.steps, .method_label = m.label, .seed = seed,
            .key = {{"kind", "volterra"}, {"problem", problem}, {"method", to_string(m.method)},
                    {"grading", m.grading}, {"steps", p.steps}, {"seed", seed}}});
      }
  }
  if (!left_out.empty()) {
    std::vector<std::string> list;
    for (const auto& [problem, ms] : left_out) list.push_back(problem + ": " + join(ms));
    file.notes.push_back("Left out where the method does not fit the equation (kind, singular kernel or grid; reasons "
                         "in config.json): " + join(list, "; ") + ".");
  }
  for (std::size_t mi = 0; mi < methods.size(); ++mi)
    if (!method_used[mi]) {
      reader.fail(methods[mi].method_line,
                  "method.method = \"" + to_string(methods[mi].method) + "\"" +
                      (methods[mi].grading != 1 ? " with grading = " + format_exact(methods[mi].grading) : std::string()) +
                      ". Violated constraint: a method that fits at least one problem of the file (" + first_reason[mi] +
                      ").");
    }
}

std::string read_text(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw experiment_file_error(path.string() + ": cannot read the experiment file: no such file.");
  if (std::filesystem::is_directory(path, ec))
    throw experiment_file_error(path.string() + ": cannot read the experiment file: it is a folder.");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw experiment_file_error(path.string() + ": cannot read the experiment file: permission denied or unreadable.");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

AnyVolterraProblem volterra_reference_problem(const std::string& id, double T) {
  namespace r = quadrature::reference;
  if (id == "F2") return r::F2();
  if (id == "D2") return r::D2();
  if (id == "N4" && T > 0) return r::N4(T);
  return r::second_kind(id);
}

std::string to_string(ExperimentKind kind) {
  return kind == ExperimentKind::fixed_point ? "fixed-point" : "volterra";
}

bool names_experiment_file(std::string_view argument) {
  if (argument.size() >= 5 && argument.substr(argument.size() - 5) == ".toml") return true;
  std::error_code ec;
  return !argument.empty() && std::filesystem::is_regular_file(std::filesystem::path(std::string(argument)), ec);
}

ExperimentFile load_experiment_file(const std::filesystem::path& path, std::optional<std::uint64_t> seed) {
  return load_experiment_text(read_text(path), path, seed);
}

ExperimentFile load_experiment_text(const std::string& text, const std::filesystem::path& path,
                                    std::optional<std::uint64_t> seed) {
  const Reader reader(path.string());
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(reader.file()));
  } catch (const toml::parse_error& e) {
    std::string description(e.description());
    for (auto& ch : description)
      if (ch == '\n' || ch == '\r') ch = ' ';
    reader.fail(static_cast<int>(e.source().begin.line),
                "syntax error (column " + std::to_string(e.source().begin.column) + "): " + description + ".");
  }

  ExperimentFile file;
  file.path = path;
  read_header(reader, root, file);
  if (seed) {
    file.seeds = {*seed};
    file.seed_from_command_line = true;
  }
  read_output(reader, root, file);
  if (file.kind == ExperimentKind::fixed_point) build_fixed_point(reader, root, file);
  else build_volterra(reader, root, file);

  std::ostringstream json;
  json << toml::json_formatter{root};
  file.document = nlohmann::json::parse(json.str(), nullptr, /*allow_exceptions=*/false);
  if (file.document.is_discarded()) file.document = "(the file has values JSON cannot represent)";
  return file;
}

std::vector<ExperimentFileEntry> list_experiment_files(const std::filesystem::path& folder) {
  std::vector<ExperimentFileEntry> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) return out;
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(folder, ec))
    if (e.path().extension() == ".toml" && e.is_regular_file(ec)) paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    ExperimentFileEntry entry;
    entry.path = p;
    entry.name = p.stem().string();
    try {
      const ExperimentFile f = load_experiment_file(p);
      entry.name = f.name;
      entry.kind = to_string(f.kind);
      entry.description = f.description;
      entry.cells = f.cell_count();
    } catch (const std::exception& e) {
      entry.error = e.what();
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string experiment_file_schema() {
  return "Experiment files (TOML; every list is a sweep, the cells are the cartesian product):\n"
         "  [experiment] name = \"...\" (default: the file's stem), kind = \"fixed-point\" | \"volterra\",\n"
         "               description = \"...\", seed = 1 or [1, 2, 3]\n"
         "  fixed-point: [problem] (or [[problem]]) name = \"heq\", label, parameters = { n = 512, c = [0.9, 0.99] }\n"
         "               [[method]] solver = \"iterop\"|\"kinsol\"|\"ceres\", method = \"picard\"|\"km\"|\"anderson\"|\n"
         "               \"anderson-type1\"|\"lm\", memory, relaxation, orth, kinsol_test, label\n"
         "               [stop] tol (= atol = rtol), atol, rtol, max_iterations\n"
         "  volterra:    [problem] (or [[problem]]) reference = \"L2\" (or a list), or kind, f, kernel, T, y0,\n"
         "               singular_exponent, exact as in `iterop solve volterra`; label; steps (overrides [study])\n"
         "               [[method]] method = \"trapezoid\" (or a list), grading = 1, label; [study] steps = [16, 32, ...]\n"
         "               (methods that do not fit a problem's kind are left out for that problem)\n"
         "  [[method]] problems = [\"A2\", ...] restricts a method to problems by label, name or reference id\n"
         "  [output] folder = \"...\" (default iterop-report/NAME; --out wins), plots = true\n"
         "Unknown keys are errors. Examples: experiments/heq-anderson-sweep.toml, experiments/volterra-orders.toml.\n";
}

}  // namespace iterop::experiments
