// The exit-status table, error printing, strict number parsing and the shared option vocabulary of
// the iterop command.
#include "cli_support.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include <unistd.h>

namespace iterop::cli {

namespace {
std::string fmt_hex_byte(unsigned char b) {
  static const char* digits = "0123456789abcdef";
  return std::string("\\x") + digits[b >> 4] + digits[b & 15];
}
std::string fmt_general(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}
std::string fmt_fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}
}  // namespace

std::string exit_status_text() {
  return "Exit status (every command):\n"
         "  0  the command did its work (solve: converged; check: every check passed)\n"
         "  1  it ran to the end without success: a solve did not converge, a theory check did not pass, a sampler\n"
         "     did not finish (the results are still printed)\n"
         "  2  bad usage or bad input: an option, a value, a data folder or an experiment file (one line naming\n"
         "     the option or file, the value and the rule); nothing was run\n"
         "  3  a failure while running: a non-finite training loss (every trainer; the last finite model is still\n"
         "     saved), non-finite samples, a backend (LibTorch, SUNDIALS) failure, a file that could not be read or\n"
         "     written (stdout included), a stopped run\n";
}

namespace {

/// The length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte (no overlongs, no surrogates)
  if (b >= 0xC2 && b <= 0xDF) n = 2;
  else if (b >= 0xE0 && b <= 0xEF) n = 3, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
  else if (b >= 0xF0 && b <= 0xF4) n = 4, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}

}  // namespace

std::string clip_for_message(std::string_view message) {
  // Printable: line breaks and tabs become spaces, other control bytes and invalid UTF-8 become \xNN.
  std::string printable;
  for (std::size_t i = 0; i < message.size();) {
    const auto b = static_cast<unsigned char>(message[i]);
    if (b == '\n' || b == '\r' || b == '\t') {
      printable += ' ';
      ++i;
      continue;
    }
    const std::size_t n = utf8_length(message, i);
    if (n == 0 || (n == 1 && (b < 0x20 || b == 0x7F))) {
      printable += fmt_hex_byte(b);
      ++i;
      continue;
    }
    printable.append(message.substr(i, n));
    i += n;
  }
  // Long runs of non-blank characters (an echoed value) keep their first 80 characters.
  constexpr std::size_t long_run = 200, kept = 80;
  std::string clipped;
  for (std::size_t i = 0; i < printable.size();) {
    const std::size_t end = std::min(printable.find(' ', i), printable.size());
    if (end - i > long_run) {
      std::size_t cut = i + kept;
      while (cut > i && (static_cast<unsigned char>(printable[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
      clipped += printable.substr(i, cut - i) + "...[" + std::to_string(end - cut) + " more characters]";
    } else {
      clipped += printable.substr(i, end - i);
    }
    if (end < printable.size()) clipped += ' ';
    i = end + 1;
  }
  constexpr std::size_t max_message = 2000, half = 1000;
  if (clipped.size() > max_message) {
    std::size_t head = half, tail = clipped.size() - half;
    while (head > 0 && (static_cast<unsigned char>(clipped[head]) & 0xC0) == 0x80) --head;
    while (tail < clipped.size() && (static_cast<unsigned char>(clipped[tail]) & 0xC0) == 0x80) ++tail;
    clipped = clipped.substr(0, head) + " ...[" + std::to_string(tail - head) + " characters left out]... " +
              clipped.substr(tail);
  }
  return clipped;
}

void print_error(std::string_view message) { std::cerr << "iterop: error: " << clip_for_message(message) << std::endl; }

bool flushed(std::ostream& out) {
  out.flush();
  const bool c_ok = std::fflush(stdout) == 0 && std::ferror(stdout) == 0;
  return static_cast<bool>(out) && c_ok;
}

double machine_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

std::string bytes_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) bytes /= 1024, ++u;
  if (bytes >= 1024) return fmt_general(bytes) + " EiB";
  return (u == 0 || bytes >= 100 ? std::to_string(static_cast<long long>(std::llround(bytes)))
                                  : fmt_fixed1(bytes)) +
         " " + units[u];
}

void require_memory(std::string_view option, std::string_view value, double bytes, std::string_view what) {
  const double memory = machine_memory_bytes();
  if (memory <= 0 || bytes <= memory) return;
  require_usage(false, option, value,
                std::string(what) + " needs about " + bytes_text(bytes) + " (estimate), more than this machine's " +
                    bytes_text(memory) + " of memory");
}

void require_writable_file(std::string_view option, const std::string& path) {
  require_usage(!path.empty(), option, "\"\"", "a file name");
  namespace fs = std::filesystem;
  std::error_code ec;
  require_usage(!fs::is_directory(path, ec), option, path, "a file, not a folder");
  const fs::path parent = fs::path(path).parent_path();
  require_usage(parent.empty() || fs::is_directory(parent, ec), option, path, "a file in an existing folder");
  // A probe beside it: the folder must take a new file (the file itself is written atomically later).
  const fs::path probe = fs::path(path).string() + ".write-probe-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(probe.c_str(), "wb");
  const int error = errno;
  if (f != nullptr) {
    std::fclose(f);
    fs::remove(probe, ec);
  }
  require_usage(f != nullptr, option, path,
                std::string("a file in a folder this user can write (") + std::strerror(error) + ")");
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

CLI::Validator not_empty(const std::string& what) {
  return CLI::Validator(
      [=](std::string& text) { return text.empty() ? violation(text, what) : std::string(); }, "", "not_empty");
}

CLI::Validator file_in_existing_folder() {
  return CLI::Validator(
      [](std::string& text) {
        if (text.empty()) return violation(text, "a file name");
        std::error_code dir_ec;
        if (std::filesystem::is_directory(text, dir_ec)) return violation(text, "a file, not a folder");
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
