// Records: the flat results of a sweep, one JSON object per cell, and what a report needs of them:
// selection, group-by, mean and standard deviation over seeds, pivots and Markdown tables of chosen columns.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/experiments/runner/table.hpp"

namespace iterop::experiments {

/// One cell's result: a flat JSON object whose fields keep the order they were set in (the column
/// order of results.csv). Values are numbers, integers, texts, booleans, null (NaN, missing) or, for
/// series such as residual histories, arrays (kept in results.json, left out of results.csv).
using Record = nlohmann::ordered_json;

/// A number for a record: the value when finite, null otherwise (JSON has no NaN or infinity).
Record record_number(double value);
/// A record's field as a double: the number, NaN for null, a missing field or a non-number.
double number_of(const Record& record, const std::string& field);
/// A record's field as text: strings as they are, numbers in their shortest exact form, "" when missing.
std::string text_of(const Record& record, const std::string& field);
/// The elements of a record's array (e.g. a residual history) as doubles, NaN for null or a non-number.
std::vector<double> numbers_of(const Record& array);

/// Mean and sample standard deviation (divisor n - 1, 0 for one value) of the finite values; n counts them.
struct MeanStd {
  double mean = 0;
  double std = 0;
  std::size_t n = 0;
};

/// One column of a Markdown table: a header, how a record becomes the cell text, the alignment.
struct Column {
  std::string header;
  std::function<std::string(const Record&)> cell;
  Align align = Align::right;

  /// A column showing `field` as text_of(record, field) (left-aligned unless told).
  static Column text(std::string header, std::string field, Align align = Align::left);
  /// A column showing `field` by `format` (right-aligned), e.g. format_scientific.
  static Column number(std::string header, std::string field, std::function<std::string(double)> format);
};

/// What Records::summarise puts into each group's record after the means and standard deviations, in this order.
struct SummaryOptions {
  std::string count = "n";             ///< the field counting the group's records (e.g. "seeds")
  std::vector<std::string> keep = {};  ///< fields copied from the group's first record, where it has them
  /// Per name, the number of the group's records for which the predicate holds.
  std::vector<std::pair<std::string, std::function<bool(const Record&)>>> count_where = {};
  /// Array fields (a value per iteration), where the first record has them: element k is the mean of the finite
  /// values at k over the group's records whose array is that long; the result is as long as the longest array.
  std::vector<std::string> elementwise = {};
};

/// The records of a sweep, in cell order.
class Records {
 public:
  Records() = default;
  explicit Records(std::vector<Record> rows) : rows_(std::move(rows)) {}

  const std::vector<Record>& rows() const { return rows_; }
  std::size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  const Record& operator[](std::size_t i) const { return rows_[i]; }
  auto begin() const { return rows_.begin(); }
  auto end() const { return rows_.end(); }
  void push_back(Record r) { rows_.push_back(std::move(r)); }

  /// The records for which `keep` is true.
  Records where(const std::function<bool(const Record&)>& keep) const;
  /// The records whose `field` reads as `value` (text_of).
  Records where(const std::string& field, const std::string& value) const;
  /// The distinct texts of `field`, in first-seen order.
  std::vector<std::string> distinct(const std::string& field) const;
  /// Groups by the texts of `fields` (joined by " | "), groups in first-seen order.
  std::vector<std::pair<std::string, Records>> group_by(const std::vector<std::string>& fields) const;
  /// The first record whose fields read as the given texts, or nullptr.
  const Record* find(const std::vector<std::pair<std::string, std::string>>& match) const;
  /// Mean and standard deviation of the finite values of `field`.
  MeanStd mean_std(const std::string& field) const;

  /// One record per group of `by`: the `by` fields, then <f>_mean, <f>_std for each field of `fields`
  /// over the group's records (e.g. over seeds), then the count of records and the extras of `options`.
  Records summarise(const std::vector<std::string>& by, const std::vector<std::string>& fields,
                    const SummaryOptions& options = {}) const;

  /// A pivot: one row per distinct `row_field` (first-seen order, shown under `row_header`), one column per
  /// distinct `column_field` (header `column_prefix` + its text), each cell `cell` of the first record
  /// with that row and column (empty when none).
  Table pivot(const std::string& row_field, const std::string& row_header, const std::string& column_field,
              const std::string& column_prefix, const std::function<std::string(const Record&)>& cell) const;

  /// A table of the chosen columns, one row per record.
  Table table(const std::vector<Column>& columns) const;

  /// results.csv: every field that is not an array or object, columns in first-seen order across records,
  /// numbers in their shortest exact form, null as an empty cell.
  std::string to_csv() const;

 private:
  std::vector<Record> rows_;
};

}  // namespace iterop::experiments
