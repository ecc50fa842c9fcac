// Shared pieces of the iterop command: the one exit-status table, the one default seed, the one-line
// error format, and the options every command spells the same way (typed CLI11 options with validators).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "iterop/experiments/runner/table.hpp"

namespace iterop::cli {

/// Exit codes of the iterop command: the same meaning in every command (exit_status_text() prints them).
enum ExitCode : int {
  exit_ok = 0,             ///< the command did its work (solve: converged; check: every check passed)
  exit_not_converged = 1,  ///< it ran to the end without success: a solve did not converge, a check did not pass, a sampler did not finish
  exit_usage = 2,          ///< bad command line, option value, data or experiment file; nothing was run
  exit_failure = 3,        ///< a failure while running: a non-finite training loss, a backend, a file, an interrupted run
};

/// The exit-status table, printed by `iterop --help` and by every command's help (one text, one place).
std::string exit_status_text();

/// The default of every --seed option (the suite's seed).
inline constexpr std::uint64_t default_seed = 1;

/// Prints "iterop: error: <message>" as one line on stderr: line breaks become spaces, control and
/// non-UTF-8 bytes are escaped (\xNN), and echoed values are clipped (clip_for_message()), so that a
/// huge or binary value cannot flood or garble the terminal.
void print_error(std::string_view message);

/// `message` made printable on one line: line breaks become spaces; other control bytes and bytes that
/// are not UTF-8 become \xNN; a run of more than 200 non-blank characters keeps its first 80 and says
/// how many were left out; a message still longer than 2000 characters keeps its first and last 1000.
std::string clip_for_message(std::string_view message);

/// Flushes `out` (and C's stdout); false when a write failed (a full device, a closed pipe). main()
/// turns a failed write into exit 3 with one line naming the stream.
bool flushed(std::ostream& out);

/// Physical memory of this machine in bytes (0 when the system does not say).
double machine_memory_bytes();

/// "1.5 GiB", "320 MiB", "12 KiB", "7 B": a size in bytes for messages.
std::string bytes_text(double bytes);

/// Before allocating: throws usage_error "<option> = <value>. Violated constraint: <what> needs about
/// <bytes> (estimate), more than this machine's <memory>." when `bytes` exceeds the machine's physical
/// memory. `bytes` is a double, so an estimate past 2^64 is still compared (and said) correctly.
void require_memory(std::string_view option, std::string_view value, double bytes, std::string_view what);

/// Before any work: throws usage_error naming `option` unless `path` can be written as a file: not
/// empty, not a folder, its folder exists and a file can be created in it (a probe file is created
/// there and removed). Every command that trains checks its model and checkpoint files with this.
void require_writable_file(std::string_view option, const std::string& path);

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

// ---- The shared vocabulary: each option added the same way by every command that has it. ----

/// `--seed S` (std::uint64_t, default default_seed, shown once in --help); `what` says what it seeds.
CLI::Option* add_seed_option(CLI::App& app, std::uint64_t& seed, const std::string& what);

/// `--format F`, one of `choices` (the first is the default).
CLI::Option* add_format_option(CLI::App& app, std::string& format, const std::vector<std::string>& choices);

// Validators. A failing one says "= VALUE. Violated constraint: RULE."; CLI11 prefixes the option name
// ("--seed: = ..."), and main() prints it as "iterop: error: --seed = VALUE. Violated constraint: RULE.".
// They run before CLI11 converts the value, so a typed option never reaches CLI11's own conversion error.

/// An integer in [lowest, highest]; `name` names it in the rule ("seed >= 0"). Add it with
/// ->transform(): it rewrites the value in decimal ("010" is 10; CLI11 alone would read it as octal 8).
CLI::Validator integer_in(const std::string& name, long long lowest, long long highest);

/// A finite decimal number (no "nan"/"inf") for which `ok` holds; `rule` is shown when it does not.
CLI::Validator number_where(bool (*ok)(double), const std::string& rule);

/// A finite decimal number in [lowest, highest].
CLI::Validator number_in(const std::string& name, double lowest, double highest);

/// One of `choices` (the rule lists them).
CLI::Validator one_of(const std::vector<std::string>& choices);

/// An existing folder.
CLI::Validator existing_folder();

/// A FILE to be written: not empty, and its folder exists.
CLI::Validator file_in_existing_folder();

/// An existing file.
CLI::Validator existing_file();

/// A value that is not empty (e.g. --out '': a folder name, not the default).
CLI::Validator not_empty(const std::string& what);

/// A hidden option `old_name` that refuses any use with "<old_name> = <value>. Violated constraint:
/// renamed: <replacement>." (exit 2): the old spelling of a renamed option names the new one.
/// `is_flag` for an old flag (no value).
void add_renamed_option(CLI::App& app, const std::string& old_name, const std::string& replacement,
                        bool is_flag = false);

/// The list "a, b, c" (the one join of the experiments' tables).
using experiments::join;

}  // namespace iterop::cli
