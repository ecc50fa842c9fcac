// Shared pieces of the iterop command: exit codes, the one-line error format, and strict number
// parsing of option values (the message names the option, the value and the rule).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace iterop::cli {

/// Exit codes of the iterop command.
enum ExitCode : int {
  exit_ok = 0,             ///< success (for solve: the solve converged)
  exit_not_converged = 1,  ///< solve only: the solve ran to the end but did not converge
  exit_usage = 2,          ///< bad command line or option value; nothing was run
  exit_failure = 3,        ///< a backend or file-system failure while running
};

/// Prints "iterop: error: <message>" as one line on stderr (line breaks in `message` become spaces).
void print_error(std::string_view message);

/// Thrown for a usage error found by the command line itself (message: "<option> = <value>. Violated constraint: <rule>.").
struct usage_error {
  std::string message;
};

/// Throws usage_error "<option> = <value>. Violated constraint: <rule>." unless `ok`.
void require_usage(bool ok, std::string_view option, std::string_view value, std::string_view rule);

/// Parses a finite decimal number (e.g. "0.99", "1e-8"); throws usage_error naming `option` otherwise.
double parse_number(std::string_view option, const std::string& text);

/// Parses an integer in [lowest, highest] ("3", "-1"); "1.5" or "abc" throw usage_error naming `option`.
long long parse_integer(std::string_view option, const std::string& text, long long lowest, long long highest);

}  // namespace iterop::cli
