// Points as CSV: one point per row, D comma-separated numbers, an optional header line. The one
// reader (line-numbered errors) and the one writer of point files, plus seeded row draws from a
// sample (with or without replacement) for using a file's rows as a distribution.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "iterop/core/errors.hpp"
#include "iterop/distributions/sample_set.hpp"

namespace iterop::distributions {

/// A points file that cannot be read. what() is "<file> line <n>: <reason>" for a bad line and
/// "<file>: <reason>" for the whole file ("cannot open (...)", "no points"). Bad input, so an
/// invalid_option.
class points_file_error : public invalid_option {
 public:
  points_file_error(std::string file, std::size_t line, std::string reason);
  const std::string& file() const noexcept { return file_; }
  /// 1-based line of the file (blank lines count); 0 when the reason concerns the whole file.
  std::size_t line() const noexcept { return line_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string file_;
  std::size_t line_;
  std::string reason_;
};

/// Parses CSV text of points; `file` names the text in errors. The format:
/// - one point per line, its D coordinates separated by commas (spaces and tabs around a field and a
///   final "\r" are ignored);
/// - an optional header: the first non-blank line, when its fields are not all numbers ("x1,x2");
///   then every point must have as many fields as the header;
/// - blank lines are ignored;
/// - every point has the same number of fields as the first one, each a finite decimal number.
/// Throws points_file_error naming the line and the reason: "3 values, expected 2 (the first row
/// has 2)", "'abc' is not a number", "'nan' is not a finite number", "value 2 is empty", "no points".
SampleSet parse_points_csv(std::string_view text, const std::string& file);

/// Reads the points file `path` (see parse_points_csv); errors name the path as given. A file that
/// cannot be opened or read throws points_file_error "<path>: cannot open (<reason>)".
SampleSet read_points_csv(const std::filesystem::path& path);

/// The CSV text of `points`: the header "x1,...,xD", then one row per point, each value with 9
/// significant digits (exact for single precision). parse_points_csv reads it back.
std::string points_csv_text(const SampleSet& points);

/// Writes points_csv_text(points) to `path` (the folder must exist). Throws points_file_error
/// "<path>: cannot write (<reason>)" on failure. (A program that wants atomic replacement writes
/// points_csv_text through its own atomic writer, as `iterop sample flow --csv` does.)
void write_points_csv(const std::filesystem::path& path, const SampleSet& points);

/// `n` rows of `from` drawn uniformly with replacement by std::mt19937_64(seed). Throws
/// invalid_option when `from` has no rows.
SampleSet resample_rows(const SampleSet& from, std::size_t n, std::uint64_t seed);

/// min(n, from.rows) distinct rows of `from`: all of them in their order when n >= from.rows, else
/// a uniformly random subset of n drawn by std::mt19937_64(seed) (in drawing order).
SampleSet subsample_rows(const SampleSet& from, std::size_t n, std::uint64_t seed);

}  // namespace iterop::distributions
