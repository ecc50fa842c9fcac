// Tests of Records: field access, selection, group-by, mean and std over seeds, summaries, pivots,
// Markdown tables of chosen columns and the CSV written from the records.
#include "iterop/experiments/runner/records.hpp"

#include <cmath>

#include <gtest/gtest.h>

namespace ie = iterop::experiments;

namespace {

ie::Records seeds_by_method() {
  ie::Records rs;
  const double values[3][2] = {{1.0, 3.0}, {2.0, 6.0}, {4.0, 5.0}};
  for (int seed = 0; seed < 3; ++seed)
    for (int m = 0; m < 2; ++m)
      rs.push_back({{"method", m == 0 ? "picard" : "anderson"},
                    {"seed", seed},
                    {"error", values[seed][m]},
                    {"history", {1.0, 0.5}}});
  return rs;
}

}  // namespace

TEST(Records, FieldsReadAsNumbersAndTexts) {
  const ie::Record r = {{"a", 0.1}, {"n", 3}, {"s", "x"}, {"b", true}, {"missing", nullptr}};
  EXPECT_EQ(ie::number_of(r, "a"), 0.1);
  EXPECT_EQ(ie::number_of(r, "n"), 3.0);
  EXPECT_TRUE(std::isnan(ie::number_of(r, "s")));
  EXPECT_TRUE(std::isnan(ie::number_of(r, "missing")));
  EXPECT_TRUE(std::isnan(ie::number_of(r, "absent")));
  EXPECT_EQ(ie::text_of(r, "a"), "0.1");
  EXPECT_EQ(ie::text_of(r, "n"), "3");
  EXPECT_EQ(ie::text_of(r, "s"), "x");
  EXPECT_EQ(ie::text_of(r, "b"), "true");
  EXPECT_EQ(ie::text_of(r, "missing"), "");
  EXPECT_TRUE(ie::record_number(std::nan("")).is_null());
  EXPECT_TRUE(ie::record_number(INFINITY).is_null());
  EXPECT_EQ(ie::record_number(2.5).get<double>(), 2.5);
}

TEST(Records, GroupByKeepsFirstSeenOrderAndMeanStdIsTheSampleStd) {
  const auto rs = seeds_by_method();
  const auto groups = rs.group_by({"method"});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].first, "picard");
  EXPECT_EQ(groups[1].first, "anderson");
  EXPECT_EQ(groups[0].second.size(), 3u);
  const auto s = groups[0].second.mean_std("error");  // 1, 2, 4
  EXPECT_EQ(s.n, 3u);
  EXPECT_DOUBLE_EQ(s.mean, 7.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(((1 - 7.0 / 3) * (1 - 7.0 / 3) + (2 - 7.0 / 3) * (2 - 7.0 / 3) +
                                     (4 - 7.0 / 3) * (4 - 7.0 / 3)) / 2.0));
  const auto one = rs.where("seed", "0").where("method", "anderson").mean_std("error");
  EXPECT_EQ(one.n, 1u);
  EXPECT_EQ(one.std, 0.0);
  EXPECT_EQ(ie::Records().mean_std("error").n, 0u);
  EXPECT_TRUE(std::isnan(ie::Records().mean_std("error").mean));
}

TEST(Records, SummariseGivesOneRecordPerGroupWithMeanStdAndCount) {
  const auto summary = seeds_by_method().summarise({"method"}, {"error"});
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_EQ(ie::text_of(summary[1], "method"), "anderson");
  EXPECT_DOUBLE_EQ(ie::number_of(summary[1], "error_mean"), 14.0 / 3.0);  // 3, 6, 5
  EXPECT_DOUBLE_EQ(ie::number_of(summary[1], "error_std"), std::sqrt((25.0 / 9 + 16.0 / 9 + 1.0 / 9) / 2.0));
  EXPECT_EQ(ie::number_of(summary[1], "n"), 3.0);
}

TEST(Records, SummariseAveragesArraysOfDifferentLengthsElementByElement) {
  // A run that stopped earlier has a shorter per-iteration array: each element is averaged over the records
  // that have it (reading past the end of the shorter array was undefined behaviour).
  ie::Records rs;
  rs.push_back({{"g", "a"}, {"acc", {1.0, 2.0}}});
  rs.push_back({{"g", "a"}, {"acc", {3.0, 4.0, 9.0, 5.0}}});
  rs.push_back({{"g", "a"}, {"acc", {5.0, nullptr, 7.0}}});
  rs.push_back({{"g", "a"}});
  const auto s = rs.summarise({"g"}, {}, {.elementwise = {"acc"}});
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].at("acc").size(), 4u);
  EXPECT_DOUBLE_EQ(s[0].at("acc")[0].get<double>(), 3.0);  // 1, 3, 5
  EXPECT_DOUBLE_EQ(s[0].at("acc")[1].get<double>(), 3.0);  // 2, 4 (null is not finite)
  EXPECT_DOUBLE_EQ(s[0].at("acc")[2].get<double>(), 8.0);  // 9, 7
  EXPECT_DOUBLE_EQ(s[0].at("acc")[3].get<double>(), 5.0);  // 5
  EXPECT_EQ(ie::number_of(s[0], "n"), 4.0);
}

TEST(Records, PivotHasOneRowPerRowValueAndOneColumnPerColumnValue) {
  const auto t = seeds_by_method().pivot("method", "method", "seed", "seed ", [](const ie::Record& r) {
    return ie::text_of(r, "error");
  });
  ASSERT_EQ(t.columns.size(), 4u);
  EXPECT_EQ(t.columns[1], "seed 0");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"picard", "1", "2", "4"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"anderson", "3", "6", "5"}));
  // A missing combination is an empty cell.
  ie::Records partial = seeds_by_method().where([](const ie::Record& r) {
    return !(ie::text_of(r, "method") == "picard" && ie::text_of(r, "seed") == "1");
  });
  const auto p = partial.pivot("method", "method", "seed", "", [](const ie::Record& r) { return ie::text_of(r, "error"); });
  EXPECT_EQ(p.rows[0][2], "");
}

TEST(Records, TableOfChosenColumnsAndCsvOfEveryScalarField) {
  const auto rs = seeds_by_method().where("seed", "2");
  const auto t = rs.table({ie::Column::text("method", "method"),
                           ie::Column::number("error", "error", [](double v) { return ie::format_scientific(v, 2); })});
  EXPECT_EQ(t.columns, (std::vector<std::string>{"method", "error"}));
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"picard", "4.0e+00"}));
  // The CSV has every scalar field in first-seen order; arrays (the history) stay in results.json.
  ie::Records with_null = rs;
  with_null.push_back({{"method", "km"}, {"extra", nullptr}});
  EXPECT_EQ(with_null.to_csv(), "method,seed,error,extra\npicard,2,4,\nanderson,2,5,\nkm,,,\n");
}
