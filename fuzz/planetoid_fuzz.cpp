// Fuzzes the Planetoid TSV reader (features.tsv, labels.tsv, edges.tsv, split.tsv) and the graph check.
// Input: the four files separated by the byte 0x1e (record separator), written to a private folder.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz_support.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/operators/planetoid.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 65536) return 0;
  namespace fs = std::filesystem;
  static const fs::path folder = fs::temp_directory_path() / ("iterop_fuzz_planetoid_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  const auto parts = iterop::fuzz::fields(iterop::fuzz::text_of(data, size), '\x1e', 4);
  static const char* names[] = {"features.tsv", "labels.tsv", "edges.tsv", "split.tsv"};
  for (std::size_t i = 0; i < 4; ++i) {
    fs::remove(folder / names[i]);
    if (i < parts.size()) std::ofstream(folder / names[i], std::ios::binary) << parts[i];  // fewer parts: missing files
  }
  iterop::fuzz::expect_documented_errors<iterop::invalid_option, iterop::operators::data_error>([&] {
    const auto g = iterop::operators::read_planetoid(folder);
    g.validate();
  });
  return 0;
}
