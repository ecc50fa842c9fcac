// Table rendering (Markdown, CSV, aligned text) and the number formats used in reports.
#include "iterop/experiments/runner/table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "iterop/core/errors.hpp"

namespace iterop::experiments {

namespace {

Align align_of(const Table& t, std::size_t j) { return j < t.align.size() ? t.align[j] : Align::left; }

std::string markdown_cell(const std::string& cell) {
  std::string out;
  for (char ch : cell) {
    if (ch == '|') out += "\\|";
    else if (ch == '\n' || ch == '\r') out += ' ';
    else out += ch;
  }
  return out;
}

std::string pad(const std::string& s, std::size_t width, Align a) {
  if (s.size() >= width) return s;
  std::string out;
  if (a == Align::left) out += s;
  out.append(width - s.size(), ' ');
  if (a == Align::right) out += s;
  return out;
}

std::string non_finite(double v) { return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"); }

}  // namespace

void Table::add_row(std::vector<std::string> row) {
  require(row.size() == columns.size(), "Table row size", row.size(),
          "equal to the number of columns (" + std::to_string(columns.size()) + ")");
  rows.push_back(std::move(row));
}

std::string Table::to_markdown() const {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    out += "|";
    for (const auto& cell : cells) out += " " + markdown_cell(cell) + " |";
    out += "\n";
  };
  line(columns);
  out += "|";
  for (std::size_t j = 0; j < columns.size(); ++j) out += align_of(*this, j) == Align::right ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : rows) line(row);
  return out;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : separator) + item;
  return s;
}

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::string csv_escape(const std::string& cell) {
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char ch : cell) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string Table::to_csv() const {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t j = 0; j < cells.size(); ++j) {
      if (j) out += ',';
      out += csv_escape(cells[j]);
    }
    out += '\n';
  };
  line(columns);
  for (const auto& row : rows) line(row);
  return out;
}

std::string Table::to_text() const {
  std::vector<std::size_t> width(columns.size(), 0);
  for (std::size_t j = 0; j < columns.size(); ++j) width[j] = columns[j].size();
  for (const auto& row : rows)
    for (std::size_t j = 0; j < row.size() && j < width.size(); ++j) width[j] = std::max(width[j], row[j].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (std::size_t j = 0; j < cells.size(); ++j) {
      if (j) l += "  ";
      l += pad(cells[j], width[j], align_of(*this, j));
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(columns);
  for (const auto& row : rows) line(row);
  return out;
}

std::string format_scientific(double value, int digits) {
  if (!std::isfinite(value)) return non_finite(value);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*e", std::max(0, digits - 1), value);
  return buf;
}

std::string format_exact(double value) {
  if (!std::isfinite(value)) return non_finite(value);
  return format_value(value);
}

std::string format_significant(double value, int digits) {
  return std::isfinite(value) ? fmt::format("{:.{}g}", value, digits) : "n/a";
}

std::string format_fixed(double value, int decimals) {
  return std::isfinite(value) ? fmt::format("{:.{}f}", value, decimals) : "n/a";
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds)) return non_finite(seconds);
  char buf[64];
  if (seconds < 1e-3) std::snprintf(buf, sizeof buf, "%.3g us", seconds * 1e6);
  else if (seconds < 1.0) std::snprintf(buf, sizeof buf, "%.3g ms", seconds * 1e3);
  else std::snprintf(buf, sizeof buf, "%.3g s", seconds);
  return buf;
}

}  // namespace iterop::experiments
