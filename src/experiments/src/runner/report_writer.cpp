// ReportFolder: creates the folder and writes each report file atomically.
#include "iterop/experiments/runner/report_writer.hpp"

#include <cmath>
#include <system_error>

#include "iterop/experiments/runner/atomic_file.hpp"

namespace iterop::experiments {

ReportFolder::ReportFolder(std::filesystem::path folder) : folder_(std::move(folder)) {
  std::error_code ec;
  std::filesystem::create_directories(folder_, ec);
  if (ec) throw io_error("cannot create the folder " + folder_.string() + ": " + ec.message());
  if (!std::filesystem::is_directory(folder_, ec))
    throw io_error("cannot write into " + folder_.string() + ": not a folder");
}

std::filesystem::path ReportFolder::write_text(std::string_view name, std::string_view content) {
  const auto path = file(name);
  write_file_atomically(path, content);
  record(path);
  return path;
}

std::filesystem::path ReportFolder::write_csv(std::string_view name, const Table& table) {
  return write_text(name, table.to_csv());
}

std::filesystem::path ReportFolder::write_json(std::string_view name, const nlohmann::json& value) {
  // error_handler_t::replace: invalid UTF-8 in a message never makes the report fail.
  return write_text(name, value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void ReportFolder::record(const std::filesystem::path& written) { written_.push_back(written); }

nlohmann::json json_number(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

}  // namespace iterop::experiments
