// ReportFolder: the output folder of an experiment or command. Creates the folder and writes text,
// Markdown, CSV and JSON files into it atomically, remembering what it wrote.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iterop/experiments/runner/table.hpp"

namespace iterop::experiments {

/// A folder that report files are written to, each atomically (see write_file_atomically).
class ReportFolder {
 public:
  /// Creates `folder` (and its parents) if needed; throws io_error if it cannot.
  explicit ReportFolder(std::filesystem::path folder);

  /// The folder.
  const std::filesystem::path& path() const { return folder_; }
  /// folder / name.
  std::filesystem::path file(std::string_view name) const { return folder_ / std::string(name); }

  /// Writes `content` to folder/name; returns the full path.
  std::filesystem::path write_text(std::string_view name, std::string_view content);
  /// Writes `table` as CSV to folder/name.
  std::filesystem::path write_csv(std::string_view name, const Table& table);
  /// Writes `value` as indented JSON (NaN and infinities become null) to folder/name.
  std::filesystem::path write_json(std::string_view name, const nlohmann::json& value);
  /// Records a file written by other means (e.g. a plot) as part of the report.
  void record(const std::filesystem::path& written);

  /// Every file written so far, in order.
  const std::vector<std::filesystem::path>& written() const { return written_; }

 private:
  std::filesystem::path folder_;
  std::vector<std::filesystem::path> written_;
};

/// A number as JSON: the value when finite, null otherwise (JSON has no NaN or infinity).
nlohmann::json json_number(double value);

}  // namespace iterop::experiments
