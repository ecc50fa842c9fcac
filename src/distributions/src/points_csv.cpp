// Points as CSV: the line-by-line reader with its line-numbered errors, the writer, and seeded row
// draws from a sample.
#include "iterop/distributions/points_csv.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

namespace iterop::distributions {

namespace {

std::string error_text(const std::string& file, std::size_t line, const std::string& reason) {
  return line == 0 ? file + ": " + reason : file + " line " + std::to_string(line) + ": " + reason;
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

/// The trimmed comma-separated fields of one line.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (;;) {
    const std::size_t comma = line.find(',');
    fields.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

/// The number a whole field spells ("1.5", "-2e3", "+4"; also "nan" and "inf"), or nothing.
std::optional<double> parse_field(std::string_view field) {
  if (!field.empty() && field.front() == '+') {  // from_chars takes "-1" but not "+1"
    field.remove_prefix(1);
    if (!field.empty() && (field.front() == '+' || field.front() == '-')) return {};
  }
  if (field.empty()) return {};
  double v = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (end != field.data() + field.size()) return {};
  if (ec == std::errc::result_out_of_range) return std::strtod(std::string(field).c_str(), nullptr);  // +-HUGE_VAL or ~0
  if (ec != std::errc{}) return {};
  return v;
}

std::string quoted(std::string_view field) {
  constexpr std::size_t longest = 40;
  std::string q = "'";
  q.append(field.substr(0, longest));
  q += field.size() > longest ? "...'" : "'";
  return q;
}

std::string values_text(std::size_t n) { return std::to_string(n) + (n == 1 ? " value" : " values"); }

}  // namespace

points_file_error::points_file_error(std::string file, std::size_t line, std::string reason)
    : invalid_option(error_text(file, line, reason)), file_(std::move(file)), line_(line), reason_(std::move(reason)) {}

SampleSet parse_points_csv(std::string_view text, const std::string& file) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark (spreadsheets write one)
  std::vector<double> values;
  std::size_t dim = 0, rows = 0, line_no = 0;
  std::string expected_from;  // "the first row" or "the header"
  bool first = true;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_no;
    if (trim(line).empty()) continue;
    const std::vector<std::string_view> fields = split_fields(line);
    const auto fail = [&](const std::string& reason) { throw points_file_error(file, line_no, reason); };
    if (first) {
      first = false;
      dim = fields.size();
      // A header: some field is text (not a number and not empty).
      bool header = false;
      for (const auto f : fields) header = header || (!f.empty() && !parse_field(f));
      if (header) {
        expected_from = "the header";
        continue;
      }
      expected_from = "the first row";
    }
    if (fields.size() != dim)
      fail(values_text(fields.size()) + ", expected " + std::to_string(dim) + " (" + expected_from + " has " +
           std::to_string(dim) + ")");
    for (std::size_t j = 0; j < fields.size(); ++j) {
      const std::string_view f = fields[j];
      if (f.empty()) fail("value " + std::to_string(j + 1) + " is empty");
      const std::optional<double> v = parse_field(f);
      if (!v) fail(quoted(f) + " is not a number");
      if (!std::isfinite(*v)) fail(quoted(f) + " is not a finite number");
      values.push_back(*v);
    }
    ++rows;
  }
  if (rows == 0) throw points_file_error(file, 0, "no points");
  return SampleSet(rows, dim, std::move(values));
}

SampleSet read_points_csv(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw points_file_error(path.string(), 0, "cannot open (a folder)");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw points_file_error(path.string(), 0,
                            std::string("cannot open (") + (errno ? std::strerror(errno) : "not readable") + ")");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw points_file_error(path.string(), 0, "cannot read");
  return parse_points_csv(content.view(), path.string());
}

std::string points_csv_text(const SampleSet& points) {
  std::string out;
  for (std::size_t j = 0; j < points.dim; ++j) out += (j ? ",x" : "x") + std::to_string(j + 1);
  out += '\n';
  char buf[64];
  for (std::size_t i = 0; i < points.rows; ++i) {
    for (std::size_t j = 0; j < points.dim; ++j) {
      if (j) out += ',';
      const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, points(i, j), std::chars_format::general, 9);
      out.append(buf, ec == std::errc{} ? end : buf);
    }
    out += '\n';
  }
  return out;
}

void write_points_csv(const std::filesystem::path& path, const SampleSet& points) {
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << points_csv_text(points);
  if (out) out.close();
  if (!out) throw points_file_error(path.string(), 0, std::string("cannot write (") + std::strerror(errno) + ")");
}

SampleSet resample_rows(const SampleSet& from, std::size_t n, std::uint64_t seed) {
  require(from.rows >= 1, "resample_rows from.rows", from.rows, "rows >= 1");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, from.rows - 1);
  SampleSet out(n, from.dim);
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = from.row(pick(rng));
    std::copy(r.begin(), r.end(), out.row(i).begin());
  }
  return out;
}

SampleSet subsample_rows(const SampleSet& from, std::size_t n, std::uint64_t seed) {
  if (n >= from.rows) return from;
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> index(from.rows);
  std::iota(index.begin(), index.end(), std::size_t{0});
  SampleSet out(n, from.dim);
  for (std::size_t i = 0; i < n; ++i) {  // a partial Fisher-Yates shuffle
    std::swap(index[i], index[i + std::uniform_int_distribution<std::size_t>(0, from.rows - 1 - i)(rng)]);
    const auto r = from.row(index[i]);
    std::copy(r.begin(), r.end(), out.row(i).begin());
  }
  return out;
}

}  // namespace iterop::distributions
