// Plots through gnuplot: a figure of one or more panels of line series, written as a data file,
// a gnuplot script and a PNG; a missing or failing gnuplot is reported, never fatal.
#pragma once

#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iterop/experiments/runner/report_writer.hpp"

namespace iterop::experiments {

/// One line in a panel: points (x_i, y_i). Points that cannot be drawn (non-finite, or y <= 0 on a
/// log axis) are left out.
struct Series {
  std::string label{};
  std::vector<double> x{};
  std::vector<double> y{};
  std::string color{};  ///< gnuplot colour, e.g. "#1f77b4"; empty: gnuplot's cycle
  int dash_type = 1;   ///< gnuplot dash type, 1 = solid
  bool points_only = false;  ///< markers only, no connecting lines (a scatter plot)

  /// Appends the point (px, py).
  void add(double px, double py) {
    x.push_back(px);
    y.push_back(py);
  }
};

/// 0, 1, ..., n - 1: the x of a series drawn against the iteration.
std::vector<double> indices(std::size_t n);

/// One set of axes.
struct Panel {
  std::string title{};
  std::string x_label{};
  std::string y_label{};
  bool log_y = true;   ///< logarithmic y axis
  bool log_x = false;  ///< logarithmic x axis
  std::optional<double> x_min{}, x_max{};  ///< x range; unset ends are chosen by gnuplot
  std::optional<double> y_min{}, y_max{};  ///< y range; unset ends are chosen by gnuplot (lines leaving it are clipped)
  std::vector<Series> series{};
};

/// A figure: panels laid out in one row (or `columns` per row), rendered at width x height pixels.
struct Figure {
  std::vector<Panel> panels{};
  int width = 1600;
  int height = 700;
  int columns = 0;  ///< panels per row; 0: all in one row

  /// Lays the panels out at most `max_columns` to a row, each panel_width x panel_height pixels.
  void grid(int max_columns, int panel_width, int panel_height);
};

/// The smallest box holding the points added to it, for fitting axes to data; empty (infinite ends) at first.
struct Box {
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;

  /// Widens the box to hold the series' points whose x and y are both finite.
  void add(const Series& s);
  bool empty() const { return !(x_min <= x_max); }
  /// Sets the panel's ranges to the box widened on each side by `margin` times its width (x) and height (y).
  void fit(Panel& panel, double margin = 0) const;
};

/// How to run gnuplot.
struct PlotOptions {
  std::string gnuplot = "gnuplot";  ///< program name (searched in PATH) or path
};

/// What plot_png did.
struct PlotOutcome {
  bool written = false;            ///< the PNG exists
  std::filesystem::path png;       ///< its path (also when not written)
  std::filesystem::path script;    ///< the gnuplot script kept next to it
  std::filesystem::path data;      ///< the data file kept next to it
  std::string message;             ///< why the plot was skipped, empty when written
};

/// The i-th colour of the one palette every report uses (Tableau 20, cycling): series are coloured by
/// their position, never by matching their labels.
const std::string& palette_colour(std::size_t i);

/// The data file for `figure`: one block per drawable series, blocks separated by two blank lines
/// (gnuplot's `index`), in panel order.
std::string gnuplot_data(const Figure& figure);

/// The gnuplot script that draws `figure` from `data_file` into `png_file` with `terminal`
/// ("pngcairo" or "png"). File names are used as given (relative to gnuplot's working folder).
std::string gnuplot_script(const Figure& figure, std::string_view data_file, std::string_view png_file,
                           std::string_view terminal = "pngcairo");

/// Writes <stem>.dat and <stem>.gp into `folder` (atomically) and runs gnuplot in that folder to
/// render <stem>.png (into a temporary name, renamed when complete; terminal pngcairo, falling back
/// to png). Throws io_error only if the data or script cannot be written; a missing or failing
/// gnuplot gives written = false and a one-line message.
PlotOutcome plot_png(ReportFolder& folder, std::string_view stem, const Figure& figure, const PlotOptions& options = {});

}  // namespace iterop::experiments
