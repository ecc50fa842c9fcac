// Fuzzes experiment files (TOML) through the loader and validator of `iterop run FILE`: parsing, every
// table and key check, the sweep's cells, and the study built from them (nothing is run).
#include "fuzz_support.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/experiments/runner/experiment_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;
  const std::string text(iterop::fuzz::text_of(data, size));
  iterop::fuzz::expect_documented_errors<iterop::invalid_option>([&] {
    const auto file = iterop::experiments::load_experiment_text(text, "fuzz.toml");
    (void)file.cell_count();
    (void)file.document.dump();
    const auto study = file.kind == iterop::experiments::ExperimentKind::fixed_point
                           ? iterop::experiments::fixed_point_file_study(file)
                           : iterop::experiments::volterra_file_study(file);
    (void)study;
  });
  return 0;
}
