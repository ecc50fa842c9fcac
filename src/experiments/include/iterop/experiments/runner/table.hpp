// Table: rows of text cells under named columns, rendered as Markdown, CSV (RFC 4180) or aligned
// plain text; plus the number formatting every report uses (NaN and infinities spelled out).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace iterop::experiments {

/// Which way a column's cells are aligned in Markdown and plain text.
enum class Align { left, right };

/// A rectangular table of text cells.
struct Table {
  std::vector<std::string> columns;            ///< header cells
  std::vector<Align> align;                    ///< per column; missing entries are left-aligned
  std::vector<std::vector<std::string>> rows = {};  ///< each row has columns.size() cells

  /// Appends a row; throws iterop::invalid_option if its size differs from the number of columns.
  void add_row(std::vector<std::string> row);

  /// GitHub-flavoured Markdown: header, alignment row, one line per row; '|' in cells is escaped.
  std::string to_markdown() const;
  /// CSV (RFC 4180): comma-separated, cells with a comma, quote or line break are quoted; "\n" line ends.
  std::string to_csv() const;
  /// Plain text with columns padded to equal width and separated by two spaces.
  std::string to_text() const;
};

/// The items separated by `separator` ("a, b, c"): the lists of names in messages and reports.
std::string join(const std::vector<std::string>& items, const std::string& separator = ", ");

/// Whether `items` holds `item`: the checks of a name against such a list.
bool contains(const std::vector<std::string>& items, std::string_view item);

/// Quotes one CSV cell if it needs quoting (comma, double quote, CR or LF).
std::string csv_escape(const std::string& cell);

/// A number in scientific notation with `digits` significant digits ("1.23e-08"); "nan", "inf", "-inf".
std::string format_scientific(double value, int digits = 3);
/// A number in the shortest form that reads back exactly ("0.99", "1e-08"); "nan", "inf", "-inf".
std::string format_exact(double value);
/// A number with `digits` significant digits in printf's %g form ("0.0123", "1.23e+04"); "n/a" when not finite.
std::string format_significant(double value, int digits = 3);
/// A number with `decimals` digits after the point ("0.50"); "n/a" when not finite.
std::string format_fixed(double value, int decimals);
/// Seconds with 3 significant digits and a unit ("12.3 ms", "1.52 s").
std::string format_seconds(double seconds);

}  // namespace iterop::experiments
