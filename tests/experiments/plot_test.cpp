// Tests of the gnuplot plot writer: data blocks, script text, a missing gnuplot reported without
// failing, and a real PNG when gnuplot is installed.
#include "iterop/experiments/runner/plot.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.hpp"

namespace ie = iterop::experiments;
using iterop::cli_test::read_file;
using iterop::cli_test::ScratchFolder;

namespace {

ie::Figure two_panels() {
  ie::Figure fig;
  ie::Panel a;
  a.title = "it's a panel";
  a.series.push_back({"down", {0, 1, 2, 3}, {1, 0.1, 0.0, std::nan("")}, "#ff0000", 2});
  a.series.push_back({"nothing drawable", {0, 1}, {-1, 0}, "", 1});
  ie::Panel b;
  b.title = "second";
  b.log_y = false;
  b.x_max = 10;
  b.series.push_back({"line", {0, 1}, {-1, 0}, "", 1});
  fig.panels = {a, b};
  return fig;
}

bool is_png(const std::string& bytes) { return bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0; }

}  // namespace

TEST(Plot, DataSkipsPointsALogAxisCannotShow) {
  const std::string data = ie::gnuplot_data(two_panels());
  EXPECT_EQ(data,
            "# panel 1: down\n0 1\n1 0.10000000000000001\n\n\n"
            "# panel 2: line\n0 -1\n1 0\n\n\n");
}

TEST(Plot, ScriptIndexesOnlyDrawableSeriesAndQuotesText) {
  const std::string s = ie::gnuplot_script(two_panels(), "d.dat", "p.png");
  EXPECT_NE(s.find("set terminal pngcairo size 1600,700 noenhanced"), std::string::npos);
  EXPECT_NE(s.find("set output 'p.png'"), std::string::npos);
  EXPECT_NE(s.find("set multiplot layout 1,2"), std::string::npos);
  EXPECT_NE(s.find("set title 'it''s a panel'"), std::string::npos);
  EXPECT_NE(s.find("'d.dat' index 0 using 1:2"), std::string::npos);
  EXPECT_NE(s.find("lc rgb '#ff0000' dt 2 title 'down'"), std::string::npos);
  EXPECT_NE(s.find("'d.dat' index 1 using 1:2"), std::string::npos);
  EXPECT_EQ(s.find("index 2"), std::string::npos);
  EXPECT_EQ(s.find("nothing drawable"), std::string::npos);
  EXPECT_NE(s.find("set xrange [*:10]"), std::string::npos);
  EXPECT_EQ(s.find("set terminal png size"), std::string::npos);
  EXPECT_NE(ie::gnuplot_script(two_panels(), "d.dat", "p.png", "png").find("set terminal png size"), std::string::npos);
}

TEST(Plot, MissingGnuplotIsReportedAndTheDataIsStillWritten) {
  ScratchFolder dir;
  ie::ReportFolder folder(dir.path());
  ie::PlotOptions options;
  options.gnuplot = (dir.path() / "no-gnuplot-here").string();
  const auto outcome = ie::plot_png(folder, "fig", two_panels(), options);
  EXPECT_FALSE(outcome.written);
  EXPECT_NE(outcome.message.find("not found"), std::string::npos) << outcome.message;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "fig.dat"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "fig.gp"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "fig.png"));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 2);  // no temporary left behind
}

TEST(Plot, FailingGnuplotIsReported) {
  ScratchFolder dir;
  ie::ReportFolder folder(dir.path());
  ie::PlotOptions options;
  options.gnuplot = "false";  // runs, exits 1, writes nothing
  const auto outcome = ie::plot_png(folder, "fig", two_panels(), options);
  EXPECT_FALSE(outcome.written);
  EXPECT_NE(outcome.message.find("false failed"), std::string::npos) << outcome.message;
}

TEST(Plot, WritesAPngWithGnuplot) {
  if (!iterop::cli_test::gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  ScratchFolder dir;
  ie::ReportFolder folder(dir.path());
  const auto outcome = ie::plot_png(folder, "fig", two_panels());
  ASSERT_TRUE(outcome.written) << outcome.message;
  EXPECT_TRUE(is_png(read_file(dir.path() / "fig.png")));
  EXPECT_EQ(folder.written().back(), dir.path() / "fig.png");
}
