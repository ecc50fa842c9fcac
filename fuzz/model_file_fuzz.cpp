// Fuzzes the model loaders (CaLMFlow, CFM, denoiser) with whole files: byte 0 picks the loader; the rest is
// the file. With bit 2 of byte 0 set, the rest is wrapped in a valid checked header first, so that the CFM
// text parser behind the checksum is fuzzed too (the torch archives behind it are LibTorch's own reader and
// are not fuzzed past the checksum). PIGN has no model file.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "detail/checkpoint_file.hpp"
#include "fuzz_support.hpp"
#include "iterop/core/errors.hpp"
#include "iterop/operators/calmflow.hpp"
#include "iterop/operators/conditional_flow_matching.hpp"
#include "iterop/operators/diffusion_denoiser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 1 << 20) return 0;
  namespace fs = std::filesystem;
  namespace d = iterop::operators::detail;
  static const fs::path file = fs::temp_directory_path() / ("iterop_fuzz_model_" + std::to_string(::getpid()));
  const unsigned mode = data[0];
  const std::string_view rest = iterop::fuzz::text_of(data + 1, size - 1);
  const unsigned loader = (mode & 4) ? 1 : mode % 3;
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (mode & 4)
      out << d::checked_file_bytes(d::checked_format::cfm, rest);
    else
      out << rest;
  }
  iterop::fuzz::expect_documented_errors<iterop::invalid_option, iterop::backend_error>([&] {
    if (loader == 0) (void)iterop::operators::CalmFlow::load(file.string());
    if (loader == 1) (void)iterop::operators::ConditionalFlowMatching::load(file.string());
    if (loader == 2) (void)iterop::operators::DiffusionDenoiser::load(file);
  });
  return 0;
}
