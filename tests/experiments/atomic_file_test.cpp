// Tests of atomic file writes and ReportFolder: content, replacement by rename (an open reader keeps
// the old file), no temporaries left behind, errors that name the path, JSON without NaN.
#include "iterop/experiments/runner/atomic_file.hpp"
#include "iterop/experiments/runner/report_writer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "test_support.hpp"

namespace ie = iterop::experiments;
using iterop::cli_test::read_file;
using iterop::cli_test::ScratchFolder;

namespace {
int count_entries(const std::filesystem::path& folder) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(folder)) ++n;
  return n;
}
}  // namespace

TEST(AtomicFile, WritesAndReplaces) {
  ScratchFolder dir;
  const auto path = dir.path() / "a.txt";
  ie::write_file_atomically(path, "first");
  EXPECT_EQ(read_file(path), "first");
  ie::write_file_atomically(path, "second, longer");
  EXPECT_EQ(read_file(path), "second, longer");
  EXPECT_EQ(count_entries(dir.path()), 1);  // no temporary file left
}

TEST(AtomicFile, ReplacesByRenameSoAnOpenReaderKeepsTheOldContent) {
  ScratchFolder dir;
  const auto path = dir.path() / "report.md";
  ie::write_file_atomically(path, "old content");
  std::ifstream reader(path);  // opened before the replacement
  ie::write_file_atomically(path, "new");
  std::string seen((std::istreambuf_iterator<char>(reader)), std::istreambuf_iterator<char>());
  EXPECT_EQ(seen, "old content");  // a truncate-and-write implementation would show "new" or ""
  EXPECT_EQ(read_file(path), "new");
}

TEST(AtomicFile, MissingFolderIsAnIoErrorNamingThePath) {
  ScratchFolder dir;
  const auto path = dir.path() / "no" / "such" / "x.txt";
  try {
    ie::write_file_atomically(path, "x");
    FAIL() << "expected io_error";
  } catch (const ie::io_error& e) {
    EXPECT_NE(std::string(e.what()).find((dir.path() / "no" / "such").string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_entries(dir.path()), 0);
}

TEST(AtomicFile, TemporarySiblingIsHiddenInTheSameFolderAndUnique) {
  const std::filesystem::path p = "/some/folder/file.png";
  const auto a = ie::temporary_sibling(p), b = ie::temporary_sibling(p);
  EXPECT_EQ(a.parent_path(), p.parent_path());
  EXPECT_EQ(a.filename().string().rfind(".file.png.tmp-", 0), 0u) << a;
  EXPECT_NE(a, b);
}

TEST(ReportFolder, CreatesFoldersAndRecordsFiles) {
  ScratchFolder dir;
  ie::ReportFolder folder(dir.path() / "deep" / "er");
  ie::Table t;
  t.columns = {"a"};
  t.add_row({"1"});
  folder.write_text("notes.md", "# hi\n");
  folder.write_csv("t.csv", t);
  folder.write_json("r.json", {{"x", std::nan("")}, {"y", 1.5}, {"s", "text"}});
  ASSERT_EQ(folder.written().size(), 3u);
  EXPECT_EQ(read_file(folder.file("t.csv")), "a\n1\n");
  const auto j = nlohmann::json::parse(read_file(folder.file("r.json")));
  EXPECT_TRUE(j["x"].is_null());
  EXPECT_EQ(j["y"], 1.5);
  EXPECT_EQ(j["s"], "text");
  EXPECT_TRUE(ie::json_number(INFINITY).is_null());
  EXPECT_EQ(ie::json_number(2.0), 2.0);
}

TEST(ReportFolder, AFileInTheWayIsAnIoError) {
  ScratchFolder dir;
  ie::write_file_atomically(dir.path() / "blocker", "x");
  EXPECT_THROW(ie::ReportFolder(dir.path() / "blocker"), ie::io_error);
}
