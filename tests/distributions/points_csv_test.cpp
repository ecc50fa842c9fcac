// Points as CSV: what the reader accepts (header, blank lines, spaces, CRLF) and the one-line error
// for each bad file (naming the file, the line and the reason); the writer round trip; row draws.
#include "iterop/distributions/points_csv.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;
using namespace iterop::distributions;

/// A fresh folder under the system's temporary folder, removed at the end of the test.
class TempFolder {
 public:
  TempFolder() : path_(fs::temp_directory_path() / ("iterop_points_csv_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempFolder() { fs::remove_all(path_); }
  fs::path write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
    return path_ / name;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// The error parse_points_csv throws for `text` (named "f.csv"); fails the test when it throws none.
points_file_error parse_error(const std::string& text) {
  try {
    parse_points_csv(text, "f.csv");
  } catch (const points_file_error& e) {
    return e;
  }
  ADD_FAILURE() << "no error for: " << text;
  return points_file_error("f.csv", 0, "none");
}

TEST(PointsCsv, ReadsAGoodFile) {
  TempFolder dir;
  const auto file = dir.write("good.csv", "1,2\n-3.5,4e-1\n+5, 6 \n");
  const SampleSet s = read_points_csv(file);
  ASSERT_EQ(s.rows, 3u);
  ASSERT_EQ(s.dim, 2u);
  EXPECT_EQ(s.values, (std::vector<double>{1, 2, -3.5, 0.4, 5, 6}));
}

TEST(PointsCsv, HeaderBlankLinesAndCrlfAreAccepted) {
  const SampleSet s = parse_points_csv("\n x1 , x2 , x3\r\n\r\n1,2,3\r\n\n4,5,6\r\n  \n", "f.csv");
  ASSERT_EQ(s.rows, 2u);
  ASSERT_EQ(s.dim, 3u);
  EXPECT_EQ(s.values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  // One column, no final newline, a byte order mark.
  const SampleSet one = parse_points_csv("\xEF\xBB\xBFvalue\n7\n8", "f.csv");
  EXPECT_EQ(one.dim, 1u);
  EXPECT_EQ(one.values, (std::vector<double>{7, 8}));
}

TEST(PointsCsv, RaggedRowNamesTheLineAndBothCounts) {
  const auto e = parse_error("1,2\n3,4\n\n5,6,7\n");
  EXPECT_EQ(e.line(), 4u);
  EXPECT_STREQ(e.what(), "f.csv line 4: 3 values, expected 2 (the first row has 2)");
  EXPECT_STREQ(parse_error("x,y\n1\n").what(), "f.csv line 2: 1 value, expected 2 (the header has 2)");
  EXPECT_STREQ(parse_error("1,2\n3,4,\n").what(), "f.csv line 2: 3 values, expected 2 (the first row has 2)");
}

TEST(PointsCsv, NonNumbersAndEmptyValuesAreNamed) {
  EXPECT_STREQ(parse_error("1,2\n3,abc\n").what(), "f.csv line 2: 'abc' is not a number");
  EXPECT_STREQ(parse_error("x,y\n1,2\n3,4\nx,y\n").what(), "f.csv line 4: 'x' is not a number");  // one header only
  EXPECT_STREQ(parse_error("1,2\n1.5.2,3\n").what(), "f.csv line 2: '1.5.2' is not a number");
  EXPECT_STREQ(parse_error("1,2\n+-1,3\n").what(), "f.csv line 2: '+-1' is not a number");
  EXPECT_STREQ(parse_error("1,,2\n").what(), "f.csv line 1: value 2 is empty");
  EXPECT_STREQ(parse_error("x;y\n1;2\n").what(), "f.csv line 2: '1;2' is not a number");  // not comma-separated
}

TEST(PointsCsv, NanAndInfinityAreRejected) {
  EXPECT_STREQ(parse_error("1,2\nnan,3\n").what(), "f.csv line 2: 'nan' is not a finite number");
  EXPECT_STREQ(parse_error("1,2\n3,-inf\n").what(), "f.csv line 2: '-inf' is not a finite number");
  EXPECT_STREQ(parse_error("x\n1e400\n").what(), "f.csv line 2: '1e400' is not a finite number");  // overflows
  EXPECT_EQ(parse_points_csv("1e-400\n", "f.csv").values, std::vector<double>{0.0});               // underflows to 0
  EXPECT_STREQ(parse_error("NaN,1\n").what(), "f.csv line 1: 'NaN' is not a finite number");
}

TEST(PointsCsv, EmptyAndMissingFiles) {
  EXPECT_STREQ(parse_error("").what(), "f.csv: no points");
  EXPECT_STREQ(parse_error("\n  \n").what(), "f.csv: no points");
  EXPECT_STREQ(parse_error("x1,x2\n\n").what(), "f.csv: no points");
  EXPECT_EQ(parse_error("x1,x2\n").line(), 0u);
  TempFolder dir;
  const std::string missing = (dir.path() / "missing.csv").string();
  try {
    read_points_csv(missing);
    ADD_FAILURE() << "no error for a missing file";
  } catch (const points_file_error& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot open (No such file or directory)");
    EXPECT_EQ(e.file(), missing);
  }
  EXPECT_THROW(read_points_csv(dir.path()), points_file_error);                         // a folder
  EXPECT_THROW(read_points_csv(dir.write("empty.csv", "")), iterop::invalid_option);  // bad input
}

TEST(PointsCsv, WriterRoundTrip) {
  TempFolder dir;
  const SampleSet s(3, 2, {0.1, -2.5, 1e-12, 123456.789, 1.0 / 3.0, -0.0});
  const std::string text = points_csv_text(s);
  EXPECT_EQ(text.substr(0, 6), "x1,x2\n");
  EXPECT_EQ(text.substr(6, 10), "0.1,-2.5\n1");
  const auto file = dir.path() / "out.csv";
  write_points_csv(file, s);
  const SampleSet back = read_points_csv(file);
  ASSERT_EQ(back.rows, 3u);
  ASSERT_EQ(back.dim, 2u);
  for (std::size_t k = 0; k < s.values.size(); ++k) EXPECT_NEAR(back.values[k], s.values[k], 1e-8 * std::abs(s.values[k]));
  EXPECT_THROW(write_points_csv(dir.path() / "no" / "such.csv", s), points_file_error);
}

TEST(PointsCsv, RowDraws) {
  const SampleSet pool(4, 1, {0, 1, 2, 3});
  const SampleSet a = resample_rows(pool, 200, 7);
  EXPECT_EQ(a.rows, 200u);
  EXPECT_EQ(a.values, resample_rows(pool, 200, 7).values);     // seeded
  EXPECT_NE(a.values, resample_rows(pool, 200, 8).values);
  for (double v = 0; v < 4; ++v) EXPECT_NE(std::find(a.values.begin(), a.values.end(), v), a.values.end());  // with replacement: all rows appear
  EXPECT_THROW(resample_rows(SampleSet(), 3, 1), iterop::invalid_option);

  EXPECT_EQ(subsample_rows(pool, 10, 1).values, pool.values);  // n >= rows: all rows, in order
  const SampleSet b = subsample_rows(pool, 3, 5);
  ASSERT_EQ(b.rows, 3u);
  std::vector<double> v = b.values;
  std::sort(v.begin(), v.end());
  EXPECT_EQ(std::unique(v.begin(), v.end()), v.end());  // distinct rows
  EXPECT_EQ(b.values, subsample_rows(pool, 3, 5).values);
}

}  // namespace
