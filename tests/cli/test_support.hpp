// Test support for the CLI tests: a scratch folder removed at the end of a test, running the built
// `iterop` program with captured stdout, stderr and exit code, and small file helpers.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace iterop::cli_test {

/// A fresh, empty folder under the system's temporary folder; removed (with its content) on destruction.
class ScratchFolder {
 public:
  ScratchFolder();
  ~ScratchFolder();
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// What a child process did.
struct ProcessResult {
  int exit_code = -1;  ///< exit status, or -1 when it did not exit normally (signal)
  std::string out;     ///< everything written to stdout
  std::string err;     ///< everything written to stderr
};

/// Runs the built iterop program with `args`, extra environment entries ("NAME=value") added.
ProcessResult run_iterop(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {});

/// The whole content of a file ("" if it cannot be read).
std::string read_file(const std::filesystem::path& path);

/// Whether a program called `gnuplot` is found on PATH (or ITEROP_GNUPLOT names an existing file).
bool gnuplot_available();

/// The message of the iterop::invalid_option that `f` throws, or "(no invalid_option thrown)".
std::string message_of(const std::function<void()>& f);

/// Number of '\n' in `text`.
int count_lines(const std::string& text);

}  // namespace iterop::cli_test
