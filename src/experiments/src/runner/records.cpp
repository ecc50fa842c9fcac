// Records: selection, grouping, summaries over seeds, pivots, Markdown tables and CSV of flat JSON rows.
#include "iterop/experiments/runner/records.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace iterop::experiments {

Record record_number(double value) { return std::isfinite(value) ? Record(value) : Record(); }

double number_of(const Record& record, const std::string& field) {
  const auto it = record.find(field);
  if (it == record.end() || !it->is_number()) return std::numeric_limits<double>::quiet_NaN();
  return it->get<double>();
}

std::string text_of(const Record& record, const std::string& field) {
  const auto it = record.find(field);
  if (it == record.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  if (it->is_number_unsigned()) return std::to_string(it->get<unsigned long long>());
  if (it->is_number()) return format_exact(it->get<double>());
  return it->dump();
}

std::vector<double> numbers_of(const Record& array) {
  std::vector<double> out;
  for (const auto& v : array) out.push_back(v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN());
  return out;
}

Column Column::text(std::string header, std::string field, Align align) {
  return {std::move(header), [field = std::move(field)](const Record& r) { return text_of(r, field); }, align};
}

Column Column::number(std::string header, std::string field, std::function<std::string(double)> format) {
  return {std::move(header),
          [field = std::move(field), format = std::move(format)](const Record& r) { return format(number_of(r, field)); },
          Align::right};
}

Records Records::where(const std::function<bool(const Record&)>& keep) const {
  Records out;
  for (const auto& r : rows_)
    if (keep(r)) out.push_back(r);
  return out;
}

Records Records::where(const std::string& field, const std::string& value) const {
  return where([&](const Record& r) { return text_of(r, field) == value; });
}

std::vector<std::string> Records::distinct(const std::string& field) const {
  std::vector<std::string> out;
  for (const auto& r : rows_) {
    std::string t = text_of(r, field);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::pair<std::string, Records>> Records::group_by(const std::vector<std::string>& fields) const {
  std::vector<std::pair<std::string, Records>> groups;
  for (const auto& r : rows_) {
    std::string key;
    for (std::size_t i = 0; i < fields.size(); ++i) key += (i == 0 ? "" : " | ") + text_of(r, fields[i]);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) {
      groups.emplace_back(key, Records{});
      it = std::prev(groups.end());
    }
    it->second.push_back(r);
  }
  return groups;
}

const Record* Records::find(const std::vector<std::pair<std::string, std::string>>& match) const {
  for (const auto& r : rows_)
    if (std::all_of(match.begin(), match.end(), [&](const auto& m) { return text_of(r, m.first) == m.second; }))
      return &r;
  return nullptr;
}

MeanStd Records::mean_std(const std::string& field) const {
  std::vector<double> values;
  for (const auto& r : rows_)
    if (const double v = number_of(r, field); std::isfinite(v)) values.push_back(v);
  if (values.empty()) return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN(), 0};
  MeanStd s{.n = values.size()};
  double sum = 0, ss = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.std = s.n > 1 ? std::sqrt(ss / static_cast<double>(s.n - 1)) : 0.0;
  return s;
}

Records Records::summarise(const std::vector<std::string>& by, const std::vector<std::string>& fields,
                           const SummaryOptions& options) const {
  Records out;
  for (const auto& [key, group] : group_by(by)) {
    const Record& first = group[0];
    Record r = Record::object();
    for (const auto& f : by) r[f] = first.contains(f) ? first[f] : Record();
    for (const auto& f : fields) {
      const MeanStd s = group.mean_std(f);
      r[f + "_mean"] = record_number(s.mean);
      r[f + "_std"] = record_number(s.std);
    }
    r[options.count] = group.size();
    for (const auto& k : options.keep)
      if (first.contains(k)) r[k] = first[k];
    for (const auto& [name, holds] : options.count_where) r[name] = group.where(holds).size();
    for (const auto& f : options.elementwise) {
      if (!first.contains(f)) continue;
      // The arrays may differ in length (a run that stopped earlier): element k is the mean over the records
      // whose array has it, up to the longest array.
      auto array_of = [&f](const Record& g) { return g.contains(f) && g[f].is_array() ? &g[f] : nullptr; };
      std::size_t length = 0;
      for (const auto& g : group)
        if (const Record* a = array_of(g)) length = std::max(length, a->size());
      Record means = Record::array();
      for (std::size_t k = 0; k < length; ++k) {
        Records column;
        for (const auto& g : group)
          if (const Record* a = array_of(g); a != nullptr && k < a->size()) column.push_back({{"v", (*a)[k]}});
        means.push_back(record_number(column.mean_std("v").mean));
      }
      r[f] = std::move(means);
    }
    out.push_back(std::move(r));
  }
  return out;
}

Table Records::pivot(const std::string& row_field, const std::string& row_header, const std::string& column_field,
                     const std::string& column_prefix, const std::function<std::string(const Record&)>& cell) const {
  const auto columns = distinct(column_field);
  Table t;
  t.columns = {row_header};
  t.align = {Align::left};
  for (const auto& c : columns) {
    t.columns.push_back(column_prefix + c);
    t.align.push_back(Align::right);
  }
  for (const auto& row : distinct(row_field)) {
    std::vector<std::string> cells{row};
    for (const auto& c : columns) {
      const Record* r = find({{row_field, row}, {column_field, c}});
      cells.push_back(r == nullptr ? "" : cell(*r));
    }
    t.add_row(std::move(cells));
  }
  return t;
}

Table Records::table(const std::vector<Column>& columns) const {
  Table t;
  for (const auto& c : columns) {
    t.columns.push_back(c.header);
    t.align.push_back(c.align);
  }
  for (const auto& r : rows_) {
    std::vector<std::string> cells;
    for (const auto& c : columns) cells.push_back(c.cell(r));
    t.add_row(std::move(cells));
  }
  return t;
}

std::string Records::to_csv() const {
  Table t;
  for (const auto& r : rows_)
    for (const auto& [k, v] : r.items())
      if (!v.is_array() && !v.is_object() && std::find(t.columns.begin(), t.columns.end(), k) == t.columns.end())
        t.columns.push_back(k);
  for (const auto& r : rows_) {
    std::vector<std::string> cells;
    for (const auto& c : t.columns) cells.push_back(text_of(r, c));
    t.add_row(std::move(cells));
  }
  return t.to_csv();
}

}  // namespace iterop::experiments
