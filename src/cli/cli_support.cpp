// Exit codes, error printing and strict number parsing for the iterop command.
#include "cli_support.hpp"

#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>

namespace iterop::cli {

void print_error(std::string_view message) {
  std::string line = "iterop: error: ";
  for (char ch : message) line += (ch == '\n' || ch == '\r') ? ' ' : ch;
  std::cerr << line << std::endl;
}

void require_usage(bool ok, std::string_view option, std::string_view value, std::string_view rule) {
  if (ok) return;
  throw usage_error{std::string(option) + " = " + std::string(value) + ". Violated constraint: " + std::string(rule) + "."};
}

double parse_number(std::string_view option, const std::string& text) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool whole = !s.empty() && ec == std::errc{} && end == s.data() + s.size();
  require_usage(whole, option, text.empty() ? "\"\"" : text, "a decimal number such as 0.99 or 1e-8");
  require_usage(std::isfinite(v), option, text, "a finite number");
  return v;
}

long long parse_integer(std::string_view option, const std::string& text, long long lowest, long long highest) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool whole = !s.empty() && ec == std::errc{} && end == s.data() + s.size();
  if (!whole) {
    std::string rule = "an integer";
    if (ec == std::errc::result_out_of_range)
      rule = lowest == std::numeric_limits<long long>::min() && highest == std::numeric_limits<long long>::max()
                 ? "a 64-bit integer"
                 : "an integer in [" + std::to_string(lowest) + ", " + std::to_string(highest) + "]";
    require_usage(false, option, text.empty() ? "\"\"" : text, rule);
  }
  require_usage(v >= lowest && v <= highest, option, text,
                lowest == std::numeric_limits<long long>::min()
                    ? "at most " + std::to_string(highest)
                    : std::string(option.substr(option.find_first_not_of('-'))) + " >= " + std::to_string(lowest) +
                          (highest == std::numeric_limits<long long>::max() ? "" : " and <= " + std::to_string(highest)));
  return v;
}

}  // namespace iterop::cli
