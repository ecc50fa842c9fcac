// Tests of Table (Markdown, CSV, aligned text) and the report number formats.
#include "iterop/experiments/runner/table.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "iterop/core/errors.hpp"

namespace ie = iterop::experiments;

namespace {
ie::Table sample() {
  ie::Table t;
  t.columns = {"name", "value"};
  t.align = {ie::Align::left, ie::Align::right};
  t.add_row({"a|b", "1"});
  t.add_row({"long name", "12345"});
  return t;
}
}  // namespace

TEST(Table, Markdown) {
  EXPECT_EQ(sample().to_markdown(),
            "| name | value |\n"
            "| --- | ---: |\n"
            "| a\\|b | 1 |\n"
            "| long name | 12345 |\n");
}

TEST(Table, CsvQuotesOnlyWhenNeeded) {
  ie::Table t;
  t.columns = {"x", "y"};
  t.add_row({"plain", "with,comma"});
  t.add_row({"say \"hi\"", "two\nlines"});
  EXPECT_EQ(t.to_csv(), "x,y\nplain,\"with,comma\"\n\"say \"\"hi\"\"\",\"two\nlines\"\n");
  EXPECT_EQ(ie::csv_escape("abc"), "abc");
}

TEST(Table, TextIsAligned) {
  EXPECT_EQ(sample().to_text(),
            "name       value\n"
            "a|b            1\n"
            "long name  12345\n");
}

TEST(Table, RowOfWrongSizeIsRejected) {
  ie::Table t;
  t.columns = {"a", "b"};
  EXPECT_THROW(t.add_row({"only one"}), iterop::invalid_option);
}

TEST(Table, NumberFormats) {
  EXPECT_EQ(ie::format_scientific(1.23456e-8), "1.23e-08");
  EXPECT_EQ(ie::format_scientific(1.23456e-8, 5), "1.2346e-08");
  EXPECT_EQ(ie::format_scientific(std::nan("")), "nan");
  EXPECT_EQ(ie::format_scientific(-INFINITY), "-inf");
  EXPECT_EQ(ie::format_exact(0.99), "0.99");
  EXPECT_EQ(ie::format_exact(INFINITY), "inf");
  EXPECT_EQ(ie::format_seconds(0.0123), "12.3 ms");
  EXPECT_EQ(ie::format_seconds(2.5), "2.5 s");
  EXPECT_EQ(ie::format_seconds(5e-6), "5 us");
}
