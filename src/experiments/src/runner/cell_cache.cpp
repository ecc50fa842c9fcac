// Cell cache: canonical keys, FNV-1a file names, the build fingerprint, atomic stores and validated
// loads of cells/<hash>.json; the budget of computed cells behind ITEROP_STOP_AFTER_CELLS.
#include "iterop/experiments/runner/cell_cache.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

#include "iterop/experiments/runner/atomic_file.hpp"
#include "iterop/experiments/runner/build_info.hpp"

namespace iterop::experiments {

namespace {
constexpr int cell_format = 1;
}  // namespace

std::string canonical_cell_key(const nlohmann::json& key) {
  return key.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string cell_hash(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string build_fingerprint() {
  std::string s = "iterop " + iterop_version();
  struct stat st {};
  if (::stat("/proc/self/exe", &st) == 0) {
    s += "; exe size " + std::to_string(static_cast<long long>(st.st_size)) + ", mtime " +
         std::to_string(static_cast<long long>(st.st_mtim.tv_sec)) + "." +
         std::to_string(static_cast<long long>(st.st_mtim.tv_nsec));
  }
  return s;
}

CellCache::CellCache(std::filesystem::path folder, bool reuse)
    : folder_(std::move(folder)), reuse_(reuse), build_(build_fingerprint()) {}

std::filesystem::path CellCache::path_of(const nlohmann::json& key) const {
  return folder_ / (cell_hash(canonical_cell_key(key)) + ".json");
}

std::optional<nlohmann::ordered_json> CellCache::load(const nlohmann::json& key) const {
  if (!reuse_) return std::nullopt;
  std::ifstream in(path_of(key), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  const auto stored = nlohmann::ordered_json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!stored.is_object() || !stored.contains("result") || stored.value("format", 0) != cell_format) return std::nullopt;
  if (!stored.contains("key") || canonical_cell_key(nlohmann::json::parse(stored["key"].dump())) != canonical_cell_key(key))
    return std::nullopt;
  if (stored.value("build", std::string()) != build_) return std::nullopt;
  return stored["result"];
}

std::filesystem::path CellCache::store(const nlohmann::json& key, const nlohmann::ordered_json& result) const {
  std::error_code ec;
  std::filesystem::create_directories(folder_, ec);
  if (ec) throw io_error("cannot create the folder " + folder_.string() + ": " + ec.message());
  nlohmann::ordered_json stored = {{"format", cell_format}};
  stored["key"] = nlohmann::ordered_json::parse(key.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  stored["build"] = build_;
  stored["result"] = result;
  const auto path = path_of(key);
  write_file_atomically(path, stored.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  return path;
}

void CellBudget::computed(std::size_t remaining) {
  ++count_;
  if (limit_ && count_ >= *limit_ && remaining > 0)
    throw run_interrupted("stopped after " + std::to_string(count_) + " computed cells (ITEROP_STOP_AFTER_CELLS = " +
                          std::to_string(*limit_) + ", a testing aid); " + std::to_string(remaining) +
                          " cells remain: run again into the same folder to resume");
}

}  // namespace iterop::experiments
