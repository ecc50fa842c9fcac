// The exit-status table, error printing, strict number parsing and the shared option vocabulary of
// the iterop command.
#include "cli_support.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>

namespace iterop::cli {

std::string exit_status_text() {
  return "Exit status (every command):\n"
         "  0  the command did its work (solve: converged; check: every check passed)\n"
         "  1  it ran to the end without success: a solve did not converge, a theory check did not pass, a sampler\n"
         "     did not finish (the results are still printed)\n"
         "  2  bad usage or bad input: an option, a value, a data folder or an experiment file (one line naming\n"
         "     the option or file, the value and the rule); nothing was run\n"
         "  3  a failure while running: a non-finite training loss (every trainer; the last finite model is still\n"
         "     saved), a backend (LibTorch, SUNDIALS) failure, a file that could not be read or written, a stopped run\n";
}

void print_error(std::string_view message) {
  std::string line = "iterop: error: ";
  for (char ch : message) line += (ch == '\n' || ch == '\r') ? ' ' : ch;
  std::cerr << line << std::endl;
}

void require_usage(bool ok, std::string_view option, std::string_view value, std::string_view rule) {
  if (ok) return;
  throw usage_error{std::string(option) + " = " + std::string(value) + ". Violated constraint: " + std::string(rule) + "."};
}

namespace {

/// "" when `text` is a finite decimal number (stored in `v`), else the violated rule.
std::string number_problem(const std::string& text, double& v) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool whole = !s.empty() && ec == std::errc{} && end == s.data() + s.size();
  if (!whole) return "a decimal number such as 0.99 or 1e-8";
  if (!std::isfinite(v)) return "a finite number";
  return "";
}

/// "" when `text` is an integer in [lowest, highest] (stored in `v`), else the violated rule.
std::string integer_problem(std::string_view name, const std::string& text, long long lowest, long long highest,
                            long long& v) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool whole = !s.empty() && ec == std::errc{} && end == s.data() + s.size();
  constexpr long long min = std::numeric_limits<long long>::min(), max = std::numeric_limits<long long>::max();
  const std::string range = lowest == min ? "at most " + std::to_string(highest)
                                          : std::string(name) + " >= " + std::to_string(lowest) +
                                                (highest == max ? "" : " and <= " + std::to_string(highest));
  if (!whole) {
    if (ec != std::errc::result_out_of_range) return "an integer";
    return lowest == min && highest == max ? "a 64-bit integer" : "an integer, " + range;
  }
  if (v < lowest || v > highest) return range;
  return "";
}

std::string shown(const std::string& text) { return text.empty() ? "\"\"" : text; }

/// The validator message "= VALUE. Violated constraint: RULE." (main() joins it to the option name).
std::string violation(const std::string& value, const std::string& rule) {
  return "= " + shown(value) + ". Violated constraint: " + rule + ".";
}

}  // namespace

double parse_number(std::string_view option, const std::string& text) {
  double v = 0;
  const std::string problem = number_problem(text, v);
  require_usage(problem.empty(), option, shown(text), problem);
  return v;
}

long long parse_integer(std::string_view option, const std::string& text, long long lowest, long long highest) {
  long long v = 0;
  const std::string problem = integer_problem(option.substr(std::min(option.size(), option.find_first_not_of('-'))),
                                              text, lowest, highest, v);
  require_usage(problem.empty(), option, shown(text), problem);
  return v;
}

CLI::Validator integer_in(const std::string& name, long long lowest, long long highest) {
  return CLI::Validator(
      [=](std::string& text) {
        long long v = 0;
        const std::string problem = integer_problem(name, text, lowest, highest, v);
        if (!problem.empty()) return violation(text, problem);
        text = std::to_string(v);  // decimal for CLI11's conversion, which would read "010" as octal
        return std::string();
      },
      "", "integer");
}

CLI::Validator number_where(bool (*ok)(double), const std::string& rule) {
  return CLI::Validator(
      [=](std::string& text) {
        double v = 0;
        const std::string problem = number_problem(text, v);
        if (!problem.empty()) return violation(text, problem);
        return ok(v) ? std::string() : violation(text, rule);
      },
      "", "number");
}

CLI::Validator number_in(const std::string& name, double lowest, double highest) {
  return CLI::Validator(
      [=](std::string& text) {
        double v = 0;
        const std::string problem = number_problem(text, v);
        if (!problem.empty()) return violation(text, problem);
        if (v >= lowest && v <= highest) return std::string();
        auto num = [](double x) {
          std::string s = std::to_string(x);
          s.erase(s.find_last_not_of('0') + 1);
          if (s.back() == '.') s.pop_back();
          return s;
        };
        return violation(text, num(lowest) + " <= " + name + " <= " + num(highest));
      },
      "", "number");
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : separator) + item;
  return s;
}

CLI::Validator one_of(const std::vector<std::string>& choices) {
  return CLI::Validator(
      [=](std::string& text) {
        if (std::find(choices.begin(), choices.end(), text) != choices.end()) return std::string();
        return violation(text, "one of " + join(choices));
      },
      "", "one_of");
}

namespace {
/// A validator that `exists(path)` holds, else the rule `what`.
CLI::Validator existing(bool (*exists)(const std::filesystem::path&, std::error_code&), const std::string& what) {
  return CLI::Validator(
      [=](std::string& text) {
        std::error_code ec;
        return exists(text, ec) ? std::string() : violation(text, what);
      },
      "", what);
}
}  // namespace

CLI::Validator existing_folder() {
  return existing([](const std::filesystem::path& p, std::error_code& ec) { return std::filesystem::is_directory(p, ec); },
                  "an existing folder");
}

CLI::Validator existing_file() {
  return existing([](const std::filesystem::path& p, std::error_code& ec) { return std::filesystem::is_regular_file(p, ec); },
                  "an existing file");
}

CLI::Validator file_in_existing_folder() {
  return CLI::Validator(
      [](std::string& text) {
        if (text.empty()) return violation(text, "a file name");
        const auto parent = std::filesystem::path(text).parent_path();
        std::error_code ec;
        return parent.empty() || std::filesystem::is_directory(parent, ec) ? std::string()
                                                                           : violation(text, "a file in an existing folder");
      },
      "", "file_in_existing_folder");
}

CLI::Option* add_seed_option(CLI::App& app, std::uint64_t& seed, const std::string& what) {
  seed = default_seed;
  return app.add_option("--seed", seed, "Seed of " + what)
      ->transform(integer_in("seed", 0, std::numeric_limits<long long>::max()))
      ->type_name("S")
      ->capture_default_str();
}

CLI::Option* add_format_option(CLI::App& app, std::string& format, const std::vector<std::string>& choices) {
  format = choices.front();
  return app.add_option("--format", format, "Output: " + join(choices, ", "))
      ->check(one_of(choices))
      ->type_name("FORMAT")
      ->capture_default_str();
}

void add_renamed_option(CLI::App& app, const std::string& old_name, const std::string& replacement, bool is_flag) {
  const std::string message = "renamed: " + replacement;
  if (is_flag) {
    app.add_flag_function(
           old_name, [old_name, message](std::int64_t) { require_usage(false, old_name, "(given)", message); },
           message)
        ->group("");
  } else {
    app.add_option_function<std::string>(
           old_name, [old_name, message](const std::string& v) { require_usage(false, old_name, shown(v), message); },
           message)
        ->group("");
  }
}

}  // namespace iterop::cli
