// Atomic file writes: the content goes to a temporary file in the target's folder, is flushed to
// disk, and is then renamed over the target, so a reader never sees a half-written file.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace iterop::experiments {

/// A file could not be written; the message names the path and the system's reason.
class io_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes `content` to `path` atomically: a temporary file in the same folder ("<name>.tmp-<pid>-<n>"),
/// fsync, then rename over `path`. The folder must exist. Throws io_error; the temporary is removed on failure.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

/// A fresh name for a temporary file next to `path` (same folder, hidden, unique in this process).
std::filesystem::path temporary_sibling(const std::filesystem::path& path);

/// Removes the temporaries (".NAME.tmp-PID-N", named by temporary_sibling()) in `folder` whose process
/// PID is no longer running: what an interrupted run left behind. Returns how many were removed.
std::size_t remove_stale_temporaries(const std::filesystem::path& folder);

}  // namespace iterop::experiments
