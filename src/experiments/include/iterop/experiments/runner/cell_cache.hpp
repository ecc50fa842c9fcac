// Cell cache: each finished cell of a sweep is written atomically to <report>/cells/<hash>.json, keyed
// by the canonical JSON of its configuration and seed, so an interrupted run resumes where it stopped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace iterop::experiments {

/// The canonical text of a cell key: compact JSON with sorted object keys (nlohmann's own order),
/// numbers in their shortest round-trip form. Equal configurations give equal text.
std::string canonical_cell_key(const nlohmann::json& key);

/// 64-bit FNV-1a of `text` as 16 lower-case hex digits (the file name of a cell).
std::string cell_hash(std::string_view text);

/// Identifies the program that computes the cells: iterop's version and the size and modification
/// time of the running executable (/proc/self/exe). A cell written by another build is recomputed.
std::string build_fingerprint();

/// Thrown when a run stops on purpose after a number of computed cells (ExperimentContext::stop_after_cells,
/// the testing aid ITEROP_STOP_AFTER_CELLS); the cells finished so far are on disk.
class run_interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The cells/ folder of a report folder: look-up and atomic storage of finished cells.
class CellCache {
 public:
  /// Uses `folder` (created on the first store). With `reuse` false (--fresh) nothing is read back,
  /// but cells are still written.
  CellCache(std::filesystem::path folder, bool reuse = true);

  /// The folder.
  const std::filesystem::path& folder() const { return folder_; }
  /// folder / (cell_hash(canonical_cell_key(key)) + ".json").
  std::filesystem::path path_of(const nlohmann::json& key) const;

  /// The stored result of the cell `key`, if a file for it exists, parses, holds exactly this key and
  /// was written by this build (build_fingerprint()); otherwise nothing (the cell is computed again). The
  /// result's keys keep the order they were stored in: a record read back (a rerun, or another rank's cell)
  /// is the record as computed.
  std::optional<nlohmann::ordered_json> load(const nlohmann::json& key) const;

  /// Writes {"format", "key", "build", "result"} atomically to path_of(key); returns the path.
  /// Throws io_error when the folder or the file cannot be written.
  std::filesystem::path store(const nlohmann::json& key, const nlohmann::ordered_json& result) const;

 private:
  std::filesystem::path folder_;
  bool reuse_;
  std::string build_;
};

/// Counts the cells a run computes and stops it after `limit` of them (no limit when unset).
class CellBudget {
 public:
  /// A budget of `limit` computed cells.
  explicit CellBudget(std::optional<std::size_t> limit) : limit_(limit) {}
  /// Call after each computed (not cached) cell: throws run_interrupted once `limit` cells are done
  /// and more remain (`remaining` > 0).
  void computed(std::size_t remaining);
  /// Cells computed so far.
  std::size_t count() const { return count_; }

 private:
  std::optional<std::size_t> limit_;
  std::size_t count_ = 0;
};

}  // namespace iterop::experiments
