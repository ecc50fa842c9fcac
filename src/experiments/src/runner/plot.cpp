// gnuplot rendering: data blocks, the script, and running gnuplot with posix_spawn in the report
// folder (no shell, so paths are never re-parsed); the PNG appears atomically.
#include "iterop/experiments/runner/plot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "iterop/experiments/runner/atomic_file.hpp"

extern char** environ;

namespace iterop::experiments {

namespace {

/// A gnuplot single-quoted string ('' stands for a quote inside).
std::string gp_string(std::string_view s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'') out += "''";
    else if (ch == '\n' || ch == '\r') out += ' ';
    else out += ch;
  }
  return out + "'";
}

bool drawable(double x, double y, bool log_y, bool log_x = false) {
  return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0) && (!log_x || x > 0);
}

bool has_points(const Series& s, bool log_y, bool log_x) {
  for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
    if (drawable(s.x[i], s.y[i], log_y, log_x)) return true;
  return false;
}

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string first_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  // gnuplot reports the failing line, then the error: keep the most informative (last non-empty) line.
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t^") != std::string::npos) last = line;
  return last;
}

/// Runs `program script` in `folder` with stdin and stdout on /dev/null and stderr captured; "" when it succeeded,
/// else why not.
std::string run_gnuplot(const std::string& program, const std::filesystem::path& folder, const std::string& script_name) {
  const std::filesystem::path err_path = temporary_sibling(folder / "gnuplot-stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addchdir_np(&actions, folder.c_str());
  std::string arg0 = program, arg1 = script_name;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::error_code ec;
    std::filesystem::remove(err_path, ec);
    return rc == ENOENT ? program + " not found" : "cannot start " + program + ": " + std::strerror(rc);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return std::string("waiting for gnuplot failed: ") + std::strerror(errno);
  std::ostringstream err;
  err << std::ifstream(err_path).rdbuf();
  std::error_code ec;
  std::filesystem::remove(err_path, ec);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  // posix_spawnp implementations may report ENOENT as exit status 127.
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return program + " not found";
  const std::string why = first_line(err.str());
  return program + " failed" + (why.empty() ? std::string() : ": " + why);
}

}  // namespace

std::vector<double> indices(std::size_t n) {
  std::vector<double> x(n);
  for (std::size_t k = 0; k < n; ++k) x[k] = static_cast<double>(k);
  return x;
}

void Figure::grid(int max_columns, int panel_width, int panel_height) {
  const int n = static_cast<int>(panels.size());
  columns = std::min(max_columns, n);
  const int per_row = std::max(1, columns);
  width = panel_width * per_row;
  height = panel_height * ((n + per_row - 1) / per_row);
}

void Box::add(const Series& s) {
  for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
    if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
      x_min = std::min(x_min, s.x[i]);
      x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i]);
      y_max = std::max(y_max, s.y[i]);
    }
}

void Box::fit(Panel& panel, double margin) const {
  const double wx = margin * (x_max - x_min), wy = margin * (y_max - y_min);
  panel.x_min = x_min - wx;
  panel.x_max = x_max + wx;
  panel.y_min = y_min - wy;
  panel.y_max = y_max + wy;
}

const std::string& palette_colour(std::size_t i) {
  static const std::vector<std::string> p = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                             "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8",
                                             "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
                                             "#dbdb8d", "#9edae5"};
  return p[i % p.size()];
}

std::string gnuplot_data(const Figure& figure) {
  std::string out;
  for (std::size_t p = 0; p < figure.panels.size(); ++p) {
    const Panel& panel = figure.panels[p];
    for (const Series& s : panel.series) {
      if (!has_points(s, panel.log_y, panel.log_x)) continue;
      out += "# panel " + std::to_string(p + 1) + ": " + s.label + "\n";
      for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (drawable(s.x[i], s.y[i], panel.log_y, panel.log_x)) out += number(s.x[i]) + " " + number(s.y[i]) + "\n";
      out += "\n\n";
    }
  }
  return out;
}

std::string gnuplot_script(const Figure& figure, std::string_view data_file, std::string_view png_file,
                           std::string_view terminal) {
  const int n = static_cast<int>(figure.panels.size());
  const int cols = figure.columns > 0 ? figure.columns : (n > 0 ? n : 1);
  const int rows = n > 0 ? (n + cols - 1) / cols : 1;
  std::string s;
  s += "# Generated by iterop. Run in this folder: gnuplot " + std::string(png_file.substr(0, png_file.rfind('.'))) +
       ".gp\n";
  s += "set terminal " + std::string(terminal) + " size " + std::to_string(figure.width) + "," +
       std::to_string(figure.height) + " noenhanced\n";
  s += "set output " + gp_string(png_file) + "\n";
  s += "set multiplot layout " + std::to_string(rows) + "," + std::to_string(cols) + "\n";
  int index = 0;
  for (const Panel& panel : figure.panels) {
    s += "reset\n";
    s += "set title " + gp_string(panel.title) + "\n";
    s += "set xlabel " + gp_string(panel.x_label) + "\n";
    s += "set ylabel " + gp_string(panel.y_label) + "\n";
    s += "set grid\n";
    s += "set key outside right top spacing 0.9 font ',8'\n";
    if (panel.log_y) s += "set logscale y\nset format y '%.0e'\n";
    if (panel.log_x) s += "set logscale x\nset format x '%.0e'\n";
    auto end = [](const std::optional<double>& v) { return v ? number(*v) : std::string("*"); };
    if (panel.x_min || panel.x_max) s += "set xrange [" + end(panel.x_min) + ":" + end(panel.x_max) + "]\n";
    if (panel.y_min || panel.y_max) s += "set yrange [" + end(panel.y_min) + ":" + end(panel.y_max) + "]\n";
    std::string plots;
    for (const Series& series : panel.series) {
      if (!has_points(series, panel.log_y, panel.log_x)) continue;
      if (!plots.empty()) plots += ", \\\n     ";
      plots += gp_string(data_file) + " index " + std::to_string(index++) + " using 1:2 with " +
               (series.points_only ? "points pt 7 ps 0.3" : "linespoints pt 7 ps 0.35");
      if (!series.color.empty()) plots += " lc rgb " + gp_string(series.color);
      plots += " dt " + std::to_string(series.dash_type) + " title " + gp_string(series.label);
    }
    if (plots.empty()) {
      s += "unset logscale y\nunset logscale x\nset xrange [0:1]\nset yrange [0:1]\n";
      s += "set label 1 'no data to draw' at graph 0.5, 0.5 center\nplot NaN notitle\n";
    } else {
      s += "plot " + plots + "\n";
    }
  }
  s += "unset multiplot\nset output\n";
  return s;
}

PlotOutcome plot_png(ReportFolder& folder, std::string_view stem, const Figure& figure, const PlotOptions& options) {
  PlotOutcome out;
  // Temporaries of an interrupted earlier run (gnuplot's stderr, scripts, images) go first.
  remove_stale_temporaries(folder.path());
  const std::string base(stem);
  const std::string data_name = base + ".dat", script_name = base + ".gp", png_name = base + ".png";
  out.png = folder.file(png_name);
  out.data = folder.write_text(data_name, gnuplot_data(figure));
  out.script = folder.write_text(script_name, gnuplot_script(figure, data_name, png_name));

  std::string why;
  for (const char* terminal : {"pngcairo", "png"}) {
    const std::filesystem::path tmp_png = temporary_sibling(out.png);
    const std::filesystem::path run_script = temporary_sibling(folder.file(script_name));
    write_file_atomically(run_script, gnuplot_script(figure, data_name, tmp_png.filename().string(), terminal));
    const std::string failure = run_gnuplot(options.gnuplot, folder.path(), run_script.filename().string());
    std::error_code ec;
    std::filesystem::remove(run_script, ec);
    const bool made = failure.empty() && std::filesystem::file_size(tmp_png, ec) > 0 && !ec;
    if (made) {
      std::filesystem::rename(tmp_png, out.png, ec);
      if (!ec) {
        out.written = true;
        folder.record(out.png);
        return out;
      }
      why = "cannot rename the plot to " + out.png.string() + ": " + ec.message();
    } else {
      why = failure.empty() ? options.gnuplot + " wrote no image" : failure;
    }
    std::filesystem::remove(tmp_png, ec);
    if (why.find("not found") != std::string::npos || why.find("cannot start") != std::string::npos) break;
  }
  out.message = why;
  return out;
}

}  // namespace iterop::experiments
